// Package retry makes the function's decisions about failures and time: what
// a failed call is worth (Classify, one ordered chain over the code tables),
// how the invocation's deadline is divided (Shares.Split, one table, one
// clock), and how a call is repeated: the ecsapi.API decorator waits for the
// client-side rate limit, backs off with capped, jittered exponential waits
// while a failure is transient, the invocation's budget allows and the
// process's retry budget (Quota) has tokens.
package retry

import (
	"math/rand/v2"
	"time"
)

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
	// only by the budget's Calls line and the context (a call without either
	// then retries a transient failure until the retry budget runs out).
	MaxAttempts int
	// Rand returns a number in [0,1) for the jitter; nil means math/rand/v2.
	Rand func() float64
	// Observe, when set, is told about every attempt: its error (nil on
	// success), class and the backoff chosen after it. It is how callers learn
	// the attempts of a successful call and log already-done answers.
	Observe func(Event)
}

// Event describes one finished attempt.
type Event struct {
	Action  string
	Attempt int   // 1-based
	Err     error // nil when the attempt succeeded
	Class   Class // meaningful only when Err is not nil
	Backoff time.Duration
	// Note explains an outcome worth logging, such as an already-done answer
	// that was turned into success.
	Note string
}

// DefaultPolicy is the policy for an FC invocation: 200ms doubling to 10s,
// 2s doubling for the slow codes (ImageIsCreating). How long it may go on is
// the budget's (Shares), not the policy's.
func DefaultPolicy() Policy {
	return Policy{
		Base:     200 * time.Millisecond,
		Cap:      10 * time.Second,
		SlowBase: 2 * time.Second,
	}
}

// Backoff returns the wait after the attempt-th failed attempt (1-based) with
// p.Base; the queue layer uses it for its delay schedule too.
func Backoff(p Policy, attempt int) time.Duration {
	return jittered(p.Base, p, attempt)
}

// backoffAfter picks the base for the failure's class and returns the wait
// after attempt.
func backoffAfter(p Policy, attempt int, class Class) time.Duration {
	base := p.Base
	if p.SlowBase > 0 && class == Slow {
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
