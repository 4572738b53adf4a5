// Package fakeclock is the settable clock of the tests. It imports nothing of
// this module, so that any package's own tests can use it without a cycle.
package fakeclock

import (
	"context"
	"slices"
	"sync"
	"time"
)

// Clock is a settable clock, safe for concurrent use. It moves only when it
// is told to (Advance) or when someone sleeps on it (Sleep), so that a test
// asserts exact times and waits without waiting. Its Now and Sleep fit the
// clock seams of the production code (emulator.Options.Now, mnsfake.Options.Now,
// invoke.Handler.Now, retry's clock).
type Clock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

// New starts a clock at start. A clock for a server that checks request
// timestamps (the ECS emulator, the MNS fake) starts at time.Now(), since the
// SDKs stamp requests from the real clock.
func New(start time.Time) *Clock { return &Clock{now: start} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Sleep returns at once: it records d and moves the clock on by it, unless
// ctx is already done, when it returns ctx's error and records nothing.
func (c *Clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if d > 0 {
		c.sleeps = append(c.sleeps, d)
		c.now = c.now.Add(d)
	}
	return nil
}

// Sleeps lists the waits slept so far, in order.
func (c *Clock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.sleeps)
}
