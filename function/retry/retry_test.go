package retry

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
	"github.com/ecs-image-lifecycle/image-lifecycle/internal/testenv/fakeclock"
)

// fakeClock is the shared settable clock (internal/testenv/fakeclock): it
// moves only when someone sleeps on it, or advance moves it.
type fakeClock struct{ *fakeclock.Clock }

// newFakeClock starts at the real time, so real context deadlines set from it
// stay in the future while the test runs.
func newFakeClock() *fakeClock { return &fakeClock{fakeclock.New(time.Now())} }

func (c *fakeClock) advance(d time.Duration) { c.Advance(d) }

func (c *fakeClock) slept() []time.Duration { return c.Sleeps() }

// scriptedAPI answers each call with the next scripted error, then success.
// Each call takes latency on the clock.
type scriptedAPI struct {
	clk     *fakeClock
	latency time.Duration

	mu        sync.Mutex
	script    []error
	calls     int
	callTimes []time.Time
	deadlines []time.Time
}

func (s *scriptedAPI) next(ctx context.Context) error {
	s.mu.Lock()
	s.calls++
	s.callTimes = append(s.callTimes, s.clk.Now())
	dl, _ := ctx.Deadline()
	s.deadlines = append(s.deadlines, dl)
	var err error
	if len(s.script) > 0 {
		err, s.script = s.script[0], s.script[1:]
	}
	s.mu.Unlock()
	s.clk.advance(s.latency)
	return err
}

func (s *scriptedAPI) DescribeImages(ctx context.Context, in ecsapi.DescribeImagesInput) (ecsapi.ImagePage, error) {
	if err := s.next(ctx); err != nil {
		return ecsapi.ImagePage{}, err
	}
	return ecsapi.ImagePage{RequestID: "REQ-OK", TotalCount: 1}, nil
}

func (s *scriptedAPI) ModifyImageAttribute(ctx context.Context, in ecsapi.ModifyInput) (string, error) {
	if err := s.next(ctx); err != nil {
		return "", err
	}
	return "REQ-OK", nil
}

func (s *scriptedAPI) DescribeImageSharePermission(ctx context.Context, regionID, imageID string) ([]string, error) {
	if err := s.next(ctx); err != nil {
		return nil, err
	}
	return []string{"1234"}, nil
}

func (s *scriptedAPI) RemoveImageShares(ctx context.Context, regionID, imageID string, accounts []string) error {
	return s.next(ctx)
}

func (s *scriptedAPI) CountInstancesUsingImage(ctx context.Context, regionID, imageID string) (int, error) {
	if err := s.next(ctx); err != nil {
		return 0, err
	}
	return 3, nil
}

func apiErr(code string, status int) *ecsapi.Error {
	return &ecsapi.Error{Action: "ModifyImageAttribute", Code: code, HTTPStatus: status, RequestID: "REQ-" + code}
}

func repeat(err error, n int) []error {
	out := make([]error, n)
	for i := range out {
		out[i] = err
	}
	return out
}

// testPolicy has round numbers and a fixed jitter of one half, so every wait
// is 3/4 of the doubled base.
func testPolicy() Policy {
	return Policy{Base: time.Second, Cap: 8 * time.Second, SlowBase: 4 * time.Second,
		Rand: func() float64 { return 0.5 }}
}

// reserve3s keeps the last 3 s of a deadline (all of it when less is left)
// back from the calls.
var reserve3s = Shares{Calls: Share{Max: 3 * time.Second, Fraction: 1}}

// testConfig is testPolicy on clk, with reserve3s of ctx's deadline, if any.
func testConfig(ctx context.Context, clk Clock) Config {
	dl, _ := ctx.Deadline()
	return Config{Policy: testPolicy(), Budget: reserve3s.Split(clk, dl)}
}

var deprecate = ecsapi.ModifyInput{RegionID: "cn-hangzhou", ImageID: "m-1", Changes: ecsapi.Changes{Status: ecsapi.StatusDeprecated}}

func TestRetriesTransientErrorsThenSucceeds(t *testing.T) {
	t.Parallel()
	reset := &ecsapi.Error{Action: "ModifyImageAttribute", Err: errors.New("read: connection reset by peer")}
	tests := []struct {
		name       string
		script     []error
		wantSleeps []time.Duration
	}{
		{"image is creating x3, slow base", repeat(apiErr("InvalidStatus.ImageIsCreating", 403), 3),
			[]time.Duration{3 * time.Second, 6 * time.Second, 6 * time.Second}}, // 4s, 8s, then the 8s cap
		{"throttling x2", []error{apiErr("Throttling.User", 400), apiErr("Throttling", 400)},
			[]time.Duration{750 * time.Millisecond, 1500 * time.Millisecond}},
		{"503 then 502 html then reset", []error{apiErr("ServiceUnavailable", 503), apiErr("", 502), reset},
			[]time.Duration{750 * time.Millisecond, 1500 * time.Millisecond, 3 * time.Second}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clk := newFakeClock()
			inner := &scriptedAPI{clk: clk, script: slices.Clone(tc.script)}
			var events []Event
			ctx, cancel := context.WithDeadline(context.Background(), clk.Now().Add(time.Minute))
			defer cancel()
			c := testConfig(ctx, clk)
			c.Policy.Observe = func(e Event) { events = append(events, e) }
			id, err := New(inner, c).ModifyImageAttribute(ctx, deprecate)
			if err != nil || id != "REQ-OK" {
				t.Fatalf("= %q, %v; want success", id, err)
			}
			if inner.calls != len(tc.script)+1 {
				t.Errorf("%d calls, want %d", inner.calls, len(tc.script)+1)
			}
			if got := clk.slept(); !slices.Equal(got, tc.wantSleeps) {
				t.Errorf("sleeps %v, want %v", got, tc.wantSleeps)
			}
			if len(events) != len(tc.script)+1 || events[len(events)-1].Err != nil || events[len(events)-1].Attempt != len(tc.script)+1 {
				t.Errorf("events %+v", events)
			}
			for i, e := range events[:len(events)-1] {
				if !e.Class.Retryable() || e.Backoff != tc.wantSleeps[i] {
					t.Errorf("event %d = %+v", i, e)
				}
			}
		})
	}
}

func TestPermanentErrorReturnsAtOnce(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	inner := &scriptedAPI{clk: clk, script: []error{apiErr("Forbidden.RAM", 403)}}
	_, err := New(inner, testConfig(context.Background(), clk)).ModifyImageAttribute(context.Background(), deprecate)
	var e *ecsapi.Error
	if !errors.As(err, &e) || e.Code != "Forbidden.RAM" {
		t.Fatalf("err = %v, want the API's Forbidden.RAM", err)
	}
	if inner.calls != 1 || Attempts(err) != 1 || len(clk.slept()) != 0 || Classify(err) != Permanent {
		t.Errorf("calls %d, Attempts %d, sleeps %v, class %v", inner.calls, Attempts(err), clk.slept(), Classify(err))
	}
}

func TestPermanentAfterRetriesCountsAttempts(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	inner := &scriptedAPI{clk: clk, script: []error{apiErr("Throttling", 400), apiErr("Throttling", 400), apiErr("InvalidImageId.NotFound", 404)}}
	_, err := New(inner, testConfig(context.Background(), clk)).DescribeImages(context.Background(), ecsapi.DescribeImagesInput{})
	if ecsapi.Code(err) != "InvalidImageId.NotFound" || Attempts(err) != 3 || Classify(err) != Permanent {
		t.Errorf("err %v, attempts %d, class %v", err, Attempts(err), Classify(err))
	}
}

func TestDeadlineEndsRetryWithExhausted(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	// Each attempt takes 500ms; waits are 0.75s, 1.5s, 3s, 6s. With the
	// deadline at 12s and a 3s reserve, attempts must end by 9s: they start
	// at 0, 1.25, 3.25 and 6.75s; a 5th would start at 13.25s, so it is not made.
	inner := &scriptedAPI{clk: clk, latency: 500 * time.Millisecond, script: repeat(apiErr("Throttling.User", 400), 100)}
	start := clk.Now()
	ctx, cancel := context.WithDeadline(context.Background(), start.Add(12*time.Second))
	defer cancel()
	_, err := New(inner, testConfig(ctx, clk)).ModifyImageAttribute(ctx, deprecate)
	var ex *Exhausted
	if !errors.As(err, &ex) {
		t.Fatalf("err = %v, want *Exhausted", err)
	}
	if ex.Attempts != 4 || inner.calls != 4 || Attempts(err) != 4 {
		t.Errorf("attempts %d, calls %d", ex.Attempts, inner.calls)
	}
	if ex.Waited != 5250*time.Millisecond {
		t.Errorf("waited %v, want 5.25s", ex.Waited)
	}
	if Classify(err) != Transient || ecsapi.Code(err) != "Throttling.User" {
		t.Errorf("class %v, code %q: the caller must be able to defer", Classify(err), ecsapi.Code(err))
	}
	// The reserve: every attempt ran under a deadline 3s before the caller's and ended before it.
	notAfter := start.Add(9 * time.Second)
	for i, dl := range inner.deadlines {
		if !dl.Equal(notAfter) {
			t.Errorf("attempt %d ran with deadline %v, want %v", i+1, dl.Sub(start), notAfter.Sub(start))
		}
		if end := inner.callTimes[i].Add(inner.latency); end.After(notAfter) {
			t.Errorf("attempt %d ended at %v, past the reserve", i+1, end.Sub(start))
		}
	}
	if clk.Now().After(notAfter) {
		t.Errorf("returned at %v, past %v", clk.Now().Sub(start), notAfter.Sub(start))
	}
}

func TestNoTimeLeftMakesNoAttempt(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	inner := &scriptedAPI{clk: clk}
	ctx, cancel := context.WithDeadline(context.Background(), clk.Now().Add(2*time.Second)) // less than the 3s reserve
	defer cancel()
	_, err := New(inner, testConfig(ctx, clk)).CountInstancesUsingImage(ctx, "", "m-1")
	var ex *Exhausted
	if !errors.As(err, &ex) || ex.Attempts != 0 || inner.calls != 0 || Classify(err) != Transient {
		t.Fatalf("err = %v (calls %d), want *Exhausted with no attempt, transient", err, inner.calls)
	}
	var e *ecsapi.Error
	if !errors.As(err, &e) || e.Action != "DescribeInstances" {
		t.Errorf("Last = %#v, want an *ecsapi.Error naming the action", ex.Last)
	}
}

func TestMaxAttempts(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	inner := &scriptedAPI{clk: clk, script: repeat(apiErr("InternalError", 500), 10)}
	c := testConfig(context.Background(), clk)
	c.Policy.MaxAttempts = 3
	err := New(inner, c).RemoveImageShares(context.Background(), "", "m-1", []string{"1"})
	var ex *Exhausted
	if !errors.As(err, &ex) || ex.Attempts != 3 || inner.calls != 3 || Classify(err) != Transient {
		t.Fatalf("err = %v, calls %d", err, inner.calls)
	}
	if got, want := clk.slept(), []time.Duration{750 * time.Millisecond, 1500 * time.Millisecond}; !slices.Equal(got, want) {
		t.Errorf("sleeps %v, want %v (none after the last attempt)", got, want)
	}
}

func TestAlreadyDoneIsSuccess(t *testing.T) {
	t.Parallel()
	activate := ecsapi.ModifyInput{ImageID: "m-1", Changes: ecsapi.Changes{Status: ecsapi.StatusAvailable}}
	tests := []struct {
		name    string
		in      ecsapi.ModifyInput
		err     *ecsapi.Error
		wantErr bool
	}{
		{"activate an Available image", activate, apiErr("ImageStatus.NotDeprecated", 403), false},
		{"deprecate a Deprecated image", deprecate, apiErr("ImageStatus.NotAvailable", 403), false},
		{"not-deprecated when deprecating is an error", deprecate, apiErr("ImageStatus.NotDeprecated", 403), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clk := newFakeClock()
			inner := &scriptedAPI{clk: clk, script: []error{apiErr("Throttling", 400), tc.err}}
			var notes []string
			c := testConfig(context.Background(), clk)
			c.Policy.Observe = func(e Event) {
				if e.Note != "" {
					notes = append(notes, e.Note)
				}
			}
			id, err := New(inner, c).ModifyImageAttribute(context.Background(), tc.in)
			if tc.wantErr {
				if err == nil || Attempts(err) != 2 {
					t.Fatalf("= %q, %v; want an error after 2 attempts", id, err)
				}
				return
			}
			if err != nil || id != tc.err.RequestID || inner.calls != 2 {
				t.Fatalf("= %q, %v after %d calls; want success with the request id", id, err, inner.calls)
			}
			if len(notes) != 1 {
				t.Errorf("notes %q, want one for the log", notes)
			}
			// The engine asks whether a write happened: here none did.
			inner.script, inner.calls = []error{tc.err}, 0
			type wroteAPI interface {
				ModifyImageAttributeWrote(context.Context, ecsapi.ModifyInput) (string, bool, error)
			}
			id, wrote, err := New(inner, c).(wroteAPI).ModifyImageAttributeWrote(context.Background(), tc.in)
			if err != nil || wrote || id != tc.err.RequestID {
				t.Errorf("ModifyImageAttributeWrote = %q, %t, %v; want success, nothing written", id, wrote, err)
			}
		})
	}
}

func TestAttemptCutByReserveIsTransient(t *testing.T) {
	t.Parallel()
	// Real clock: the inner call blocks until its context ends, as the SDK
	// client does when its timeout is the time left.
	inner := blockingAPI{}
	p := Policy{Base: time.Millisecond, Cap: time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	dl, _ := ctx.Deadline()
	b := Shares{Calls: Share{Max: 200 * time.Millisecond, Fraction: 1}}.Split(RealClock, dl)
	_, err := New(inner, Config{Policy: p, Budget: b}).DescribeImages(ctx, ecsapi.DescribeImagesInput{})
	if ctx.Err() != nil {
		t.Errorf("the caller's context ended: the reserve was not kept")
	}
	var ex *Exhausted
	if !errors.As(err, &ex) || ex.Attempts != 1 || Classify(err) != Transient {
		t.Fatalf("err = %v, want *Exhausted after 1 attempt, transient", err)
	}
}

type blockingAPI struct{ ecsapi.API }

func (blockingAPI) DescribeImages(ctx context.Context, _ ecsapi.DescribeImagesInput) (ecsapi.ImagePage, error) {
	<-ctx.Done()
	return ecsapi.ImagePage{}, &ecsapi.Error{Action: "DescribeImages", Err: fmt.Errorf("%w: %w", ecsapi.ErrContextDone, ctx.Err())}
}

// The caller's context ended: the call is not retried, and what is left is
// out of time, not wrong, so its class is Transient and its message is
// deferred (this used to be Permanent here and patched to transient by the
// handler; the chain now says it once).
func TestCallerContextEndIsNotRetried(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	clk := newFakeClock()
	inner := &scriptedAPI{clk: clk, script: []error{&ecsapi.Error{Action: "ModifyImageAttribute", Err: fmt.Errorf("%w: %w", ecsapi.ErrContextDone, context.Canceled)}}}
	// No limiter and no deadline: the attempt is made and its context error is final.
	_, err := New(inner, testConfig(ctx, clk)).ModifyImageAttribute(ctx, deprecate)
	if !errors.Is(err, context.Canceled) || Classify(err) != Transient || inner.calls != 1 {
		t.Errorf("err = %v, class %v, calls %d", err, Classify(err), inner.calls)
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	p := Policy{Base: 200 * time.Millisecond, Cap: 10 * time.Second}
	tests := []struct {
		attempt int
		rand    float64
		want    time.Duration
	}{
		{0, 0.5, 0},
		{1, 0, 100 * time.Millisecond},
		{1, 0.5, 150 * time.Millisecond},
		{1, 0.999, 199900 * time.Microsecond},
		{2, 0, 200 * time.Millisecond},
		{3, 0.5, 600 * time.Millisecond},
		{6, 0, 3200 * time.Millisecond},
		{7, 0, 5 * time.Second}, // 12.8s capped at 10s
		{7, 0.5, 7500 * time.Millisecond},
		{1000, 0.5, 7500 * time.Millisecond},
	}
	for _, tc := range tests {
		p.Rand = func() float64 { return tc.rand }
		if got := Backoff(p, tc.attempt); got != tc.want {
			t.Errorf("Backoff(attempt %d, rand %v) = %v, want %v", tc.attempt, tc.rand, got, tc.want)
		}
	}
	uncapped := Policy{Base: time.Hour, Rand: func() float64 { return 0 }}
	if got := Backoff(uncapped, 200); got <= 0 {
		t.Errorf("uncapped backoff overflowed: %v", got)
	}
	// The real jitter stays in [d/2, d).
	for range 1000 {
		if got := Backoff(Policy{Base: time.Second, Cap: time.Minute}, 2); got < time.Second || got >= 2*time.Second {
			t.Fatalf("Backoff = %v, outside [1s, 2s)", got)
		}
	}
}

func TestDefaultPolicy(t *testing.T) {
	t.Parallel()
	p := DefaultPolicy()
	if p.Base <= 0 || p.Cap < p.Base || p.SlowBase <= p.Base || p.MaxAttempts != 0 {
		t.Errorf("DefaultPolicy = %+v", p)
	}
}

// Through the retry layer, calls of one API go 1/rate apart from the first
// (a pacer at its ceiling holds no burst), and another API is not held back.
func TestLimiterPacesCalls(t *testing.T) {
	t.Parallel()
	const perSecond, calls = 16, 100
	clk := newFakeClock()
	inner := &scriptedAPI{clk: clk}
	c := testConfig(context.Background(), clk)
	c.Limiter = NewLimiter(perSecond)
	passN(c.Limiter, "DescribeImages", 1000) // at the ceiling
	api := New(inner, c)
	start := clk.Now()
	for i := range calls {
		if _, err := api.DescribeImages(context.Background(), ecsapi.DescribeImagesInput{}); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	other := clk.Now()
	if _, err := api.CountInstancesUsingImage(context.Background(), "", "m-1"); err != nil || !clk.Now().Equal(other) {
		t.Errorf("DescribeInstances waited %v behind DescribeImages (err %v)", clk.Now().Sub(other), err)
	}
	for k, at := range inner.callTimes[:calls] {
		if got, due := at.Sub(start), time.Duration(k)*time.Second/perSecond; got != due {
			t.Errorf("call %d at %v, want %v", k, got, due)
		}
	}
}

func TestLimiterDoesNotWaitPastTheReserve(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	inner := &scriptedAPI{clk: clk}
	ctx, cancel := context.WithDeadline(context.Background(), clk.Now().Add(5500*time.Millisecond))
	defer cancel()
	c := testConfig(ctx, clk)
	c.Limiter = NewLimiter(1) // one call a second
	passN(c.Limiter, "DescribeImages", 10)
	api := New(inner, c)
	var errs []error
	for range 4 {
		_, err := api.DescribeImages(ctx, ecsapi.DescribeImagesInput{})
		errs = append(errs, err)
	}
	// Calls at 0s, 1s and 2s fit before 5.5s-3s; the 4th token is due at 3s.
	if inner.calls != 3 || errs[2] != nil {
		t.Fatalf("calls %d, errs %v", inner.calls, errs)
	}
	var ex *Exhausted
	if !errors.As(errs[3], &ex) || ex.Attempts != 0 || ecsapi.Code(errs[3]) != "Throttling.ClientLimit" || Classify(errs[3]) != Transient {
		t.Errorf("4th call: %v, want Exhausted by the client limit, transient", errs[3])
	}
	if got := clk.slept(); !slices.Equal(got, []time.Duration{time.Second, time.Second}) {
		t.Errorf("sleeps %v: the refused call must not sleep", got)
	}
}

func TestNilLimiterAndUnlimitedRate(t *testing.T) {
	t.Parallel()
	for _, lim := range []*Limiter{nil, NewLimiter(0)} {
		clk := newFakeClock()
		c := testConfig(context.Background(), clk)
		c.Limiter = lim
		api := New(&scriptedAPI{clk: clk}, c)
		for range 50 {
			if _, err := api.DescribeImageSharePermission(context.Background(), "", "m-1"); err != nil {
				t.Fatal(err)
			}
		}
		if s := clk.slept(); len(s) != 0 {
			t.Errorf("limiter %v slept %v", lim, s)
		}
	}
}

// creatingThenBlocking answers InvalidStatus.ImageIsCreating once, then blocks
// until its context ends, as a slow answer cut by the reserve does.
type creatingThenBlocking struct {
	ecsapi.API
	calls *int
}

func (c creatingThenBlocking) ModifyImageAttribute(ctx context.Context, _ ecsapi.ModifyInput) (string, error) {
	if *c.calls++; *c.calls == 1 {
		return "", apiErr("InvalidStatus.ImageIsCreating", 403)
	}
	<-ctx.Done()
	return "", &ecsapi.Error{Action: "ModifyImageAttribute", Err: fmt.Errorf("%w: %w", ecsapi.ErrContextDone, ctx.Err())}
}

// A cut by the reserve after a transient error reports that error, not the
// cut: the caller defers the message with the code that kept it waiting.
func TestCutByReserveKeepsTheErrorWorthReporting(t *testing.T) {
	t.Parallel()
	calls := 0
	p := Policy{Base: time.Millisecond, Cap: time.Millisecond, SlowBase: time.Millisecond}
	// Seconds, not milliseconds: a machine busy with the race-built suite must
	// still make the second attempt before the reserve's line.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	dl, _ := ctx.Deadline()
	b := Shares{Calls: Share{Max: time.Second, Fraction: 1}}.Split(RealClock, dl)
	_, err := New(creatingThenBlocking{calls: &calls}, Config{Policy: p, Budget: b}).ModifyImageAttribute(ctx, deprecate)
	var ex *Exhausted
	if !errors.As(err, &ex) || ex.Attempts != 2 || calls != 2 {
		t.Fatalf("err = %v (calls %d), want *Exhausted after 2 attempts", err, calls)
	}
	if got := ecsapi.Code(err); got != "InvalidStatus.ImageIsCreating" {
		t.Errorf("code = %q, want the ImageIsCreating that kept it retrying", got)
	}
}
