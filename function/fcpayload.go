package main

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/queue"
)

// payloadGuard keeps fc-runtime-go-sdk from reading a payload larger than
// MAX_PAYLOAD_BYTES. The SDK reads the whole body of GET .../invocation/next
// into a growing buffer before the handler runs, so a size check in the
// handler comes too late for memory: a 32 MiB payload took the go1 binary to
// 141 MiB of RSS (s.yaml gives it 128 MB) just by being read. The SDK's only
// seam is the transport of its http.Client, which is http.DefaultTransport;
// the guard is registered there for plain-HTTP URLs (the runtime API's), and
// acts on the runtime API's next call alone. An oversized payload reaches the
// SDK as an empty body, and the handler learns, by the invocation's request
// id, that it was refused and how large it was.
type payloadGuard struct {
	next  http.RoundTripper
	limit int64

	mu      sync.Mutex
	refused map[string]refusedPayload // by x-fc-request-id
}

// refusedPayload is what the guard kept of a payload it did not read.
type refusedPayload struct {
	size int64  // its length, -1 when only known to be over the limit
	head []byte // its first bytes, for a dead letter
}

// installPayloadGuard registers a guard for limit on http.DefaultTransport,
// once, before the SDK starts. It is registered for the "http" scheme, not
// swapped in for the transport, because other clients may clone
// http.DefaultTransport as an *http.Transport (ecsapi builds its own, so that
// its pool is not this clone's); the guard hands every other plain-HTTP
// request to a clone of the transport as it was.
func installPayloadGuard(limit int) *payloadGuard {
	base := http.DefaultTransport.(*http.Transport)
	g := newPayloadGuard(base.Clone(), limit)
	base.RegisterProtocol("http", g)
	return g
}

func newPayloadGuard(next http.RoundTripper, limit int) *payloadGuard {
	return &payloadGuard{next: next, limit: int64(limit), refused: map[string]refusedPayload{}}
}

// RoundTrip passes every request on; for the runtime API's next call it
// bounds what is read of the answer to limit+1 bytes.
func (g *payloadGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := g.next.RoundTrip(req)
	if err != nil || req.Method != http.MethodGet || !strings.HasSuffix(req.URL.Path, "/runtime/invocation/next") || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	size := resp.ContentLength
	if size >= 0 && size <= g.limit {
		return resp, nil // known to fit: the SDK reads it as it would
	}
	// Over the limit, or of unknown length: read no more than decides it.
	want := g.limit + 1
	if size > g.limit {
		want = queue.MaxBodyBytes // enough for a dead letter, no more
	}
	head, err := io.ReadAll(io.LimitReader(resp.Body, want))
	if err != nil {
		resp.Body.Close()
		return nil, err
	}
	if size < 0 && int64(len(head)) <= g.limit {
		resp.Body = readCloser{bytes.NewReader(head), resp.Body}
		return resp, nil
	}
	resp.Body.Close() // the rest is never read: the connection is dropped
	g.mu.Lock()
	g.refused[resp.Header.Get("x-fc-request-id")] = refusedPayload{size: size, head: head[:min(len(head), queue.MaxBodyBytes):min(len(head), queue.MaxBodyBytes)]}
	g.mu.Unlock()
	resp.Body, resp.ContentLength = http.NoBody, 0
	return resp, nil
}

// take returns, once, what the guard refused for the invocation requestID.
func (g *payloadGuard) take(requestID string) (refusedPayload, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	r, ok := g.refused[requestID]
	delete(g.refused, requestID)
	return r, ok
}

type readCloser struct {
	io.Reader
	io.Closer
}
