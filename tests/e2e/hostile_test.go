package e2e

import (
	"strings"
	"testing"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/emulator"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/report"
	"github.com/ecs-image-lifecycle/image-lifecycle/internal/testenv"
	"github.com/ecs-image-lifecycle/image-lifecycle/tests/hostile"
)

// The compiled binary under the go1 runtime, LOG_LEVEL=debug, with both
// queues: an ECS error that quotes the invocation's credentials, then every
// payload of the hostile table. Each hostile message ends dead-lettered with
// its row's code and none reaches a write; a valid intent is applied after
// them; and no encoding of a credential (raw, URL-encoded, JSON-escaped,
// base64) is anywhere in the process's output, a report or a dead letter.
func TestHostileTableThroughTheBinary(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	door := startGo1(t, w)
	var seen strings.Builder

	w.emu.SetFaults("ModifyImageAttribute", emulator.Faults{FailNext: []string{emulator.FaultEchoCredentials}})
	r := door.invoke(t, call{payload: []byte(`{"action":"deprecate","id":"echo-1","imageId":"` + hostile.ValidImage + `"}`)})
	seen.Write(r.raw)
	if r.isError || r.report.Counts[report.DeadLettered] != 1 || r.report.Messages[0].Code != "InvalidParameter" {
		t.Fatalf("the echoed error: %s", r.raw)
	}
	writes := w.emu.Calls("ModifyImageAttribute")

	rows, err := hostile.Rows()
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range rows {
		r := door.invoke(t, call{payload: row.Payload})
		seen.Write(r.raw)
		if r.isError || r.report.Received != row.Messages || r.report.Counts[report.DeadLettered] != row.Messages {
			t.Errorf("%s: %.300s", row.Name, r.raw)
			continue
		}
		for i, m := range r.report.Messages {
			if m.Code != row.Code {
				t.Errorf("%s: message %d has code %s, want %s", row.Name, i, m.Code, row.Code)
				break
			}
		}
		if n := w.emu.Calls("ModifyImageAttribute"); n != writes {
			t.Fatalf("%s reached a write", row.Name)
		}
	}

	r = door.invoke(t, call{payload: []byte(`{"action":"deprecate","id":"after-the-table","imageId":"` + hostile.ValidImage + `"}`)})
	if r.isError || r.report.Counts[report.Applied] != 1 || w.image(t, hostile.ValidImage).Status != "Deprecated" {
		t.Fatalf("a valid intent after the table: %.500s", r.raw)
	}

	var letters strings.Builder
	for _, m := range w.mns.Messages(deadLetterQueue) {
		letters.WriteString(m.Body)
	}
	for what, text := range map[string]string{"the process output": door.output(), "the reports": seen.String(), "the dead letters": letters.String()} {
		for _, secret := range []string{ecsKeySecret, stsToken} {
			for form, v := range testenv.SecretForms(secret) {
				if strings.Contains(text, v) {
					t.Errorf("%s holds the %s credential %q", what, form, v)
				}
			}
		}
	}
	if !strings.Contains(door.output(), `"level":"DEBUG"`) && !strings.Contains(door.output(), "[REDACTED]") {
		t.Errorf("the output shows neither debug lines nor a redaction: the scan proves little")
	}
}
