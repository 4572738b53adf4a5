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
	"regexp"
	"sync"
	"time"

	ali_mns "github.com/aliyun/aliyun-mns-go-sdk"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/credential"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/queue/mnsclient"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultMaxMessageAge  = 7 * 24 * time.Hour
	DefaultMaxAttempts    = 20
	DefaultTimeoutSeconds = 5
)

// Config says where deferred and dead-lettered messages go.
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
	// it was first seen (MAX_MESSAGE_AGE); zero means DefaultMaxMessageAge.
	MaxMessageAge time.Duration
	// MaxAttempts bounds how often a message is tried; zero means
	// DefaultMaxAttempts.
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

// queueName follows the MNS naming rule: letters, digits and hyphens,
// starting with a letter or digit, at most 120 characters.
var queueName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,119}$`)

// New validates cfg and builds the MNS client. Every input the SDK would panic
// on is rejected first with an error that says what to fix.
func New(cfg Config) (*Queue, error) {
	for _, q := range []struct{ env, name string }{{"RETRY_QUEUE", cfg.RetryQueue}, {"DEAD_LETTER_QUEUE", cfg.DeadLetterQueue}} {
		if q.name != "" && !queueName.MatchString(q.name) {
			return nil, fmt.Errorf("queue: %s %q is not a valid MNS queue name (letters, digits and hyphens, starting with a letter or digit, at most 120)", q.env, q.name)
		}
	}
	if cfg.RetryQueue != "" && cfg.RetryQueue == cfg.DeadLetterQueue {
		return nil, fmt.Errorf("queue: DEAD_LETTER_QUEUE must differ from RETRY_QUEUE (%q): dead letters would be retried", cfg.RetryQueue)
	}
	switch {
	case cfg.MaxMessageAge < 0:
		return nil, fmt.Errorf("queue: MAX_MESSAGE_AGE %v is negative", cfg.MaxMessageAge)
	case cfg.MaxMessageAge == 0:
		cfg.MaxMessageAge = DefaultMaxMessageAge
	}
	switch {
	case cfg.MaxAttempts < 0:
		return nil, fmt.Errorf("queue: attempt limit %d is negative", cfg.MaxAttempts)
	case cfg.MaxAttempts == 0:
		cfg.MaxAttempts = DefaultMaxAttempts
	}
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
