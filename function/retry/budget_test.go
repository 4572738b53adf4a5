package retry

import (
	"context"
	"testing"
	"time"
)

func TestSplitKeepsEachLineFromTheDeadline(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	now := clk.Now()
	tests := []struct {
		left                    time.Duration
		settle, calls, creating time.Duration // kept before the deadline
	}{
		// 12 s or more: every line at its maximum, none stacked on another.
		{time.Minute, 3 * time.Second, 6 * time.Second, 8 * time.Second},
		{12 * time.Second, 3 * time.Second, 6 * time.Second, 8 * time.Second},
		// Less: each line keeps its share of what is left.
		{8 * time.Second, 2 * time.Second, 4 * time.Second, 5333333333},
		{4 * time.Second, time.Second, 2 * time.Second, 2666666666},
		{time.Second, 250 * time.Millisecond, 500 * time.Millisecond, 666666666},
		{0, 0, 0, 0},
	}
	for _, tc := range tests {
		dl := now.Add(tc.left)
		b := DefaultShares().Split(clk, dl)
		if b.Deadline != dl || b.Work != dl.Add(-tc.settle) || b.Calls != dl.Add(-tc.calls) || b.Creating != dl.Add(-tc.creating) {
			t.Errorf("%v left: settle %v, calls %v, creating %v kept; want %v, %v, %v", tc.left,
				dl.Sub(b.Work), dl.Sub(b.Calls), dl.Sub(b.Creating), tc.settle, tc.calls, tc.creating)
		}
	}
}

// However late the invocation starts, settling keeps a quarter of what is
// left (at most 3 s), and the lines stay in order: the Creating wait ends
// before the calls, the calls before the work, the work before the deadline.
// (The handler used to give the work the whole deadline when less than 6 s
// were left, so a dead letter found late had no time to be sent.)
func TestSplitAlwaysKeepsTimeToSettle(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	for left := 10 * time.Millisecond; left < 20*time.Second; left += 90 * time.Millisecond {
		dl := clk.Now().Add(left)
		b := DefaultShares().Split(clk, dl)
		if kept := dl.Sub(b.Work); kept < min(left/4, 3*time.Second) || kept <= 0 {
			t.Fatalf("%v left: settling keeps %v", left, kept)
		}
		if b.Creating.After(b.Calls) || b.Calls.After(b.Work) || b.Work.After(dl) || b.Creating.Before(clk.Now()) {
			t.Fatalf("%v left: lines out of order: creating %v, calls %v, work %v", left,
				b.Creating.Sub(clk.Now()), b.Calls.Sub(clk.Now()), b.Work.Sub(clk.Now()))
		}
	}
}

func TestBudgetContexts(t *testing.T) {
	t.Parallel()
	dl := time.Now().Add(time.Minute)
	b := DefaultShares().Split(RealClock, dl)
	parent, cancel := context.WithDeadline(context.Background(), dl)
	work, cancelWork := b.WorkContext(parent)
	defer cancelWork()
	if got, _ := work.Deadline(); !got.Equal(b.Work) {
		t.Errorf("work ends at %v, want the Work line %v", got, b.Work)
	}
	settle, cancelSettle := b.SettleContext(parent)
	defer cancelSettle()
	cancel() // the work was stopped: settling goes on
	if settle.Err() != nil {
		t.Errorf("the settle context ended with the work's")
	}
	if got, _ := settle.Deadline(); !got.Equal(dl) {
		t.Errorf("settling ends at %v, want the deadline %v", got, dl)
	}

	// No deadline: the work is unbounded, settling is not.
	none := DefaultShares().Split(RealClock, time.Time{})
	work, cancelWork = none.WorkContext(context.Background())
	defer cancelWork()
	if _, ok := work.Deadline(); ok {
		t.Error("work without a deadline got one")
	}
	settle, cancelSettle = Budget{}.SettleContext(context.Background())
	defer cancelSettle()
	if got, ok := settle.Deadline(); !ok || time.Until(got) > DefaultShares().NoDeadline {
		t.Errorf("settling without a deadline ends at %v (%t), want within %v", got, ok, DefaultShares().NoDeadline)
	}
}
