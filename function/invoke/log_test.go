package invoke_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/emulator"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/report"
	"github.com/ecs-image-lifecycle/image-lifecycle/internal/testenv"
)

// lockedBuffer lets the handler's goroutines log while the test reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(l.b.Bytes()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("a log line is not JSON: %q", sc.Text())
		}
		out = append(out, m)
	}
	return out
}

// A failed image change is one JSON line an operator can search: the image,
// the API's code, the ECS request id and the attempts it took; and every
// message has its one "message settled" line. (tests/e2e scans the compiled
// binary's logs for credentials.)
func TestFailedChangeLogsOneStructuredLine(t *testing.T) {
	t.Parallel()
	emu := testenv.StartEmulator(t, emulator.Options{Seed: testenv.DemoSeed(t)})
	h := newHandler(t, emu, setup{})
	var logs lockedBuffer
	h.Log = slog.New(slog.NewJSONHandler(&logs, nil))
	// Two transient answers, then a permanent one: three attempts in all.
	emu.SetFaults("ModifyImageAttribute", emulator.Faults{FailNext: []string{"ServiceUnavailable", "Throttling.User", "InvalidImageName.Duplicated"}})

	payload := []byte(`{"action":"modify","id":"rename-1","imageId":"m-bp1api5d6e7f8g9h0i1","attributes":{"imageName":"api-2026-11-12"}}`)
	rep, err := handle(t, h, 10*time.Second, payload)
	if err != nil || rep.Counts[report.Rejected] != 1 {
		t.Fatalf("report %+v, err %v: want the message rejected", rep, err)
	}

	var failed, settled []map[string]any
	for _, l := range logs.lines(t) {
		switch l["msg"] {
		case "image change failed":
			failed = append(failed, l)
		case "message settled":
			settled = append(settled, l)
		}
	}
	if len(failed) != 1 || len(settled) != 1 {
		t.Fatalf("%d failure lines and %d settled lines, want one of each:\n%s", len(failed), len(settled), logs.b.String())
	}
	f := failed[0]
	if f["imageId"] != "m-bp1api5d6e7f8g9h0i1" || f["code"] != "InvalidImageName.Duplicated" || f["attempts"] != float64(3) || f["messageId"] != "rename-1" {
		t.Errorf("failure line %v: want the image, the code, 3 attempts and the message id", f)
	}
	if id, _ := f["ecsRequestId"].(string); id == "" {
		t.Errorf("failure line %v has no ECS request id", f)
	}
	if s := settled[0]; s["outcome"] != string(report.Rejected) || s["code"] != "InvalidImageName.Duplicated" {
		t.Errorf("settled line %v", s)
	}
}
