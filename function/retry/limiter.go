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
// checked by config alone (ECS_RATE_LIMIT=off gives none).
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
//   - a Throttling answer cuts it to decrease of itself, once for all the
//     calls let out at the rate that was throttled;
//   - after that, each second of successes adds increasePerCaller of the
//     ceiling for every call waiting for its turn (and the one answered): the
//     quota is shared by the calls under way in the whole fleet, not by the
//     processes, so a process working five invocations at once takes about
//     five times the share of one working one, every batch moves at about
//     the same pace, and none is left to finish alone at a fraction of the
//     quota while the others' share lies unused;
//   - once accelerateAfter seconds of successes have passed without a cut,
//     the increase grows with the time since (as H-TCP's), so that one left
//     alone climbs back to the ceiling within seconds while instances that
//     share the quota, cut every few seconds, stay on the slow slope.
//
// Whenever the rate changes by a step (a cut, or growth by respaceStep), the
// schedule is laid out anew: the callers already waiting are woken and take
// new slots at the new rate. A cut slows them at once; growth lets them out
// sooner, where 40 callers holding slots of a cut rate of 6/s would keep it
// for almost 7 s after it had grown back.
//
// The constants were chosen on quotaSim (limiter_sim_test.go), which plays 1
// to 4 instances against a token bucket like the emulator's RateLimit, with
// the benchmark's 20 batches dealt at random to them.
type Limiter struct {
	ceiling float64 // calls per second

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
	// decrease is what a Throttling answer leaves of the rate. The service's
	// bucket holds a second of its quota, so a deep cut costs no throughput
	// (the tokens it leaves are there for the others, or for this pacer when
	// it has grown back) and it spaces the next throttled call further off:
	// 0.3 rather than TCP's 0.5 throttles a third fewer calls for the same
	// increase.
	decrease = 0.3
	// increasePerCaller is how much of the ceiling the rate regains per
	// second of successful calls after a throttle, for each call waiting
	// for its turn: 8 callers (one batch at BATCH_CONCURRENCY's default)
	// add 2% of the ceiling a second, 40 callers 10%.
	increasePerCaller = 0.0025
	// accelerateAfter is how long (in seconds of successes since the last
	// cut) the increase stays as it is; past it, it is multiplied by
	// 1 + x + x²/4, x the seconds beyond.
	accelerateAfter = 6.0
	// respaceStep is the growth of the rate, as a share of the rate the
	// schedule was laid out at, at which it is laid out anew.
	respaceStep = 0.1
	// floor is the lowest rate, as a share of the ceiling, so that a pacer
	// always lets calls out.
	floor = 1.0 / 64
)

// pacer is one API's rate and its schedule. It is a virtual schedule (GCRA)
// rather than x/time/rate's token bucket: a bucket holds the slots of the
// calls already waiting as a debt of tokens, which a new rate re-values (40
// waiting at 100/s become 0.8 s of silence at 50/s) and which cannot be
// spaced anew; a schedule can start again from now at the new rate.
type pacer struct {
	rate float64   // calls per second
	next time.Time // the earliest the next call may go
	// epoch counts the cuts: a throttled call let out before the last one
	// was paced at a rate already cut for it, and cuts nothing more.
	epoch uint64
	// throttled: a Throttling answer has come; the slow start is over.
	throttled bool
	// calm is the seconds of successes since the last cut (each success
	// counts 1/rate): the clock of the acceleration.
	calm float64

	// The layout of the schedule: slots given in an earlier one are void.
	layout     uint64
	layoutRate float64 // the rate it was laid out at
	// relaid ends when the schedule is laid out anew, waking the callers
	// that sleep on a slot of this layout; made on first use.
	relaid  context.Context
	relay   context.CancelFunc
	waiting int       // slots given and neither taken nor given back
	sent    time.Time // the slot of the last call let out
	last    time.Time // the last slot given, while it may be given back
}

// permit is one call's slot, given by a pacer, for the answer to report back.
type permit struct {
	at     time.Time
	epoch  uint64
	layout uint64
	relaid context.Context // ends when the slot is void
}

// NewLimiter paces each action at perSecond calls a second at most, learning
// from throttled answers (see Limiter). A perSecond of 0 or less means no
// limit: it returns nil.
func NewLimiter(perSecond float64) *Limiter {
	if perSecond <= 0 {
		return nil
	}
	return &Limiter{ceiling: perSecond, apis: map[string]*pacer{}}
}

// pacerLocked returns action's pacer, made on first use.
func (l *Limiter) pacerLocked(action string) *pacer {
	p, ok := l.apis[action]
	if !ok {
		p = &pacer{rate: startShare * l.ceiling, layoutRate: startShare * l.ceiling}
		l.apis[action] = p
	}
	return p
}

// interval is the time between two calls at the pacer's rate.
func (p *pacer) interval() time.Duration { return time.Duration(float64(time.Second) / p.rate) }

// relayout voids every slot given and starts the schedule again at next.
func (p *pacer) relayout(next time.Time) {
	p.layout++
	p.layoutRate = p.rate
	p.next = next
	p.last = time.Time{}
	if p.relay != nil {
		p.relay()
		p.relaid, p.relay = nil, nil
	}
}

// reserve takes action's next slot at now: the call may go at the permit's
// time, and takes it then (take), or gives it back (release).
func (l *Limiter) reserve(action string, now time.Time) permit {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.pacerLocked(action)
	at := now
	if p.next.After(at) {
		at = p.next
	}
	p.next = at.Add(p.interval())
	p.last = at
	p.waiting++
	if p.relaid == nil {
		p.relaid, p.relay = context.WithCancel(context.Background())
	}
	return permit{at: at, epoch: p.epoch, layout: p.layout, relaid: p.relaid}
}

// release gives back a slot that was not used; when it is still the last
// one given, the next call may take it.
func (l *Limiter) release(action string, perm permit) {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.pacerLocked(action)
	p.waiting--
	if p.layout == perm.layout && p.last.Equal(perm.at) {
		p.next, p.last = perm.at, time.Time{}
	}
}

// take is the call of a slot whose time has come: it may go when the
// schedule was not laid out anew since the slot was given (true), or it
// takes another one (false).
func (l *Limiter) take(action string, perm permit) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.pacerLocked(action)
	p.waiting--
	if p.layout != perm.layout {
		return false
	}
	if perm.at.After(p.sent) {
		p.sent = perm.at
	}
	return true
}

// answered tells action's pacer how a call it let out ended: throttled by the
// service (a Throttling code), let through (a success), or neither (any
// other failure, which says nothing about the rate).
func (l *Limiter) answered(action string, perm permit, throttled, passed bool, now time.Time) {
	if l == nil {
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
		p.calm = 0
		// The calls already waiting slow down at once: the next goes one
		// interval of the new rate from now.
		p.relayout(now.Add(p.interval()))
		return
	case throttled:
		// Paced at a rate already cut for it.
		return
	case passed && !p.throttled:
		p.rate = min(p.rate+slowStart, l.ceiling)
	case passed:
		// One success in a second of them at this rate: the rate gains the
		// increase per second, for every caller under way.
		second := 1 / p.rate
		p.calm += second
		perSecond := increasePerCaller * float64(p.waiting+1)
		if x := p.calm - accelerateAfter; x > 0 {
			perSecond *= 1 + x + x*x/4
		}
		p.rate = min(p.rate+perSecond*l.ceiling*second, l.ceiling)
	default:
		return
	}
	if p.rate >= p.layoutRate*(1+respaceStep) {
		// The callers already waiting go sooner: the next one interval of
		// the new rate after the last call let out.
		next := p.sent.Add(p.interval())
		if next.Before(now) {
			next = now
		}
		p.relayout(next)
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
// once rather than sleep into the deadline. When the schedule is laid out
// anew while it sleeps (the rate was cut, or has grown), it wakes and takes
// a slot of the new one.
func (l *Limiter) wait(ctx context.Context, action string, clk Clock, notAfter time.Time) (permit, error) {
	if l == nil {
		return permit{}, nil
	}
	for {
		now := clk.Now()
		perm := l.reserve(action, now)
		if !notAfter.IsZero() && perm.at.After(notAfter) {
			l.release(action, perm)
			return permit{}, errNoToken
		}
		if err := sleepUnlessRelaid(ctx, clk, perm.at.Sub(now), perm.relaid); err != nil {
			l.release(action, perm)
			return permit{}, err
		}
		if l.take(action, perm) {
			return perm, nil
		}
	}
}

// sleepUnlessRelaid sleeps d on clk, or less when relaid ends first; it
// fails only when ctx ends.
func sleepUnlessRelaid(ctx context.Context, clk Clock, d time.Duration, relaid context.Context) error {
	if d <= 0 {
		return nil
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(relaid, cancel)()
	_ = clk.Sleep(sctx, d) // its error is ctx's, or the relayout's
	return ctx.Err()
}
