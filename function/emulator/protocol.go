package emulator

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
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

// ServeHTTP authenticates one RPC request, counts it, applies injected
// faults, then runs the action.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := s.requestID()
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		s.writeError(w, reqID, errorf(http.StatusMethodNotAllowed, "UnsupportedHTTPMethod",
			"This http method %s is not supported.", r.Method))
		return
	}
	if err := r.ParseForm(); err != nil {
		s.writeError(w, reqID, errorf(http.StatusBadRequest, "InvalidParameter", "The request cannot be parsed: %v", err))
		return
	}
	if aerr := s.authenticate(r); aerr != nil {
		s.writeError(w, reqID, aerr)
		return
	}
	action := r.Form.Get("Action")
	s.mu.Lock()
	s.calls[action]++
	s.mu.Unlock()

	if !s.injectFault(w, r, reqID, action) {
		return
	}
	body, aerr := s.dispatch(action, r.Form)
	if aerr != nil {
		s.writeError(w, reqID, aerr)
		return
	}
	body["RequestId"] = reqID
	writeJSON(w, http.StatusOK, body)
}

// authenticate makes the checks the service makes before it looks at the action:
// protocol parameters, key, signature, STS token, timestamp skew, nonce reuse.
func (s *Server) authenticate(r *http.Request) *apiError {
	f := r.Form
	for _, name := range []string{"Action", "Version", "AccessKeyId", "Signature", "SignatureMethod",
		"SignatureVersion", "SignatureNonce", "Timestamp"} {
		if f.Get(name) == "" {
			return missing(name)
		}
	}
	if v := f.Get("Version"); v != apiVersion {
		return errorf(http.StatusBadRequest, "InvalidVersion", "Specified parameter Version is not valid: %q.", v)
	}
	if m := f.Get("SignatureMethod"); m != "HMAC-SHA1" {
		return errorf(http.StatusBadRequest, "InvalidParameter", "The specified parameter SignatureMethod is not valid: %q.", m)
	}
	if v := f.Get("SignatureVersion"); v != "1.0" {
		return errorf(http.StatusBadRequest, "InvalidParameter", "The specified parameter SignatureVersion is not valid: %q.", v)
	}
	secret, ok := s.keys[f.Get("AccessKeyId")]
	if !ok {
		return errorf(http.StatusNotFound, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
	}
	sts := stringToSign(r.Method, f)
	if !hmac.Equal([]byte(sign(secret, sts)), []byte(f.Get("Signature"))) {
		return errorf(http.StatusBadRequest, "SignatureDoesNotMatch",
			"Specified signature is not matched with our calculation. server string to sign is:%s", sts)
	}
	if s.token != "" {
		// The service answers a missing token for temporary keys as malformed
		// and a token that does not belong to the key as a mismatch; both 400.
		switch tok := f.Get("SecurityToken"); {
		case tok == "":
			return errorf(http.StatusBadRequest, "InvalidSecurityToken.Malformed", "Specified SecurityToken is malformed.")
		case !hmac.Equal([]byte(tok), []byte(s.token)):
			return errorf(http.StatusBadRequest, "InvalidSecurityToken.MismatchWithAccessKey",
				"Specified SecurityToken mismatch with the AccessKey.")
		}
	}
	ts, err := time.Parse("2006-01-02T15:04:05Z", f.Get("Timestamp"))
	if err != nil {
		return errorf(http.StatusBadRequest, "InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted.")
	}
	now := s.now()
	if d := now.Sub(ts); d > skewWindow || d < -skewWindow {
		return errorf(http.StatusBadRequest, "IllegalTimestamp",
			"Specified time stamp %s is more than 15 minutes away from the server time %s.", f.Get("Timestamp"), now.UTC().Format(time.RFC3339))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.nonces.remember(f.Get("SignatureNonce"), ts.Add(skewWindow), now) {
		return errorf(http.StatusBadRequest, "SignatureNonceUsed", "Specified signature nonce was used already.")
	}
	return nil
}

// stringToSign is SignatureVersion 1.0's canonical form: every parameter but
// Signature, empty ones included, sorted, RFC 3986 encoded.
func stringToSign(method string, f url.Values) string {
	keys := make([]string, 0, len(f))
	for k := range f {
		if k != "Signature" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	pairs := make([]string, len(keys))
	for i, k := range keys {
		pairs[i] = percentEncode(k) + "=" + percentEncode(f.Get(k))
	}
	return method + "&" + percentEncode("/") + "&" + percentEncode(strings.Join(pairs, "&"))
}

func percentEncode(s string) string {
	return strings.NewReplacer("+", "%20", "*", "%2A", "%7E", "~").Replace(url.QueryEscape(s))
}

func sign(secret, stringToSign string) string {
	mac := hmac.New(sha1.New, []byte(secret+"&"))
	mac.Write([]byte(stringToSign))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
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
