package emulator

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"
)

// Faults describe the failures injected into one action (or, under the action
// "", into every action). They apply after authentication, so Calls counts
// faulted requests too.
type Faults struct {
	// RateLimit is the calls per second allowed (token bucket, burst =
	// max(1, RateLimit)), measured on Options.Now; 0 = off. Past it the call
	// gets 400 Throttling.User.
	RateLimit float64
	// FailNext: the next len(FailNext) calls fail, in order, each with this
	// API code (at that code's HTTP status), or with a special value: "reset"
	// (connection closed without an answer), "slow" (SlowDelay, then a normal
	// answer), "badgateway" (502 with an HTML body) or "nonstring-code" (400
	// with a JSON error body whose Code and Message are numbers).
	FailNext    []string
	Unavailable float64 // share 0..1 of calls answered 503 ServiceUnavailable
	Internal    float64 // share answered 500 InternalError
	BadGateway  float64 // share answered 502 with a non-JSON HTML body
	Reset       float64 // share whose TCP connection is closed without an answer
	Slow        float64 // share answered only after SlowDelay (to trip client timeouts)
	SlowDelay   time.Duration
	RandSeed    int64 // seed of the fault dice so runs repeat exactly
}

// Special FailNext values.
const (
	FaultReset      = "reset"
	FaultSlow       = "slow"
	FaultBadGateway = "badgateway"
	// FaultNonStringCode answers 400 with {"Code": 400, "Message": 1, ...}: no
	// real answer looks like this, but the ECS SDK panics on it (it asserts
	// that Code is a string), which makes a real panic reachable on demand.
	FaultNonStringCode = "nonstring-code"
)

type faultState struct {
	f       Faults
	next    []string
	limiter *rate.Limiter
	dice    *rand.Rand
}

// SetFaults replaces the faults of action ("" = every action). A zero Faults clears them.
func (s *Server) SetFaults(action string, f Faults) {
	st := &faultState{f: f, next: append([]string(nil), f.FailNext...),
		dice: rand.New(rand.NewPCG(uint64(f.RandSeed), 0x9e3779b97f4a7c15))}
	if f.RateLimit > 0 {
		st.limiter = rate.NewLimiter(rate.Limit(f.RateLimit), max(1, int(f.RateLimit)))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[action] = st
}

// outcome is what the fault dice chose for one call.
type outcome struct {
	kind  string    // "" = answer normally, or a FaultX value, or "error"
	err   *apiError // for "error"
	delay time.Duration
}

// decide rolls the faults of the action, then the global ones; the first hit wins.
func (s *Server) decide(action string) outcome {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for _, key := range []string{action, ""} {
		st, ok := s.faults[key]
		if !ok || (key == "" && action == "") {
			continue
		}
		if o := st.roll(now); o.kind != "" {
			return o
		}
	}
	return outcome{}
}

func (st *faultState) roll(now time.Time) outcome {
	if len(st.next) > 0 {
		code := st.next[0]
		st.next = st.next[1:]
		switch code {
		case FaultReset, FaultBadGateway, FaultNonStringCode, FaultEchoCredentials:
			return outcome{kind: code}
		case FaultSlow:
			return outcome{kind: FaultSlow, delay: st.f.SlowDelay}
		}
		return outcome{kind: "error", err: errorf(statusOf(code), code, "%s", messageOf(code))}
	}
	if st.limiter != nil && !st.limiter.AllowN(now, 1) {
		return outcome{kind: "error", err: errorf(http.StatusBadRequest, "Throttling.User", "Request was denied due to user flow control.")}
	}
	// One roll per call against cumulative shares keeps each share exact.
	x := st.dice.Float64()
	for _, c := range []struct {
		share float64
		o     outcome
	}{
		{st.f.Reset, outcome{kind: FaultReset}},
		{st.f.BadGateway, outcome{kind: FaultBadGateway}},
		{st.f.Unavailable, outcome{kind: "error", err: errorf(503, "ServiceUnavailable", "%s", messageOf("ServiceUnavailable"))}},
		{st.f.Internal, outcome{kind: "error", err: errorf(500, "InternalError", "%s", messageOf("InternalError"))}},
		{st.f.Slow, outcome{kind: FaultSlow, delay: st.f.SlowDelay}},
	} {
		if x < c.share {
			return c.o
		}
		x -= c.share
	}
	return outcome{}
}

// injectFault applies the chosen fault and reports whether the call should
// go on to the action.
func (s *Server) injectFault(w http.ResponseWriter, r *http.Request, req *rpcRequest, reqID, action string) bool {
	o := s.decide(action)
	switch o.kind {
	case "":
		return true
	case FaultSlow:
		t := time.NewTimer(o.delay)
		defer t.Stop()
		select {
		case <-t.C:
			return true
		case <-r.Context().Done():
			noteCode(w, clientGone)
			return false
		}
	case FaultReset:
		noteCode(w, FaultReset)
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return false
			}
		}
		// Not hijackable (HTTP/2, a recorder): net/http's own way to abort
		// the response without answering.
		panic(http.ErrAbortHandler)
	case FaultBadGateway:
		noteCode(w, FaultBadGateway)
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte("<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"))
		return false
	case FaultEchoCredentials: // faults_echo.go
		s.writeEchoCredentials(w, req, reqID)
		return false
	case FaultNonStringCode:
		noteCode(w, FaultNonStringCode)
		writeJSON(w, http.StatusBadRequest, map[string]any{
			"RequestId": reqID, "HostId": hostID, "Code": http.StatusBadRequest, "Message": 1,
		})
		return false
	default:
		s.writeError(w, reqID, o.err)
		return false
	}
}

// statusOf is the HTTP status the service uses for an error code.
func statusOf(code string) int {
	switch {
	case strings.HasPrefix(code, "Throttling"), code == "Rejected.Throttling", code == "UnknownError":
		return http.StatusBadRequest
	case strings.HasPrefix(code, "ServiceUnavailable"):
		return http.StatusServiceUnavailable
	case code == "InternalError":
		return http.StatusInternalServerError
	case code == "OperationConflict":
		return http.StatusConflict
	case strings.HasSuffix(code, ".NotFound"), code == "InvalidAction":
		return http.StatusNotFound
	case strings.HasPrefix(code, "Forbidden"), strings.HasPrefix(code, "InvalidStatus."),
		strings.HasPrefix(code, "ImageStatus."), code == "ImageUseShared",
		strings.HasPrefix(code, "OperationDeined"), strings.HasPrefix(code, "InvalidOperation."),
		code == "LastTokenProcessing", code == "InvalidSecurityToken.Expired",
		strings.HasPrefix(code, "QuotaExceed"):
		return http.StatusForbidden
	}
	return http.StatusBadRequest
}

var messages = map[string]string{
	"Throttling":                    "Request was denied due to request throttling.",
	"Throttling.User":               "Request was denied due to user flow control.",
	"Throttling.Api":                "Request was denied due to api flow control.",
	"ServiceUnavailable":            "The request has failed due to a temporary failure of the server.",
	"InternalError":                 "The request processing has failed due to some unknown error, exception or failure.",
	"UnknownError":                  "The request processing has failed due to some unknown error.",
	"OperationConflict":             "Request was denied due to conflict with a previous request.",
	"InvalidStatus.ImageIsCreating": "The operation cannot be performed because the image is creating. Please wait until the creation is complete and try again.",
	"Forbidden.RAM":                 "User not authorized to operate on the specified resource, or this API doesn't support RAM.",
	"InvalidSecurityToken.Expired":  "Specified SecurityToken is expired.",
	"InvalidImageId.NotFound":       "The specified ImageId does not exist.",
	"ImageUseShared":                "The specified image has been shared to others, please remove shared accounts first.",
	"ImageStatus.NotAvailable":      "The specified image status is not available.",
	"ImageStatus.NotDeprecated":     "The specified image status is not deprecated.",
	"IncorrectImageStatus":          "The image is not available.",
	"LastTokenProcessing":           "The last token request is processing.",
}

func messageOf(code string) string {
	if m, ok := messages[code]; ok {
		return m
	}
	return "Injected fault " + code + "."
}

// defaultSlowDelay is how long a "slow" answer waits when the spec names no
// slow-delay: longer than most clients' read timeouts.
const defaultSlowDelay = 10 * time.Second

// ParseFaults reads one --faults spec onto f: "[ACTION:]key=value,...", keys
// rate-limit, fail-next (codes joined by +), unavailable, internal,
// bad-gateway, reset, slow (shares 0..1), slow-delay, seed. It returns the
// action the spec names ("" = every action).
func ParseFaults(spec string, f *Faults) (action string, err error) {
	body := spec
	if a, rest, ok := strings.Cut(spec, ":"); ok && !strings.Contains(a, "=") {
		action, body = a, rest
	}
	for pair := range strings.SplitSeq(body, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if !ok || v == "" {
			return "", fmt.Errorf("fault %q: want key=value", pair)
		}
		set, known := faultKeys[k]
		if !known {
			return "", fmt.Errorf("fault %q: unknown key %q", pair, k)
		}
		if err := set(f, v); err != nil {
			return "", fmt.Errorf("fault %q: %w", pair, err)
		}
	}
	if f.RateLimit < 0 || f.SlowDelay < 0 {
		return "", fmt.Errorf("faults %q: rate-limit and slow-delay must not be negative", spec)
	}
	if sum := f.Unavailable + f.Internal + f.BadGateway + f.Reset + f.Slow; sum > 1 {
		return "", fmt.Errorf("faults %q: the shares add up to %.2f, more than 1", spec, sum)
	}
	if f.SlowDelay == 0 && (f.Slow > 0 || slices.Contains(f.FailNext, FaultSlow)) {
		f.SlowDelay = defaultSlowDelay
	}
	return action, nil
}

// faultKeys set each key of a --faults spec onto Faults.
var faultKeys = map[string]func(f *Faults, v string) error{
	"rate-limit": func(f *Faults, v string) (err error) { f.RateLimit, err = strconv.ParseFloat(v, 64); return err },
	"fail-next": func(f *Faults, v string) error {
		f.FailNext = append(f.FailNext, strings.Split(v, "+")...)
		return nil
	},
	"unavailable": func(f *Faults, v string) (err error) { f.Unavailable, err = share(v); return err },
	"internal":    func(f *Faults, v string) (err error) { f.Internal, err = share(v); return err },
	"bad-gateway": func(f *Faults, v string) (err error) { f.BadGateway, err = share(v); return err },
	"reset":       func(f *Faults, v string) (err error) { f.Reset, err = share(v); return err },
	"slow":        func(f *Faults, v string) (err error) { f.Slow, err = share(v); return err },
	"slow-delay":  func(f *Faults, v string) (err error) { f.SlowDelay, err = time.ParseDuration(v); return err },
	"seed":        func(f *Faults, v string) (err error) { f.RandSeed, err = strconv.ParseInt(v, 10, 64); return err },
}

func share(v string) (float64, error) {
	p, err := strconv.ParseFloat(v, 64)
	if err != nil || p < 0 || p > 1 {
		return 0, fmt.Errorf("%q is not a share between 0 and 1", v)
	}
	return p, nil
}
