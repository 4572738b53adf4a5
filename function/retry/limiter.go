package retry

import (
	"context"
	"errors"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter is a client-side rate limit with one token bucket per API action,
// since ECS counts its quota per API. A nil *Limiter does not limit. Its rate
// is ECS_RATE_LIMIT, defaulted and checked by config alone.
type Limiter struct {
	limit rate.Limit
	burst int

	mu      sync.Mutex
	buckets map[string]*rate.Limiter
}

// NewLimiter allows perSecond calls per action with bursts of burst calls
// (at least 1). A perSecond of 0 or less means no limit.
func NewLimiter(perSecond float64, burst int) *Limiter {
	l := &Limiter{limit: rate.Limit(perSecond), burst: max(burst, 1), buckets: map[string]*rate.Limiter{}}
	if perSecond <= 0 {
		l.limit = rate.Inf
	}
	return l
}

func (l *Limiter) bucket(action string) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[action]
	if !ok {
		b = rate.NewLimiter(l.limit, l.burst)
		l.buckets[action] = b
	}
	return b
}

// errNoToken says the next token is due too late for the caller's deadline.
var errNoToken = errors.New("client-side rate limit: no call allowed before the deadline's reserve")

// wait takes one token for action, sleeping on clk until it is due. When the
// token would be due after notAfter (zero means no bound) it takes nothing
// and returns errNoToken at once rather than sleep into the deadline.
// Reserving at clk.Now() instead of calling rate.Limiter.Wait keeps the
// limiter on the injected clock.
func (l *Limiter) wait(ctx context.Context, action string, clk Clock, notAfter time.Time) error {
	if l == nil {
		return nil
	}
	now := clk.Now()
	r := l.bucket(action).ReserveN(now, 1)
	if !r.OK() {
		return errNoToken
	}
	d := r.DelayFrom(now)
	if !notAfter.IsZero() && now.Add(d).After(notAfter) {
		r.CancelAt(now)
		return errNoToken
	}
	if d <= 0 {
		return nil
	}
	if err := clk.Sleep(ctx, d); err != nil {
		r.CancelAt(clk.Now())
		return err
	}
	return nil
}
