package emulator

import (
	"crypto/hmac"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

const (
	apiVersion = "2014-05-26"
	hostID     = "ecs.aliyuncs.com"
)

// apiError is an answer in the API's own terms: HTTP status, code, message.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.status, e.code, e.message) }

func errorf(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

func missing(name string) *apiError {
	return errorf(http.StatusBadRequest, "MissingParameter",
		"The input parameter %q that is mandatory for processing this request is not supplied.", name)
}

func invalidParam(name, value string) *apiError {
	return errorf(http.StatusBadRequest, "InvalidParameter",
		"The specified parameter %q is not valid: %q.", name, value)
}

// errorBody is the service's error document; every field a string, because
// the SDK panics on a non-string Code/Message/RequestId.
type errorBody struct {
	RequestID string `json:"RequestId"`
	HostID    string `json:"HostId"`
	Code      string `json:"Code"`
	Message   string `json:"Message"`
	Recommend string `json:"Recommend"`
}

// ServeHTTP answers one RPC call: it reads and authenticates it, counts it,
// applies injected faults, runs the action and saves the state if it changed.
// Paths under /_emulator/ are the emulator's own read-only views.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, adminPrefix) {
		s.serveAdmin(w, r)
		return
	}
	started := time.Now()
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	reqID := s.requestID()
	c := call{requestID: reqID}
	defer func() { s.record(c, rec, time.Since(started)) }()

	req, aerr := readRequest(rec, r)
	if aerr != nil {
		s.writeError(rec, reqID, aerr)
		return
	}
	c.params = req.params
	c.signature, c.action, aerr = s.authenticate(req)
	if aerr != nil {
		s.writeError(rec, reqID, aerr)
		return
	}
	c.authenticated = true
	s.mu.Lock()
	s.calls[c.action]++
	s.mu.Unlock()

	if !s.injectFault(rec, r, req, reqID, c.action) {
		return
	}
	body, aerr := s.dispatch(c.action, req.params)
	if err := s.persist(); err != nil {
		if aerr == nil {
			aerr = errorf(http.StatusInternalServerError, "InternalError", "The emulator could not save its state: %v", err)
		} else {
			aerr.message += fmt.Sprintf(" (The emulator could not save its state either: %v)", err)
		}
	}
	if aerr != nil {
		s.writeError(rec, reqID, aerr)
		return
	}
	body["RequestId"] = reqID
	writeJSON(rec, http.StatusOK, body)
}

// authenticate tells the two signatures apart and checks the one used: a
// Signature parameter means V1 (HMAC-SHA1); an Authorization or
// x-acs-signature-nonce header without it means V3 (ACS3-HMAC-SHA256). A
// request with neither is held to V1, whose first missing parameter says
// what is wrong.
func (s *Server) authenticate(req *rpcRequest) (signature, action string, aerr *apiError) {
	switch {
	case req.params.Has("Signature"):
		action, aerr = s.authenticateV1(req)
		return "v1", action, aerr
	case req.header.Get("Authorization") != "" || req.header.Get("x-acs-signature-nonce") != "":
		action, aerr = s.authenticateV3(req)
		return "v3", action, aerr
	default:
		action, aerr = s.authenticateV1(req)
		return "v1", action, aerr
	}
}

// checkReplay makes the checks both signatures share once the signature
// holds: the STS token, the timestamp's skew, the nonce's reuse.
func (s *Server) checkReplay(token, timestamp, nonce string) *apiError {
	if s.token != "" {
		// The service answers a missing token for temporary keys as malformed
		// and a token that does not belong to the key as a mismatch; both 400.
		switch {
		case token == "":
			return errorf(http.StatusBadRequest, "InvalidSecurityToken.Malformed", "Specified SecurityToken is malformed.")
		case !hmac.Equal([]byte(token), []byte(s.token)):
			return errorf(http.StatusBadRequest, "InvalidSecurityToken.MismatchWithAccessKey",
				"Specified SecurityToken mismatch with the AccessKey.")
		}
	}
	ts, err := time.Parse(wireTime, timestamp)
	if err != nil {
		return errorf(http.StatusBadRequest, "InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted.")
	}
	now := s.now()
	if d := now.Sub(ts); d > skewWindow || d < -skewWindow {
		return errorf(http.StatusBadRequest, "IllegalTimestamp",
			"Specified time stamp %s is more than 15 minutes away from the server time %s.", timestamp, now.UTC().Format(time.RFC3339))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.nonces.remember(nonce, ts.Add(skewWindow), now) {
		return errorf(http.StatusBadRequest, "SignatureNonceUsed", "Specified signature nonce was used already.")
	}
	return nil
}

func unknownKey() *apiError {
	return errorf(http.StatusNotFound, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
}

// nonceMemory remembers nonces until their request could no longer pass the
// timestamp check, so it stays bounded by the request rate times the window.
type nonceMemory struct {
	seen      map[string]time.Time // nonce -> forget after
	nextPrune time.Time
}

// remember records nonce and reports whether it was new.
func (m *nonceMemory) remember(nonce string, forgetAfter, now time.Time) bool {
	if now.After(m.nextPrune) {
		for n, t := range m.seen {
			if now.After(t) {
				delete(m.seen, n)
			}
		}
		m.nextPrune = now.Add(time.Minute)
	}
	if t, ok := m.seen[nonce]; ok && !now.After(t) {
		return false
	}
	m.seen[nonce] = forgetAfter
	return true
}

// requestID is a fresh id in the service's UUID shape; the sequence number
// makes it unique even if the random part repeats.
func (s *Server) requestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:8])
	s.mu.Lock()
	s.seq++
	seq := s.seq
	s.mu.Unlock()
	for i := 0; i < 8; i++ {
		b[15-i] = byte(seq >> (8 * i))
	}
	h := strings.ToUpper(hex.EncodeToString(b[:]))
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func (s *Server) writeError(w http.ResponseWriter, reqID string, e *apiError) {
	noteCode(w, e.code)
	writeJSON(w, e.status, errorBody{
		RequestID: reqID,
		HostID:    hostID,
		Code:      e.code,
		Message:   e.message,
		Recommend: "https://api.aliyun.com/troubleshoot?q=" + url.QueryEscape(e.code) + "&product=Ecs&requestId=" + reqID,
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"Code":"InternalError","Message":"encode response"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", fmt.Sprint(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
