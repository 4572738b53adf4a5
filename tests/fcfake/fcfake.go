// Package fcfake is a fake of Function Compute's runtime API (version
// 2020-11-11, the one fc-runtime-go-sdk polls under the go1 runtime), for
// end-to-end tests of a compiled function: Start a Server, run the binary with
// FC_RUNTIME_API set to its Addr (StartProcess does this), then Invoke it as FC
// would and read what the function posted back.
//
// It speaks the SDK's side of the contract as observed in fc-runtime-go-sdk
// v0.3.1: GET .../invocation/next is long-polled (the SDK retries a failed poll
// at once, without backoff, so answering "nothing yet" would make it spin) and
// carries the invocation in headers; the function answers with POST
// .../invocation/{id}/response or .../invocation/{id}/error.
package fcfake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// APIVersion is the path prefix version of the runtime API.
const APIVersion = "2020-11-11"

// Headers of a GET .../next answer, as fc-runtime-go-sdk reads them.
const (
	HeaderRequestID       = "x-fc-request-id"
	HeaderDeadline        = "x-fc-function-deadline" // epoch milliseconds; the SDK's ctx deadline
	HeaderTimeout         = "x-fc-function-timeout"  // whole seconds
	HeaderAccessKeyID     = "x-fc-access-key-id"
	HeaderAccessKeySecret = "x-fc-access-key-secret"
	HeaderSecurityToken   = "x-fc-security-token"
	HeaderRegion          = "x-fc-region"
	HeaderAccountID       = "x-fc-account-id"
	HeaderFunctionName    = "x-fc-function-name"
	HeaderFunctionHandler = "x-fc-function-handler"
	HeaderFunctionMemory  = "x-fc-function-memory"
	HeaderRetryCount      = "x-fc-retry-count"
	HeaderFunctionType    = "x-fc-function-type" // 1 initializer, 2 preStop; absent for an invocation
)

// DefaultTimeout is the function timeout of an Invocation that names none.
const DefaultTimeout = 60 * time.Second

// ErrClosed is returned by Invoke once the Server is closed.
var ErrClosed = errors.New("fcfake: server closed")

// Invocation is one call of the function.
type Invocation struct {
	// Payload is the event, passed to the function as is.
	Payload []byte
	// Timeout is the function timeout FC would apply (DefaultTimeout if zero):
	// the deadline header is the moment the function picks the invocation up
	// plus Timeout.
	Timeout time.Duration
	// Headers are added to the /next answer and win over DefaultHeaders and
	// over the deadline and timeout headers (to test what the SDK does with
	// bad ones); the request id is always the fake's own. See
	// CredentialHeaders for the STS credentials FC passes.
	Headers map[string]string
}

// Result is what the function posted back for one invocation.
type Result struct {
	RequestID string
	// Body is the posted body as is: the handler's JSON output, or the error
	// document {"errorMessage", "errorType", "stackTrace"} when IsError.
	Body                    []byte
	IsError                 bool
	ErrorType, ErrorMessage string // from Body when IsError
}

// DefaultHeaders are the instance headers FC sends with every invocation
// (function name, handler, memory, region, account id), with fake values.
func DefaultHeaders() map[string]string {
	return map[string]string{
		HeaderFunctionName:    "fcfake-function",
		HeaderFunctionHandler: "main",
		HeaderFunctionMemory:  "128",
		HeaderRegion:          "cn-hangzhou",
		HeaderAccountID:       "1234567890123456",
	}
}

// CredentialHeaders are the headers carrying the invocation's STS credentials
// (FC sends them when the function has a role).
func CredentialHeaders(accessKeyID, accessKeySecret, securityToken string) map[string]string {
	return map[string]string{
		HeaderAccessKeyID:     accessKeyID,
		HeaderAccessKeySecret: accessKeySecret,
		HeaderSecurityToken:   securityToken,
	}
}

// Server is the fake runtime API, listening on 127.0.0.1.
type Server struct {
	ln   net.Listener
	srv  *http.Server
	work chan *call    // invocations waiting for a /next poll; unbuffered
	done chan struct{} // closed by Close
	once sync.Once
	seq  atomic.Uint64

	mu       sync.Mutex
	inflight map[string]*call // handed to the function, not yet answered
}

type call struct {
	id     string
	inv    Invocation
	result chan Result // buffered: the answering handler never blocks
}

// Start listens on 127.0.0.1 on a free port and serves the runtime API.
func Start() (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("fcfake: listen: %w", err)
	}
	s := &Server{
		ln:       ln,
		work:     make(chan *call),
		done:     make(chan struct{}),
		inflight: map[string]*call{},
	}
	const base = "/" + APIVersion + "/runtime/invocation/"
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+base+"next", s.next)
	mux.HandleFunc("POST "+base+"{id}/response", s.answer(false))
	mux.HandleFunc("POST "+base+"{id}/error", s.answer(true))
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }() // returns http.ErrServerClosed after Close
	return s, nil
}

// Addr is host:port, the value of FC_RUNTIME_API (no scheme).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the server; pending and later Invoke calls return ErrClosed.
// Stop the function process first: the SDK polls a closed port in a tight loop.
func (s *Server) Close() error {
	var err error
	s.once.Do(func() {
		close(s.done)
		err = s.srv.Close()
	})
	return err
}

// Invoke hands inv to the next /next poll and waits until the function posts
// its response or error, ctx ends, or the server closes. A function error is a
// Result with IsError, not an error: the error return is for the fake and ctx.
func (s *Server) Invoke(ctx context.Context, inv Invocation) (Result, error) {
	c := &call{
		id:     fmt.Sprintf("fcfake-%08d", s.seq.Add(1)),
		inv:    inv,
		result: make(chan Result, 1),
	}
	defer func() {
		s.mu.Lock()
		delete(s.inflight, c.id)
		s.mu.Unlock()
	}()
	select {
	case s.work <- c:
	case <-ctx.Done():
		return Result{RequestID: c.id}, fmt.Errorf("fcfake: invocation %s was not picked up by the function: %w", c.id, ctx.Err())
	case <-s.done:
		return Result{RequestID: c.id}, ErrClosed
	}
	select {
	case r := <-c.result:
		return r, nil
	case <-ctx.Done():
		return Result{RequestID: c.id}, fmt.Errorf("fcfake: invocation %s got no response or error: %w", c.id, ctx.Err())
	case <-s.done:
		return Result{RequestID: c.id}, ErrClosed
	}
}

// next serves GET .../next: it blocks until an invocation is waiting, the
// poller goes away, or the server closes.
func (s *Server) next(w http.ResponseWriter, r *http.Request) {
	var c *call
	select {
	case c = <-s.work:
	case <-r.Context().Done():
		return
	case <-s.done:
		http.Error(w, "fcfake: closed", http.StatusServiceUnavailable)
		return
	}
	timeout := c.inv.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	h := w.Header()
	for k, v := range DefaultHeaders() {
		h.Set(k, v)
	}
	h.Set(HeaderDeadline, strconv.FormatInt(time.Now().Add(timeout).UnixMilli(), 10))
	h.Set(HeaderTimeout, strconv.Itoa(int(math.Ceil(timeout.Seconds()))))
	for k, v := range c.inv.Headers {
		h.Set(k, v)
	}
	h.Set(HeaderRequestID, c.id)
	h.Set("Content-Type", "application/octet-stream")

	s.mu.Lock()
	s.inflight[c.id] = c
	s.mu.Unlock()
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(c.inv.Payload) // a poller gone now loses the invocation; Invoke then waits for ctx
}

// answer serves POST .../{id}/response and .../{id}/error.
func (s *Server) answer(isError bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "fcfake: read body: "+err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		c, ok := s.inflight[id]
		delete(s.inflight, id)
		s.mu.Unlock()
		if !ok {
			// The SDK only logs a non-200 answer, which is what FC does to a
			// stray or second answer too.
			http.Error(w, "fcfake: no invocation "+id+" is waiting for an answer", http.StatusNotFound)
			return
		}
		res := Result{RequestID: id, Body: body, IsError: isError}
		if isError {
			var doc struct {
				ErrorMessage string `json:"errorMessage"`
				ErrorType    string `json:"errorType"`
			}
			if err := json.Unmarshal(body, &doc); err != nil {
				res.ErrorType, res.ErrorMessage = "fcfake.UnreadableError", err.Error()
			} else {
				res.ErrorType, res.ErrorMessage = doc.ErrorType, doc.ErrorMessage
			}
		}
		c.result <- res
		w.WriteHeader(http.StatusOK)
	}
}
