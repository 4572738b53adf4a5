package ecsapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/config"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/credential"
)

// Credentials is credential.Credentials, the one credentials type, under the
// name callers of this package have used.
type Credentials = credential.Credentials

// Config says where and how the Client talks to ECS.
type Config struct {
	// Region is used for requests that do not name a region.
	Region string
	// Endpoint is "" for the SDK's regional endpoint (always over HTTPS), a host
	// name (HTTPS), or a URL such as "https://ecs-vpc.cn-hangzhou.aliyuncs.com".
	// Plain http:// is accepted only for loopback hosts (tests, the emulator).
	Endpoint string
	// Credentials sign every request; under FC they are the invocation's. nil
	// means the default chain (credential.Chain: environment, profiles,
	// instance role), for front doors without an invocation.
	Credentials *credential.Credentials
	// Transport carries the requests: the process's one connection pool
	// (NewTransport), shared by the Client of every invocation so that an
	// invocation reuses the connections, and so the TLS handshakes, of the
	// ones before it. nil builds a pool of soloConns for this Client alone.
	Transport http.RoundTripper
	// ConnectTimeout bounds the TCP (and TLS) handshake of a pool built for
	// this Client alone (a shared Transport has its own); default 3s.
	ConnectTimeout time.Duration
	// ReadTimeout bounds one whole request; default 10s. Each call uses the
	// smaller of it and the time left before the context's deadline.
	ReadTimeout time.Duration
}

const (
	defaultConnectTimeout = 3 * time.Second
	defaultReadTimeout    = 10 * time.Second
	// soloConns bounds the pool of a Client given no Transport (a test, a
	// front door without a process): more than a batch runs at once.
	soloConns = 16
	// keepAlive is the TCP keep-alive probe interval; idleTimeout is how
	// long an idle connection is kept for the next call.
	keepAlive   = 30 * time.Second
	idleTimeout = 90 * time.Second
)

// NewTransport builds the connection pool of a process: keep-alive, and at
// most conns connections to an ECS endpoint (per host: one region's
// endpoint), each kept for the next call rather than closed and opened again
// (against ECS a new connection is a TLS handshake). conns is a bound, not
// only the idle pool's size: net/http dials a new connection for a call
// while an idle one is still on its way back to the pool, so with room for
// idle connections alone a busy batch opens a few more than it runs calls at
// once. A call beyond the bound waits for a connection (the rate limit
// spaces calls far more than conns connections do). connectTimeout bounds a
// dial and a TLS handshake (0: 3s).
//
// It is built afresh, not cloned from http.DefaultTransport: a clone would
// carry the protocols registered there (the FC front door registers its
// payload guard for plain HTTP), and with them another pool.
func NewTransport(conns int, connectTimeout time.Duration) *http.Transport {
	if connectTimeout <= 0 {
		connectTimeout = defaultConnectTimeout
	}
	conns = max(conns, 1)
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: connectTimeout, KeepAlive: keepAlive}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          max(100, conns),
		MaxIdleConnsPerHost:   conns,
		MaxConnsPerHost:       conns,
		IdleConnTimeout:       idleTimeout,
		TLSHandshakeTimeout:   connectTimeout,
		ExpectContinueTimeout: time.Second,
	}
}

// Client is the SDK-backed API. It is safe for concurrent use.
//
// The SDK's client is not: every call writes the chosen timeout into its one
// http.Client and, for an *http.Transport, the dialer and TLS settings too. So
// each call builds its own small SDK client (about a microsecond, see
// BenchmarkSDKClientPerCall) around a RoundTripper of ours that the SDK leaves
// alone, while the connection pool (Config.Transport, one per process), the
// credentials and the endpoint table are built once and shared.
type Client struct {
	region      string
	scheme      string            // "HTTPS", or "HTTP" for a loopback endpoint
	host        string            // fixed endpoint host[:port], "" for the regional default
	endpoints   map[string]string // region -> host, the SDK's table (read only)
	creds       credentials.CredentialsProvider
	transport   http.RoundTripper
	readTimeout time.Duration
}

var _ API = (*Client)(nil)

// New checks cfg and builds a Client. It makes no request.
func New(cfg Config) (*Client, error) {
	c := &Client{
		region:      cfg.Region,
		scheme:      requests.HTTPS,
		readTimeout: cfg.ReadTimeout,
	}
	if c.readTimeout <= 0 {
		c.readTimeout = defaultReadTimeout
	}
	if err := c.setEndpoint(cfg.Endpoint); err != nil {
		return nil, err
	}
	if c.host == "" {
		c.endpoints = sdkEndpoints()
		if c.region == "" {
			return nil, errors.New("ecsapi: Config.Region is required when Endpoint is empty")
		}
	}
	switch {
	case cfg.Credentials == nil:
		// Not the legacy provider.DefaultChain: that one drops
		// ALIBABA_CLOUD_SECURITY_TOKEN, so STS credentials would be refused.
		c.creds = credential.NewChain()
	case cfg.Credentials.Check() != nil:
		return nil, fmt.Errorf("ecsapi: credentials: %w", cfg.Credentials.Check())
	case cfg.Credentials.IsSTS():
		c.creds = credentials.NewStaticSTSCredentialsProvider(cfg.Credentials.AccessKeyID,
			cfg.Credentials.AccessKeySecret, cfg.Credentials.SecurityToken)
	default:
		c.creds = credentials.NewStaticAKCredentialsProvider(cfg.Credentials.AccessKeyID, cfg.Credentials.AccessKeySecret)
	}
	c.transport = cfg.Transport
	if c.transport == nil {
		c.transport = NewTransport(soloConns, cfg.ConnectTimeout)
	}
	return c, nil
}

// setEndpoint takes the endpoint as config.ParseECSEndpoint checks it, which
// refuses plain HTTP to anything but loopback: the requests carry credentials.
func (c *Client) setEndpoint(endpoint string) error {
	ep, err := config.ParseECSEndpoint(endpoint)
	if err != nil {
		return fmt.Errorf("ecsapi: endpoint: %w", err)
	}
	if ep.Host == "" {
		return nil
	}
	if ep.Scheme == "http" {
		c.scheme = requests.HTTP
	}
	c.host = ep.Host // the SDK writes scheme://Domain, so a port can ride in Domain
	return nil
}

var (
	endpointsOnce sync.Once
	endpointTable map[string]string
)

// sdkEndpoints returns the SDK's region -> host table. ecs.GetEndpointMap fills
// a package variable lazily without a lock, so it is called once, here.
func sdkEndpoints() map[string]string {
	endpointsOnce.Do(func() { endpointTable = ecs.GetEndpointMap() })
	return endpointTable
}

// prepare builds the per-call SDK client and points req at the endpoint with
// timeouts no longer than the time left in ctx. It fails at once when ctx is
// already done.
func (c *Client) prepare(ctx context.Context, action, region string, req requests.AcsRequest) (*ecs.Client, error) {
	if err := ctx.Err(); err != nil {
		return nil, &Error{Action: action, Err: fmt.Errorf("%w: %w", ErrContextDone, err)}
	}
	if region == "" {
		region = c.region
	}
	if region == "" {
		return nil, &Error{Action: action, Code: "MissingParameter", Message: "RegionId is required (Config.Region or the input's RegionID)"}
	}
	read := c.readTimeout
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl); left < read {
			read = left
		}
	}
	if read <= 0 {
		return nil, &Error{Action: action, Err: fmt.Errorf("%w: %w", ErrContextDone, context.DeadlineExceeded)}
	}

	cfg := sdk.NewConfig()
	cfg.AutoRetry = false // retries belong to package retry, with backoff and classification
	cfg.Scheme = c.scheme
	cfg.Timeout = read
	cfg.Transport = &ctxTransport{ctx: ctx, base: c.transport}
	cli := &ecs.Client{}
	if err := cli.InitWithOptions(region, cfg, c.creds); err != nil {
		return nil, &Error{Action: action, Code: "SDK.InvalidParam", Message: err.Error()}
	}
	host := c.host
	if host == "" {
		host = c.endpoints[region]
		if host == "" {
			host = "ecs." + region + ".aliyuncs.com" // the SDK's own rule for regions outside its table
		}
	}
	req.SetDomain(host)
	req.SetScheme(c.scheme)
	// The SDK copies the read timeout into its http.Client.Timeout. Its connect
	// timeout would only be applied to an *http.Transport, so the shared
	// transport's dialer carries the connect timeout instead (NewTransport),
	// and the dial also ends with the request's context (time left, caller's
	// cancel).
	req.SetReadTimeout(read)
	return cli, nil
}

// ctxTransport ties one call's HTTP request to the caller's context, so that
// cancelling ctx aborts the call; the SDK itself has no context support. The
// SDK leaves RoundTrippers other than *http.Transport untouched, which keeps
// the shared connection pool free of per-call writes.
type ctxTransport struct {
	ctx  context.Context
	base http.RoundTripper
}

func (t *ctxTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	// r's context carries http.Client's timeout; add the caller's cancellation.
	ctx, cancel := context.WithCancelCause(r.Context())
	stop := context.AfterFunc(t.ctx, func() { cancel(context.Cause(t.ctx)) })
	resp, err := t.base.RoundTrip(r.WithContext(ctx))
	if err != nil {
		stop()
		cancel(nil)
		return nil, err
	}
	resp.Body = &releasingBody{ReadCloser: resp.Body, release: func() { stop(); cancel(nil) }}
	return resp, nil
}

// releasingBody frees the call's context hooks once the SDK closes the body.
type releasingBody struct {
	io.ReadCloser
	once    sync.Once
	release func()
}

func (b *releasingBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.release)
	return err
}
