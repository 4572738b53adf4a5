package invoke_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/config"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/invoke"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/queue"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/redact"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/report"
	"github.com/ecs-image-lifecycle/image-lifecycle/tests/hostile"
)

// hostileRows is the table of tests/hostile.
func hostileRows(t testing.TB) []hostile.Row {
	t.Helper()
	rows, err := hostile.Rows()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// Every hostile payload ends rejected (dead-lettered, when there is a
// dead-letter queue) with its own code, with no write to ECS, a bounded
// report and bounded log lines; the credentials of the invocation appear
// nowhere (LOG_LEVEL=debug); and the same handler then applies a valid
// intent. Everything goes over the wire: the real ECS SDK against the
// emulator, the real MNS SDK against the MNS fake.
func TestHostileInputTable(t *testing.T) {
	t.Parallel()
	rows := hostileRows(t)
	if len(rows) < 80 {
		t.Fatalf("%d hostile rows, want at least 80", len(rows))
	}
	for _, withDeadLetters := range []bool{false, true} {
		outcome := report.Rejected
		if withDeadLetters {
			outcome = report.DeadLettered
		}
		t.Run(string(outcome), func(t *testing.T) {
			t.Parallel()
			w := newSTSWorld(t, withDeadLetters)
			for _, row := range rows {
				rep, err := w.handle(t, row.Payload)
				switch {
				case err != nil:
					t.Errorf("%s: Handle error %v", row.Name, err)
				case rep.Received != row.Messages || len(rep.Messages) != row.Messages || rep.Counts[outcome] != row.Messages:
					t.Errorf("%s: received %d, %d messages, counts %v; want %d %s", row.Name, rep.Received, len(rep.Messages), rep.Counts, row.Messages, outcome)
				}
				for i, m := range rep.Messages {
					if m.Outcome != outcome || m.Code != row.Code {
						t.Errorf("%s: message %d ended %s with %s, want %s with %s (%s)", row.Name, i, m.Outcome, m.Code, outcome, row.Code, redact.Clip(m.Error, 300))
						break
					}
					if len(m.ID) > redact.EchoLimit+32 || len(m.ImageID) > redact.EchoLimit+32 || len(m.Error) > redact.TextLimit+32 {
						t.Errorf("%s: message %d echoes too much: id %d, imageId %d, error %d bytes", row.Name, i, len(m.ID), len(m.ImageID), len(m.Error))
					}
				}
				if n := w.emu.Calls("ModifyImageAttribute"); n != 0 {
					t.Fatalf("%s: %d ModifyImageAttribute calls: a hostile payload reached a write", row.Name, n)
				}
			}
			t.Logf("%d hostile payloads (%d generated), all %s with their codes, no write", len(rows), len(hostile.Generated()), outcome)

			rep, err := w.handle(t, []byte(`{"action":"deprecate","id":"after-the-table","imageId":"`+hostile.ValidImage+`"}`))
			if err != nil || rep.Counts[report.Applied] != 1 || w.emu.Calls("ModifyImageAttribute") != 1 || statusOf(t, w.emu, hostile.ValidImage) != "Deprecated" {
				t.Fatalf("after the table: report %+v, err %v, %d writes: want the valid intent applied", rep, err, w.emu.Calls("ModifyImageAttribute"))
			}
			w.scan(t)
		})
	}
}

// A payload over MAX_PAYLOAD_BYTES, with a dead-letter queue: dead-lettered
// with its first bytes, its size and the code, never parsed.
func TestOversizedPayloadIsDeadLettered(t *testing.T) {
	t.Parallel()
	w := newSTSWorld(t, true)
	payload := []byte(`{"action":"deprecate","imageId":"m-bp1a2b3c4d5e6f7g8h9i","id":"` + strings.Repeat("x", config.DefaultMaxPayloadBytes) + `"}`)
	rep, err := w.handle(t, payload)
	if err != nil || rep.Counts[report.DeadLettered] != 1 || rep.Messages[0].Code != invoke.CodePayloadTooLarge {
		t.Fatalf("report %+v, err %v", rep, err)
	}
	letters := w.mns.Messages(deadQueue)
	if len(letters) != 1 {
		t.Fatalf("%d dead letters", len(letters))
	}
	var l struct {
		OriginalBody string `json:"originalBody"`
		Code         string `json:"code"`
		Message      string `json:"message"`
	}
	if err := json.Unmarshal([]byte(letters[0].Body), &l); err != nil {
		t.Fatal(err)
	}
	if l.Code != invoke.CodePayloadTooLarge || !strings.HasPrefix(l.OriginalBody, `{"action":"deprecate"`) || len(letters[0].Body) > queue.MaxBodyBytes ||
		!strings.Contains(l.Message, fmt.Sprintf("%d bytes received", len(payload))) {
		t.Errorf("letter code %s, message %q, body %.40q…, %d bytes", l.Code, l.Message, l.OriginalBody, len(letters[0].Body))
	}
	if n := w.emu.Calls("DescribeImages") + w.emu.Calls("ModifyImageAttribute"); n != 0 {
		t.Errorf("%d ECS calls for a payload refused unread", n)
	}
	w.scan(t)
}

// BenchmarkHostile measures how long the handler takes to refuse each kind
// of hostile payload (the issue asks for well under a second each).
func BenchmarkHostile(b *testing.B) {
	w := newSTSWorld(b, false)
	var rows []hostile.Row
	for _, r := range hostileRows(b) {
		if r.Generated || r.Name == "dup-stream-data" || r.Name == "utf8-in-a-description" || r.Name == "nbsp-before-intent" {
			rows = append(rows, r)
		}
	}
	for _, row := range rows {
		b.Run(strings.ReplaceAll(row.Name, " ", "_"), func(b *testing.B) {
			b.SetBytes(int64(len(row.Payload)))
			b.ReportAllocs()
			for b.Loop() {
				if rep, _ := w.h.Handle(b.Context(), w.env, row.Payload); rep.Counts[report.Rejected] == 0 {
					b.Fatalf("not rejected: %+v", rep.Counts)
				}
			}
		})
	}
}
