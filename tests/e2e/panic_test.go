package e2e

import (
	"strings"
	"testing"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/emulator"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/report"
)

// TestPanicIsAnErrorAndTheNextInvocationWorks makes the real ECS SDK panic
// (an error body whose Code is a number) on every DescribeImages the message
// makes: the invocation errors, the process lives on, and the same sample
// succeeds once the fault is gone.
//   - modify names an image: the panic first hits the batch prefetch (an
//     optimisation the handler survives), then the worker's own read;
//   - rotate names families only, so it hits only the worker.
//
// Either way the worker's panic becomes a failed outcome (InternalError.Panic).
func TestPanicIsAnErrorAndTheNextInvocationWorks(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		door, sample, id string
		reads            int // DescribeImages calls, each of which panicked
	}{
		{"go1", "01-modify.json", "ops-1187-api-metadata", 2},
		{"go1", "03-rotate-timer.json", "timer:nightly-rotation:2026-11-27T03:00:00Z:0", 1},
		{"serve", "01-modify.json", "ops-1187-api-metadata", 2},
		{"serve", "03-rotate-timer.json", "timer:nightly-rotation:2026-11-27T03:00:00Z:0", 1},
	} {
		t.Run(tc.door+"/"+tc.sample, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, worldOptions{creatingCalls: 1})
			d := startDoor(t, w, tc.door)
			w.emu.SetFaults("DescribeImages", emulator.Faults{FailNext: []string{emulator.FaultNonStringCode, emulator.FaultNonStringCode}})
			r := d.invoke(t, call{payload: sample(t, tc.sample)})
			if !r.isError {
				t.Fatalf("the invocation succeeded through a panic:\n%s", r.raw)
			}
			t.Logf("error %s: %s", r.errorType, r.errorMessage)
			if !strings.Contains(r.errorMessage, "string") && !strings.Contains(r.errorMessage, "settled") {
				t.Errorf("error %s: %q, want the panic or the unsettled message named", r.errorType, r.errorMessage)
			}
			if r.report != nil { // serve mode: the report says which and why
				checkReport(t, "panic", r, []want{{tc.id, report.Failed, "InternalError.Panic"}})
			}
			if w.emu.Calls("DescribeImages") != tc.reads {
				t.Errorf("DescribeImages calls %d, want the %d that panicked", w.emu.Calls("DescribeImages"), tc.reads)
			}

			w.emu.SetFaults("DescribeImages", emulator.Faults{})
			r = d.invoke(t, call{payload: sample(t, tc.sample)})
			if r.isError {
				t.Fatalf("after the panic: %s: %s", r.errorType, r.errorMessage)
			}
			checkReport(t, "after the panic", r, []want{{tc.id, report.Applied, ""}})
		})
	}
}
