// Package mnsfake is an in-process fake of Alibaba Cloud MNS (SMQ) queues that
// speaks the HTTP/XML protocol of aliyun-mns-go-sdk v1.0.11 on 127.0.0.1, so
// that tests drive the real SDK over a real socket.
//
// It checks what the service checks (signature, version header, Date skew,
// Content-MD5, priority and delay ranges, receipt handles) and answers with the
// service's error codes in its XML error body, so SDK error mapping is
// exercised for real. Only queue messaging is modelled; topics are not.
//
// Endpoint is the plain loopback URL, http://127.0.0.1:PORT, exactly what a
// user would set as MNS_ENDPOINT; the function's queue package adapts it for
// the SDK (which cannot take it as it is), so requests arrive with the paths
// and signatures they would have at MNS.
package mnsfake

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// APIVersion is the only x-mns-version the service (and so the fake) accepts.
const APIVersion = "2015-06-06"

// maxDateSkew is how far the request Date may be from the server clock.
const maxDateSkew = 15 * time.Minute

// Service limits (SMQ docs, mns.md section 3).
const (
	maxBodyBytes      = 65536
	maxDelaySeconds   = 604800
	maxWaitSeconds    = 30
	maxBatch          = 16
	maxVisibilitySecs = 43200
	defaultPriority   = 8
)

// Options configures a Server. The zero value is usable.
type Options struct {
	// Keys maps AccessKeyId to AccessKeySecret; nil means {"mns": "mns"}.
	// SetKeys replaces them while the server runs.
	Keys map[string]string
	// Tokens maps an AccessKeyId to the STS security token it must be sent
	// with (header "security-token"); keys not listed need no token.
	Tokens map[string]string
	// Addr is the loopback address to listen on; "" means 127.0.0.1 on a
	// free port. "[::1]:0" serves IPv6.
	Addr string
	// Now is the server clock (visibility, delays, Date check); nil means
	// time.Now. The SDK stamps Date from the real clock, so a test clock must
	// stay within 15 minutes of it.
	Now func() time.Time
	// VisibilityTimeout is how long a received message stays invisible;
	// zero means 30s, the service default.
	VisibilityTimeout time.Duration
}

// Message is a snapshot of one stored message, for assertions.
type Message struct {
	ID           string
	Body         string
	Priority     int64
	DelaySeconds int64
	EnqueueTime  time.Time
	VisibleAt    time.Time
	DequeueCount int64
	// AccessKeyID is the key that signed the send.
	AccessKeyID string
}

// Server is a running fake. All methods are safe for concurrent use.
type Server struct {
	opts     Options
	listener net.Listener
	http     *http.Server
	idPrefix string

	mu     sync.Mutex
	queues map[string]*queue
	seq    uint64
	// wake is closed (and replaced) whenever a message may have become
	// receivable, so that long polls re-check at once.
	wake chan struct{}
}

// Start listens on a free loopback port and serves until Close.
func Start(opts Options) (*Server, error) {
	if opts.Keys == nil {
		opts.Keys = map[string]string{"mns": "mns"}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.VisibilityTimeout <= 0 {
		opts.VisibilityTimeout = 30 * time.Second
	}
	var prefix [4]byte
	if _, err := rand.Read(prefix[:]); err != nil {
		return nil, fmt.Errorf("mnsfake: random id prefix: %w", err)
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("mnsfake: listen: %w", err)
	}
	s := &Server{
		opts:     opts,
		listener: ln,
		idPrefix: strings.ToUpper(hex.EncodeToString(prefix[:])),
		queues:   make(map[string]*queue),
		wake:     make(chan struct{}),
	}
	s.http = &http.Server{Handler: http.HandlerFunc(s.handle), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.http.Serve(ln) }()
	return s, nil
}

// Endpoint is the URL to set as MNS_ENDPOINT: http://127.0.0.1:PORT (or the
// address of Options.Addr).
func (s *Server) Endpoint() string {
	return "http://" + s.listener.Addr().String()
}

// SetKeys replaces the accepted keys and tokens (as Options.Keys and
// Options.Tokens), as when STS credentials rotate: requests signed with a
// key no longer listed are answered InvalidAccessKeyId.
func (s *Server) SetKeys(keys, tokens map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.Keys, s.opts.Tokens = keys, tokens
}

// Close stops the server and drops open connections, which also ends any
// long poll in progress.
func (s *Server) Close() error {
	err := s.http.Close()
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// CreateQueue makes an empty queue; an existing queue is left as it is.
func (s *Server) CreateQueue(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.queues[name]; !ok {
		s.queues[name] = newQueue()
	}
}

// Messages returns every message in the queue, visible or not, in enqueue
// order; nil for an unknown queue.
func (s *Server) Messages(queueName string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, ok := s.queues[queueName]
	if !ok {
		return nil
	}
	out := make([]Message, 0, len(q.msgs))
	for _, m := range q.msgs {
		out = append(out, m.Message)
	}
	return out
}

// SetDown simulates an outage of one queue: while down, every request for it
// is answered 503 with a non-XML body, as a load balancer in front of a
// failing service would.
func (s *Server) SetDown(queueName string, down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if q, ok := s.queues[queueName]; ok {
		q.down = down
	}
}

// Sends counts the SendMessage and BatchSendMessage requests that reached the
// queue, accepted or not (including those answered 503 while down).
func (s *Server) Sends(queueName string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if q, ok := s.queues[queueName]; ok {
		return q.sends
	}
	return 0
}

// apiError is an error answered in the service's XML error format.
type apiError struct {
	status  int
	code    string
	message string
}

func errorf(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

type errorBody struct {
	XMLName   xml.Name `xml:"Error"`
	Xmlns     string   `xml:"xmlns,attr"`
	Code      string   `xml:"Code"`
	Message   string   `xml:"Message"`
	RequestID string   `xml:"RequestId"`
	HostID    string   `xml:"HostId"`
}

const xmlns = "http://mns.aliyuncs.com/doc/v1/"

// request is one parsed request: the resource (signed part of the URI) and
// its pieces.
type request struct {
	r         *http.Request
	body      []byte
	resource  string
	queueName string
	messages  bool // the path is /queues/{q}/messages
	requestID string
	keyID     string // the AccessKeyId that signed it, once authenticated
}

// handle answers one request, always with a request id.
func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	req := &request{r: r, requestID: s.newRequestID()}
	w.Header().Set("x-mns-request-id", req.requestID)
	w.Header().Set("x-mns-version", APIVersion)

	if err := s.serve(w, req); err != nil {
		s.writeError(w, req, err)
	}
}

func (s *Server) serve(w http.ResponseWriter, req *request) *apiError {
	req.resource = req.r.RequestURI
	path, _, _ := strings.Cut(req.resource, "?")
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	if len(parts) < 2 || parts[0] != "queues" || parts[1] == "" || len(parts) > 3 ||
		(len(parts) == 3 && parts[2] != "messages") {
		return errorf(http.StatusNotFound, "InvalidRequestURL", "The request URL %q is invalid.", path)
	}
	req.queueName = parts[1]
	req.messages = len(parts) == 3

	body, err := io.ReadAll(io.LimitReader(req.r.Body, 4*maxBodyBytes))
	if err != nil {
		return errorf(http.StatusBadRequest, "MalformedXML", "The request body could not be read.")
	}
	req.body = body

	if s.outage(req) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>")
		return nil
	}
	if err := s.authenticate(req); err != nil {
		return err
	}

	switch {
	case !req.messages && req.r.Method == http.MethodPut:
		return s.createQueue(w, req)
	case !req.messages:
		return errorf(http.StatusBadRequest, "InvalidRequestURL", "The fake implements only queue creation on %s.", path)
	case req.r.Method == http.MethodPost:
		return s.sendMessages(w, req)
	case req.r.Method == http.MethodGet:
		return s.receiveMessages(w, req)
	case req.r.Method == http.MethodDelete:
		return s.deleteMessages(w, req)
	case req.r.Method == http.MethodPut:
		return s.changeVisibility(w, req)
	}
	return errorf(http.StatusMethodNotAllowed, "InvalidRequestURL", "Method %s is not supported on %s.", req.r.Method, path)
}

// outage reports whether the request's queue is down, counting a send to it.
func (s *Server) outage(req *request) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, ok := s.queues[req.queueName]
	if !ok {
		return false
	}
	if req.messages && req.r.Method == http.MethodPost {
		q.sends++
	}
	return q.down
}

// authenticate checks the headers the service checks, in the order that
// gives the most specific error first.
func (s *Server) authenticate(req *request) *apiError {
	h := req.r.Header
	switch v := h.Get("x-mns-version"); {
	case v == "":
		return errorf(http.StatusBadRequest, "MissingVersionHeader", "The x-mns-version header is missing.")
	case v != APIVersion:
		return errorf(http.StatusBadRequest, "InvalidVersionHeader", "The x-mns-version %q is not supported.", v)
	}

	date := h.Get("Date")
	if date == "" {
		return errorf(http.StatusBadRequest, "MissingDateHeader", "The Date header is missing.")
	}
	sent, err := http.ParseTime(date)
	if err != nil {
		return errorf(http.StatusBadRequest, "InvalidDateHeader", "The Date header %q is not an HTTP date.", date)
	}
	if skew := s.opts.Now().Sub(sent); skew > maxDateSkew || skew < -maxDateSkew {
		// The HTTP status of TimeExpired is not documented; 403 is a guess.
		return errorf(http.StatusForbidden, "TimeExpired", "The request Date is more than 15 minutes from the server time.")
	}

	if md5Header := h.Get("Content-MD5"); md5Header != "" && md5Header != ContentMD5(req.body) {
		return errorf(http.StatusBadRequest, "InvalidDegist", "The Content-MD5 does not match the body.")
	}

	auth := h.Get("Authorization")
	if auth == "" {
		return errorf(http.StatusBadRequest, "MissingAuthorizationHeader", "The Authorization header is missing.")
	}
	creds, ok := strings.CutPrefix(auth, "MNS ")
	keyID, signature, ok2 := strings.Cut(creds, ":")
	if !ok || !ok2 || keyID == "" || signature == "" {
		return errorf(http.StatusBadRequest, "InvalidAuthorizationHeader", "The Authorization header must be \"MNS AccessKeyId:Signature\".")
	}
	s.mu.Lock()
	secret, known := s.opts.Keys[keyID]
	token, sts := s.opts.Tokens[keyID]
	s.mu.Unlock()
	if !known {
		return errorf(http.StatusForbidden, "InvalidAccessKeyId", "The AccessKeyId is not known.")
	}
	if sts && h.Get("security-token") != token {
		// The service's code for a missing or wrong STS token is not
		// documented in mns.md; AccessDenied is a guess.
		return errorf(http.StatusForbidden, "AccessDenied", "The security token is missing or does not belong to the AccessKeyId.")
	}
	want := Sign(secret, StringToSign(req.r.Method, h, req.resource))
	if !hmac.Equal([]byte(want), []byte(signature)) {
		return errorf(http.StatusForbidden, "SignatureDoesNotMatch", "The request signature does not match.")
	}
	req.keyID = keyID
	return nil
}

// ContentMD5 is the Content-MD5 value the SDK sends: base64 of the lower-case
// hex MD5 of the body (not of the raw digest).
func ContentMD5(body []byte) string {
	sum := md5.Sum(body)
	return base64.StdEncoding.EncodeToString([]byte(hex.EncodeToString(sum[:])))
}

// StringToSign builds the MNS string to sign (doc 27487) for a request whose
// signed resource (path and raw query, without any endpoint prefix) is given.
func StringToSign(method string, h http.Header, resource string) string {
	var mnsHeaders []string
	for name, values := range h {
		lower := strings.ToLower(name)
		if strings.HasPrefix(lower, "x-mns-") {
			mnsHeaders = append(mnsHeaders, lower+":"+strings.TrimSpace(strings.Join(values, ",")))
		}
	}
	sort.Strings(mnsHeaders)
	return method + "\n" +
		h.Get("Content-MD5") + "\n" +
		h.Get("Content-Type") + "\n" +
		h.Get("Date") + "\n" +
		strings.Join(mnsHeaders, "\n") + "\n" +
		resource
}

// Sign is base64(HMAC-SHA1(secret, stringToSign)).
func Sign(secret, stringToSign string) string {
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(stringToSign))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func (s *Server) writeError(w http.ResponseWriter, req *request, e *apiError) {
	s.writeXML(w, e.status, errorBody{
		Xmlns:     xmlns,
		Code:      e.code,
		Message:   e.message,
		RequestID: req.requestID,
		HostID:    "http://" + s.listener.Addr().String(),
	})
}

func (s *Server) writeXML(w http.ResponseWriter, status int, v any) {
	out, err := xml.Marshal(v)
	if err != nil {
		// Only our own fixed types are marshalled here.
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml;charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, xml.Header)
	_, _ = w.Write(out)
}

func (s *Server) newRequestID() string {
	s.mu.Lock()
	s.seq++
	n := s.seq
	s.mu.Unlock()
	return fmt.Sprintf("%s%016X", s.idPrefix, n)
}
