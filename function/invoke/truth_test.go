package invoke_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/emulator"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/report"
	"github.com/ecs-image-lifecycle/image-lifecycle/internal/testenv"
	"github.com/ecs-image-lifecycle/image-lifecycle/internal/testenv/fakeclock"
)

// settledLines returns the "message settled" log lines by message id.
func settledLines(t *testing.T, logs *lockedBuffer) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, l := range logs.lines(t) {
		if l["msg"] == "message settled" {
			out[l["messageId"].(string)] = l
		}
	}
	return out
}

// The intent's own id (the correlation id a pipeline sets) is in the report
// and in the log beside the message id, whatever trigger delivered it, for an
// intent that is worked and for one that is refused.
func TestIntentIDKeptForEveryTriggerShape(t *testing.T) {
	t.Parallel()
	good := `{"action":"deprecate","id":"corr-good","imageId":"m-bp1web6h7i8j9k0l1m2n","dryRun":true}`
	bad := `{"action":"explode","id":"corr-bad"}`
	quote := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	shapes := map[string]string{
		"mns stream": `[{"id":"ce-1","source":"MNS-x","specversion":"1.0","type":"mns:Queue:SendMessage",
			"data":{"messageId":"MNS-GOOD","messageBody":` + quote(good) + `}},
			{"id":"ce-2","source":"MNS-x","specversion":"1.0","type":"mns:Queue:SendMessage",
			"data":{"messageId":"MNS-BAD","messageBody":` + quote(bad) + `}}]`,
		"mns event-driven": `{"id":"ce-1","source":"acs:mns","specversion":"1.0","type":"mns:Queue:SendMessage",
			"data":{"messageId":"MNS-GOOD","messageBody":` + quote(good) + `}}`,
		"mns rawdata": `[{"messageId":"MNS-GOOD","messageBody":` + quote(good) + `},{"messageId":"MNS-BAD","messageBody":` + quote(bad) + `}]`,
		"eventbridge": `{"id":"EB-GOOD","source":"ci","specversion":"1.0","type":"image:Build","data":` + good + `}`,
		"timer":       `{"triggerTime":"2026-11-27T04:00:00Z","triggerName":"t","payload":` + quote("["+good+","+bad+"]") + `}`,
		"direct":      `[` + good + `,` + bad + `]`,
	}
	for name, payload := range shapes {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			emu := testenv.StartEmulator(t, emulator.Options{Seed: testenv.DemoSeed(t)})
			h := newHandler(t, emu, setup{})
			var logs lockedBuffer
			h.Log = slog.New(slog.NewJSONHandler(&logs, nil))
			rep, _ := handle(t, h, 10*time.Second, []byte(payload))
			lines := settledLines(t, &logs)
			for _, m := range rep.Messages {
				want := "corr-good"
				if m.Action != "deprecate" {
					want = "corr-bad"
				}
				if m.IntentID != want {
					t.Errorf("message %s (%s): intentId %q, want %q", m.ID, m.Outcome, m.IntentID, want)
				}
				if l := lines[m.ID]; l == nil || l["intentId"] != want {
					t.Errorf("message %s: log line %v, want intentId %q", m.ID, l, want)
				}
			}
			if rep.Received == 0 {
				t.Fatal("no message")
			}
		})
	}
}

// concurrentRun is the ECS client of one invocation while another run
// deprecates an image after this run has read its family, late enough that
// the listing is no longer fresh by the apply: the fresh read before the
// write then holds the planned deprecation back.
type concurrentRun struct {
	ecsapi.API
	emu  *emulator.Server
	done bool
	then func(*emulator.Server)
}

func (c *concurrentRun) DescribeImages(ctx context.Context, in ecsapi.DescribeImagesInput) (ecsapi.ImagePage, error) {
	page, err := c.API.DescribeImages(ctx, in)
	if in.Family != "" && !c.done {
		c.done = true
		c.then(c.emu)
	}
	return page, err
}

// A deprecation held back because another run changed the family is reported
// as held (the report's held list, the plan's held change, a log line), the
// outcome is unchanged since nothing was written, and no request id is shown.
func TestHeldChangeIsReportedAsHeld(t *testing.T) {
	t.Parallel()
	emu := testenv.StartEmulator(t, emulator.Options{Seed: &emulator.Seed{Images: familySeed("web", "m-w", 3)}})
	h := newHandler(t, emu, setup{})
	clk := fakeclock.New(time.Now())
	h.Clock = clk
	inner := h.NewAPI
	h.NewAPI = func(c *ecsapi.Credentials) (ecsapi.API, error) {
		api, err := inner(c)
		return &concurrentRun{API: api, emu: emu, then: func(e *emulator.Server) {
			if err := e.SetStatus("m-w002", ecsapi.StatusDeprecated); err != nil {
				t.Error(err)
			}
			clk.Advance(2 * time.Second) // the plan's listing is 2 s old by the apply
		}}, err
	}
	var logs lockedBuffer
	h.Log = slog.New(slog.NewJSONHandler(&logs, nil))
	rep, err := handle(t, h, 10*time.Second, []byte(`{"action":"rotate","id":"nightly","imageFamily":"web","keep":2}`))
	if err != nil || rep.Received != 1 {
		t.Fatalf("report %+v, err %v", rep, err)
	}
	m := rep.Messages[0]
	if m.Outcome != report.Unchanged || len(m.RequestIDs) != 0 {
		t.Errorf("outcome %s, request ids %v; want unchanged and none: nothing was written", m.Outcome, m.RequestIDs)
	}
	if len(m.Held) != 1 || m.Held[0].ImageID != "m-w000" || len(m.Held[0].Changes) != 1 || m.Held[0].Changes[0].To != "Deprecated" {
		t.Fatalf("held %+v, want m-w000's deprecation", m.Held)
	}
	if statusOf(t, emu, "m-w000") != ecsapi.StatusAvailable {
		t.Fatal("the held image was deprecated")
	}
	table := m.Plan.Table()
	for _, line := range strings.Split(table, "\n") {
		if strings.HasPrefix(line, "m-w000") && (strings.Contains(line, "Deprecated ") || !strings.Contains(line, "held")) {
			t.Errorf("plan shows the held deprecation as %q:\n%s", line, table)
		}
	}
	var heldLine map[string]any
	for _, l := range logs.lines(t) {
		if l["msg"] == "image change held" {
			heldLine = l
		}
	}
	if heldLine == nil || heldLine["imageId"] != "m-w000" || heldLine["intentId"] != "nightly" ||
		!strings.Contains(heldLine["reason"].(string), "fresh read") || !strings.Contains(heldLine["changes"].(string), "status Available -> Deprecated") {
		t.Errorf("held log line %v", heldLine)
	}
	if l := settledLines(t, &logs)[m.ID]; l == nil || l["held"] != float64(1) {
		t.Errorf("settled line %v, want held 1", l)
	}
}

// The API answering that the state already held (another run deprecated the
// image first) is success, but not a write: the outcome is unchanged.
func TestAlreadyDoneIsUnchanged(t *testing.T) {
	t.Parallel()
	emu := testenv.StartEmulator(t, emulator.Options{Seed: testenv.DemoSeed(t)})
	h := newHandler(t, emu, setup{})
	emu.SetFaults("ModifyImageAttribute", emulator.Faults{FailNext: []string{"ImageStatus.NotAvailable"}})
	rep, err := handle(t, h, 10*time.Second, []byte(`{"action":"deprecate","imageId":"m-bp1web6h7i8j9k0l1m2n"}`))
	if err != nil || rep.Received != 1 {
		t.Fatalf("report %+v, err %v", rep, err)
	}
	if m := rep.Messages[0]; m.Outcome != report.Unchanged || len(m.RequestIDs) != 0 {
		t.Errorf("outcome %s, request ids %v; want unchanged: the API said it was already done", m.Outcome, m.RequestIDs)
	}
}
