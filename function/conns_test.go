package main

import (
	"fmt"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/config"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/credential"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/emulator"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/report"
	"github.com/ecs-image-lifecycle/image-lifecycle/internal/testenv"
)

// TestOnePoolPerProcess: the handler newHandler builds works a batch of 1,000
// messages over at most BATCH_CONCURRENCY + 2 connections, and the next
// invocation (a new ECS client, with its own credentials) opens none: the
// connections are kept alive in the process's one pool.
func TestOnePoolPerProcess(t *testing.T) {
	const families, perFamily = 10, 100
	seed := &emulator.Seed{}
	var msgs []testenv.MNSMessage
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for f := range families {
		for i := range perFamily {
			id := fmt.Sprintf("m-pool%dx%03d", f, i)
			seed.Images = append(seed.Images, emulator.SeedImage{Image: ecsapi.Image{ImageID: id, Name: "pool-" + id[2:],
				Family: fmt.Sprintf("pool%d", f), Status: ecsapi.StatusAvailable, CreationTime: base.Add(time.Duration(i) * time.Hour)}})
			msgs = append(msgs, testenv.MNSMessage{ID: id, Body: fmt.Sprintf(`{"action":"modify","imageId":%q,"attributes":{"description":"pooled %d"}}`, id, i)})
		}
	}
	emu, err := emulator.New(emulator.Options{Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	counted := &testenv.CountingListener{Listener: l}
	go emu.Serve(counted) //nolint:errcheck // ends with Close
	t.Cleanup(func() { _ = emu.Close() })

	cfg := config.Defaults()
	cfg.ECSEndpoint, cfg.RateLimit = "http://"+l.Addr().String(), 0
	h, err := newHandler(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	key := credential.Credentials{AccessKeyID: emulator.DefaultKey, AccessKeySecret: emulator.DefaultKey}
	rep, err := invocation(t, h, key, testenv.MNSBatch(t, msgs...))
	if err != nil || rep.Counts[report.Applied] != len(msgs) {
		t.Fatalf("counts %v, err %v: want %d applied", rep.Counts, err, len(msgs))
	}
	calls := emu.CallView().Total
	if got, most := counted.Accepted(), int64(cfg.Concurrency+2); got > most {
		t.Errorf("%d connections for %d calls, want at most BATCH_CONCURRENCY + 2 = %d", got, calls, most)
	}
	first := counted.Accepted()
	again := testenv.MNSBatch(t, testenv.MNSMessage{ID: "again", Body: `{"action":"modify","imageId":"m-pool0x000","attributes":{"description":"pooled again"}}`})
	if rep, err := invocation(t, h, key, again); err != nil || rep.Counts[report.Applied] != 1 {
		t.Fatalf("counts %v, err %v", rep.Counts, err)
	}
	if got := counted.Accepted(); got != first {
		t.Errorf("the next invocation opened %d connections, want none (the pool is the process's)", got-first)
	}
	t.Logf("%d calls over %d connections", calls, first)
}
