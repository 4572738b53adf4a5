// Package mnsclient builds clients of aliyun-mns-go-sdk v1.0.11 for one
// checked endpoint and one set of credentials. It turns the SDK's panics on
// bad input into errors, and lets the SDK reach a loopback endpoint given in
// its plain form (http://127.0.0.1:PORT, http://localhost:PORT,
// http://[::1]:PORT), which the SDK alone cannot.
//
// The SDK panics unless the endpoint splits into exactly five parts on "."
// (it reads the account and region from them; mns.md 1.1), which no loopback
// URL does. For one, the SDK is given a stand-in account endpoint under the
// reserved .invalid domain, and a transport sends each request to the
// loopback address instead, with the loopback host in its Host header. The
// path and the signature are then exactly what they would be against MNS,
// so any MNS-compatible server on loopback works unchanged, and a request
// can never reach a real MNS host by mistake: .invalid never resolves.
package mnsclient

import (
	"fmt"
	"time"

	ali_mns "github.com/aliyun/aliyun-mns-go-sdk"
	"github.com/aliyun/credentials-go/credentials"
	"github.com/valyala/fasthttp"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/config"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/credential"
)

// standIn is the account endpoint the SDK is given for a loopback endpoint:
// five parts, as the SDK requires, in a domain that never resolves.
const standIn = "loopback.mns.local.mns-endpoint.invalid"

// Endpoint makes SDK clients for one MNS endpoint. It is safe for concurrent
// use, and its clients share one connection pool per loopback endpoint.
type Endpoint struct {
	sdkURL  string // what the SDK is given
	timeout time.Duration
	// loopback is nil for a real MNS endpoint; for a loopback one, the
	// transport that takes the SDK's requests there.
	loopback *loopbackTransport
}

// New checks raw with config.ParseMNSEndpoint. timeout is the SDK's read and
// write timeout (whole seconds; at least one).
func New(raw string, timeout time.Duration) (*Endpoint, error) {
	ep, err := config.ParseMNSEndpoint(raw)
	if err != nil {
		return nil, fmt.Errorf("MNS_ENDPOINT %w", err)
	}
	e := &Endpoint{sdkURL: ep.URL(), timeout: max(timeout.Truncate(time.Second), time.Second)}
	if ep.Loopback() {
		e.sdkURL = ep.Scheme + "://" + standIn
		e.loopback = &loopbackTransport{
			host: ep.Host,
			hc: &fasthttp.HostClient{
				Addr:          fasthttp.AddMissingPort(ep.Host, ep.Scheme == "https"),
				IsTLS:         ep.Scheme == "https",
				DialDualStack: true, // [::1], and localhost wherever it resolves
				ReadTimeout:   e.timeout,
				WriteTimeout:  e.timeout,
			},
		}
	}
	return e, nil
}

// Client returns a new SDK client that signs every request with c. The SDK
// client is safe for concurrent use as long as each goroutine makes its own
// queue object (mns.md section 0).
func (e *Endpoint) Client(c credential.Credentials) (client ali_mns.MNSClient, err error) {
	if err := c.Check(); err != nil {
		return nil, err
	}
	cred, err := staticCredential(c)
	if err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			// Parse and Check should have made this impossible.
			client, err = nil, fmt.Errorf("the MNS SDK rejected its configuration: %v", r)
		}
	}()
	client = ali_mns.NewAliMNSClientWithConfig(ali_mns.AliMNSClientConfig{
		EndPoint:      e.sdkURL,
		Credential:    cred,
		TimeoutSecond: int64(e.timeout / time.Second),
	})
	if e.loopback != nil {
		client.SetTransport(e.loopback)
	}
	return client, nil
}

// staticCredential gives the SDK c as a credentials-go credential, which the
// SDK asks for on every request. Building it here, rather than handing the
// SDK the keys, turns its panic on an empty key into an error.
func staticCredential(c credential.Credentials) (credentials.Credential, error) {
	cfg := new(credentials.Config).SetAccessKeyId(c.AccessKeyID).SetAccessKeySecret(c.AccessKeySecret)
	if c.IsSTS() {
		cfg.SetType("sts").SetSecurityToken(c.SecurityToken)
	} else {
		cfg.SetType("access_key")
	}
	cred, err := credentials.NewCredential(cfg)
	if err != nil {
		// credentials-go errors name the missing field, never its value.
		return nil, fmt.Errorf("credentials: %w", err)
	}
	return cred, nil
}

// loopbackTransport sends the SDK's requests to a loopback address.
type loopbackTransport struct {
	host string // host[:port] as configured, for the Host header
	hc   *fasthttp.HostClient
}

func (t *loopbackTransport) RoundTrip(_ *fasthttp.HostClient, req *fasthttp.Request, resp *fasthttp.Response) (retry bool, err error) {
	req.URI().SetHost(t.host)
	return false, t.hc.Do(req, resp)
}
