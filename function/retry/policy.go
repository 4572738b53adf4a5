// Package retry is the one retry layer of the function: it decorates an
// ecsapi.API so that every call waits for a client-side rate limit, is
// classified when it fails, and is repeated with capped, jittered exponential
// backoff while the failure is transient and the context's deadline allows.
package retry

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
)

// Clock is the time source; tests inject a fake one so waits are exact.
type Clock interface {
	Now() time.Time
	// Sleep waits for d, or returns ctx's error when ctx ends first.
	Sleep(ctx context.Context, d time.Duration) error
}

// Policy says how long to wait between attempts and when to give up.
//
// Backoff is "equal jitter": half of Base*2^(n-1) (capped at Cap) for sure,
// plus a random share of the other half. Full jitter spreads clients a little
// better, but its waits can be near zero, which for this API only burns a
// throttled token or asks about an image that cannot have finished creating;
// equal jitter keeps a growing floor and still de-synchronises concurrent runs.
type Policy struct {
	// Base and Cap bound the backoff: the n-th wait is drawn from
	// [d/2, d) with d = min(Cap, Base*2^(n-1)).
	Base, Cap time.Duration
	// SlowBase replaces Base for errors that wait on the service's own work,
	// such as InvalidStatus.ImageIsCreating (image creation takes minutes, so
	// asking every 200ms wastes the rate limit). 0 means Base.
	SlowBase time.Duration
	// MaxAttempts bounds the attempts per call; 0 means unlimited, bounded
	// only by the context's deadline (a context without one then retries a
	// transient failure for ever).
	MaxAttempts int
	// Reserve is kept free before ctx's deadline: no attempt is started, and
	// none may run, past deadline-Reserve, so the caller still has time to
	// settle the message (defer it, dead-letter it).
	Reserve time.Duration
	// Rand returns a number in [0,1) for the jitter; nil means math/rand/v2.
	Rand func() float64
	// Clock is the time source; nil means the real clock.
	Clock Clock
	// Observe, when set, is told about every attempt: its error (nil on
	// success), class and the backoff chosen after it. It is how callers learn
	// the attempts of a successful call and log already-done answers.
	Observe func(Event)
}

// Event describes one finished attempt.
type Event struct {
	Action  string
	Attempt int          // 1-based
	Err     error        // nil when the attempt succeeded
	Class   ecsapi.Class // meaningful only when Err is not nil
	Backoff time.Duration
	// Note explains an outcome worth logging, such as an already-done answer
	// that was turned into success.
	Note string
}

// DefaultPolicy is the policy for an FC invocation: 200ms doubling to 10s,
// 2s doubling for ImageIsCreating, and 3s kept to settle the message.
func DefaultPolicy() Policy {
	return Policy{
		Base:     200 * time.Millisecond,
		Cap:      10 * time.Second,
		SlowBase: 2 * time.Second,
		Reserve:  3 * time.Second,
	}
}

// slowCodes are the transient codes that wait on the service's own work and
// use Policy.SlowBase.
var slowCodes = map[string]bool{
	"InvalidStatus.ImageIsCreating": true, // image creation runs for minutes
	"IncorrectImageStatus":          true, // copying or creating, also minutes
}

// Backoff returns the wait after the attempt-th failed attempt (1-based) with
// p.Base; the queue layer uses it for its delay schedule too.
func Backoff(p Policy, attempt int) time.Duration {
	return jittered(p.Base, p, attempt)
}

// backoffAfter picks the base for err and returns the wait after attempt.
func backoffAfter(p Policy, attempt int, err error) time.Duration {
	base := p.Base
	if p.SlowBase > 0 && slowCodes[ecsapi.Code(err)] {
		base = p.SlowBase
	}
	return jittered(base, p, attempt)
}

func jittered(base time.Duration, p Policy, attempt int) time.Duration {
	if base <= 0 || attempt < 1 {
		return 0
	}
	d := base
	for i := 1; i < attempt && (p.Cap <= 0 || d < p.Cap); i++ {
		if d > time.Duration(1<<62)/2 { // no overflow when Cap is unset
			break
		}
		d *= 2
	}
	if p.Cap > 0 && d > p.Cap {
		d = p.Cap
	}
	r := rand.Float64
	if p.Rand != nil {
		r = p.Rand
	}
	half := d / 2
	return half + time.Duration(r()*float64(d-half))
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
