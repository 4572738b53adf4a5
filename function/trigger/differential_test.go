package trigger_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/strictjson"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/trigger"
	"github.com/ecs-image-lifecycle/image-lifecycle/tests/hostile"
)

// The decoder reads envelopes token by token; the oracle (oracle_test.go) is
// the decoder it replaced, which read them by reflection. For every payload
// they must give the same messages: ids, intent ids, sources, attempts,
// bodies byte for byte, the same errors (text, code, strict refusal) and the
// same shape.

// sameAsOracle fails t when Decode and the oracle disagree on payload.
func sameAsOracle(t *testing.T, payload []byte) {
	t.Helper()
	if got, want := string(trigger.Detect(payload)), string(detect(payload)); got != want {
		t.Fatalf("payload %q: shape %q, the oracle's %q", clip(payload), got, want)
	}
	got, want := trigger.Decode(payload), Decode(payload)
	if len(got) != len(want) {
		t.Fatalf("payload %q: %d messages, the oracle's %d", clip(payload), len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		gm := fmt.Sprintf("{ID:%q IntentID:%q Source:%q Attempt:%d Event:%t Body(nil %t):%q}", g.ID, g.IntentID, g.Source, g.Attempt, g.Event, g.Body == nil, g.Body)
		wm := fmt.Sprintf("{ID:%q IntentID:%q Source:%q Attempt:%d Event:%t Body(nil %t):%q}", w.ID, w.IntentID, w.Source, w.Attempt, w.Event, w.Body == nil, w.Body)
		if gm != wm {
			t.Fatalf("payload %q, message %d:\n got %s\nwant %s", clip(payload), i, gm, wm)
		}
		if msg := sameError(g.Err, w.Err); msg != "" {
			t.Fatalf("payload %q, message %d: %s", clip(payload), i, msg)
		}
	}
	if len(got) <= 50 {
		bodiesStayApart(t, payload, got)
	}
}

// sameError says how err (Decode's) differs from the oracle's, "" if not.
func sameError(err, oracle error) string {
	switch {
	case (err == nil) != (oracle == nil):
		return fmt.Sprintf("error %v, the oracle's %v", err, oracle)
	case err == nil:
		return ""
	case err.Error() != oracle.Error():
		return fmt.Sprintf("error\n %q\nthe oracle's\n %q", err, oracle)
	case trigger.Code(err) != Code(oracle):
		return fmt.Sprintf("code %s, the oracle's %s", trigger.Code(err), Code(oracle))
	}
	for i, sentinel := range []error{trigger.ErrUnknownShape, trigger.ErrMissingBody, trigger.ErrInvalidBody} {
		if errors.Is(err, sentinel) != errors.Is(oracle, []error{ErrUnknownShape, ErrMissingBody, ErrInvalidBody}[i]) {
			return fmt.Sprintf("error %v: errors.Is(%v) differs from the oracle's", err, sentinel)
		}
	}
	var se, oe *strictjson.Error
	if errors.As(err, &se) != errors.As(oracle, &oe) || (se != nil && !reflect.DeepEqual(*se, *oe)) {
		return fmt.Sprintf("strict refusal %+v, the oracle's %+v", se, oe)
	}
	return ""
}

// bodiesStayApart checks that appending to one message's Body changes no
// other's: bodies are slices of one copy of the payload now, where the
// oracle copied each member.
func bodiesStayApart(t *testing.T, payload []byte, msgs []trigger.Message) {
	t.Helper()
	saved := make([]string, len(msgs))
	for i, m := range msgs {
		saved[i] = string(m.Body)
	}
	for i := range msgs {
		_ = append(msgs[i].Body, `"appended"`...)
		for j, m := range msgs {
			if string(m.Body) != saved[j] {
				t.Fatalf("payload %q: appending to message %d's body changed message %d's", clip(payload), i, j)
			}
		}
	}
}

func clip(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "..."
	}
	return string(b)
}

// TestSameAsOracle runs the fixtures, the hostile payloads and a generated
// table of envelopes through both decoders.
func TestSameAsOracle(t *testing.T) {
	t.Parallel()
	for _, p := range corpus(t) {
		sameAsOracle(t, p)
	}
}

// FuzzSameAsOracle is TestSameAsOracle for any payload. It is seeded with
// the fixtures, the hostile table and every body in an MNS envelope (the
// rest of the generated table is TestSameAsOracle's: as seeds they would
// only run it twice).
//
//	go test ./function/trigger -run '^$' -fuzz FuzzSameAsOracle -fuzztime 60s
func FuzzSameAsOracle(f *testing.F) {
	seeds := fixedCorpus(f)
	for _, body := range bodies {
		seeds = append(seeds, []byte(strings.NewReplacer("%Q", quote(body), "%B", body).Replace("["+envelopes[0]+"]")))
	}
	for _, p := range seeds {
		if len(p) < 64<<10 {
			f.Add(p)
		}
	}
	f.Fuzz(func(t *testing.T, payload []byte) { sameAsOracle(t, payload) })
}

// corpus is every payload the tests hold: the fixtures of events/, the
// hostile table, and envelopes generated from pieces that each break or
// bend one rule.
func corpus(t testing.TB) [][]byte { return append(fixedCorpus(t), generated()...) }

// fixedCorpus is the fixtures of events/ and the hostile table (the rows
// that reach the decoder).
func fixedCorpus(t testing.TB) [][]byte {
	var out [][]byte
	for _, pattern := range []string{"../../events/triggers/*.json", "../../events/*.json"} {
		paths, _ := filepath.Glob(pattern)
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, b)
		}
	}
	rows, err := hostile.Rows()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		// The 10 and 30 MB rows are refused for their size before anything
		// decodes them (MAX_PAYLOAD_BYTES); under -race they would take the
		// test half a minute.
		if r.Code != hostile.CodePayloadTooLarge {
			out = append(out, r.Payload)
		}
	}
	return out
}

// bodies are message bodies: intents, arrays of them, and texts that are
// wrong in one way each (as raw JSON text, or not JSON at all).
var bodies = []string{
	`{"action":"deprecate","imageId":"m-1"}`,
	` {"action":"modify","id":"i-1","imageId":"m-1","attributes":{"imageName":"n"}} `,
	`{"id":7,"action":"deprecate"}`, `{"id":null}`, `{"\u0069d":"escaped"}`, `{"ID":"upper"}`, `{"id":""}`,
	`{"id":"a\"b\u00e9"}`, `{}`,
	`{"action":"deprecate","retry":{"attempt":3}}`, `{"retry":{"attempt":3.0}}`, `{"retry":{"attempt":3e0}}`,
	`{"retry":{"attempt":"3"}}`, `{"retry":{"attempt":-1}}`, `{"retry":{"attempt":0}}`, `{"retry":{"attempt":1e30}}`,
	`{"retry":{"attempt":2.5}}`, `{"retry":{"attempt":null}}`, `{"retry":1}`, `{"retry":[]}`, `{"retry":null}`,
	`{"retry":{}}`, `{"retry":{"Attempt":4}}`, `{"retry":{"attempt":9223372036854775807}}`, `{"retry":{"attempt":-0}}`,
	`{"type":"ecs:ActionTrail:ApiCall","id":"ev-1","data":{}}`, `{"type":"ecs:ActionTrail:","id":"x"}`,
	`{"type":5,"id":"x"}`, `{"type":"","id":"x"}`, `{"type":"a:ActionTrail:b","id":"x","retry":{"attempt":2}}`,
	`[{"action":"deprecate","id":"a"},{"action":"deprecate"}]`, `[]`, `[1]`, `[{}, "x"]`, `[{"a":1,"a":2},{}]`,
	`[{"id":"\ud800"}]`, "[{\"id\":\"\xff\"}, {}]", `[[]]`, `[null]`, ` [ {} , {"id":"q"} ] `,
	`{"action":"a","action":"b"}`, `{"attributes":{"x":1,"x":2}}`, "{\"action\":\"\xff\"}", "{\"\xff\":1}",
	"\f{}", "{}\u00a0", "\u00a0{}", " {} ", `{"a" :1 }`, "{\"a\":\f1}", "\ufeff{}",
	`{} {}`, `{}x`, `{"a":`, `{"a":1,}`, `[{}`, `[{},]`,
	`TEST`, `hello`, ``, `   `, `"str"`, `123`, `null`, `true`,
	strings.Repeat("[", 40) + strings.Repeat("]", 40),
	b64(`{"action":"deprecate","imageId":"m-2"}`), b64(`TEST`), b64(`[1]`), b64(`[{"id":"b"}]`),
	b64(`{"a":1,"a":2}`), b64("{\"a\":\"\xff\"}"), b64(`{}`) + "\n", b64(`"s"`), "!!" + b64(`{}`),
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// quote is s as a JSON string, its invalid UTF-8 kept (as the producers that
// send it do), so that the envelope carries it on.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20:
			fmt.Fprintf(&b, `\u%04x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// envelopes hold a body: %Q is the body as a JSON string, %B the body's raw
// text. Each bends one member: absent, null, of the wrong type, named in
// another case or with an escape, repeated, or set apart by whitespace.
var envelopes = []string{
	`{"id":"ce","source":"s","specversion":"1.0","type":"mns:Queue:SendMessage","data":{"requestId":"r","messageId":"M","messageBody":%Q}}`,
	`{"id":"ce","source":"s","specversion":"1.0","type":"mns:Queue:SendMessage","data":{"messageId":"M","messageBody":%B}}`,
	`{"id":"ce","specversion":"1.0","type":"mns:Queue:SendMessage","data":{"messageBody":%Q}}`,
	`{"id":"ce","specversion":"1.0","type":"mns:Queue:SendMessage","data":{"messageId":null,"messageBody":%Q}}`,
	`{"id":7,"specversion":"1.0","type":"mns:Queue:SendMessage","data":{"messageId":8,"messageBody":%Q}}`,
	`{"specversion":"1.0","type":"mns:Queue:SendMessage","data":{"messageId":"","messageBody":%Q}}`,
	`{"id":"ce","specversion":"1.0","type":"mns:Queue:SendMessage","data":{"messageId":"M","messageBody":5}}`,
	`{"id":"ce","specversion":"1.0","type":"mns:Queue:SendMessage","data":{"messageId":"M","messageBody":null}}`,
	`{"id":"ce","specversion":"1.0","type":"mns:Queue:SendMessage","data":{"messageId":"M"}}`,
	`{"id":"ce","specversion":"1.0","type":"mns:Queue:SendMessage"}`,
	`{"id":"ce","specversion":"1.0","type":"mns:Queue:SendMessage","data":null}`,
	`{"id":"ce","specversion":"1.0","type":"mns:Queue:SendMessage","data":%Q}`,
	`{"id":"ce","specversion":"1.0","type":"mns:Queue:SendMessage","data":[%B]}`,
	`{"id":"ce","specversion":"1.0","type":"mns:Queue:\u0053endMessage","data":{"messageId":"M","messageBody":%Q}}`,
	`{"id":"ce","specversion":"1.0","type":"other","data":{"messageId":"M","messageBody":%Q}}`,
	`{"id":"ce","specversion":"1.0","type":"other","data":{"MessageId":"M","MessageBody":%Q}}`,
	`{"id":"ce","specversion":"1.0","type":"mns:Queue:SendMessage","data":{"\u006dessageId":"M","messageBody":%Q}}`,
	`{"id":"ce","specversion":"1.0","type":"mns:Queue:SendMessage","data":{"messageId":"M","messageId":"N","messageBody":%Q}}`,
	`{"id":"ce","id":"cf","specversion":"1.0","type":"mns:Queue:SendMessage","data":{"messageBody":%Q}}`,
	"{\"id\":\"ce\",\"specversion\":\"1.0\",\"type\":\"mns:Queue:SendMessage\",\"x\":\"\xff\",\"data\":{\"messageBody\":%Q}}",
	"{\"id\":\"ce\",\"specversion\":\"1.0\",\"type\":\"mns:Queue:SendMessage\",\"data\":{\"messageBody\":%Q,\"x\":\"\xfe\"}}",
	"{\"id\":\"ce\",\f\"specversion\":\"1.0\",\"type\":\"mns:Queue:SendMessage\",\"data\":{\"messageBody\":%Q}}",
	"{\"id\":\"ce\",\"specversion\":\"1.0\",\"type\":\"mns:Queue:SendMessage\",\"data\":{\"messageBody\":%Q}\u00a0}",
	` { "id" : "ce" , "type" : "mns:Queue:SendMessage" , "source" : "s" , "data" : { "messageBody" : %Q } } `,
	`{"type":"mns:Queue:SendMessage","source":"s","data":{"messageBody":%Q}}`,
	`{"id":"ce","source":"s","type":"t","data":%B}`,
	`{"id":"ce","source":"s","specversion":"1.0","type":"t","data":%B}`,
	`{"id":"ce","source":"s","specversion":"1.0","type":"t","data":%Q}`,
	`{"id":"ce","source":"s","specversion":"1.0","type":"t","data":5}`,
	`{"id":"ce","source":"s","specversion":"1.0","type":"t","data":null}`,
	`{"id":"ce","source":"s","specversion":"1.0","type":"t"}`,
	`{"source":"s","specversion":"1.0","type":"t","data":%B}`,
	`{"id":{"a":1},"source":"s","specversion":null,"type":"t","data":%B}`,
	`{"id":"ce","source":"s","specversion":1,"type":7,"data":%B}`,
	`{"id":"ce","source":"acs.ecs","specversion":"1.0","type":"ecs:ActionTrail:ApiCall","data":%B}`,
	`{"id":"ce","source":"acs.ecs","specversion":"1.0","type":"ecs:ActionTrail:ApiCall","data":{"messageBody":%Q}}`,
	`{"source":"acs.ecs","specversion":"1.0","type":"ecs:ActionTrail:ConsoleOperation"}`,
	`{"requestId":"r","messageId":"M","messageBody":%Q}`,
	`{"requestId":"r","messageBody":%Q}`,
	`{"messageId":"M"}`,
	`{"messageId":null,"messageBody":%B}`,
	`{"messageId":3,"messageBody":%Q}`,
	`{"triggerTime":"T","triggerName":"n","payload":%Q}`,
	`{"triggerTime":"T","triggerName":"n","payload":%B}`,
	`{"triggerTime":"T","triggerName":"n"}`,
	`{"triggerTime":"T","triggerName":5,"payload":%Q}`,
	`{"triggerTime":"T","payload":%Q}`,
	`{"triggerTime":null,"triggerName":"n","payload":%Q,"action":"x"}`,
	`{"triggerTime":"T","triggerName":"n","payload":null}`,
	`%B`,
	`{"action":null,"x":%B}`,
	`{"Action":"deprecate"}`,
	`{"specversion":"1.0"}`,
	`{"data":%B}`,
	`%Q`,
	`5`,
}

// generated is every envelope around every body, alone and in arrays, and
// arrays mixing them at random (with a fixed seed: the same table each run).
func generated() [][]byte {
	var singles []string
	for _, env := range envelopes {
		for _, body := range bodies {
			singles = append(singles, strings.NewReplacer("%Q", quote(body), "%B", body).Replace(env))
		}
	}
	out := make([][]byte, 0, 2*len(singles)+2000)
	for _, s := range singles {
		out = append(out, []byte(s), []byte("["+s+"]"))
	}
	r := rand.New(rand.NewPCG(11, 5))
	for range 2000 {
		parts := make([]string, 1+r.IntN(4))
		for i := range parts {
			parts[i] = singles[r.IntN(len(singles))]
		}
		sep := []string{",", " , ", ",\n"}[r.IntN(3)]
		out = append(out, []byte("["+strings.Join(parts, sep)+"]"))
	}
	return out
}

// The generated table must hold what it is meant to: every shape, and
// refusals of every kind, so that agreeing on it means something.
func TestGeneratedCoversEveryShape(t *testing.T) {
	t.Parallel()
	shapes := map[string]int{}
	codes := map[string]int{}
	var retried, events, intentIDs int
	for _, p := range generated() {
		shapes[string(detect(p))]++
		for _, m := range Decode(p) {
			codes[Code(m.Err)]++
			if m.Attempt > 1 {
				retried++
			}
			if m.Event {
				events++
			}
			if m.IntentID != "" {
				intentIDs++
			}
		}
	}
	for _, s := range []Shape{ShapeMNSStream, ShapeMNSEvent, ShapeEventBridge, ShapeActionTrail, ShapeMNSRawData, ShapeTimer, ShapeDirect, ShapeEmpty, ShapeUnknown} {
		if shapes[string(s)] == 0 {
			t.Errorf("no generated payload of shape %s", s)
		}
	}
	for _, c := range []string{"", CodeUnknownShape, CodeMissingBody, CodeInvalidBody, strictjson.CodeMalformed,
		strictjson.CodeDuplicateField, strictjson.CodeInvalidUTF8, strictjson.CodeWhitespace} {
		if codes[c] == 0 {
			t.Errorf("no generated message with code %q", c)
		}
	}
	if retried == 0 || events == 0 || intentIDs == 0 {
		t.Errorf("generated messages: %d retried, %d events, %d with an intent id: want some of each", retried, events, intentIDs)
	}
}
