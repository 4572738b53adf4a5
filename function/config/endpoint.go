package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// IsLoopback reports whether host (a host name or IP, without port or
// brackets) is this machine: "localhost" or a loopback address (127.0.0.0/8,
// ::1). Only there may requests that carry credentials go over plain HTTP.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Endpoint is a checked endpoint URL: scheme and host only.
type Endpoint struct {
	Scheme string // "https", or "http" for a loopback host
	Host   string // host[:port], IPv6 in brackets
}

// URL is the endpoint as scheme://host[:port].
func (e Endpoint) URL() string { return e.Scheme + "://" + e.Host }

// Loopback reports whether the endpoint is on this machine.
func (e Endpoint) Loopback() bool {
	h, _, err := net.SplitHostPort(e.Host)
	if err != nil {
		h = strings.Trim(e.Host, "[]")
	}
	return IsLoopback(h)
}

// ParseECSEndpoint checks ECS_ENDPOINT: "" (the regional endpoint over HTTPS),
// a host name (HTTPS), or a URL of scheme and host such as
// https://ecs-vpc.cn-hangzhou.aliyuncs.com. Plain http:// is accepted only for
// a loopback host (the emulator): the requests carry credentials. An error
// never shows a password that the URL may carry.
func ParseECSEndpoint(raw string) (Endpoint, error) {
	const example = "https://ecs-vpc.cn-hangzhou.aliyuncs.com"
	if raw == "" {
		return Endpoint{}, nil
	}
	withScheme := raw
	if !strings.Contains(raw, "://") {
		withScheme = "https://" + raw
	}
	u, err := url.Parse(withScheme)
	if err != nil {
		return Endpoint{}, fmt.Errorf("not a URL; want one like %s", example)
	}
	if u.Hostname() == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return Endpoint{}, fmt.Errorf("%q must be a scheme and host only, like %s", u.Redacted(), example)
	}
	switch scheme := strings.ToLower(u.Scheme); {
	case scheme == "https":
	case scheme == "http" && IsLoopback(u.Hostname()):
	case scheme == "http":
		return Endpoint{}, fmt.Errorf("%q: plain http is allowed only for a loopback host (127.0.0.1, ::1, localhost); use https", u.Redacted())
	default:
		return Endpoint{}, fmt.Errorf("%q: the scheme must be https", u.Redacted())
	}
	return Endpoint{Scheme: strings.ToLower(u.Scheme), Host: u.Host}, nil
}

// mnsForm is the MNS endpoint as the console shows it.
const mnsForm = "http(s)://<accountId>.mns.<region>[-internal].aliyuncs.com"

// errNoMNSEndpoint is ParseMNSEndpoint's error for "".
var errNoMNSEndpoint = errors.New("is empty; want " + mnsForm)

// ParseMNSEndpoint checks MNS_ENDPOINT: the account endpoint, scheme and host
// only (mnsForm), or a loopback URL such as http://127.0.0.1:PORT for a local
// fake. A queue URL (with a path) is refused: the MNS SDK appends the resource
// to the path but signs only the resource, so MNS would answer
// SignatureDoesNotMatch. Outside loopback the host must have the account,
// "mns", region and domain parts (five dot-separated parts with the scheme),
// which the MNS SDK requires. An error never shows a password.
func ParseMNSEndpoint(raw string) (Endpoint, error) {
	if raw == "" {
		return Endpoint{}, errNoMNSEndpoint
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse errors quote the input, which may hold a password.
		return Endpoint{}, fmt.Errorf("is not a URL; want %s", mnsForm)
	}
	shown := u.Redacted()
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return Endpoint{}, fmt.Errorf("%q must start with http:// or https://; want %s", shown, mnsForm)
	case u.Host == "":
		return Endpoint{}, fmt.Errorf("%q has no host; want %s", shown, mnsForm)
	case u.User != nil:
		return Endpoint{}, fmt.Errorf("%q must not carry user information; credentials come from the invocation or the credential chain", shown)
	case u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(raw, "?#"):
		return Endpoint{}, fmt.Errorf("%q must not have a query or fragment", shown)
	case strings.TrimRight(u.EscapedPath(), "/") != "":
		return Endpoint{}, fmt.Errorf("%q must be the account endpoint without a path (not a queue URL); want %s", shown, mnsForm)
	}
	ep := Endpoint{Scheme: u.Scheme, Host: u.Host}
	if ep.Loopback() {
		return ep, nil
	}
	if n := len(strings.Split(ep.URL(), ".")); n != 5 {
		return Endpoint{}, fmt.Errorf("%q has %d dot-separated parts, the MNS SDK needs exactly 5; want %s", shown, n, mnsForm)
	}
	return ep, nil
}
