package retry

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// passN reports n successes on action, of calls let out at its current rate
// (without taking slots: the schedule stays as it is).
func passN(l *Limiter, action string, n int) {
	for range n {
		l.mu.Lock()
		perm := permit{epoch: l.pacerLocked(action).epoch}
		l.mu.Unlock()
		l.answered(action, perm, false, true, t0)
	}
}

// Calls go out one at a time, 1/rate apart, even after a long quiet time: a
// pacer holds no burst in reserve.
func TestPacerNeverBursts(t *testing.T) {
	t.Parallel()
	l := NewLimiter(16)
	passN(l, "A", 1000)
	checkRate(t, l, 16, "after 1,000 successes (the ceiling)")
	quiet := t0.Add(time.Hour)
	var got []time.Duration
	for range 5 {
		got = append(got, l.reserve("A", quiet).at.Sub(quiet))
	}
	want := []time.Duration{0, 62500 * time.Microsecond, 125 * time.Millisecond, 187500 * time.Microsecond, 250 * time.Millisecond}
	if !slices.Equal(got, want) {
		t.Errorf("slots %v after an hour's quiet, want %v", got, want)
	}
	// Another API has a pacer of its own.
	if at := l.reserve("B", quiet).at; !at.Equal(quiet) {
		t.Errorf("B waits %v behind A", at.Sub(quiet))
	}
}

// checkRate fails when action A's rate is not want.
func checkRate(t *testing.T, l *Limiter, want float64, when string) {
	t.Helper()
	if r := l.rateOf("A"); r != want {
		t.Errorf("%s: rate %v, want %v", when, r, want)
	}
}

// A pacer starts at half the ceiling and gains slowStart per success until
// throttled, up to the ceiling.
func TestPacerSlowStart(t *testing.T) {
	t.Parallel()
	l := NewLimiter(20)
	checkRate(t, l, 10, "at the start (half of 20)")
	passN(l, "A", 10)
	checkRate(t, l, 15, "after 10 successes")
	passN(l, "A", 100)
	checkRate(t, l, 20, "after 110 successes (the ceiling)")
}

// sent is a call let out at once: its slot taken, not held.
func sent(l *Limiter, action string, now time.Time) permit {
	perm := l.reserve(action, now)
	l.take(action, perm)
	return perm
}

// A Throttling answer cuts the rate to decrease of itself once for every call
// let out at the rate it was throttled at; a call let out after the cut cuts
// again; the rate never falls below the floor. A failure that is not
// Throttling says nothing about the rate.
func TestPacerDecreasesOnce(t *testing.T) {
	t.Parallel()
	l := NewLimiter(100)
	passN(l, "A", 1000)
	before := []permit{sent(l, "A", t0), sent(l, "A", t0), sent(l, "A", t0)}
	for _, p := range before {
		l.answered("A", p, true, false, t0)
	}
	checkRate(t, l, 30, "3 calls of one rate throttled (one cut)")
	for range 20 {
		l.answered("A", sent(l, "A", t0), true, false, t0)
	}
	checkRate(t, l, 100.0/64, "after 20 more cuts (the floor, 100/64)")
	r := l.rateOf("A")
	l.answered("A", sent(l, "A", t0), false, false, t0)
	if l.rateOf("A") != r {
		t.Errorf("an answer neither throttled nor passed changed the rate")
	}
}

// cutTo30 is a pacer of ceiling 100 cut once, to 30/s.
func cutTo30(t *testing.T) *Limiter {
	t.Helper()
	l := NewLimiter(100)
	passN(l, "A", 1000)
	l.answered("A", sent(l, "A", t0), true, false, t0)
	checkRate(t, l, 30, "cut once from the ceiling")
	return l
}

// After a cut, a second of successes adds increasePerCaller of the ceiling
// for each caller waiting for a slot and the one answered: 0.25/s alone, 2/s
// with 7 waiting. 30 successes from 30/s are about a second of them, each
// adding the increase a second over the rate: r² grows by twice the increase
// a success, from 900.
func TestPacerIncreasesPerCallerWaiting(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		waiting int
		want    float64
	}{{0, math.Sqrt(900 + 2*0.25*30)}, {7, math.Sqrt(900 + 2*2*30)}} {
		l := cutTo30(t)
		for range tc.waiting {
			l.reserve("A", t0)
		}
		passN(l, "A", 30)
		if r := l.rateOf("A"); math.Abs(r-tc.want) > 0.01 {
			t.Errorf("%d waiting, after a second of successes: %.3f/s, want %.3f", tc.waiting, r, tc.want)
		}
	}
}

// One caller left alone climbs back from a cut to the ceiling in seconds:
// slowly for accelerateAfter seconds of successes, then faster and faster.
func TestPacerAcceleratesWhenNothingIsThrottled(t *testing.T) {
	t.Parallel()
	l := cutTo30(t)
	for range 7 {
		l.reserve("A", t0) // 8 callers: one batch
	}
	var seconds float64 // of successes
	gained := map[int]float64{}
	for l.rateOf("A") < 100 && seconds < 60 {
		r := l.rateOf("A")
		passN(l, "A", 1)
		seconds += 1 / r
		gained[int(seconds)] += l.rateOf("A") - r
	}
	if seconds < accelerateAfter || seconds > 12 {
		t.Errorf("back at the ceiling after %.1f s of successes, want between %v and 12", seconds, accelerateAfter)
	}
	if gained[1] < 1.5 || gained[1] > 2.5 {
		t.Errorf("gained %.2f/s in the second second, want about 2 (2%% of the ceiling)", gained[1])
	}
	if gained[8] < 4*gained[1] {
		t.Errorf("gained %.2f/s in the ninth second, %.2f/s in the second: no acceleration", gained[8], gained[1])
	}
	passN(l, "A", 10000)
	checkRate(t, l, 100, "after 10,000 more successes (the ceiling)")
}

// A cut lays the schedule out anew from the moment it is made: the slots
// given at the old rate are void, their holders are woken (their permit's
// relaid context ends), and the next slot is one new interval away.
func TestPacerCutRespacesTheSchedule(t *testing.T) {
	t.Parallel()
	l := NewLimiter(10)
	passN(l, "A", 1000)
	var queued []permit
	for range 40 {
		queued = append(queued, l.reserve("A", t0)) // 4 s of slots at 10/s
	}
	cut := t0.Add(100 * time.Millisecond)
	l.answered("A", queued[0], true, false, cut)
	if at := l.reserve("A", cut).at; !at.Equal(cut.Add(time.Second / 3)) {
		t.Errorf("first slot after the cut at %v, want one interval at 3/s after it", at.Sub(cut))
	}
	if queued[39].relaid.Err() == nil || l.take("A", queued[39]) {
		t.Errorf("a slot given before the cut is still good")
	}
}

// Growth by respaceStep lays the schedule out anew too: slots held at the old
// rate are void, and the next slot is one interval of the new rate after the
// last call let out, not after the slots held.
func TestPacerGrowthRespacesTheSchedule(t *testing.T) {
	t.Parallel()
	l := cutTo30(t)
	last := sent(l, "A", t0)
	var held []permit
	for range 39 {
		held = append(held, l.reserve("A", t0)) // 1.3 s of slots at 30/s
	}
	for l.rateOf("A") < 30*(1+respaceStep) {
		if held[38].relaid.Err() != nil {
			t.Fatalf("laid out anew at %.2f/s, before growing by %v", l.rateOf("A"), respaceStep)
		}
		passN(l, "A", 1)
	}
	if held[38].relaid.Err() == nil {
		t.Fatalf("not laid out anew at %.2f/s", l.rateOf("A"))
	}
	now := t0.Add(10 * time.Millisecond)
	interval := time.Duration(float64(time.Second) / l.rateOf("A"))
	if at := l.reserve("A", now).at; !at.Equal(last.at.Add(interval)) {
		t.Errorf("first slot after growing at %v, want %v (one interval after the last call)", at.Sub(t0), interval)
	}
}

// A slot not used is given back when it is still the last: the next call
// takes it.
func TestPacerRelease(t *testing.T) {
	t.Parallel()
	l := NewLimiter(10)
	passN(l, "A", 1000)
	first := l.reserve("A", t0)
	second := l.reserve("A", t0)
	l.release("A", second)
	if again := l.reserve("A", t0); !again.at.Equal(second.at) {
		t.Errorf("slot %v, want the released %v", again.at, second.at)
	}
	l.release("A", first) // not the last: nothing changes
	if next := l.reserve("A", t0); !next.at.Equal(second.at.Add(100 * time.Millisecond)) {
		t.Errorf("slot %v after releasing an earlier one", next.at.Sub(t0))
	}
}

// cuttingClock is a fake clock on which the pacer is throttled while a
// caller sleeps, the first time only.
type cuttingClock struct {
	now  time.Time
	cut  func(now time.Time)
	done bool
}

func (c *cuttingClock) Now() time.Time { return c.now }
func (c *cuttingClock) Sleep(_ context.Context, d time.Duration) error {
	c.now = c.now.Add(d)
	if !c.done {
		c.done = true
		c.cut(c.now)
	}
	return nil
}

// A call whose rate was cut while it waited takes a slot at the new rate.
func TestWaitTakesANewSlotAfterACut(t *testing.T) {
	t.Parallel()
	l := NewLimiter(10)
	passN(l, "A", 1000)
	l.reserve("A", t0) // the slot at t0 is someone else's: the next is 100ms on
	clk := &cuttingClock{now: t0}
	clk.cut = func(now time.Time) { l.answered("A", permit{epoch: 0}, true, false, now) }
	perm, err := l.wait(context.Background(), "A", clk, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if want := t0.Add(100*time.Millisecond + time.Second/3); perm.epoch != 1 || !clk.now.Equal(want) {
		t.Errorf("went at %v with epoch %d, want at %v (100ms, then one interval at 3/s), epoch 1", clk.now.Sub(t0), perm.epoch, want.Sub(t0))
	}
}

// wakingClock's first Sleep lasts until its context ends (it says so on
// asleep); the later ones return at once, moving the clock on.
type wakingClock struct {
	mu     sync.Mutex
	now    time.Time
	asleep chan struct{}
	slept  bool
}

func (c *wakingClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *wakingClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	first := !c.slept
	c.slept = true
	if !first {
		c.now = c.now.Add(d)
	}
	c.mu.Unlock()
	if first {
		close(c.asleep)
		<-ctx.Done()
		return ctx.Err()
	}
	return nil
}

// A caller asleep until a slot seconds away is woken when the schedule is
// laid out anew, and takes a slot of the new layout at once: it does not
// sleep out a slot of the old one.
func TestWaitWakesWhenTheScheduleIsLaidOutAnew(t *testing.T) {
	t.Parallel()
	l := NewLimiter(10)
	passN(l, "A", 1000)
	for range 40 {
		l.reserve("A", t0) // 4 s of slots held by others
	}
	clk := &wakingClock{now: t0, asleep: make(chan struct{})}
	type result struct {
		perm permit
		err  error
	}
	done := make(chan result)
	go func() {
		perm, err := l.wait(context.Background(), "A", clk, time.Time{})
		done <- result{perm, err}
	}()
	<-clk.asleep // asleep until its slot, 4 s on: only a new layout wakes it
	l.answered("A", permit{epoch: 0}, true, false, t0)
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if want := t0.Add(time.Second / 3); r.perm.epoch != 1 || !r.perm.at.Equal(want) {
		t.Errorf("slot at %v of epoch %d, want %v (one interval at 3/s after the cut), epoch 1", r.perm.at.Sub(t0), r.perm.epoch, want.Sub(t0))
	}
}

// A caller whose context ends while it waits gives its slot back and says why.
func TestWaitGivesTheSlotBackWhenTheContextEnds(t *testing.T) {
	t.Parallel()
	l := NewLimiter(10)
	passN(l, "A", 1000)
	l.reserve("A", t0)
	ctx, cancel := context.WithCancel(context.Background())
	clk := &wakingClock{now: t0, asleep: make(chan struct{})}
	go func() { <-clk.asleep; cancel() }()
	if _, err := l.wait(ctx, "A", clk, time.Time{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want the context's error", err)
	}
	if at := l.reserve("A", t0).at; !at.Equal(t0.Add(100 * time.Millisecond)) {
		t.Errorf("next slot at %v, want the one given back (100ms)", at.Sub(t0))
	}
}

// A limit of 0 is none: NewLimiter gives nil, which lets every call out at once.
func TestNoLimit(t *testing.T) {
	t.Parallel()
	l := NewLimiter(0)
	if l != nil {
		t.Fatalf("NewLimiter(0) = %v, want nil", l)
	}
	clk := &cuttingClock{now: t0, cut: func(time.Time) { t.Error("a nil limiter slept") }}
	for range 100 {
		if _, err := l.wait(context.Background(), "A", clk, t0); err != nil {
			t.Fatal(err)
		}
	}
	l.answered("A", permit{}, true, false, t0) // nothing to learn, and no panic
}

// The benchmark's quota runs, played on quotaSim at 1, 4, 15 and 40 ms a
// call: 2,000 calls in 20 batches of 8 callers, against a quota of 100/s.
var simLatencies = []time.Duration{time.Millisecond, 4 * time.Millisecond, 15 * time.Millisecond, 40 * time.Millisecond}

// Alone at its ceiling (the quota), one instance working the 20 batches
// takes the whole quota and is never throttled.
func TestQuotaSimAlone(t *testing.T) {
	t.Parallel()
	for _, latency := range simLatencies {
		s := quotaSim{quota: 100, ceiling: 100, latency: latency, loads: dealt(1, nil)}
		if perSecond, throttled := s.measured(); perSecond < 95 || throttled > 0.01 {
			t.Errorf("alone at %v a call: %.1f calls/s of 100 over the middle half, %.2f%% throttled", latency, perSecond, 100*throttled)
		}
	}
}

// Four instances, each set to the quota, share it: in every run, together
// at 0.9 of it or more over the middle half, with 2% of their answers
// throttled or fewer, whether the batches are dealt at random (24 deals) or
// in turn. A deal at random often leaves one instance twice the work of
// another; it used to finish alone at a fraction of the quota. (Over 200
// deals, 800 runs, 2 came below 0.9, at 0.88; the most throttled, 1.9%.)
func TestQuotaSimFourInstances(t *testing.T) {
	t.Parallel()
	deals := [][]simLoad{dealt(4, nil)}
	for seed := range uint64(24) {
		deals = append(deals, dealt(4, rand.New(rand.NewPCG(seed, 99))))
	}
	for i, loads := range deals {
		for _, latency := range simLatencies {
			s := quotaSim{quota: 100, ceiling: 100, latency: latency, loads: loads, seed: uint64(i)}
			if perSecond, throttled := s.measured(); perSecond < 90 || throttled > 0.02 {
				t.Errorf("4 instances, deal %d %v, %v a call: %.1f calls/s of 100 over the middle half, %.2f%% throttled",
					i, loads, latency, perSecond, 100*throttled)
			}
		}
	}
}

// Four instances of one batch each, calling without end, share the quota
// with few throttled calls; when three stop, the one left is back at 0.9 of
// the quota within 15 s.
func TestQuotaSimSteadySharing(t *testing.T) {
	t.Parallel()
	four := quotaSim{quota: 100, ceiling: 100, latency: 20 * time.Millisecond, loads: steady(4, simBatchCallers)}
	if r := four.run(10*time.Second, 120*time.Second); r.perSecond < 95 || r.throttledShare() > 0.01 {
		t.Errorf("4 sharing: %.1f calls/s of 100, %.2f%% throttled", r.perSecond, 100*r.throttledShare())
	}
	four.leave = func(i int) time.Duration { return time.Duration(min(i, 1)) * 60 * time.Second }
	if r := four.run(75*time.Second, 90*time.Second); r.perSecond < 90 {
		t.Errorf("the one left, 15 s after the others stopped: %.1f calls/s of 100", r.perSecond)
	}
}

// The limiter slows down on the service's flow-control codes, and on none
// of its own or any other.
func TestThrottlingCodes(t *testing.T) {
	t.Parallel()
	for code, want := range map[string]bool{
		"Throttling": true, "Throttling.User": true, "Throttling.Api": true, "Rejected.Throttling": true,
		CodeClientLimit: false, "ServiceUnavailable": false, "InternalError": false, "": false, "NotThrottling": false,
	} {
		if got := isThrottlingCode(code); got != want {
			t.Errorf("isThrottlingCode(%q) = %t, want %t", code, got, want)
		}
	}
}
