package retry

import (
	"container/heap"
	"context"
	"math/rand/v2"
	"time"

	"golang.org/x/time/rate"
)

// quotaSim plays instances sharing one ECS quota on a virtual clock, event by
// event, through the Limiter's own reserve / take / answered (the calls
// Limiter.wait and the retry loop make), without a goroutine or a real wait:
// a run of minutes takes milliseconds, and every run with the same seed is
// the same.
type quotaSim struct {
	quota   float64       // the service's bucket: quota a second, a burst of quota (as the emulator's RateLimit)
	ceiling float64       // ECS_RATE_LIMIT of each instance
	latency time.Duration // from a call leaving to its answer, give or take half; the service decides halfway
	loads   []simLoad     // one per instance, each with its own Limiter
	// leave, when set, says when an instance stops calling (zero: never).
	leave func(instance int) time.Duration
	seed  uint64 // of the latency jitter and the backoff's
}

// simLoad is one instance's work: callers making calls one after the other.
type simLoad struct {
	callers int // calls under way at once
	calls   int // calls to make in all; 0: no end
}

// steady is n instances, each with callers making calls without end.
func steady(n, callers int) []simLoad {
	loads := make([]simLoad, n)
	for i := range loads {
		loads[i] = simLoad{callers: callers}
	}
	return loads
}

// The benchmark's quota runs (tests/bench/quota.go): 2,000 calls in 20
// batches (invocations) of 100, each worked by BATCH_CONCURRENCY's 8 callers.
const (
	simBatches      = 20
	simBatchCalls   = 100
	simBatchCallers = 8
)

// dealt is the benchmark's batches dealt to n instances: at random when dice
// is set (as the FC runtime API hands each invocation to whichever instance
// polls first, and an instance works all it is handed at once), else in turn.
func dealt(n int, dice *rand.Rand) []simLoad {
	loads := make([]simLoad, n)
	for b := range simBatches {
		i := b % n
		if dice != nil {
			i = dice.IntN(n)
		}
		loads[i].callers += simBatchCallers
		loads[i].calls += simBatchCalls
	}
	return loads
}

// simResult counts what the service answered between from and end.
type simResult struct {
	passed, throttled int
	perSecond         float64         // calls passed a second, over the window
	last              time.Duration   // when the last call reached the service
	passes            []time.Duration // when each call passed, in order
}

// throttledShare is the share of the answers that were Throttling.
func (r simResult) throttledShare() float64 {
	return float64(r.throttled) / float64(max(1, r.passed+r.throttled))
}

// measured is a run to its end measured as the benchmark measures it: the
// calls passed a second over the middle half of the run (from the first
// call to the last, so that neither the bucket full at the start nor the
// tail of the last batch counts), and the share throttled in all of it.
func (s quotaSim) measured() (perSecond, throttledShare float64) {
	all := s.run(0, time.Hour)
	from, to := all.last/4, 3*all.last/4
	mid := 0
	for _, at := range all.passes {
		if at >= from && at < to {
			mid++
		}
	}
	return float64(mid) / (to - from).Seconds(), all.throttledShare()
}

const simAction = "ModifyImageAttribute"

// simRun is one run of a quotaSim: the service, the event queue, the dice.
type simRun struct {
	quotaSim
	from    time.Duration
	service *rate.Limiter
	queue   simQueue
	seq     int
	dice    *rand.Rand
	policy  Policy
	res     simResult
}

var simEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func simTime(d time.Duration) time.Time { return simEpoch.Add(d) }

// run plays the simulation until end and counts the answers from from on.
func (s quotaSim) run(from, end time.Duration) simResult {
	r := &simRun{quotaSim: s, from: from, service: rate.NewLimiter(rate.Limit(s.quota), max(1, int(s.quota))),
		dice: rand.New(rand.NewPCG(1, 2+s.seed)), policy: DefaultPolicy()}
	r.policy.Rand = r.dice.Float64
	for i, load := range s.loads {
		in := &simInstance{run: r, lim: NewLimiter(s.ceiling), load: load, left: load.calls}
		if s.leave != nil {
			in.stop = s.leave(i)
		}
		for range load.callers {
			in.next(0)
		}
	}
	for r.queue.Len() > 0 {
		e := heap.Pop(&r.queue).(simEvent)
		if e.at > end {
			break
		}
		e.fn(e.at)
	}
	r.res.perSecond = float64(r.res.passed) / (end - from).Seconds()
	return r.res
}

func (r *simRun) schedule(at time.Duration, fn func(time.Duration)) {
	r.seq++
	heap.Push(&r.queue, simEvent{at: at, seq: r.seq, fn: fn})
}

// leg is one way of a call: half the latency, give or take half of that, so
// that the calls of different instances do not arrive in lockstep.
func (r *simRun) leg() time.Duration {
	return time.Duration(float64(r.latency/2) * (0.5 + r.dice.Float64()))
}

// simInstance is one process: its limiter and its share of the work.
type simInstance struct {
	run     *simRun
	lim     *Limiter
	load    simLoad
	left    int             // calls still to start, when load.calls is set
	stop    time.Duration   // when it stops calling; zero: never
	waiting []*simWaiter    // callers sleeping until their slot
	relaid  context.Context // of the last slot given: ends at the next layout
}

// simWaiter is a caller sleeping until its slot, on its n-th attempt.
type simWaiter struct {
	perm permit
	n    int
	done bool // woken: by its slot, or by a new layout of the schedule
}

// next starts the next call of a caller, if there is one.
func (in *simInstance) next(now time.Duration) {
	if in.load.calls > 0 {
		if in.left == 0 {
			return
		}
		in.left--
	}
	in.attempt(now, 1)
}

// attempt waits for a slot as Limiter.wait does, sends the call, and
// reports its answer.
func (in *simInstance) attempt(now time.Duration, n int) {
	if in.stop > 0 && now >= in.stop {
		return
	}
	r := in.run
	w := &simWaiter{perm: in.lim.reserve(simAction, simTime(now)), n: n}
	in.waiting, in.relaid = append(in.waiting, w), w.perm.relaid
	r.schedule(max(now, w.perm.at.Sub(simEpoch)), func(now time.Duration) {
		if w.done {
			return
		}
		w.done = true
		if !in.lim.take(simAction, w.perm) {
			in.attempt(now, n)
			return
		}
		r.schedule(now+r.leg(), func(now time.Duration) {
			ok := r.service.AllowN(simTime(now), 1)
			r.count(now, ok)
			r.schedule(now+r.leg(), func(now time.Duration) {
				in.lim.answered(simAction, w.perm, !ok, ok, simTime(now))
				in.wake(now)
				if ok {
					in.next(now)
					return
				}
				r.schedule(now+backoffAfter(r.policy, n, Transient), func(now time.Duration) { in.attempt(now, n+1) })
			})
		})
	})
}

// wake wakes the callers whose slots a new layout of the schedule voided,
// as the end of their permit's relaid context wakes them in Limiter.wait:
// each takes a slot of the new one.
func (in *simInstance) wake(now time.Duration) {
	if in.relaid == nil || in.relaid.Err() == nil {
		return // every caller asleep holds a slot of the current layout
	}
	var asleep, woken []*simWaiter
	for _, w := range in.waiting {
		switch {
		case w.done:
		case w.perm.relaid.Err() != nil:
			w.done = true
			woken = append(woken, w)
		default:
			asleep = append(asleep, w)
		}
	}
	in.waiting = asleep
	for _, w := range woken {
		in.lim.take(simAction, w.perm) // void: false, and the slot is no longer held
		in.attempt(now, w.n)
	}
}

func (r *simRun) count(now time.Duration, passed bool) {
	r.res.last = now
	switch {
	case now < r.from:
	case passed:
		r.res.passed++
		r.res.passes = append(r.res.passes, now)
	default:
		r.res.throttled++
	}
}

type simEvent struct {
	at  time.Duration
	seq int // ties go in the order they were scheduled
	fn  func(at time.Duration)
}

type simQueue []simEvent

func (q simQueue) Len() int { return len(q) }
func (q simQueue) Less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].seq < q[j].seq
}
func (q simQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *simQueue) Push(x any)   { *q = append(*q, x.(simEvent)) }
func (q *simQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}
