package retry

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
)

// Exhausted is returned when retrying stops on a transient error because the
// deadline (less Policy.Reserve) or Policy.MaxAttempts left no room for
// another attempt. ecsapi.Classify still reports it Transient, so the caller
// defers the message rather than dead-lettering it.
type Exhausted struct {
	Last     error         // the last *ecsapi.Error
	Attempts int           // attempts made; 0 when there was no time for any
	Waited   time.Duration // time spent in backoff and rate-limit waits
}

func (e *Exhausted) Error() string {
	return fmt.Sprintf("gave up after %d attempts and %v of waiting: %v", e.Attempts, e.Waited, e.Last)
}

func (e *Exhausted) Unwrap() error { return e.Last }

// RetryExhausted marks e for ecsapi.Classify, which cannot import this package.
func (e *Exhausted) RetryExhausted() bool { return true }

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
var errNoTime = errors.New("less than the reserve left before the deadline")

type api struct {
	inner ecsapi.API
	p     Policy
	l     *Limiter
}

// New decorates inner: every call waits for l (nil: no limit), is classified
// when it fails, and is repeated under p while transient and time allows.
// ModifyImageAttribute's already-done answers become success.
func New(inner ecsapi.API, p Policy, l *Limiter) ecsapi.API {
	if p.Clock == nil {
		p.Clock = realClock{}
	}
	return &api{inner: inner, p: p, l: l}
}

func (a *api) DescribeImages(ctx context.Context, in ecsapi.DescribeImagesInput) (ecsapi.ImagePage, error) {
	return run(ctx, a, "DescribeImages", ecsapi.Classify, nil,
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
	classify := func(err error) ecsapi.Class { return ecsapi.ClassifyModify(err, in) }
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
	return run(ctx, a, "DescribeImageSharePermission", ecsapi.Classify, nil,
		func(ctx context.Context) ([]string, error) {
			return a.inner.DescribeImageSharePermission(ctx, regionID, imageID)
		})
}

func (a *api) RemoveImageShares(ctx context.Context, regionID, imageID string, accounts []string) error {
	_, err := run(ctx, a, "ModifyImageSharePermission", ecsapi.Classify, nil,
		func(ctx context.Context) (struct{}, error) {
			return struct{}{}, a.inner.RemoveImageShares(ctx, regionID, imageID, accounts)
		})
	return err
}

func (a *api) CountInstancesUsingImage(ctx context.Context, regionID, imageID string) (int, error) {
	return run(ctx, a, "DescribeInstances", ecsapi.Classify, nil,
		func(ctx context.Context) (int, error) {
			return a.inner.CountInstancesUsingImage(ctx, regionID, imageID)
		})
}

// run is the retry loop shared by every method. alreadyDone turns an
// AlreadyDone error into the call's result; nil when the action has none.
func run[T any](ctx context.Context, a *api, action string, classify func(error) ecsapi.Class,
	alreadyDone func(error) T, call func(context.Context) (T, error)) (T, error) {
	var zero T
	clk := a.p.Clock
	// notAfter is when every attempt must have ended: the deadline less the reserve.
	var notAfter time.Time
	if dl, ok := ctx.Deadline(); ok {
		notAfter = dl.Add(-a.p.Reserve)
	}
	var (
		waited  time.Duration
		last    error         // the last failure, for Exhausted
		lastDur time.Duration // how long the last attempt took: the estimate for the next
	)
	exhausted := func(attempts int) (T, error) {
		if last == nil {
			last = &ecsapi.Error{Action: action, Message: errNoTime.Error(), Err: errNoTime}
		}
		return zero, &Exhausted{Last: last, Attempts: attempts, Waited: waited}
	}
	for attempt := 1; ; attempt++ {
		if !notAfter.IsZero() && !clk.Now().Add(lastDur).Before(notAfter) {
			return exhausted(attempt - 1)
		}
		before := clk.Now()
		if err := a.l.wait(ctx, action, clk, notAfter); err != nil {
			if errors.Is(err, errNoToken) {
				if last == nil {
					last = &ecsapi.Error{Action: action, Code: "Throttling.ClientLimit", Message: err.Error(), Err: err}
				}
				return exhausted(attempt - 1)
			}
			return zero, withAttempts(&ecsapi.Error{Action: action, Err: fmt.Errorf("%w: %w", ecsapi.ErrContextDone, err)}, attempt-1)
		}
		waited += clk.Now().Sub(before)

		actx, cancel := ctx, context.CancelFunc(func() {})
		if !notAfter.IsZero() {
			// The attempt itself must not eat into the reserve.
			actx, cancel = context.WithDeadline(ctx, notAfter)
		}
		start := clk.Now()
		v, err := call(actx)
		cancel()
		lastDur = clk.Now().Sub(start)
		if err == nil {
			a.observe(Event{Action: action, Attempt: attempt})
			return v, nil
		}

		class := classify(err)
		if class == ecsapi.Permanent && errors.Is(err, ecsapi.ErrContextDone) && ctx.Err() == nil {
			// Cut short by the reserve, not by the caller: time ran out on a
			// call that could still pass, so the caller should defer. The
			// error worth reporting is the one that kept us retrying (say
			// InvalidStatus.ImageIsCreating), not the cut itself.
			a.observe(Event{Action: action, Attempt: attempt, Err: err, Class: ecsapi.Transient})
			if last == nil {
				last = err
			}
			return exhausted(attempt)
		}
		switch class {
		case ecsapi.AlreadyDone:
			a.observe(Event{Action: action, Attempt: attempt, Err: err, Class: class,
				Note: "the target state already holds (" + ecsapi.Code(err) + "); counted as success"})
			if alreadyDone == nil {
				return zero, nil
			}
			return alreadyDone(err), nil
		case ecsapi.Permanent:
			a.observe(Event{Action: action, Attempt: attempt, Err: err, Class: class})
			return zero, withAttempts(err, attempt)
		}

		last = err
		if a.p.MaxAttempts > 0 && attempt >= a.p.MaxAttempts {
			a.observe(Event{Action: action, Attempt: attempt, Err: err, Class: class})
			return exhausted(attempt)
		}
		wait := backoffAfter(a.p, attempt, err)
		if !notAfter.IsZero() && clk.Now().Add(wait+lastDur).After(notAfter) {
			a.observe(Event{Action: action, Attempt: attempt, Err: err, Class: class})
			return exhausted(attempt)
		}
		a.observe(Event{Action: action, Attempt: attempt, Err: err, Class: class, Backoff: wait})
		if err := clk.Sleep(ctx, wait); err != nil {
			return zero, withAttempts(&ecsapi.Error{Action: action, Err: fmt.Errorf("%w: %w", ecsapi.ErrContextDone, err)}, attempt)
		}
		waited += wait
	}
}

func withAttempts(err error, attempts int) error {
	if attempts <= 1 {
		return err
	}
	return &retried{err: err, attempts: attempts}
}

func (a *api) observe(e Event) {
	if a.p.Observe != nil {
		a.p.Observe(e)
	}
}
