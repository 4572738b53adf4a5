// Package reportcheck holds the assertions every test of a report shares. It
// is apart from testenv because it imports invoke, which lifecycle's own
// tests (users of testenv) cannot reach.
package reportcheck

import (
	"errors"
	"testing"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/invoke"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/report"
)

// Accounting asserts a report's invariants after Handle: received equals
// the sum of the counts and the number of messages, every id in want appears
// exactly once, and failed > 0 exactly when Handle returned a *FailedError.
func Accounting(t testing.TB, rep *report.Report, err error, want []string) {
	t.Helper()
	sum := 0
	for _, n := range rep.Counts {
		sum += n
	}
	if rep.Received != sum || rep.Received != len(rep.Messages) || rep.Received != len(want) {
		t.Errorf("received %d, sum of counts %d, messages %d, sent %d: all must be equal",
			rep.Received, sum, len(rep.Messages), len(want))
	}
	seen := map[string]int{}
	for _, m := range rep.Messages {
		seen[m.ID]++
	}
	for _, id := range want {
		if seen[id] != 1 {
			t.Errorf("message %q appears %d times in the report, want exactly once", id, seen[id])
		}
	}
	var fe *invoke.FailedError
	isFailed := errors.As(err, &fe)
	switch {
	case rep.Failed() > 0 && !isFailed:
		t.Errorf("%d failed messages but Handle returned %v, want *FailedError", rep.Failed(), err)
	case rep.Failed() == 0 && err != nil:
		t.Errorf("no failed message but Handle returned %v", err)
	case isFailed && (fe.Failed != rep.Failed() || len(fe.IDs) != rep.Failed()):
		t.Errorf("FailedError %+v does not match %d failed messages", fe, rep.Failed())
	}
}
