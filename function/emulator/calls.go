package emulator

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// adminPrefix is where the emulator's own views live, apart from the RPC API at "/".
const adminPrefix = "/_emulator/"

// maxModifyLog bounds the ModifyImageAttribute log; the oldest entries go first.
const maxModifyLog = 10000

// ModifyRecord is one ModifyImageAttribute call that passed authentication.
type ModifyRecord struct {
	Time       time.Time         `json:"time"` // on the emulator's clock
	RequestID  string            `json:"requestId"`
	Signature  string            `json:"signature"` // "v1" (HMAC-SHA1) or "v3" (ACS3-HMAC-SHA256)
	RegionID   string            `json:"regionId"`
	ImageID    string            `json:"imageId"`
	Params     map[string]string `json:"params"`         // what it asked for: ImageName, Status, Features.ImdsSupport, DryRun, ...
	HTTPStatus int               `json:"httpStatus"`     // 0 when no answer was sent (a reset, or the client left)
	Code       string            `json:"code,omitempty"` // the error code (or fault); empty when the call succeeded
}

// CallView is what the emulator has answered since it started (or since
// ResetCalls): GET /_emulator/calls returns it as JSON.
type CallView struct {
	Calls    map[string]int `json:"calls"`    // authenticated calls by action, faulted ones included
	Total    int            `json:"total"`    // the sum of Calls
	Rejected map[string]int `json:"rejected"` // calls refused before any action ran, by error code
	// ModifyImageAttribute lists the ModifyImageAttribute calls in order: all
	// of them, or past 10,000 the newest (at least 5,000); Dropped counts
	// the older ones let go.
	ModifyImageAttribute []ModifyRecord `json:"modifyImageAttribute"`
	Dropped              int            `json:"modifyImageAttributeDropped"`
}

// CallView returns a copy of the counters and the ModifyImageAttribute log.
func (s *Server) CallView() CallView {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := CallView{Calls: map[string]int{}, Rejected: map[string]int{}, Dropped: s.modifyDropped,
		ModifyImageAttribute: slices.Clone(s.modifies)}
	for a, n := range s.calls {
		v.Calls[a] = n
		v.Total += n
	}
	for c, n := range s.rejected {
		v.Rejected[c] = n
	}
	if v.ModifyImageAttribute == nil {
		v.ModifyImageAttribute = []ModifyRecord{}
	}
	return v
}

// serveAdmin answers the emulator's own read-only endpoints.
func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != adminPrefix+"calls" {
		writeJSON(w, http.StatusNotFound, map[string]string{"Code": "NotFound",
			"Message": "The emulator serves GET " + adminPrefix + "calls; the ECS API is at /."})
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"Code": "UnsupportedHTTPMethod",
			"Message": adminPrefix + "calls is read-only: use GET."})
		return
	}
	writeJSON(w, http.StatusOK, s.CallView())
}

// call is what the emulator learns about one request while it answers it.
type call struct {
	requestID     string
	signature     string // "v1" or "v3"; "" when the request could not be read
	action        string // as the request named it, even when it was refused
	params        url.Values
	authenticated bool
}

// recorder keeps the status and the API error code of an answer, for the
// counters and the log.
type recorder struct {
	http.ResponseWriter
	status int
	code   string // "" = success
}

func (r *recorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

// Hijack lets the reset fault close the connection through the recorder.
func (r *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := r.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("emulator: connection cannot be hijacked")
	}
	return hj.Hijack()
}

// clientGone notes a call whose client left before a slow answer was due.
const clientGone = "client-gone"

// noteCode records the API error code (or fault) of the answer w carries.
func noteCode(w http.ResponseWriter, code string) {
	if r, ok := w.(*recorder); ok {
		r.code = code
	}
}

// record counts a finished call, adds it to the ModifyImageAttribute log and
// writes its log line.
func (s *Server) record(c call, rec *recorder, took time.Duration) {
	status := rec.status
	if rec.code == FaultReset || rec.code == clientGone {
		status = 0 // nothing was answered
	}
	s.mu.Lock()
	if !c.authenticated {
		s.rejected[cmp.Or(rec.code, strconv.Itoa(rec.status))]++
	}
	if c.authenticated && c.action == "ModifyImageAttribute" {
		params := map[string]string{}
		for k := range apiParams(c.params) {
			if k != "RegionId" && k != "ImageId" {
				params[k] = c.params.Get(k)
			}
		}
		if len(s.modifies) == maxModifyLog {
			// Let the older half go at once: one copy per maxModifyLog/2
			// calls instead of one per call.
			half := maxModifyLog / 2
			s.modifies = s.modifies[:copy(s.modifies, s.modifies[half:])]
			s.modifyDropped += half
		}
		s.modifies = append(s.modifies, ModifyRecord{Time: s.now().UTC(), RequestID: c.requestID, Signature: c.signature,
			RegionID: c.params.Get("RegionId"), ImageID: c.params.Get("ImageId"), Params: params,
			HTTPStatus: status, Code: rec.code})
	}
	s.mu.Unlock()
	if s.log != nil {
		line := logLine(time.Now(), c, rec, took)
		s.logMu.Lock()
		_, _ = io.WriteString(s.log, line)
		s.logMu.Unlock()
	}
}

// maxLoggedValue keeps a log line to one screen line however long a value is.
const maxLoggedValue = 60

// logLine is one request on one line:
//
//	09:05:15.123 v3 ModifyImageAttribute ImageId=m-1 Status=Deprecated -> 403 ImageUseShared 1.2ms
//
// It names the API parameters (never a key, signature or token), the answer
// and the time taken.
func logLine(now time.Time, c call, rec *recorder, took time.Duration) string {
	var b strings.Builder
	b.WriteString(now.Format("15:04:05.000"))
	b.WriteString(" " + cmp.Or(c.signature, "-") + " " + cmp.Or(c.action, "(no action)"))
	params := apiParams(c.params)
	keys := make([]string, 0, len(params))
	for k := range params {
		if k != "RegionId" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := params.Get(k)
		if utf8.RuneCountInString(v) > maxLoggedValue {
			v = string([]rune(v)[:maxLoggedValue]) + "..."
		}
		if v == "" || strings.ContainsAny(v, " \t\"=") || !strconv.CanBackquote(v) {
			v = strconv.Quote(v)
		}
		b.WriteString(" " + k + "=" + v)
	}
	switch rec.code {
	case FaultReset:
		b.WriteString(" -> connection reset")
	case clientGone:
		b.WriteString(" -> client gone before the slow answer")
	case "":
		fmt.Fprintf(&b, " -> %d OK", rec.status)
	default:
		fmt.Fprintf(&b, " -> %d %s", rec.status, rec.code)
	}
	fmt.Fprintf(&b, " %s\n", took.Round(10*time.Microsecond))
	return b.String()
}
