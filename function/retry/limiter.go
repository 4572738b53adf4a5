package retry

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Limiter is the process's client-side rate limit, one pacer per API action
// (ECS counts its quota per API and account, whatever process calls). A nil
// *Limiter does not limit. Its ceiling is ECS_RATE_LIMIT, defaulted and
// checked by config alone.
//
// A pacer lets calls out one at a time, 1/rate apart, never in a burst: a
// burst of a second's worth is the whole quota, and it lands when the
// service's own bucket may already be drawn down by another instance or by
// the calls before it (4% throttled at the quota alone, with a burst of a
// second). Its rate learns from the answers, by additive increase and
// multiplicative decrease (AIMD), as TCP shares a link:
//
//   - it starts at half the ceiling (startShare) and, until its first
//     Throttling answer, gains slowStart calls/s per success (it doubles in
//     about 1.4 s of calls), so that instances starting together meet the
//     quota at about twice their share rather than four times it;
//   - a Throttling answer halves it (decrease), once for all the calls let
//     out at the rate that was throttled, and the calls already waiting take
//     new slots at the new rate;
//   - after that each success adds increasePerSecond of the ceiling per
//     second of successes, up to the ceiling.
//
// Instances sharing one quota thus each settle near their share of it, and
// one left alone climbs back to the ceiling within about 15 s of calls. The
// constants were chosen on quotaSim (limiter_sim_test.go), which plays 1 to 4
// instances against a token bucket like the emulator's RateLimit.
type Limiter struct {
	ceiling float64 // calls per second; 0: no limit

	mu   sync.Mutex
	apis map[string]*pacer
}

// The controller's constants.
const (
	// startShare is the share of the ceiling a pacer starts at.
	startShare = 0.5
	// slowStart is what a success adds to the rate, in calls per second,
	// until the first Throttling answer: the rate grows by half of itself
	// per second.
	slowStart = 0.5
	// decrease is what a Throttling answer leaves of the rate.
	decrease = 0.5
	// increasePerSecond is how much of the ceiling the rate regains per
	// second of successful calls after a throttle: slow enough that
	// instances sharing a quota find it with few throttled calls (each is a
	// retry), fast enough that one left alone is back at the ceiling soon.
	increasePerSecond = 0.05
	// floor is the lowest rate, as a share of the ceiling, so that a pacer
	// always lets calls out.
	floor = 1.0 / 64
)

// pacer is one API's rate and its schedule. It is a virtual schedule (GCRA)
// rather than x/time/rate's token bucket: a bucket holds the slots of the
// calls already waiting as a debt of tokens, which a cut rate re-values (40
// waiting at 100/s become 0.8 s of silence at 50/s) and which cannot be
// spaced anew; a schedule can start again from now at the new rate.
type pacer struct {
	rate float64   // calls per second
	next time.Time // the earliest the next call may go
	// epoch counts the decreases: a throttled call let out before the last
	// one was paced at a rate already cut for it, and cuts nothing more.
	epoch uint64
	// throttled: a Throttling answer has come; the slow start is over.
	throttled bool
}

// permit is one call's slot, given by a pacer, for the answer to report back.
type permit struct {
	at    time.Time
	epoch uint64
}

// NewLimiter paces each action at perSecond calls a second at most, learning
// from throttled answers (see Limiter). A perSecond of 0 or less means no limit.
func NewLimiter(perSecond float64) *Limiter {
	return &Limiter{ceiling: max(perSecond, 0), apis: map[string]*pacer{}}
}

// pacerLocked returns action's pacer, made on first use.
func (l *Limiter) pacerLocked(action string) *pacer {
	p, ok := l.apis[action]
	if !ok {
		p = &pacer{rate: startShare * l.ceiling}
		l.apis[action] = p
	}
	return p
}

// interval is the time between two calls at the pacer's rate.
func (p *pacer) interval() time.Duration { return time.Duration(float64(time.Second) / p.rate) }

// reserve takes action's next slot at now: the call may go at the permit's time.
func (l *Limiter) reserve(action string, now time.Time) permit {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.pacerLocked(action)
	at := now
	if p.next.After(at) {
		at = p.next
	}
	p.next = at.Add(p.interval())
	return permit{at: at, epoch: p.epoch}
}

// release gives back a slot that was not used, when it is still the last
// one given: the next call may take it.
func (l *Limiter) release(action string, perm permit) {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.pacerLocked(action)
	if p.epoch == perm.epoch && p.next.Equal(perm.at.Add(p.interval())) {
		p.next = perm.at
	}
}

// current reports whether no decrease came since perm was given.
func (l *Limiter) current(action string, perm permit) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pacerLocked(action).epoch == perm.epoch
}

// answered tells action's pacer how a call it let out ended: throttled by the
// service (a Throttling code), let through (a success), or neither (any
// other failure, which says nothing about the rate).
func (l *Limiter) answered(action string, perm permit, throttled, passed bool, now time.Time) {
	if l == nil || l.ceiling == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.pacerLocked(action)
	switch {
	case throttled && perm.epoch == p.epoch:
		p.rate = max(p.rate*decrease, floor*l.ceiling)
		p.epoch++
		p.throttled = true
		// The slots given at the old rate are void (their holders take new
		// ones when they wake): the schedule starts again from now.
		p.next = now.Add(p.interval())
	case throttled:
		// Paced at a rate already cut for it.
	case passed && !p.throttled:
		p.rate = min(p.rate+slowStart, l.ceiling)
	case passed:
		// One success in a second of them at this rate: the rate gains
		// increasePerSecond of the ceiling per second.
		p.rate = min(p.rate+increasePerSecond*l.ceiling/p.rate, l.ceiling)
	}
}

// rateOf is action's current rate, in calls per second.
func (l *Limiter) rateOf(action string) float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pacerLocked(action).rate
}

// errNoToken says the next slot is due too late for the caller's deadline.
var errNoToken = errors.New("client-side rate limit: no call allowed before the deadline's reserve")

// wait takes a slot for action, sleeping on clk until it is due, and returns
// the permit the answer is reported with. When the slot would be due after
// notAfter (zero means no bound) it takes nothing and returns errNoToken at
// once rather than sleep into the deadline. When the rate was cut while it
// slept, the slot was one of the old rate's, and it takes another at the new
// one: the calls already waiting slow down at once.
func (l *Limiter) wait(ctx context.Context, action string, clk Clock, notAfter time.Time) (permit, error) {
	if l == nil || l.ceiling == 0 {
		return permit{}, nil
	}
	for {
		now := clk.Now()
		perm := l.reserve(action, now)
		if !notAfter.IsZero() && perm.at.After(notAfter) {
			l.release(action, perm)
			return permit{}, errNoToken
		}
		if d := perm.at.Sub(now); d > 0 {
			if err := clk.Sleep(ctx, d); err != nil {
				l.release(action, perm)
				return permit{}, err
			}
		}
		if l.current(action, perm) {
			return perm, nil
		}
	}
}
