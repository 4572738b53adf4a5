package invoke_test

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/config"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/invoke"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/queue"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/redact"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/report"
)

// hostileRow is one hostile payload and the code each of its messages must
// end with.
type hostileRow struct {
	name, code string
	payload    []byte
	// messages is how many messages the payload must give (0: one).
	messages int
}

// hostileRows reads testdata/hostile.txt: NAME CODE PAYLOAD per line, the
// payload a Go string literal (strconv.Unquote reads it, so any byte can be
// written and the file stays text).
func hostileRows(t testing.TB) []hostileRow {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "hostile.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []hostileRow
	names := map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, rest, _ := strings.Cut(line, " ")
		code, literal, _ := strings.Cut(strings.TrimSpace(rest), " ")
		payload, err := strconv.Unquote(strings.TrimSpace(literal))
		if err != nil || names[name] || code == "" {
			t.Fatalf("hostile.txt:%d: cannot read %q (duplicate name, no code or a bad literal: %v)", n, line, err)
		}
		names[name] = true
		rows = append(rows, hostileRow{name: name, code: code, payload: []byte(payload)})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// generatedRows are the payloads too large or too deep to store: built here.
func generatedRows() []hostileRow {
	const image = "m-bp1a2b3c4d5e6f7g8h9i"
	mb := func(n int) string { return strings.Repeat("x", n<<20) }
	deep := strings.Repeat("[", 100000) + strings.Repeat("]", 100000)
	var bad bytes.Buffer
	bad.WriteByte('[')
	for i := range 1000 {
		if i > 0 {
			bad.WriteByte(',')
		}
		fmt.Fprintf(&bad, `{"action":"deprecate","imageId":"i-not-an-image-%d"}`, i)
	}
	bad.WriteByte(']')
	mnsBody := func(body string) string {
		q, _ := json.Marshal(body)
		return `[{"id":"c1","specversion":"1.0","type":"mns:Queue:SendMessage","data":{"messageId":"M1","messageBody":` + string(q) + `}}]`
	}
	return []hostileRow{
		{name: "10 MB body", code: invoke.CodePayloadTooLarge,
			payload: []byte(`{"action":"modify","imageId":"` + image + `","attributes":{"description":"` + mb(10) + `"}}`)},
		{name: "30 MB body", code: invoke.CodePayloadTooLarge,
			payload: []byte(mnsBody(`{"action":"modify","imageId":"` + image + `","attributes":{"description":"` + mb(30) + `"}}`))},
		{name: "5 MB description, under the limit: parsed and refused by the rule", code: "InvalidDescription.Malformed",
			payload: []byte(`{"action":"modify","imageId":"` + image + `","attributes":{"description":"` + mb(5) + `"}}`)},
		{name: "100k-deep nesting", code: "InvalidParameter.TooDeep", payload: []byte(deep)},
		{name: "100k-deep nesting in an intent field", code: "InvalidParameter.TooDeep",
			payload: []byte(`{"action":"deprecate","imageId":"` + image + `","x":` + deep + `}`)},
		{name: "100k-deep nesting in an MNS body", code: "InvalidParameter.TooDeep", payload: []byte(mnsBody(deep))},
		{name: "1,000 bad intents", code: "InvalidImageId.Malformed", payload: bad.Bytes(), messages: 1000},
		{name: "1 MB imageId", code: "InvalidImageId.Malformed", payload: []byte(`{"action":"deprecate","imageId":"m-` + mb(1) + `"}`)},
		{name: "1 MB id", code: "InvalidParameter.Id", payload: []byte(`{"action":"deprecate","imageId":"` + image + `","id":"` + mb(1) + `"}`)},
		{name: "1 MB field name", code: "InvalidParameter.UnknownField", payload: []byte(`{"action":"deprecate","imageId":"` + image + `","` + mb(1) + `":1}`)},
		{name: "1 MB MNS message id on a broken body", code: "InvalidParameter.Payload",
			payload: []byte(`[{"id":"c1","specversion":"1.0","type":"mns:Queue:SendMessage","data":{"messageId":"` + mb(1) + `","messageBody":"not json!"}}]`)},
		{name: "1 MB of base64 garbage", code: "InvalidParameter.Payload",
			payload: []byte(mnsBody(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xde, 0xad, 0xbe, 0xef}, 1<<18))))},
	}
}

// Every hostile payload ends rejected with its own code, with no write to
// ECS, a bounded report and bounded log lines; the credentials of the
// invocation appear nowhere (LOG_LEVEL=debug); and the same handler then
// applies a valid intent. Everything goes over the wire: the real ECS SDK
// against the emulator.
func TestHostileInputTable(t *testing.T) {
	t.Parallel()
	rows := append(hostileRows(t), generatedRows()...)
	if len(rows) < 80 {
		t.Fatalf("%d hostile rows, want at least 80", len(rows))
	}
	w := newSTSWorld(t, false)
	for _, row := range rows {
		rep, err := w.handle(t, row.payload)
		want := max(row.messages, 1)
		switch {
		case err != nil:
			t.Errorf("%s: Handle error %v", row.name, err)
		case rep.Received != want || len(rep.Messages) != want || rep.Counts[report.Rejected] != want:
			t.Errorf("%s: received %d, %d messages, counts %v; want %d rejected", row.name, rep.Received, len(rep.Messages), rep.Counts, want)
		}
		for i, m := range rep.Messages {
			if m.Outcome != report.Rejected || m.Code != row.code {
				t.Errorf("%s: message %d ended %s with %s, want rejected with %s (%s)", row.name, i, m.Outcome, m.Code, row.code, redact.Clip(m.Error, 300))
				break
			}
			if len(m.ID) > redact.EchoLimit+32 || len(m.ImageID) > redact.EchoLimit+32 || len(m.Error) > redact.TextLimit+32 {
				t.Errorf("%s: message %d echoes too much: id %d, imageId %d, error %d bytes", row.name, i, len(m.ID), len(m.ImageID), len(m.Error))
			}
		}
		if n := w.emu.Calls("ModifyImageAttribute"); n != 0 {
			t.Fatalf("%s: %d ModifyImageAttribute calls: a hostile payload reached a write", row.name, n)
		}
	}
	t.Logf("%d hostile payloads (%d from testdata/hostile.txt), all rejected with their codes, no write", len(rows), len(rows)-len(generatedRows()))

	rep, err := w.handle(t, []byte(`{"action":"deprecate","id":"after-the-table","imageId":"m-bp1a2b3c4d5e6f7g8h9i"}`))
	if err != nil || rep.Counts[report.Applied] != 1 || w.emu.Calls("ModifyImageAttribute") != 1 || statusOf(t, w.emu, "m-bp1a2b3c4d5e6f7g8h9i") != "Deprecated" {
		t.Fatalf("after the table: report %+v, err %v, %d writes: want the valid intent applied", rep, err, w.emu.Calls("ModifyImageAttribute"))
	}
	w.scan(t)
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
	rows := generatedRows()
	for _, r := range hostileRows(b) {
		if r.name == "dup-stream-data" || r.name == "utf8-in-a-description" || r.name == "nbsp-before-intent" {
			rows = append(rows, r)
		}
	}
	for _, row := range rows {
		b.Run(strings.ReplaceAll(row.name, " ", "_"), func(b *testing.B) {
			b.SetBytes(int64(len(row.payload)))
			b.ReportAllocs()
			for b.Loop() {
				if rep, _ := w.h.Handle(b.Context(), w.env, row.payload); rep.Counts[report.Rejected] == 0 {
					b.Fatalf("not rejected: %+v", rep.Counts)
				}
			}
		})
	}
}
