package retry

import (
	"context"
	"time"
)

// Clock is the one time source of an invocation's deadline budget: Split reads
// it to divide the time left, the retry loop and the rate limiter wait on it,
// and the engine's wait for a Creating image sleeps on it. Tests inject a fake
// one so that every wait is exact.
type Clock interface {
	Now() time.Time
	// Sleep waits for d, or returns ctx's error when ctx ends first.
	Sleep(ctx context.Context, d time.Duration) error
}

// RealClock is the wall clock.
var RealClock Clock = realClock{}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
