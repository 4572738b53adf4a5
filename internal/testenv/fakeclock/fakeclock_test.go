package fakeclock

import (
	"context"
	"slices"
	"testing"
	"time"
)

func TestClock(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	c := New(start)
	c.Advance(time.Minute)
	if err := c.Sleep(context.Background(), 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := c.Sleep(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Sleep(ctx, time.Hour); err != context.Canceled {
		t.Errorf("Sleep on a done context = %v, want context.Canceled", err)
	}
	if got, want := c.Now(), start.Add(time.Minute+2*time.Second); !got.Equal(want) {
		t.Errorf("Now = %v, want %v", got, want)
	}
	if got := c.Sleeps(); !slices.Equal(got, []time.Duration{2 * time.Second}) {
		t.Errorf("Sleeps = %v, want [2s]: a zero wait and one on a done context are not sleeps", got)
	}
}
