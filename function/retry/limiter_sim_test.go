package retry

import (
	"container/heap"
	"math/rand/v2"
	"time"

	"golang.org/x/time/rate"
)

// quotaSim plays instances sharing one ECS quota on a virtual clock, event by
// event, through the Limiter's own reserve / current / answered (the calls
// Limiter.wait and the retry loop make), without a goroutine or a real wait:
// a run of minutes takes milliseconds, and every run with the same seed is
// the same.
type quotaSim struct {
	quota     float64       // the service's bucket: quota a second, a burst of quota (as the emulator's RateLimit)
	instances int           // processes, each with its own Limiter
	ceiling   float64       // ECS_RATE_LIMIT of each
	workers   int           // calls under way at once per instance
	latency   time.Duration // from a call leaving to its answer, give or take half; the service decides halfway
	// leave, when set, says when an instance stops calling (zero: never).
	leave func(instance int) time.Duration
	calls int    // when set, how many calls each instance makes in all
	seed  uint64 // of the latency jitter and the backoff's
}

// simResult counts what the service answered between from and end.
type simResult struct {
	passed, throttled int
	perSecond         float64       // calls passed a second, over the window
	last              time.Duration // when the last call reached the service
}

// throttledShare is the share of the answers that were Throttling.
func (r simResult) throttledShare() float64 {
	return float64(r.throttled) / float64(max(1, r.passed+r.throttled))
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
	for i := range s.instances {
		in := &simInstance{run: r, lim: NewLimiter(s.ceiling), left: s.calls}
		if s.leave != nil {
			in.stop = s.leave(i)
		}
		for range s.workers {
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
	run  *simRun
	lim  *Limiter
	left int           // calls still to make, when quotaSim.calls is set
	stop time.Duration // when it stops calling; zero: never
}

// next starts the next call of a worker, if there is one.
func (in *simInstance) next(now time.Duration) {
	if in.run.calls > 0 {
		if in.left == 0 {
			return
		}
		in.left--
	}
	in.attempt(now, 1)
}

// attempt waits for a slot as Limiter.wait does (a slot of a rate cut
// meanwhile is taken again), sends the call, and reports its answer.
func (in *simInstance) attempt(now time.Duration, n int) {
	if in.stop > 0 && now >= in.stop {
		return
	}
	r := in.run
	perm := in.lim.reserve(simAction, simTime(now))
	r.schedule(max(now, perm.at.Sub(simEpoch)), func(now time.Duration) {
		if !in.lim.current(simAction, perm) {
			in.attempt(now, n)
			return
		}
		r.schedule(now+r.leg(), func(now time.Duration) {
			ok := r.service.AllowN(simTime(now), 1)
			r.count(now, ok)
			r.schedule(now+r.leg(), func(now time.Duration) {
				in.lim.answered(simAction, perm, !ok, ok, simTime(now))
				if ok {
					in.next(now)
					return
				}
				r.schedule(now+backoffAfter(r.policy, n, Transient), func(now time.Duration) { in.attempt(now, n+1) })
			})
		})
	})
}

func (r *simRun) count(now time.Duration, passed bool) {
	r.res.last = now
	switch {
	case now < r.from:
	case passed:
		r.res.passed++
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
