// Package testenv starts what the tests run against, on 127.0.0.1 and only
// there: the ECS emulator (function/emulator) and the MNS fake (tests/mnsfake),
// each closed when its test ends; and it finds the module root and the seeds
// in events/seed. The settable clock is in the subpackage fakeclock, which
// imports nothing of this module.
//
// The emulator's and the MNS fake's own tests cannot import this package (it
// imports them); they start their server directly.
package testenv

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/emulator"
	"github.com/ecs-image-lifecycle/image-lifecycle/tests/mnsfake"
)

// Root is the module root, the directory holding go.mod, found upwards from
// the test's working directory (its package directory, under go test).
func Root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
}

// Path is a path below the module root: Path(t, "events", "01-modify.json").
func Path(t testing.TB, elem ...string) string {
	t.Helper()
	return filepath.Join(append([]string{Root(t)}, elem...)...)
}

// DemoSeed loads events/seed/demo.json, the demo's images, afresh: every
// test owns its copy and may change it before starting an emulator.
func DemoSeed(t testing.TB) *emulator.Seed {
	t.Helper()
	seed, err := emulator.LoadSeed(Path(t, "events", "seed", "demo.json"))
	if err != nil {
		t.Fatalf("load the demo seed: %v", err)
	}
	return seed
}

// BuildFunction compiles the function as the deployment does (no cgo,
// trimmed), for this machine, into the test's temporary directory.
func BuildFunction(t testing.TB) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "main")
	if err := BuildFunctionTo(t.Context(), Root(t), out); err != nil {
		t.Fatal(err)
	}
	return out
}

// StartEmulator serves an ECS emulator on 127.0.0.1 until the test ends.
// opts says everything (emulator.Options): the seed (nil is no images; see
// DemoSeed), the keys (nil is emulator.DefaultKey), the STS token required.
func StartEmulator(t testing.TB, opts emulator.Options) *emulator.Server {
	t.Helper()
	emu, err := emulator.Start(opts)
	if err != nil {
		t.Fatalf("start the ECS emulator: %v", err)
	}
	t.Cleanup(func() { _ = emu.Close() })
	return emu
}

// StartDemoEmulator serves the demo seed with the default key.
func StartDemoEmulator(t testing.TB) *emulator.Server {
	t.Helper()
	return StartEmulator(t, emulator.Options{Seed: DemoSeed(t)})
}

// StartMNS serves an MNS fake on 127.0.0.1 until the test ends, holding the
// queues named. opts says the rest (mnsfake.Options): keys (nil is
// {"mns": "mns"}), STS tokens, clock.
func StartMNS(t testing.TB, opts mnsfake.Options, queues ...string) *mnsfake.Server {
	t.Helper()
	mns, err := mnsfake.Start(opts)
	if err != nil {
		t.Fatalf("start the MNS fake: %v", err)
	}
	t.Cleanup(func() { _ = mns.Close() })
	for _, q := range queues {
		mns.CreateQueue(q)
	}
	return mns
}

// MNSMessage is one message as the MNS trigger hands it over (RawData form).
type MNSMessage struct {
	ID   string
	Body string
}

// MNSBatch is the RawData payload of an MNS queue trigger carrying msgs.
func MNSBatch(t testing.TB, msgs ...MNSMessage) []byte {
	t.Helper()
	type raw struct {
		RequestID   string `json:"requestId"`
		MessageID   string `json:"messageId"`
		MessageBody string `json:"messageBody"`
	}
	out := make([]raw, len(msgs))
	for i, m := range msgs {
		out[i] = raw{RequestID: fmt.Sprintf("req-%d", i), MessageID: m.ID, MessageBody: m.Body}
	}
	b, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
