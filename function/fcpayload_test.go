package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/queue"
)

// The guard reads a runtime API payload only while it can still fit: an
// oversized one reaches the SDK empty, and the handler finds its size and
// first bytes by request id, once. Other requests pass untouched.
func TestPayloadGuard(t *testing.T) {
	const limit = 1 << 20
	big := bytes.Repeat([]byte("x"), 3*limit)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		w.Header().Set("x-fc-request-id", r.URL.Query().Get("id"))
		if r.URL.Query().Get("cl") != "" {
			w.Header().Set("Content-Length", strconv.Itoa(n))
		}
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(big[:n])
	}))
	defer srv.Close()
	guard := newPayloadGuard(http.DefaultTransport.(*http.Transport).Clone(), limit)
	client := &http.Client{Transport: guard}
	get := func(path, query string) []byte {
		t.Helper()
		resp, err := client.Get(srv.URL + path + "?" + query)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	next := "/2020-11-11/runtime/invocation/next"
	tests := []struct {
		name, path, query string
		wantBody          int   // bytes the SDK reads
		wantSize          int64 // refused size; 0 = not refused
	}{
		{"known length, fits", next, "id=a&cl=1&n=" + strconv.Itoa(limit), limit, 0},
		{"known length, over", next, "id=b&cl=1&n=" + strconv.Itoa(3*limit), 0, 3 * limit},
		{"streamed, fits", next, "id=c&n=" + strconv.Itoa(limit), limit, 0},
		{"streamed, over", next, "id=d&n=" + strconv.Itoa(limit+1), 0, -1},
		{"not the next call", "/other", "id=e&n=" + strconv.Itoa(3*limit), 3 * limit, 0},
	}
	for _, tt := range tests {
		id := strings.TrimPrefix(strings.Split(tt.query, "&")[0], "id=")
		if got := get(tt.path, tt.query); len(got) != tt.wantBody {
			t.Errorf("%s: the SDK read %d bytes, want %d", tt.name, len(got), tt.wantBody)
		}
		r, ok := guard.take(id)
		if ok != (tt.wantSize != 0) || r.size != tt.wantSize {
			t.Errorf("%s: refused %v, size %d; want size %d", tt.name, ok, r.size, tt.wantSize)
		}
		if ok && (len(r.head) == 0 || len(r.head) > queue.MaxBodyBytes) {
			t.Errorf("%s: head of %d bytes", tt.name, len(r.head))
		}
		if _, again := guard.take(id); again {
			t.Errorf("%s: take gave the refusal twice", tt.name)
		}
	}
}
