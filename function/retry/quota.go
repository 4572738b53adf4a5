package retry

import "sync"

// Quota is the process's retry budget: a bucket of tokens that every retry
// takes from and every success puts back into, shared by all the calls of
// all the invocations of one process. While a dependency keeps failing,
// retries drain it faster than successes refill it; once it is empty a
// transient failure is not retried but handed back at once (*Exhausted), so
// that its message is deferred, and one bad dependency cannot turn a batch
// into a retry storm. As soon as calls pass again, the successes refill it.
//
// The scheme is aws-sdk-go-v2's retry quota (a retry costs RetryCost, a
// success refunds what its retry took, a first-attempt success adds
// SuccessReward). It is a dozen lines of our own: golang.org/x/time/rate
// refills with time, not with successes, and aws-sdk-go-v2's own bucket would
// bring in its whole core module for them. A nil *Quota never runs out.
type Quota struct {
	mu       sync.Mutex
	tokens   int
	capacity int
}

// Costs of the retry budget.
const (
	// RetryCost is what one retry takes.
	RetryCost = 5
	// SuccessReward is what a call that passed at its first attempt puts back.
	SuccessReward = 1
	// DefaultQuota is a process's budget: 100 retries when nothing passes.
	DefaultQuota = 500
)

// NewQuota returns a full bucket of capacity tokens (at least RetryCost).
func NewQuota(capacity int) *Quota {
	capacity = max(capacity, RetryCost)
	return &Quota{tokens: capacity, capacity: capacity}
}

// take takes the cost of one retry; false when the bucket has too little.
func (q *Quota) take() (cost int, ok bool) {
	if q == nil {
		return 0, true
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.tokens < RetryCost {
		return 0, false
	}
	q.tokens -= RetryCost
	return RetryCost, true
}

// succeeded refills the bucket after a call passed: by what its last retry
// took, or by SuccessReward when it passed at once.
func (q *Quota) succeeded(retryCost int) {
	if q == nil {
		return
	}
	refill := retryCost
	if refill == 0 {
		refill = SuccessReward
	}
	q.put(refill)
}

// put returns tokens, up to the capacity.
func (q *Quota) put(n int) {
	if q == nil {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.tokens = min(q.capacity, q.tokens+n)
}

// Available is how many tokens are left.
func (q *Quota) Available() int {
	if q == nil {
		return 0
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.tokens
}
