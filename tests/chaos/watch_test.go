package chaos

import (
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
)

// answers counts what the emulator answered, by kind, from its request log
// (Options.Log: one line per request, "... Action params -> 503
// ServiceUnavailable 1.2ms"): the only place every injected fault shows,
// whatever the action.
type answers struct {
	mu     sync.Mutex
	rest   []byte
	calls  int
	byKind map[string]int // an injected fault's kind, or "ok", or the API's error code
}

// Kinds of injected faults, as the table names them.
const (
	kindThrottling  = "Throttling (400)"
	kindUnavailable = "ServiceUnavailable (503)"
	kindInternal    = "InternalError (500)"
	kindBadGateway  = "non-JSON 502"
	kindReset       = "connection reset"
	kindSlow        = "slower than the client waits"
)

var faultKinds = []string{kindThrottling, kindUnavailable, kindInternal, kindBadGateway, kindReset, kindSlow}

func newAnswers() *answers { return &answers{byKind: map[string]int{}} }

func (a *answers) Write(p []byte) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.rest = append(a.rest, p...)
	for {
		line, rest, ok := strings.Cut(string(a.rest), "\n")
		if !ok {
			break
		}
		a.rest = []byte(rest)
		a.calls++
		a.byKind[answerKind(line)]++
	}
	return len(p), nil
}

// answerKind reads the answer part of one log line.
func answerKind(line string) string {
	i := strings.LastIndex(line, " -> ")
	if i < 0 {
		return "unreadable log line"
	}
	answer := line[i+len(" -> "):]
	switch {
	case strings.HasPrefix(answer, "connection reset"):
		return kindReset
	case strings.HasPrefix(answer, "client gone"):
		return kindSlow
	}
	fields := strings.Fields(answer) // status, code or "OK", time taken
	if len(fields) < 2 {
		return "unreadable log line"
	}
	if _, err := strconv.Atoi(fields[0]); err != nil {
		return "unreadable log line"
	}
	switch code := fields[1]; {
	case code == "OK":
		return "ok"
	case strings.HasPrefix(code, "Throttling"):
		return kindThrottling
	case code == "ServiceUnavailable":
		return kindUnavailable
	case code == "InternalError":
		return kindInternal
	case code == "badgateway":
		return kindBadGateway
	default:
		return code
	}
}

// snapshot returns the counts so far.
func (a *answers) snapshot() (calls int, byKind map[string]int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	byKind = make(map[string]int, len(a.byKind))
	for k, v := range a.byKind {
		byKind[k] = v
	}
	return a.calls, byKind
}

// floorWatch is the emulator's AfterWrite: every write that takes an
// Available image out of its family (a deprecation, or a move) must leave the
// family at least floor Available images.
type floorWatch struct {
	floor      int
	mu         sync.Mutex
	writes     int
	violations []string
}

func (w *floorWatch) afterWrite(before, after ecsapi.Image, region []ecsapi.Image) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes++
	if before.Family == "" || before.Status != ecsapi.StatusAvailable ||
		(after.Status == ecsapi.StatusAvailable && after.Family == before.Family) {
		return
	}
	left := 0
	for _, img := range region {
		if img.Family == before.Family && img.Status == ecsapi.StatusAvailable {
			left++
		}
	}
	if left < w.floor {
		w.violations = append(w.violations, fmt.Sprintf("write %d: %s went %s -> %s in family %s, which kept %d Available images (floor %d)",
			w.writes, before.ImageID, before.Status, after.Status, before.Family, left, w.floor))
	}
}

func (w *floorWatch) counts() (writes int, violations []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.writes, append([]string(nil), w.violations...)
}
