package retry

import (
	"context"
	"time"
)

// Shares is the one table that splits an invocation's time. Each line is how
// long before the invocation's deadline one kind of work must stop, measured
// from the deadline itself and never from another line, so that nothing is
// kept twice. Split applies it once per invocation.
//
//	line      at most  of a short invocation  what stops there
//	Settle    3 s      1/4 of the time left   the work: the rest is for the deferral or dead-letter send
//	Calls     6 s      1/2                    every ECS call and its retries (3 s more than Settle:
//	                                          what follows a call that gave up, before settling)
//	Creating  8 s      2/3                    the wait for an image still Creating (5 s more than
//	                                          Settle: the promote's writes after the wait)
//
// With 12 s or more left every line is its maximum; with less, each keeps its
// share of what is left, so that settling keeps time however late the
// invocation started.
type Shares struct {
	Settle, Calls, Creating Share
	// NoDeadline bounds settling when the invocation has no deadline (the
	// CLI without one): a send to MNS must not hang for ever.
	NoDeadline time.Duration
}

// Share is one line of Shares: Max before the deadline, or Fraction of the
// time left when that is less.
type Share struct {
	Max      time.Duration
	Fraction float64
}

func (s Share) of(left time.Duration) time.Duration {
	return max(0, min(s.Max, time.Duration(s.Fraction*float64(left))))
}

// DefaultShares is the table as the function runs it (see Shares).
func DefaultShares() Shares {
	return Shares{
		Settle:     Share{Max: 3 * time.Second, Fraction: 1.0 / 4},
		Calls:      Share{Max: 6 * time.Second, Fraction: 1.0 / 2},
		Creating:   Share{Max: 8 * time.Second, Fraction: 2.0 / 3},
		NoDeadline: 6 * time.Second,
	}
}

// Budget is one invocation's time as Split divided it, with the clock it was
// divided on. A zero line means no bound (no deadline).
type Budget struct {
	Clock Clock
	// Deadline is the invocation's own; settling may use the time up to it.
	Deadline time.Time
	// Work is when planning, waiting and applying end.
	Work time.Time
	// Calls is when every ECS call (an attempt, a backoff, a rate-limit wait)
	// must have ended.
	Calls time.Time
	// Creating is the last moment a wait for an image still Creating may
	// sleep to.
	Creating time.Time

	noDeadline time.Duration
}

// Split divides the time from clk's now to deadline (zero: none) by the
// table. It is the only place the invocation's deadline is divided.
func (s Shares) Split(clk Clock, deadline time.Time) Budget {
	if clk == nil {
		clk = RealClock
	}
	b := Budget{Clock: clk, Deadline: deadline, noDeadline: s.NoDeadline}
	if deadline.IsZero() {
		return b
	}
	left := max(0, deadline.Sub(clk.Now()))
	// Each line stops no later than the one after it in the table.
	settle := s.Settle.of(left)
	calls := max(settle, s.Calls.of(left))
	creating := max(calls, s.Creating.of(left))
	b.Work = deadline.Add(-settle)
	b.Calls = deadline.Add(-calls)
	b.Creating = deadline.Add(-creating)
	return b
}

// Now is the budget clock's time.
func (b Budget) Now() time.Time { return b.clock().Now() }

// Sleep sleeps on the budget's clock.
func (b Budget) Sleep(ctx context.Context, d time.Duration) error { return b.clock().Sleep(ctx, d) }

func (b Budget) clock() Clock {
	if b.Clock == nil {
		return RealClock
	}
	return b.Clock
}

// WorkContext is ctx ending at the Work line: planning and applying stop
// there, and what is left of the deadline belongs to settling.
func (b Budget) WorkContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if b.Work.IsZero() {
		return context.WithCancel(ctx)
	}
	return context.WithDeadline(ctx, b.Work)
}

// SettleContext outlives the work context (and a cancelled work) but not
// the invocation: a deferral or a dead letter may use the time up to the
// deadline, whenever the work ended.
func (b Budget) SettleContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if b.Deadline.IsZero() {
		d := b.noDeadline
		if d <= 0 {
			d = DefaultShares().NoDeadline
		}
		return context.WithTimeout(context.WithoutCancel(ctx), d)
	}
	return context.WithDeadline(context.WithoutCancel(ctx), b.Deadline)
}
