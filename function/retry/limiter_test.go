package retry

import (
	"context"
	"math"
	"slices"
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

// A Throttling answer halves the rate once for every call let out at the rate
// it was throttled at; a call let out after the cut cuts again; the rate
// never falls below the floor; then each success adds increasePerSecond of
// the ceiling per second of successes, up to the ceiling.
func TestPacerDecreasesOnceThenIncreases(t *testing.T) {
	t.Parallel()
	l := NewLimiter(64)
	passN(l, "A", 1000)
	before := []permit{l.reserve("A", t0), l.reserve("A", t0), l.reserve("A", t0)}
	for _, p := range before {
		l.answered("A", p, true, false, t0)
	}
	checkRate(t, l, 32, "3 calls of one rate throttled (one cut)")
	if l.current("A", before[2]) {
		t.Errorf("a slot given before the cut is still current")
	}
	for range 20 {
		l.answered("A", l.reserve("A", t0), true, false, t0)
	}
	checkRate(t, l, 1, "after 20 more cuts (the floor, 64/64)")
	// From 1/s, at +0.05*64/rate a success: the rate r after n successes
	// solves r^2 = 1 + 2*3.2*n; 155 successes make 31.6/s.
	passN(l, "A", 155)
	if r := l.rateOf("A"); math.Abs(r-31.6) > 0.3 {
		t.Errorf("after 155 successes: %v, want about 31.6", r)
	}
	// A failure that is not Throttling says nothing about the rate.
	r := l.rateOf("A")
	l.answered("A", l.reserve("A", t0), false, false, t0)
	if l.rateOf("A") != r {
		t.Errorf("an answer neither throttled nor passed changed the rate")
	}
	passN(l, "A", 10000)
	checkRate(t, l, 64, "after 10,000 more successes (the ceiling)")
}

// A cut spaces the schedule anew from the moment it is made: the slots given
// at the old rate are void, and the next one is one new interval away.
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
	if at := l.reserve("A", cut).at; !at.Equal(cut.Add(200 * time.Millisecond)) {
		t.Errorf("first slot after the cut at %v, want one interval at 5/s after it", at.Sub(cut))
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
	if perm.epoch != 1 || !clk.now.Equal(t0.Add(300*time.Millisecond)) {
		t.Errorf("went at %v with epoch %d, want at 300ms (100ms, then 200ms at 5/s), epoch 1", clk.now.Sub(t0), perm.epoch)
	}
}

// Alone at its ceiling, an instance takes the whole quota and is never
// throttled; four instances each set to the quota share it, together at 0.9
// of it or more with 2% of their calls throttled or fewer, in a long run and
// in runs of 2,000 calls (30 of them: 5 seeds, 3 latencies, 8 or 40 calls
// under way per instance); and the one left when the others stop climbs back
// to the quota.
func TestLimiterSharesTheQuota(t *testing.T) {
	t.Parallel()
	alone := quotaSim{quota: 100, instances: 1, ceiling: 100, workers: 8, latency: 20 * time.Millisecond}.run(10*time.Second, 120*time.Second)
	if alone.perSecond < 99 || alone.throttled != 0 {
		t.Errorf("alone: %.1f calls/s of 100, %d throttled", alone.perSecond, alone.throttled)
	}
	four := quotaSim{quota: 100, instances: 4, ceiling: 100, workers: 8, latency: 20 * time.Millisecond}
	if r := four.run(10*time.Second, 120*time.Second); r.perSecond < 95 || r.throttledShare() > 0.015 {
		t.Errorf("4 sharing: %.1f calls/s of 100, %.2f%% throttled", r.perSecond, 100*r.throttledShare())
	}
	four.leave = func(i int) time.Duration { return time.Duration(min(i, 1)) * 60 * time.Second }
	if r := four.run(75*time.Second, 90*time.Second); r.perSecond < 90 {
		t.Errorf("the one left, 15 s after the others stopped: %.1f calls/s of 100", r.perSecond)
	}
	// Runs of 2,000 calls (as the benchmark's 2,000 intents): the rate over
	// the middle half of each run, and the share throttled in all of it.
	var rates, shares []float64
	for seed := range uint64(5) {
		for _, latency := range []time.Duration{2 * time.Millisecond, 20 * time.Millisecond, 60 * time.Millisecond} {
			for _, workers := range []int{8, 40} {
				s := quotaSim{quota: 100, instances: 4, ceiling: 100, workers: workers, latency: latency, calls: 500, seed: seed}
				all := s.run(0, time.Hour)
				rates = append(rates, s.run(all.last/4, 3*all.last/4).perSecond)
				shares = append(shares, 100*all.throttledShare())
			}
		}
	}
	slices.Sort(rates)
	slices.Sort(shares)
	if p10, med := rates[len(rates)/10], rates[len(rates)/2]; p10 < 90 || med < 95 {
		t.Errorf("2,000 calls in 4 instances: calls/s over the middle half %.1f (p10 %.1f, median %.1f), want 90 and 95 at least", rates, p10, med)
	}
	if most := shares[len(shares)-1]; most > 2 {
		t.Errorf("2,000 calls in 4 instances: %.2f%% throttled, want 2%% at most in every run", shares)
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
