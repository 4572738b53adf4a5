package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/report"
	"github.com/ecs-image-lifecycle/image-lifecycle/tests/fcfake"
)

// invocationWait bounds one invocation as seen from the test: longer than
// any timeout a test gives the function, shorter than the suite.
const invocationWait = 60 * time.Second

// call is one invocation as FC would make it.
type call struct {
	payload []byte
	// timeout is the function timeout (the deadline is now + timeout); zero
	// means 60 s.
	timeout time.Duration
	// headers replace the credential headers when not nil (an empty map
	// sends no credentials at all).
	headers map[string]string
}

// result is how an invocation ended, whichever front door served it.
type result struct {
	requestID string
	// report is the returned report: on success, and in serve mode also
	// inside the error document of a failed invocation.
	report  *report.Report
	isError bool
	// errorType and errorMessage describe a failed invocation.
	errorType, errorMessage string
	raw                     []byte
}

// frontDoor is a running function, reachable as FC reaches it.
type frontDoor interface {
	invoke(t testing.TB, c call) result
	// output is what the process printed so far.
	output() string
}

func credentialHeaders() map[string]string {
	return fcfake.CredentialHeaders(ecsKeyID, ecsKeySecret, stsToken)
}

func timeoutOf(c call) time.Duration {
	if c.timeout > 0 {
		return c.timeout
	}
	return fcfake.DefaultTimeout
}

// go1Door is the binary under the go1 runtime: fc-runtime-go-sdk polling fcfake.
type go1Door struct {
	fc *fcfake.Server
	p  *fcfake.Process
}

// startGo1 runs the binary as a go1 instance pointed at w; it stops at the
// end of the test, after its output was checked for credentials.
func startGo1(t testing.TB, w *world, extraEnv ...string) *go1Door {
	t.Helper()
	fc, err := fcfake.Start()
	if err != nil {
		t.Fatal(err)
	}
	p, err := fc.StartProcess(binary, append(append([]string(nil), w.env...), extraEnv...)...)
	if err != nil {
		fc.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Stop before Close: the SDK polls a closed port in a tight loop.
		if err := p.Stop(); err != nil {
			t.Errorf("%v\noutput:\n%s", err, p.Output())
		}
		fc.Close()
		noSecrets(t, "the go1 process output", p.Output())
		if t.Failed() {
			t.Logf("go1 process output:\n%s", p.Output())
		}
	})
	return &go1Door{fc: fc, p: p}
}

func (d *go1Door) output() string { return d.p.Output() }

func (d *go1Door) invoke(t testing.TB, c call) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), invocationWait)
	defer cancel()
	go func() { // a process that exits cannot answer: do not wait for the timeout
		select {
		case <-d.p.Exited():
			cancel()
		case <-ctx.Done():
		}
	}()
	h := c.headers
	if h == nil {
		h = credentialHeaders()
	}
	r, err := d.fc.Invoke(ctx, fcfake.Invocation{Payload: c.payload, Timeout: timeoutOf(c), Headers: h})
	if err != nil {
		t.Fatalf("invoke: %v\noutput:\n%s", err, d.p.Output())
	}
	res := result{requestID: r.RequestID, isError: r.IsError, errorType: r.ErrorType, errorMessage: r.ErrorMessage, raw: r.Body}
	if !r.IsError {
		res.report = decodeReport(t, r.Body)
	}
	return res
}

func decodeReport(t testing.TB, b []byte) *report.Report {
	t.Helper()
	var rep report.Report
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("the answer is not a report: %v\n%s", err, b)
	}
	return &rep
}

// serveDoor is the binary as a custom runtime: HTTP POST /invoke.
type serveDoor struct {
	p    *fcfake.Process
	base string
	seq  atomic.Uint64
}

// startServe runs cmd (the binary in serve mode, or a shell running the
// bootstrap) with env and waits until addr accepts connections.
func startServe(t testing.TB, cmd *exec.Cmd, addr string) *serveDoor {
	t.Helper()
	p, err := fcfake.StartCommand(cmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Stop(); err != nil {
			t.Errorf("%v\noutput:\n%s", err, p.Output())
		}
		noSecrets(t, "the serve process output", p.Output())
		if t.Failed() {
			t.Logf("serve process output:\n%s", p.Output())
		}
	})
	if err := waitListening(addr, p, 15*time.Second); err != nil {
		t.Fatalf("%v\noutput:\n%s", err, p.Output())
	}
	return &serveDoor{p: p, base: "http://" + addr}
}

// serveCommand is the binary in serve mode; listen "" leaves the address to
// FC_CUSTOM_LISTEN_PORT.
func serveCommand(w *world, listen string, extraEnv ...string) *exec.Cmd {
	args := []string{"serve"}
	if listen != "" {
		args = append(args, "--listen", listen)
	}
	cmd := exec.Command(binary, args...)
	// Like FC: only the function's own environment, nothing of the host's.
	cmd.Env = append(append([]string{"FC_REGION=cn-hangzhou"}, w.env...), extraEnv...)
	return cmd
}

func (d *serveDoor) output() string { return d.p.Output() }

func (d *serveDoor) invoke(t testing.TB, c call) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), invocationWait)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.base+"/invoke", bytes.NewReader(c.payload))
	if err != nil {
		t.Fatal(err)
	}
	id := fmt.Sprintf("e2e-serve-%06d", d.seq.Add(1))
	timeout := timeoutOf(c)
	for k, v := range fcfake.DefaultHeaders() {
		req.Header.Set(k, v)
	}
	req.Header.Set(fcfake.HeaderRequestID, id)
	req.Header.Set(fcfake.HeaderDeadline, strconv.FormatInt(time.Now().Add(timeout).UnixMilli(), 10))
	req.Header.Set(fcfake.HeaderTimeout, strconv.Itoa(int(timeout/time.Second)))
	h := c.headers
	if h == nil {
		h = credentialHeaders()
	}
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST /invoke: %v\noutput:\n%s", err, d.p.Output())
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	res := result{requestID: id, raw: body}
	switch {
	case resp.StatusCode == http.StatusOK:
		res.report = decodeReport(t, body)
	case resp.StatusCode == http.StatusNotFound && resp.Header.Get("x-fc-status") == "404":
		var doc struct {
			ErrorType    string          `json:"errorType"`
			ErrorMessage string          `json:"errorMessage"`
			Report       json.RawMessage `json:"report"`
		}
		if err := json.Unmarshal(body, &doc); err != nil {
			t.Fatalf("error document: %v\n%s", err, body)
		}
		res.isError, res.errorType, res.errorMessage = true, doc.ErrorType, doc.ErrorMessage
		if len(doc.Report) > 0 && string(doc.Report) != "null" {
			res.report = decodeReport(t, doc.Report)
		}
	default:
		t.Fatalf("POST /invoke: %d (x-fc-status %q), want 200, or 404 with x-fc-status 404\n%s",
			resp.StatusCode, resp.Header.Get("x-fc-status"), body)
	}
	return res
}

// freeAddr is a loopback address with a port that was free a moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// waitListening polls addr until it accepts a connection, the process exits
// or the time is up.
func waitListening(addr string, p *fcfake.Process, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			return c.Close()
		}
		select {
		case <-p.Exited():
			return fmt.Errorf("the process exited before listening on %s: %v", addr, p.Err())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nothing listens on %s after %v: %w", addr, limit, err)
		}
	}
}

// bootstrapCommand runs a copy of the repository's bootstrap script with
// /code/main replaced by the built binary: the script itself (sh, exec, the
// serve argument) is what runs, only the path differs from FC's /code.
func bootstrapCommand(t *testing.T, w *world, port string) *exec.Cmd {
	t.Helper()
	script, err := os.ReadFile(filepath.Join(repoRoot, "bootstrap"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(script, []byte("/code/main")) {
		t.Skip("bootstrap does not run /code/main; cannot point it at the test binary")
	}
	dir := t.TempDir()
	copied := filepath.Join(dir, "bootstrap")
	if err := os.WriteFile(copied, []byte(strings.ReplaceAll(string(script), "/code/main", binary)), 0o755); err != nil {
		t.Fatal(err)
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh to run bootstrap with")
	}
	cmd := exec.Command(sh, copied)
	cmd.Dir = dir
	cmd.Env = append([]string{"FC_REGION=cn-hangzhou", "FC_CUSTOM_LISTEN_PORT=" + port}, w.env...)
	return cmd
}
