// Package queue settles messages that cannot be finished now: it re-enqueues
// a deferred intent to the retry queue with a backoff delay, or sends it to the
// dead-letter queue with its reason, through aliyun-mns-go-sdk v1.0.11.
//
// The SDK's calls take no context and its constructors panic on bad input
// (mns.md sections 0 and 1.1), so this package validates its configuration
// before the SDK sees it and runs every send where a context can abandon it.
package queue

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"

	ali_mns "github.com/aliyun/aliyun-mns-go-sdk"
	"github.com/aliyun/credentials-go/credentials"
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
	// http://<accountId>.mns.cn-hangzhou-internal.aliyuncs.com, with no path.
	// A path is accepted only on a loopback host, where it serves test fakes.
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
	// Credentials signs the requests; nil means the default credential chain
	// of credentials-go (environment, OIDC, profile, ECS RAM role).
	Credentials *Credentials
	// TimeoutSeconds is the SDK's read and write timeout; zero means
	// DefaultTimeoutSeconds. Keep it short: it bounds how long a send that a
	// context has abandoned can still run in the background.
	TimeoutSeconds int64
}

// Credentials are a static key pair, with the token when they are STS
// credentials (as FC hands them to an invocation). Their formatting hides
// the secret and the token.
type Credentials struct {
	AccessKeyID     string
	AccessKeySecret string
	SecurityToken   string
}

// String shows only the AccessKeyId, so that logging a Config leaks nothing.
func (c Credentials) String() string {
	token := ""
	if c.SecurityToken != "" {
		token = " +sts-token"
	}
	return fmt.Sprintf("{AccessKeyID:%s AccessKeySecret:<redacted>%s}", c.AccessKeyID, token)
}

// GoString is String, so that %#v hides the secret too.
func (c Credentials) GoString() string { return c.String() }

// LogValue hides the secret and the token from log/slog.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(slog.String("accessKeyId", c.AccessKeyID), slog.Bool("sts", c.SecurityToken != ""))
}

// Queue sends deferred messages and dead letters. It is safe for concurrent
// use: each send gets its own SDK queue object, because the SDK's shared
// queue object races (mns.md section 0).
type Queue struct {
	cfg    Config
	client ali_mns.MNSClient
}

// queueName follows the MNS naming rule: letters, digits and hyphens,
// starting with a letter or digit, at most 120 characters.
var queueName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,119}$`)

// New validates cfg and builds the MNS client. Every input the SDK would panic
// on is rejected first with an error that says what to fix.
func New(cfg Config) (*Queue, error) {
	endpoint, err := validateEndpoint(cfg.Endpoint)
	if err != nil {
		return nil, err
	}
	cfg.Endpoint = endpoint
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
	cred, err := newCredential(cfg.Credentials)
	if err != nil {
		return nil, err
	}
	client, err := newClient(ali_mns.AliMNSClientConfig{
		EndPoint:      cfg.Endpoint,
		Credential:    cred,
		TimeoutSecond: cfg.TimeoutSeconds,
	})
	if err != nil {
		return nil, err
	}
	return &Queue{cfg: cfg, client: client}, nil
}

// CanDefer reports whether a retry queue is configured.
func (q *Queue) CanDefer() bool { return q.cfg.RetryQueue != "" }

// HasDeadLetter reports whether a dead-letter queue is configured.
func (q *Queue) HasDeadLetter() bool { return q.cfg.DeadLetterQueue != "" }

// validateEndpoint returns the endpoint as the SDK should get it, or an error
// for anything that would make the SDK panic or sign the wrong resource.
func validateEndpoint(raw string) (string, error) {
	const form = "http(s)://<accountId>.mns.<region>[-internal].aliyuncs.com"
	if raw == "" {
		return "", fmt.Errorf("queue: MNS_ENDPOINT is empty; want %s", form)
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse errors quote the input, which may hold a password.
		return "", fmt.Errorf("queue: MNS_ENDPOINT is not a URL; want %s", form)
	}
	shown := u.Redacted()
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("queue: MNS_ENDPOINT %q must start with http:// or https://; want %s", shown, form)
	case u.Host == "":
		return "", fmt.Errorf("queue: MNS_ENDPOINT %q has no host; want %s", shown, form)
	case u.User != nil:
		return "", fmt.Errorf("queue: MNS_ENDPOINT %q must not carry user information; credentials come from the credential chain", shown)
	case u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(raw, "?#"):
		return "", fmt.Errorf("queue: MNS_ENDPOINT %q must not have a query or fragment", shown)
	}
	trimmed := strings.TrimRight(raw, "/")
	if path := strings.TrimRight(u.EscapedPath(), "/"); path != "" && !isLoopback(u.Hostname()) {
		// The SDK appends the resource to the path but signs only the
		// resource, so MNS answers SignatureDoesNotMatch (SDK issue #6).
		return "", fmt.Errorf("queue: MNS_ENDPOINT %q must be the account endpoint without a path (not a queue URL); want %s", shown, form)
	}
	if n := len(strings.Split(trimmed, ".")); n != 5 {
		// aliyun-mns-go-sdk v1.0.11 panics unless the endpoint has exactly
		// five dot-separated parts.
		return "", fmt.Errorf("queue: MNS_ENDPOINT %q has %d dot-separated parts, the MNS SDK needs exactly 5; want %s", shown, n, form)
	}
	return trimmed, nil
}

func isLoopback(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// newCredential builds the credential the SDK will ask for on every request.
// Building it here, rather than passing keys to the SDK, turns the SDK's
// panic on an empty AccessKeyId into an error.
func newCredential(c *Credentials) (credentials.Credential, error) {
	if c == nil {
		cred, err := credentials.NewCredential(nil)
		if err != nil {
			return nil, fmt.Errorf("queue: default credential chain: %w", err)
		}
		return cred, nil
	}
	if c.AccessKeyID == "" || c.AccessKeySecret == "" {
		return nil, errors.New("queue: credentials need both an AccessKeyId and an AccessKeySecret")
	}
	cfg := new(credentials.Config).SetAccessKeyId(c.AccessKeyID).SetAccessKeySecret(c.AccessKeySecret)
	if c.SecurityToken != "" {
		cfg.SetType("sts").SetSecurityToken(c.SecurityToken)
	} else {
		cfg.SetType("access_key")
	}
	cred, err := credentials.NewCredential(cfg)
	if err != nil {
		// credentials-go errors name the missing field, never its value.
		return nil, fmt.Errorf("queue: credentials: %w", err)
	}
	return cred, nil
}

// newClient calls the SDK constructor, turning a panic (which validation
// should already have prevented) into an error.
func newClient(cfg ali_mns.AliMNSClientConfig) (client ali_mns.MNSClient, err error) {
	defer func() {
		if r := recover(); r != nil {
			client, err = nil, fmt.Errorf("queue: the MNS SDK rejected its configuration: %v", r)
		}
	}()
	return ali_mns.NewAliMNSClientWithConfig(cfg), nil
}
