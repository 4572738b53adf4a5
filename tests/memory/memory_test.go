// Package memory measures the peak resident memory of the function's binary
// under the go1 runtime (fc-runtime-go-sdk polling tests/fcfake) for payloads
// from a few bytes up to FC's synchronous limit, and checks each stays under
// s.yaml's memorySize. It is a measurement, not a timed test: the figures are
// printed (go test -v ./tests/memory) and the README quotes them.
package memory

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/config"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/emulator"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/report"
	"github.com/ecs-image-lifecycle/image-lifecycle/internal/testenv"
	"github.com/ecs-image-lifecycle/image-lifecycle/tests/fcfake"
)

const image = "m-bp1a2b3c4d5e6f7g8h9i" // an Available web image of the demo seed

// payload is one invocation to measure.
type payload struct {
	name string
	body []byte
	// code is what every message must end with ("" = planned).
	code string
	// contentLength sends the body with a Content-Length header (fcfake
	// otherwise streams it chunked): the runtime API's length is then known
	// before a byte of the body is read.
	contentLength bool
}

func payloads() []payload {
	limit := config.DefaultMaxPayloadBytes
	// One intent carrying a string as large as the limit allows: parsing
	// copies it (the unquoted string), the worst case for one value.
	description := func(size int) []byte {
		head := `{"action":"modify","imageId":"` + image + `","attributes":{"description":"`
		tail := `"}}`
		return []byte(head + strings.Repeat("d", size-len(head)-len(tail)) + tail)
	}
	// An MNS batch of as many messages as fit, each an intent that breaks a
	// rule: the most structure (one message, one report entry and one log
	// line each) per byte, without an ECS call.
	batch := func(size int) []byte {
		var b bytes.Buffer
		b.WriteByte('[')
		for i := 0; ; i++ {
			body, _ := json.Marshal(fmt.Sprintf(`{"action":"modify","id":"mem-%d","imageId":"%s","attributes":{"description":"x"}}`, i, image))
			ev := fmt.Sprintf(`{"id":"ce-%d","source":"MNS-fn","specversion":"1.0","type":"mns:Queue:SendMessage","data":{"requestId":"r","messageId":"M-%d","messageBody":%s}}`, i, i, body)
			if b.Len()+len(ev)+2 > size {
				break
			}
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(ev)
		}
		b.WriteByte(']')
		return b.Bytes()
	}
	over := func(size int) []byte { return description(size) }
	return []payload{
		{name: "one valid intent", body: []byte(`{"action":"deprecate","imageId":"` + image + `","dryRun":true}`)},
		{name: "1 MiB description", body: description(1 << 20), code: "InvalidDescription.Malformed"},
		{name: "MAX_PAYLOAD_BYTES description", body: description(limit), code: "InvalidDescription.Malformed"},
		{name: "MAX_PAYLOAD_BYTES MNS batch", body: batch(limit), code: "InvalidDescription.Malformed"},
		{name: "MAX_PAYLOAD_BYTES+1 (refused unread)", body: over(limit + 1), code: "InvalidParameter.PayloadTooLarge"},
		{name: "16 MiB (refused unread)", body: over(16 << 20), code: "InvalidParameter.PayloadTooLarge"},
		{name: "32 MiB, FC's synchronous limit (refused unread)", body: over(config.FCSyncPayloadLimit), code: "InvalidParameter.PayloadTooLarge"},
		{name: "MAX_PAYLOAD_BYTES MNS batch, with Content-Length", body: batch(limit), code: "InvalidDescription.Malformed", contentLength: true},
		{name: "32 MiB with Content-Length (refused unread)", body: over(config.FCSyncPayloadLimit), code: "InvalidParameter.PayloadTooLarge", contentLength: true},
	}
}

// TestPeakRSS runs the built binary once per payload (a fresh process, so
// that VmHWM is that payload's peak) and reads its VmHWM from /proc after
// the invocation. Each must stay under s.yaml's memorySize.
func TestPeakRSS(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/PID/status")
	}
	memorySize := sYAMLMemorySize(t)
	binary := testenv.BuildFunction(t)
	emu := testenv.StartDemoEmulator(t)

	var table strings.Builder
	fmt.Fprintf(&table, "%-48s %12s %9s %9s\n", "payload", "bytes", "messages", "VmHWM")
	for _, p := range payloads() {
		hwm, rep := measure(t, binary, emu.URL(), p)
		for i, m := range rep.Messages {
			if (p.code == "" && m.Outcome != report.Planned) || (p.code != "" && m.Code != p.code) {
				t.Fatalf("%s: message %d ended %s %s, want %q", p.name, i, m.Outcome, m.Code, p.code)
			}
		}
		fmt.Fprintf(&table, "%-48s %12d %9d %6.1f MiB\n", p.name, len(p.body), rep.Received, float64(hwm)/(1<<20))
		if hwm >= memorySize {
			t.Errorf("%s: peak RSS %d bytes, not under memorySize %d", p.name, hwm, memorySize)
		}
	}
	t.Logf("peak RSS of the go1 binary per invocation (memorySize %d MiB, MAX_PAYLOAD_BYTES %d):\n%s",
		memorySize>>20, config.DefaultMaxPayloadBytes, table.String())
}

// measure starts the binary under fcfake, invokes it once with body, and
// returns its VmHWM in bytes and the report.
func measure(t *testing.T, binary, endpoint string, p payload) (int64, report.Report) {
	t.Helper()
	fc, err := fcfake.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer fc.Close()
	cmd := exec.Command(binary)
	cmd.Env = append(fc.InstanceEnv(), "ECS_ENDPOINT="+endpoint, "LOG_LEVEL=info", "ECS_RATE_LIMIT=1000", os.Getenv("MEMTEST_EXTRA_ENV"))
	proc, err := fcfake.StartCommand(cmd)
	if err != nil {
		t.Fatal(err)
	}
	// Stop before Close: the SDK polls a closed port in a tight loop.
	defer func() { _ = proc.Stop() }()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	headers := fcfake.CredentialHeaders(emulator.DefaultKey, emulator.DefaultKey, "")
	if p.contentLength {
		headers["Content-Length"] = strconv.Itoa(len(p.body))
	}
	res, err := fc.Invoke(ctx, fcfake.Invocation{Payload: p.body, Timeout: time.Minute, Headers: headers})
	if err != nil || res.IsError {
		t.Fatalf("invoke: %v %.2000s\n%s", err, res.Body, tail(proc.Output()))
	}
	hwm := vmHWM(t, cmd.Process.Pid)
	var rep report.Report
	if err := json.Unmarshal(res.Body, &rep); err != nil {
		t.Fatalf("report: %v", err)
	}
	return hwm, rep
}

// vmHWM reads the peak resident set size of pid.
func vmHWM(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("VmHWM %q: %v", v, err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no VmHWM in /proc/%d/status", pid)
	return 0
}

// sYAMLMemorySize is the function's memorySize in s.yaml, in bytes.
func sYAMLMemorySize(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "s.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Resources map[string]struct {
			Props struct {
				MemorySize int64 `yaml:"memorySize"`
			} `yaml:"props"`
		} `yaml:"resources"`
	}
	if err := yaml.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	mb := spec.Resources["imageLifecycle"].Props.MemorySize
	if mb == 0 {
		t.Fatal("s.yaml gives imageLifecycle no memorySize")
	}
	return mb << 20 // FC's MB are MiB
}

func tail(s string) string {
	if len(s) > 2000 {
		return "…" + s[len(s)-2000:]
	}
	return s
}
