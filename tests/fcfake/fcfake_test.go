package fcfake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// echoBinary is testdata/echo built once for the whole test binary.
var echoBinary string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "fcfake-echo-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	echoBinary = filepath.Join(dir, "echo")
	if err := Build(ctx, ".", "./testdata/echo", echoBinary); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// startEcho starts a Server and the echo function against it; both end with the test.
func startEcho(t *testing.T, env ...string) (*Server, *Process) {
	t.Helper()
	s, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.StartProcess(echoBinary, env...)
	if err != nil {
		s.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Stop(); err != nil {
			t.Errorf("%v\noutput:\n%s", err, p.Output())
		}
		s.Close()
	})
	return s, p
}

func invoke(t *testing.T, s *Server, inv Invocation) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r, err := s.Invoke(ctx, inv)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

type echoReply struct {
	Payload         string `json:"payload"`
	RequestID       string `json:"requestId"`
	Region          string `json:"region"`
	AccountID       string `json:"accountId"`
	FunctionName    string `json:"functionName"`
	AccessKeyID     string `json:"accessKeyId"`
	AccessKeySecret string `json:"accessKeySecret"`
	SecurityToken   string `json:"securityToken"`
	TimeoutSeconds  int    `json:"timeoutSeconds"`
	DeadlineMillis  int64  `json:"deadlineMillis"`
}

func decodeReply(t *testing.T, r Result) echoReply {
	t.Helper()
	if r.IsError {
		t.Fatalf("function error %s: %s", r.ErrorType, r.ErrorMessage)
	}
	var e echoReply
	if err := json.Unmarshal(r.Body, &e); err != nil {
		t.Fatalf("body %s: %v", r.Body, err)
	}
	return e
}

// TestCompiledFunction drives a real fc-runtime-go-sdk function through its
// outcomes in one process, in order: the panic case must leave the process
// able to serve the invocations after it.
func TestCompiledFunction(t *testing.T) {
	t.Parallel()
	s, p := startEcho(t)
	tests := []struct {
		name  string
		inv   Invocation
		check func(t *testing.T, before time.Time, r Result)
	}{
		{
			name: "echo with context",
			inv: Invocation{
				Payload: []byte(`{"hello":"world"}`),
				Timeout: 90 * time.Second,
				Headers: CredentialHeaders("STS.ak", "sk", "token"),
			},
			check: func(t *testing.T, before time.Time, r Result) {
				e := decodeReply(t, r)
				want := echoReply{
					Payload: `{"hello":"world"}`, RequestID: r.RequestID, Region: "cn-hangzhou",
					AccountID: "1234567890123456", FunctionName: "fcfake-function",
					AccessKeyID: "STS.ak", AccessKeySecret: "sk", SecurityToken: "token",
					TimeoutSeconds: 90, DeadlineMillis: e.DeadlineMillis,
				}
				if e != want {
					t.Errorf("reply %+v\nwant  %+v", e, want)
				}
				dl := time.UnixMilli(e.DeadlineMillis)
				if lo, hi := before.Add(90*time.Second).Add(-time.Second), time.Now().Add(90*time.Second); dl.Before(lo) || dl.After(hi) {
					t.Errorf("deadline %v, want within [%v, %v]", dl, lo, hi)
				}
			},
		},
		{
			name: "not JSON is passed as is",
			inv:  Invocation{Payload: []byte("plain \x00 bytes")},
			check: func(t *testing.T, _ time.Time, r Result) {
				if e := decodeReply(t, r); e.Payload != "plain \x00 bytes" || e.TimeoutSeconds != 60 {
					t.Errorf("reply %+v, want the payload back and the default 60 s timeout", e)
				}
			},
		},
		{
			name: "function error",
			inv:  Invocation{Payload: []byte(`{"fail":"image m-1 is gone"}`)},
			check: func(t *testing.T, _ time.Time, r Result) {
				if !r.IsError || r.ErrorType != "EchoError" || r.ErrorMessage != "image m-1 is gone" {
					t.Errorf("result %+v, want an EchoError", r)
				}
			},
		},
		{
			name: "panic",
			inv:  Invocation{Payload: []byte(`{"panic":"boom"}`)},
			check: func(t *testing.T, _ time.Time, r Result) {
				if !r.IsError || r.ErrorType != "string" || r.ErrorMessage != "boom" {
					t.Errorf("result %+v, want the panic value as a string error", r)
				}
				if !strings.Contains(string(r.Body), `"stackTrace"`) {
					t.Errorf("error body %s has no stackTrace", r.Body)
				}
			},
		},
		{
			name: "after the panic",
			inv:  Invocation{Payload: []byte(`{"still":"alive"}`)},
			check: func(t *testing.T, _ time.Time, r Result) {
				if e := decodeReply(t, r); e.Payload != `{"still":"alive"}` {
					t.Errorf("reply %+v", e)
				}
			},
		},
		{
			name: "deadline reaches the handler",
			inv:  Invocation{Payload: []byte(`{"sleep":"10s"}`), Timeout: 500 * time.Millisecond},
			check: func(t *testing.T, _ time.Time, r Result) {
				if !r.IsError || !strings.Contains(r.ErrorMessage, "deadline exceeded") {
					t.Errorf("result %+v, want the handler's context to end at the deadline", r)
				}
			},
		},
	}
	seen := map[string]bool{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := time.Now()
			r := invoke(t, s, tc.inv)
			if r.RequestID == "" || seen[r.RequestID] {
				t.Errorf("request id %q is empty or reused", r.RequestID)
			}
			seen[r.RequestID] = true
			tc.check(t, before, r)
		})
	}
	if t.Failed() {
		t.Logf("function output:\n%s", p.Output())
	}
}

// TestConcurrentInvocations: the SDK serves each invocation in its own
// goroutine and polls again at once, so invocations overlap and each answer
// must reach its own caller.
func TestConcurrentInvocations(t *testing.T) {
	t.Parallel()
	s, _ := startEcho(t)
	const n, sleep = 5, 400 * time.Millisecond
	start := time.Now()
	var wg sync.WaitGroup
	results := make([]Result, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			results[i], errs[i] = s.Invoke(ctx, Invocation{Payload: []byte(fmt.Sprintf(`{"sleep":%q,"n":%d}`, sleep, i))})
		}()
	}
	wg.Wait()
	if elapsed := time.Since(start); elapsed >= n*sleep {
		t.Errorf("%d invocations of %v took %v: they did not overlap", n, sleep, elapsed)
	}
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("invocation %d: %v", i, errs[i])
		}
		e := decodeReply(t, results[i])
		if want := fmt.Sprintf(`{"sleep":%q,"n":%d}`, sleep, i); e.Payload != want || e.RequestID != results[i].RequestID {
			t.Errorf("invocation %d got %+v, want its own payload %s and request id %s", i, e, want, results[i].RequestID)
		}
	}
}

// TestProcessExitIsReported: a process that cannot run (here: no runtime API
// address) exits, and Stop says so instead of hiding it.
func TestProcessExitIsReported(t *testing.T) {
	t.Parallel()
	s, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, err := s.StartProcess(echoBinary, "FC_RUNTIME_API=")
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Exited():
	case <-time.After(10 * time.Second):
		p.Stop()
		t.Fatal("the function kept running without FC_RUNTIME_API")
	}
	if err := p.Stop(); err == nil || !strings.Contains(err.Error(), "already exited") {
		t.Errorf("Stop() = %v, want it to report the earlier exit", err)
	}
	if !strings.Contains(p.Output(), "FC_RUNTIME_API") {
		t.Errorf("output %q does not name the missing variable", p.Output())
	}
}

// The tests below play the function's side with a plain HTTP client, to pin
// the wire contract without the SDK.

func base(s *Server) string { return "http://" + s.Addr() + "/" + APIVersion + "/runtime/invocation/" }

func startServer(t *testing.T) *Server {
	t.Helper()
	s, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// poll does one GET .../next; it blocks like the SDK's does.
func poll(t *testing.T, s *Server) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Get(base(s) + "next")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func post(t *testing.T, s *Server, id, kind, body string) int {
	t.Helper()
	resp, err := http.Post(base(s)+id+"/"+kind, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

type invokeResult struct {
	r   Result
	err error
}

func invokeAsync(s *Server, ctx context.Context, inv Invocation) <-chan invokeResult {
	ch := make(chan invokeResult, 1)
	go func() {
		r, err := s.Invoke(ctx, inv)
		ch <- invokeResult{r, err}
	}()
	return ch
}

func TestWireContract(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	before := time.Now()
	done := invokeAsync(s, ctx, Invocation{
		Payload: []byte(`{"a":1}`),
		Timeout: 2500 * time.Millisecond,
		Headers: map[string]string{HeaderRegion: "eu-central-1", HeaderRequestID: "mine", HeaderRetryCount: "2"},
	})
	resp, body := poll(t, s)
	h := resp.Header
	if resp.StatusCode != http.StatusOK || string(body) != `{"a":1}` {
		t.Fatalf("next: %d %s", resp.StatusCode, body)
	}
	id := h.Get(HeaderRequestID)
	if id == "" || id == "mine" {
		t.Errorf("request id %q: want the fake's own", id)
	}
	if got := h.Get(HeaderTimeout); got != "3" {
		t.Errorf("timeout header %q, want 3 (seconds, rounded up)", got)
	}
	ms, err := strconv.ParseInt(h.Get(HeaderDeadline), 10, 64)
	if dl := time.UnixMilli(ms); err != nil || dl.Before(before.Add(2400*time.Millisecond)) || dl.After(time.Now().Add(2500*time.Millisecond)) {
		t.Errorf("deadline header %q (%v), want now+2.5s in epoch ms", h.Get(HeaderDeadline), err)
	}
	for k, want := range map[string]string{HeaderRegion: "eu-central-1", HeaderRetryCount: "2", HeaderFunctionName: "fcfake-function", HeaderAccountID: "1234567890123456"} {
		if got := h.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if code := post(t, s, "fcfake-unknown", "response", `1`); code != http.StatusNotFound {
		t.Errorf("answer to an unknown id: %d, want 404", code)
	}
	if code := post(t, s, id, "response", `{"ok":true}`); code != http.StatusOK {
		t.Errorf("response: %d, want 200", code)
	}
	if code := post(t, s, id, "error", `{}`); code != http.StatusNotFound {
		t.Errorf("second answer: %d, want 404", code)
	}
	got := <-done
	if got.err != nil || got.r.IsError || got.r.RequestID != id || string(got.r.Body) != `{"ok":true}` {
		t.Errorf("Invoke = %+v, %v", got.r, got.err)
	}
}

func TestErrorBodies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, wantType, wantMessage string
	}{
		{"sdk error document", `{"errorMessage":"boom","errorType":"errorString"}`, "errorString", "boom"},
		{"with stack trace", `{"errorMessage":"x","errorType":"string","stackTrace":[{"path":"a.go","line":1,"label":"f"}]}`, "string", "x"},
		{"not JSON", `oops`, "fcfake.UnreadableError", "invalid character"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := startServer(t)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			done := invokeAsync(s, ctx, Invocation{Payload: []byte("x")})
			resp, _ := poll(t, s)
			if code := post(t, s, resp.Header.Get(HeaderRequestID), "error", tc.body); code != http.StatusOK {
				t.Fatalf("error post: %d", code)
			}
			got := <-done
			if got.err != nil || !got.r.IsError || got.r.ErrorType != tc.wantType || !strings.Contains(got.r.ErrorMessage, tc.wantMessage) || string(got.r.Body) != tc.body {
				t.Errorf("Invoke = %+v, %v; want type %q, message with %q", got.r, got.err, tc.wantType, tc.wantMessage)
			}
		})
	}
}

func TestInvokeEnds(t *testing.T) {
	t.Parallel()
	t.Run("nobody polls", func(t *testing.T) {
		t.Parallel()
		s := startServer(t)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err := s.Invoke(ctx, Invocation{})
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "not picked up") {
			t.Errorf("err = %v, want not picked up + deadline exceeded", err)
		}
	})
	t.Run("no answer", func(t *testing.T) {
		t.Parallel()
		s := startServer(t)
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		done := invokeAsync(s, ctx, Invocation{})
		resp, _ := poll(t, s)
		got := <-done
		if !errors.Is(got.err, context.DeadlineExceeded) || !strings.Contains(got.err.Error(), "no response or error") {
			t.Errorf("err = %v, want no response + deadline exceeded", got.err)
		}
		// The abandoned invocation can no longer be answered.
		if code := post(t, s, resp.Header.Get(HeaderRequestID), "response", "1"); code != http.StatusNotFound {
			t.Errorf("late answer: %d, want 404", code)
		}
	})
	t.Run("close", func(t *testing.T) {
		t.Parallel()
		s := startServer(t)
		done := invokeAsync(s, context.Background(), Invocation{})
		polled := make(chan int, 1)
		go func() {
			resp, err := http.Get(base(s) + "next") // takes the invocation
			if err != nil {
				polled <- -1
				return
			}
			resp.Body.Close()
			polled <- resp.StatusCode
		}()
		if code := <-polled; code != http.StatusOK {
			t.Fatalf("next: %d", code)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if got := <-done; !errors.Is(got.err, ErrClosed) {
			t.Errorf("pending Invoke: %v, want ErrClosed", got.err)
		}
		if _, err := s.Invoke(context.Background(), Invocation{}); !errors.Is(err, ErrClosed) {
			t.Errorf("Invoke after Close: %v, want ErrClosed", err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	})
}
