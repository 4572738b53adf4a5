package retry_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/retry"
)

// These tests put the real SDK client behind the retry layer and answer it
// from a local HTTP server, so that what is classified is what the wire and
// the SDK make of an answer.

func errorBody(code string) string {
	return fmt.Sprintf(`{"RequestId":"REQ-ERR","HostId":"ecs.aliyuncs.com","Code":%q,"Message":"m"}`, code)
}

func answer(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// serve answers every request with respond and returns an SDK client for it.
func serve(t *testing.T, respond func(w http.ResponseWriter, n int)) *ecsapi.Client {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		respond(w, int(n.Add(1)))
	}))
	t.Cleanup(srv.Close)
	c, err := ecsapi.New(ecsapi.Config{Region: "cn-hangzhou", Endpoint: srv.URL,
		Credentials: &ecsapi.Credentials{AccessKeyID: "ak", AccessKeySecret: "sk"}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestClassifyWireAnswers: what the SDK makes of each kind of answer, and
// what that is worth.
func TestClassifyWireAnswers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		respond func(w http.ResponseWriter)
		want    retry.Class
	}{
		{"image is creating", func(w http.ResponseWriter) { answer(w, 403, errorBody("InvalidStatus.ImageIsCreating")) }, retry.Slow},
		{"throttling", func(w http.ResponseWriter) { answer(w, 400, errorBody("Throttling.User")) }, retry.Transient},
		{"forbidden", func(w http.ResponseWriter) { answer(w, 403, errorBody("Forbidden.RAM")) }, retry.Permanent},
		{"refused key", func(w http.ResponseWriter) { answer(w, 404, errorBody("InvalidAccessKeyId.NotFound")) }, retry.Credential},
		{"gateway html", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(502)
			io.WriteString(w, "<html><body>502 Bad Gateway</body></html>")
		}, retry.Transient},
		{"200 that is not JSON", func(w http.ResponseWriter) { answer(w, 200, "<html>proxy</html>") }, retry.Transient},
		{"connection reset", func(w http.ResponseWriter) {
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				conn.Close()
			}
		}, retry.Transient},
		{"connection closed mid-body", func(w http.ResponseWriter) {
			w.Header().Set("Content-Length", "200")
			w.WriteHeader(200)
			io.WriteString(w, `{"RequestId":"R","Images":{"Image":[`)
			http.NewResponseController(w).Flush()
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				conn.Close()
			}
		}, retry.Transient},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := serve(t, func(w http.ResponseWriter, _ int) { tc.respond(w) })
			_, err := c.DescribeImages(context.Background(), ecsapi.DescribeImagesInput{})
			if got := retry.Classify(err); got != tc.want {
				t.Errorf("Classify(%v) = %v, want %v", err, got, tc.want)
			}
		})
	}
}

// A body that stops half-way is cut by the call's timeout, whichever bounds
// it: the read timeout of the client, or the context's deadline. Neither is
// a reason to give up on the message.
func TestSlowBodyIsTransient(t *testing.T) {
	t.Parallel()
	stall := func(w http.ResponseWriter, release <-chan struct{}) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", "200")
		w.WriteHeader(200)
		io.WriteString(w, `{"RequestId":"R","Images":{"Image":[`)
		http.NewResponseController(w).Flush()
		select {
		case <-release:
		case <-time.After(5 * time.Second):
		}
	}
	for _, tc := range []struct {
		name          string
		read, ctxLeft time.Duration
	}{
		{"read timeout", 200 * time.Millisecond, 5 * time.Second},
		{"context deadline", 5 * time.Second, 200 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			release := make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { stall(w, release) }))
			t.Cleanup(srv.Close)
			t.Cleanup(func() { close(release) }) // before Close, which waits for the handler
			c, err := ecsapi.New(ecsapi.Config{Region: "cn-hangzhou", Endpoint: srv.URL, ReadTimeout: tc.read,
				Credentials: &ecsapi.Credentials{AccessKeyID: "ak", AccessKeySecret: "sk"}})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), tc.ctxLeft)
			defer cancel()
			_, err = c.DescribeImages(ctx, ecsapi.DescribeImagesInput{})
			var e *ecsapi.Error
			if !errors.As(err, &e) || e.Code != "" || e.HTTPStatus != 0 {
				t.Fatalf("err = %#v, want a transport failure", err)
			}
			if got := retry.Classify(err); got != retry.Transient {
				t.Errorf("Classify(%v) = %v, want transient", err, got)
			}
		})
	}
}

// lateAPI hands back a call cut by its context only once the caller's
// context has ended too: a machine so busy that the retry layer runs again
// only after the invocation's work time is over.
type lateAPI struct {
	ecsapi.API
	caller context.Context
}

func (l lateAPI) ModifyImageAttribute(ctx context.Context, in ecsapi.ModifyInput) (string, error) {
	id, err := l.API.ModifyImageAttribute(ctx, in)
	if errors.Is(err, ecsapi.ErrContextDone) {
		<-l.caller.Done()
	}
	return id, err
}

// The second attempt of a write is cut by the budget's Calls line while its
// answer is half-way, and the retry layer sees the cut only after the
// caller's own deadline. That is still out of time, not a permanent failure:
// the layer gives up as Exhausted, naming the ImageIsCreating that kept it
// retrying, so the message is deferred with that code. (When the class
// depended on whether the caller's context had ended by the time the cut was
// looked at, a busy machine turned it into a permanent error without a code,
// which the handler could only guess about.)
func TestCutSeenLateIsStillTransient(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	c := serve(t, func(w http.ResponseWriter, n int) {
		if n == 1 {
			answer(w, 403, errorBody("InvalidStatus.ImageIsCreating"))
			return
		}
		w.Header().Set("Content-Length", "200")
		w.WriteHeader(200)
		io.WriteString(w, `{"RequestId":"R"`)
		http.NewResponseController(w).Flush()
		select {
		case <-release:
		case <-time.After(5 * time.Second):
		}
	})
	t.Cleanup(func() { close(release) }) // before the server's Close, which waits for the handler
	ctx, cancel := context.WithTimeout(context.Background(), 600*time.Millisecond)
	defer cancel()
	dl, _ := ctx.Deadline()
	b := retry.Shares{Calls: retry.Share{Max: 300 * time.Millisecond, Fraction: 1}}.Split(retry.RealClock, dl)
	p := retry.Policy{Base: time.Millisecond, Cap: time.Millisecond, SlowBase: time.Millisecond}
	api := retry.New(lateAPI{API: c, caller: ctx}, retry.Config{Policy: p, Budget: b})

	_, err := api.ModifyImageAttribute(ctx, ecsapi.ModifyInput{ImageID: "m-1", Changes: ecsapi.Changes{Description: "d"}})
	if ctx.Err() == nil {
		t.Fatal("the failure was handed back before the caller's deadline: the test did not simulate a late look")
	}
	var ex *retry.Exhausted
	if !errors.As(err, &ex) || ex.Attempts != 2 {
		t.Fatalf("err = %v, want *Exhausted after 2 attempts", err)
	}
	if got := retry.Classify(err); got != retry.Transient {
		t.Errorf("Classify = %v, want transient: the message must be deferred", got)
	}
	if got := ecsapi.Code(err); got != "InvalidStatus.ImageIsCreating" {
		t.Errorf("code = %q, want the InvalidStatus.ImageIsCreating that kept it retrying", got)
	}
}
