// Package queue settles messages that cannot be finished now: it re-enqueues
// a deferred intent to the retry queue with a backoff delay, or sends it to the
// dead-letter queue with its reason, through aliyun-mns-go-sdk v1.0.11.
//
// The SDK's calls take no context and its constructors panic on bad input
// (mns.md sections 0 and 1.1), so this package validates its configuration
// before the SDK sees it and runs every send where a context can abandon it.
//
// Every send is signed with the credentials of the invocation it belongs to,
// taken from its context (credential.FromContext), exactly as that
// invocation's ECS calls are: under FC those are the only credentials there
// are, and they change from one invocation to the next.
package queue

import (
	"context"
	"fmt"
	"sync"
	"time"

	ali_mns "github.com/aliyun/aliyun-mns-go-sdk"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/credential"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/queue/mnsclient"
)

// DefaultTimeoutSeconds is the SDK's timeout when Config leaves it zero.
const DefaultTimeoutSeconds = 5

// Config says where deferred and dead-lettered messages go. The values that
// come from the environment are taken as config.FromEnv checked them (queue
// names, two different queues, positive limits): that is the one place
// their rules and defaults are written.
type Config struct {
	// Endpoint is the MNS account endpoint (MNS_ENDPOINT), e.g.
	// http://<accountId>.mns.cn-hangzhou-internal.aliyuncs.com, with no path,
	// or a loopback URL such as http://127.0.0.1:PORT (config.ParseMNSEndpoint).
	Endpoint string
	// RetryQueue receives deferred messages (RETRY_QUEUE); "" disables Defer.
	RetryQueue string
	// DeadLetterQueue receives dead letters (DEAD_LETTER_QUEUE); "" = none.
	DeadLetterQueue string
	// MaxMessageAge bounds how long a message is retried, counted from when
	// it was first seen (MAX_MESSAGE_AGE); it must be positive.
	MaxMessageAge time.Duration
	// MaxAttempts bounds how often a message is tried (MAX_ATTEMPTS); it must
	// be positive.
	MaxAttempts int
	// Credentials sign the sends whose context carries no invocation
	// credentials (credential.NewContext); nil means the default chain
	// (credential.Chain). A context's credentials always win: under FC a
	// send is signed with its own invocation's, whatever this says.
	Credentials *credential.Credentials
	// TimeoutSeconds is the SDK's read and write timeout; zero means
	// DefaultTimeoutSeconds. Keep it short: it bounds how long a send that a
	// context has abandoned can still run in the background.
	TimeoutSeconds int64
}

// Queue sends deferred messages and dead letters. It is safe for concurrent
// use: each send gets its own SDK queue object, because the SDK's shared
// queue object races (mns.md section 0).
type Queue struct {
	cfg      Config
	fallback func() (credential.Credentials, error) // for a context without credentials
	clients  *clients
}

// New builds the MNS client. Every input the SDK would panic on is rejected
// first with an error that says what to fix.
func New(cfg Config) (*Queue, error) {
	switch {
	case cfg.TimeoutSeconds < 0:
		return nil, fmt.Errorf("queue: MNS timeout %ds is negative", cfg.TimeoutSeconds)
	case cfg.TimeoutSeconds == 0:
		cfg.TimeoutSeconds = DefaultTimeoutSeconds
	}
	endpoint, err := mnsclient.New(cfg.Endpoint, time.Duration(cfg.TimeoutSeconds)*time.Second)
	if err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	q := &Queue{cfg: cfg, clients: &clients{endpoint: endpoint, byCreds: map[credential.Credentials]ali_mns.MNSClient{}}}
	if c := cfg.Credentials; c != nil {
		if err := c.Check(); err != nil {
			return nil, fmt.Errorf("queue: %w", err)
		}
		fixed := *c
		q.fallback = func() (credential.Credentials, error) { return fixed, nil }
	} else {
		q.fallback = credential.NewChain().Get
	}
	if cfg.MaxAttempts < 1 || cfg.MaxMessageAge <= 0 {
		// An assertion, not a rule (config.FromEnv has those): a Config
		// built without the limits would defer nothing at all.
		return nil, fmt.Errorf("queue: MaxAttempts (%d) and MaxMessageAge (%v) must be positive, as config.FromEnv reads them", cfg.MaxAttempts, cfg.MaxMessageAge)
	}
	return q, nil
}

// CanDefer reports whether a retry queue is configured.
func (q *Queue) CanDefer() bool { return q.cfg.RetryQueue != "" }

// HasDeadLetter reports whether a dead-letter queue is configured.
func (q *Queue) HasDeadLetter() bool { return q.cfg.DeadLetterQueue != "" }

// credentials are those of the invocation in ctx, else the fallback.
func (q *Queue) credentials(ctx context.Context) (credential.Credentials, error) {
	if c, ok := credential.FromContext(ctx); ok {
		return c, c.Check()
	}
	return q.fallback()
}

// keptClients is how many SDK clients, one per set of credentials, a Queue
// keeps: FC rotates an invocation's credentials now and then, and instances
// with concurrent invocations may see an old and a new set side by side.
const keptClients = 4

// clients keeps an SDK client per set of credentials, the latest few, so a
// send costs a map lookup rather than a new client (and its connection pool).
// It is behind a pointer so that printing a Queue shows no key.
type clients struct {
	endpoint *mnsclient.Endpoint
	mu       sync.Mutex
	byCreds  map[credential.Credentials]ali_mns.MNSClient
	order    []credential.Credentials // oldest first
}

// get returns the client that signs with c, making it on first use.
func (cs *clients) get(c credential.Credentials) (ali_mns.MNSClient, error) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cl, ok := cs.byCreds[c]; ok {
		return cl, nil
	}
	cl, err := cs.endpoint.Client(c)
	if err != nil {
		return nil, err
	}
	if len(cs.order) == keptClients {
		delete(cs.byCreds, cs.order[0])
		cs.order = cs.order[1:]
	}
	cs.byCreds[c] = cl
	cs.order = append(cs.order, c)
	return cl, nil
}
