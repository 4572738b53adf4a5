package invoke_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/emulator"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/invoke"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/report"
	"github.com/ecs-image-lifecycle/image-lifecycle/internal/testenv"
	"github.com/ecs-image-lifecycle/image-lifecycle/internal/testenv/reportcheck"
	"github.com/ecs-image-lifecycle/image-lifecycle/tests/mnsfake"
)

// panickyAPI is the real client, except that writing to one image panics:
// a bug deep in a worker goroutine.
type panickyAPI struct {
	ecsapi.API
	imageID string
}

func (p panickyAPI) ModifyImageAttribute(ctx context.Context, in ecsapi.ModifyInput) (string, error) {
	if in.ImageID == p.imageID {
		panic("boom in ModifyImageAttribute")
	}
	return p.API.ModifyImageAttribute(ctx, in)
}

// TestWorkerPanic: a panic while working one message fails that message
// (the platform redelivers it) instead of ending the process; the rest of
// the batch settles.
func TestWorkerPanic(t *testing.T) {
	t.Parallel()
	emu := testenv.StartEmulator(t, emulator.Options{Seed: testenv.DemoSeed(t)})
	h := newHandler(t, emu, setup{})
	build := h.NewAPI
	h.NewAPI = func(c *ecsapi.Credentials) (ecsapi.API, error) {
		api, err := build(c)
		return panickyAPI{API: api, imageID: apiNov02}, err
	}
	rep, err := handle(t, h, 10*time.Second, testenv.MNSBatch(t,
		testenv.MNSMessage{ID: "panics", Body: `{"action":"modify","imageId":"` + apiNov02 + `","attributes":{"description":"xx"}}`},
		testenv.MNSMessage{ID: "fine", Body: `{"action":"modify","imageId":"` + apiNov24 + `","attributes":{"description":"yy"}}`}))
	reportcheck.Accounting(t, rep, err, []string{"panics", "fine"})
	got := byID(rep)
	if m := got["panics"]; m.Outcome != report.Failed || m.Code != "InternalError.Panic" || !strings.Contains(m.Error, "boom") {
		t.Errorf("panicking message: %s %s %q, want failed InternalError.Panic", m.Outcome, m.Code, m.Error)
	}
	if got["fine"].Outcome != report.Applied {
		t.Errorf("other message: %s, want applied", got["fine"].Outcome)
	}
}

// TestNoClient: when the ECS client cannot be built (a configuration
// problem), every message fails so that the platform keeps them all.
func TestNoClient(t *testing.T) {
	t.Parallel()
	emu := testenv.StartEmulator(t, emulator.Options{Seed: testenv.DemoSeed(t)})
	mns := testenv.StartMNS(t, mnsfake.Options{}, retryQueue, deadQueue)
	h := newHandler(t, emu, setup{mns: mns, retry: true, dlq: true})
	h.NewAPI = func(*ecsapi.Credentials) (ecsapi.API, error) { return nil, errors.New("no credentials") }
	rep, err := handle(t, h, 10*time.Second, testenv.MNSBatch(t,
		testenv.MNSMessage{ID: "a", Body: `{"action":"deprecate","imageId":"` + webOldest + `"}`},
		testenv.MNSMessage{ID: "b", Body: `not json`}))
	reportcheck.Accounting(t, rep, err, []string{"a", "b"})
	var fe *invoke.FailedError
	if !errors.As(err, &fe) || fe.Failed != 2 {
		t.Fatalf("Handle error %v, want *FailedError for both", err)
	}
	if len(mns.Messages(retryQueue))+len(mns.Messages(deadQueue)) != 0 {
		t.Errorf("messages were settled to MNS although nothing ran")
	}
}

// TestZeroConfigLiteral: a Handler built as a literal with a zero
// Concurrency (as tests and tools do) must still work its batch instead of
// hanging: an errgroup limit of 0 admits no goroutine at all.
func TestZeroConfigLiteral(t *testing.T) {
	t.Parallel()
	emu := testenv.StartEmulator(t, emulator.Options{Seed: testenv.DemoSeed(t)})
	h := newHandler(t, emu, setup{})
	h.Concurrency = 0
	done := make(chan *report.Report, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		rep, _ := h.Handle(ctx, invoke.Env{}, testenv.MNSBatch(t, testenv.MNSMessage{ID: "a", Body: `{"action":"deprecate","imageId":"` + webOldest + `"}`}))
		done <- rep
	}()
	select {
	case rep := <-done:
		if rep.Counts[report.Applied] != 1 {
			t.Errorf("counts %v, want 1 applied", rep.Counts)
		}
	case <-time.After(8 * time.Second):
		t.Fatal("Handle did not return within 8s of a 5s deadline")
	}
}
