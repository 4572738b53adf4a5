package retry

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
)

// Exhausted is returned when retrying stops on a transient failure before
// the failure stopped: no time was left in the budget (or the caller's
// context ended), Policy.MaxAttempts was reached, or the process's retry
// budget (Quota) was empty. Classify reports it Transient, so the caller
// defers the message rather than dead-lettering it.
type Exhausted struct {
	// Last is the failure worth reporting: the last one that kept the loop
	// retrying (say InvalidStatus.ImageIsCreating), not the time cut that
	// ended it, unless nothing else failed.
	Last     error
	Attempts int           // attempts made; 0 when there was no time for any
	Waited   time.Duration // time spent in backoff and rate-limit waits
	// Why says what stopped the retries.
	Why string
}

// Reasons an Exhausted gives in Why.
const (
	WhyNoTime      = "no time left in the invocation's budget"
	WhyMaxAttempts = "the attempt limit was reached"
	WhyQuota       = "the process's retry budget is empty"
)

func (e *Exhausted) Error() string {
	return fmt.Sprintf("gave up after %d attempts and %v of waiting (%s): %v", e.Attempts, e.Waited, e.Why, e.Last)
}

func (e *Exhausted) Unwrap() error { return e.Last }

// retried carries the attempt count of a call that failed permanently after
// at least one retry.
type retried struct {
	err      error
	attempts int
}

func (e *retried) Error() string { return fmt.Sprintf("after %d attempts: %v", e.attempts, e.err) }
func (e *retried) Unwrap() error { return e.err }

// Attempts returns how many attempts a failed call made: 1 when it was not
// retried, 0 for a nil error.
func Attempts(err error) int {
	if err == nil {
		return 0
	}
	var ex *Exhausted
	if errors.As(err, &ex) {
		return ex.Attempts
	}
	var r *retried
	if errors.As(err, &r) {
		return r.attempts
	}
	return 1
}

// errNoTime is the Last error of an Exhausted that could not make any attempt.
var errNoTime = errors.New("no time left for a call before the budget's Calls line")

// Config is what the retry layer needs besides the inner API.
type Config struct {
	Policy Policy
	// Limiter is the process's client-side rate limit; nil: none.
	Limiter *Limiter
	// Quota is the process's retry budget; nil: retries cost nothing.
	Quota *Quota
	// Budget is the invocation's time as Shares.Split divided it: no attempt
	// runs past its Calls line, and its Clock is the loop's. A zero Budget
	// bounds the calls by their context alone, on the real clock.
	Budget Budget
}

type api struct {
	inner ecsapi.API
	c     Config
}

// New decorates inner for one invocation: every call waits for the rate
// limit, is classified when it fails (Classify), and is repeated under the
// policy while the failure is transient, the budget has time and the quota
// has tokens. ModifyImageAttribute's already-done answers become success.
func New(inner ecsapi.API, c Config) ecsapi.API {
	return &api{inner: inner, c: c}
}

func (a *api) DescribeImages(ctx context.Context, in ecsapi.DescribeImagesInput) (ecsapi.ImagePage, error) {
	return run(ctx, a, "DescribeImages", Classify, nil,
		func(ctx context.Context) (ecsapi.ImagePage, error) { return a.inner.DescribeImages(ctx, in) })
}
func (a *api) ModifyImageAttribute(ctx context.Context, in ecsapi.ModifyInput) (string, error) {
	id, _, err := a.ModifyImageAttributeWrote(ctx, in)
	return id, err
}

// modifyResult is one ModifyImageAttribute's answer: its request id, and
// whether it wrote (false when the API said the target state already held).
type modifyResult struct {
	requestID string
	wrote     bool
}

// ModifyImageAttributeWrote is ModifyImageAttribute that also says whether the
// call wrote anything: an answer that the target state already held is still
// a success, with wrote false, so that the caller reports a change only when
// it made one (the lifecycle engine looks for this method).
func (a *api) ModifyImageAttributeWrote(ctx context.Context, in ecsapi.ModifyInput) (requestID string, wrote bool, err error) {
	classify := func(err error) Class { return ClassifyModify(err, in) }
	alreadyDone := func(err error) modifyResult {
		var e *ecsapi.Error
		if errors.As(err, &e) {
			return modifyResult{requestID: e.RequestID}
		}
		return modifyResult{}
	}
	r, err := run(ctx, a, "ModifyImageAttribute", classify, alreadyDone,
		func(ctx context.Context) (modifyResult, error) {
			id, err := a.inner.ModifyImageAttribute(ctx, in)
			return modifyResult{requestID: id, wrote: err == nil}, err
		})
	return r.requestID, r.wrote, err
}

func (a *api) DescribeImageSharePermission(ctx context.Context, regionID, imageID string) ([]string, error) {
	return run(ctx, a, "DescribeImageSharePermission", Classify, nil,
		func(ctx context.Context) ([]string, error) {
			return a.inner.DescribeImageSharePermission(ctx, regionID, imageID)
		})
}

func (a *api) RemoveImageShares(ctx context.Context, regionID, imageID string, accounts []string) error {
	_, err := run(ctx, a, "ModifyImageSharePermission", Classify, nil,
		func(ctx context.Context) (struct{}, error) {
			return struct{}{}, a.inner.RemoveImageShares(ctx, regionID, imageID, accounts)
		})
	return err
}

func (a *api) CountInstancesUsingImage(ctx context.Context, regionID, imageID string) (int, error) {
	return run(ctx, a, "DescribeInstances", Classify, nil,
		func(ctx context.Context) (int, error) {
			return a.inner.CountInstancesUsingImage(ctx, regionID, imageID)
		})
}

// run is the retry loop shared by every method. alreadyDone turns an
// AlreadyDone error into the call's result; nil when the action has none.
func run[T any](ctx context.Context, a *api, action string, classify func(error) Class,
	alreadyDone func(error) T, call func(context.Context) (T, error)) (T, error) {
	var zero T
	l := &loop{api: a, action: action, clk: a.c.Budget.clock(), notAfter: a.c.Budget.Calls}
	for attempt := 1; ; attempt++ {
		if why := l.admit(ctx); why != "" {
			return zero, l.giveUp(attempt-1, why)
		}
		actx, cancel := l.attemptContext(ctx)
		start := l.clk.Now()
		v, err := call(actx)
		cancel()
		l.lastDur = l.clk.Now().Sub(start)
		if err == nil {
			l.answered(nil, Permanent)
			a.c.Quota.succeeded(l.retryCost)
			a.observe(Event{Action: action, Attempt: attempt})
			return v, nil
		}
		class := classify(err)
		l.answered(err, class)
		switch {
		case class == AlreadyDone:
			a.c.Quota.succeeded(l.retryCost)
			a.observe(Event{Action: action, Attempt: attempt, Err: err, Class: class,
				Note: "the target state already holds (" + ecsapi.Code(err) + "); counted as success"})
			if alreadyDone == nil {
				return zero, nil
			}
			return alreadyDone(err), nil
		case !class.Retryable():
			a.observe(Event{Action: action, Attempt: attempt, Err: err, Class: class})
			return zero, withAttempts(err, attempt)
		}
		wait, why := l.next(ctx, attempt, err, class)
		if why != "" {
			a.observe(Event{Action: action, Attempt: attempt, Err: err, Class: class})
			return zero, l.giveUp(attempt, why)
		}
		a.observe(Event{Action: action, Attempt: attempt, Err: err, Class: class, Backoff: wait})
		if err := l.clk.Sleep(ctx, wait); err != nil {
			a.c.Quota.put(l.retryCost)
			return zero, l.giveUp(attempt, WhyNoTime)
		}
		l.waited += wait
	}
}

// loop is the state of one call's retries.
type loop struct {
	api      *api
	action   string
	clk      Clock
	notAfter time.Time // the budget's Calls line; zero: the context alone bounds the call

	waited    time.Duration
	permit    permit        // the rate limiter's, for the attempt under way
	last      error         // the failure worth reporting, for Exhausted
	lastDur   time.Duration // how long the last attempt took: the estimate for the next
	retryCost int           // quota tokens the attempt about to run, or running, took
}

// admit says why no attempt may start now ("" when one may): no time is
// left before the Calls line for one as long as the last, or the rate
// limiter's token would come too late. It waits for that token.
func (l *loop) admit(ctx context.Context) (why string) {
	if !l.notAfter.IsZero() && !l.clk.Now().Add(l.lastDur).Before(l.notAfter) {
		return WhyNoTime
	}
	before := l.clk.Now()
	perm, err := l.api.c.Limiter.wait(ctx, l.action, l.clk, l.notAfter)
	if err == nil {
		l.permit = perm
		l.waited += l.clk.Now().Sub(before)
		return ""
	}
	l.api.c.Quota.put(l.retryCost) // no attempt is made with these tokens
	if l.last == nil {
		if errors.Is(err, errNoToken) {
			l.last = &ecsapi.Error{Action: l.action, Code: CodeClientLimit, Message: err.Error(), Err: err}
		} else {
			l.last = &ecsapi.Error{Action: l.action, Err: fmt.Errorf("%w: %w", ecsapi.ErrContextDone, err)}
		}
	}
	return WhyNoTime
}

// answered tells the rate limiter how the attempt ended (err nil: success):
// throttled by the service, or let through (a success, or an answer that the
// target state already holds). Other failures say nothing about the rate.
func (l *loop) answered(err error, class Class) {
	throttled := err != nil && isThrottlingCode(ecsapi.Code(err))
	l.api.c.Limiter.answered(l.action, l.permit, throttled, err == nil || class == AlreadyDone, l.clk.Now())
}

// attemptContext bounds one attempt by the Calls line.
func (l *loop) attemptContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if l.notAfter.IsZero() {
		return ctx, func() {}
	}
	return context.WithDeadline(ctx, l.notAfter)
}

// next records a retryable failure and returns the wait before the next
// attempt, having paid for it from the quota; or why there is none.
func (l *loop) next(ctx context.Context, attempt int, err error, class Class) (wait time.Duration, why string) {
	// A call cut short by its context ran out of time: that is not the cause
	// worth reporting when an earlier attempt failed for a reason of its own
	// (say InvalidStatus.ImageIsCreating, which kept the loop retrying).
	cut := errors.Is(err, ecsapi.ErrContextDone)
	if l.last == nil || !cut {
		l.last = err
	}
	l.retryCost = 0
	p := l.api.c.Policy
	wait = backoffAfter(p, attempt, class)
	switch {
	case cut || ctx.Err() != nil:
		// The Calls line or the caller's context ended: no attempt can
		// follow, however late this is seen.
		return 0, WhyNoTime
	case p.MaxAttempts > 0 && attempt >= p.MaxAttempts:
		return 0, WhyMaxAttempts
	case !l.notAfter.IsZero() && l.clk.Now().Add(wait+l.lastDur).After(l.notAfter):
		return 0, WhyNoTime
	}
	cost, ok := l.api.c.Quota.take()
	if !ok {
		return 0, WhyQuota
	}
	l.retryCost = cost
	return wait, ""
}

// giveUp ends the retries on a transient failure.
func (l *loop) giveUp(attempts int, why string) error {
	if l.last == nil {
		l.last = &ecsapi.Error{Action: l.action, Message: errNoTime.Error(), Err: errNoTime}
	}
	return &Exhausted{Last: l.last, Attempts: attempts, Waited: l.waited, Why: why}
}

func withAttempts(err error, attempts int) error {
	if attempts <= 1 {
		return err
	}
	return &retried{err: err, attempts: attempts}
}

func (a *api) observe(e Event) {
	if a.c.Policy.Observe != nil {
		a.c.Policy.Observe(e)
	}
}
