package trigger

import (
	"slices"
	"strings"
	"testing"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/strictjson"
)

// Strictness at every level of every envelope: a repeated name is refused
// where it is (never resolved to the last one), invalid UTF-8 is refused
// (never replaced by U+FFFD), and whitespace JSON does not allow is refused
// (never trimmed away). Each refusal costs only the element it is in.
func TestDecodeIsStrictAtEveryLevel(t *testing.T) {
	t.Parallel()
	const (
		dup   = strictjson.CodeDuplicateField
		utf   = strictjson.CodeInvalidUTF8
		space = strictjson.CodeWhitespace
		ok    = ""
	)
	dryRun := `{"action":"deprecate","imageId":"m-bp1a2b3c4d5e6f7g8h9i","dryRun":true}`
	dupIntent := `{"action":"deprecate","imageId":"m-bp1a2b3c4d5e6f7g8h9i","dryRun":true,"dryRun":false}`
	ce := func(rest string) string {
		return `{"id":"ce-1","source":"s","specversion":"1.0","type":"mns:Queue:SendMessage",` + rest + `}`
	}
	tests := []struct {
		name    string
		payload string
		codes   []string // one per message, in order; "" = usable
	}{
		// MNS event-streaming: the CloudEvent, its data, the body.
		{"stream: data twice in a CloudEvent, its sibling kept",
			`[` + mnsCloudEvent("ce-1", "M1", quote(deprecateIntent)) + `,` +
				ce(`"data":{"messageId":"M2","messageBody":`+quote(dryRun)+`},"data":{"messageId":"M2","messageBody":`+quote(deprecateIntent)+`}`) + `]`,
			[]string{ok, dup}},
		{"stream: messageBody twice in data", `[` + ce(`"data":{"messageId":"M","messageBody":`+quote(dryRun)+`,"messageBody":`+quote(deprecateIntent)+`}`) + `]`, []string{dup}},
		{"stream: messageId twice in data", `[` + ce(`"data":{"messageId":"A","messageId":"B","messageBody":`+quote(dryRun)+`}`) + `]`, []string{dup}},
		{"stream: a name twice inside the body", `[` + mnsCloudEvent("ce-1", "M1", quote(dupIntent)) + `]`, []string{dup}},
		{"stream: a name twice inside a base64 body", `[` + mnsCloudEvent("ce-1", "M1", quote(b64(dupIntent))) + `]`, []string{dup}},
		{"stream: a name twice in one element of a body array",
			`[` + mnsCloudEvent("ce-1", "M1", quote(`[`+dryRun+`,`+dupIntent+`]`)) + `]`, []string{ok, dup}},
		{"stream: invalid UTF-8 in one CloudEvent", `[` + mnsCloudEvent("ce-1", "M1", quote(deprecateIntent)) + `,` +
			mnsCloudEvent("ce-2", "M2", `"{\"action\":\"modify\",\"attributes\":{\"description\":\"x`+"\xff"+`\"}}"`) + `]`, []string{ok, utf}},
		{"stream: base64 body of invalid UTF-8", `[` + mnsCloudEvent("ce-1", "M1", quote(b64("{\"action\":\"modify\",\"attributes\":{\"description\":\"\xff\xfe\"}}"))) + `]`, []string{utf}},
		{"stream: body with a no-break space before it", `[` + mnsCloudEvent("ce-1", "M1", quote("\u00a0"+deprecateIntent)) + `]`, []string{space}},
		{"stream: body with a form feed after it", `[` + mnsCloudEvent("ce-1", "M1", quote(deprecateIntent+"\f")) + `]`, []string{space}},
		// MNS event-driven and RawData.
		{"event-driven: data twice", ce(`"data":{"messageId":"M","messageBody":` + quote(dryRun) + `},"data":{"messageId":"M","messageBody":` + quote(deprecateIntent) + `}`), []string{dup}},
		{"event-driven: type twice", ce(`"type":"x","data":{"messageId":"M","messageBody":` + quote(dryRun) + `}`), []string{dup}},
		{"rawdata: messageBody twice", `[{"requestId":"r","messageId":"M","messageBody":` + quote(dryRun) + `,"messageBody":` + quote(deprecateIntent) + `}]`, []string{dup}},
		// EventBridge custom events.
		{"eventbridge: data twice", `{"id":"e","source":"s","specversion":"1.0","type":"t","data":` + dryRun + `,"data":` + deprecateIntent + `}`, []string{dup}},
		{"eventbridge: a name twice in the data object", `{"id":"e","source":"s","specversion":"1.0","type":"t","data":` + dupIntent + `}`, []string{dup}},
		{"eventbridge: a name twice in the data string", `{"id":"e","source":"s","specversion":"1.0","type":"t","data":` + quote(dupIntent) + `}`, []string{dup}},
		// Timer.
		{"timer: payload twice", `{"triggerTime":"T","triggerName":"n","payload":` + quote(dryRun) + `,"payload":` + quote(deprecateIntent) + `}`, []string{dup}},
		{"timer: a name twice in the payload", `{"triggerTime":"T","triggerName":"n","payload":` + quote(dupIntent) + `}`, []string{dup}},
		{"timer: a payload array with one bad intent", `{"triggerTime":"T","triggerName":"n","payload":` + quote(`[`+dryRun+`,`+dupIntent+`]`) + `}`, []string{ok, dup}},
		// Direct invoke, at each level of an intent.
		{"direct: action twice", dupIntent, []string{dup}},
		{"direct: a name twice in attributes", `{"action":"modify","imageId":"m-1","attributes":{"imageName":"a1","imageName":"b2"}}`, []string{dup}},
		{"direct: a name twice in features", `{"action":"modify","imageId":"m-1","attributes":{"features":{"imdsSupport":"v2","imdsSupport":"v1"}}}`, []string{dup}},
		{"direct: a name twice in retry", `{"action":"activate","imageId":"m-1","retry":{"attempt":1,"attempt":9}}`, []string{dup}},
		{"direct array: one intent with a name twice", `[` + dryRun + `,` + dupIntent + `,` + activateIntent + `]`, []string{ok, dup, ok}},
		{"direct: invalid UTF-8 in a description", "{\"action\":\"modify\",\"imageId\":\"m-1\",\"attributes\":{\"description\":\"Nov build \xe9\"}}", []string{utf}},
		// Whitespace around the whole payload.
		{"form feed before an empty array is not an empty batch", "\f[]", []string{space}},
		{"vertical tab before an intent", "\v" + deprecateIntent, []string{space}},
		{"no-break space before an intent", "\u00a0" + deprecateIntent, []string{space}},
		{"no-break space after an intent", deprecateIntent + "\u00a0", []string{space}},
		{"byte order mark before a batch", "\ufeff[" + mnsCloudEvent("ce-1", "M1", quote(deprecateIntent)) + "]", []string{space}},
		{"deep nesting", strings.Repeat("[", 100000), []string{strictjson.CodeTooDeep}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			msgs := Decode([]byte(tt.payload))
			var got []string
			for _, m := range msgs {
				got = append(got, Code(m.Err))
			}
			if !slices.Equal(got, tt.codes) {
				t.Fatalf("codes %q, want %q", got, tt.codes)
			}
			for i, m := range msgs {
				if m.ID == "" {
					t.Errorf("message %d has no ID", i)
				}
				if m.Err == nil && strings.Contains(string(m.Body), "\ufffd") {
					t.Errorf("message %d: a body with U+FFFD was accepted: %q", i, m.Body)
				}
			}
		})
	}
}

func TestCode(t *testing.T) {
	t.Parallel()
	for payload, want := range map[string]string{
		`{"events":[]}`: CodeUnknownShape,
		`{"id":"e","source":"s","specversion":"1.0","type":"t"}`:                              CodeMissingBody,
		`{"id":"e","source":"s","specversion":"1.0","type":"mns:Queue:SendMessage","data":1}`: CodeInvalidBody,
		`[` + mnsCloudEvent("c", "m", quote(b64("not an intent"))) + `]`:                      CodeInvalidBody,
		`{"triggerTime":"T","triggerName":"n","payload":"awesome-fc"}`:                        strictjson.CodeMalformed,
		`{"action":"deprecate"`: strictjson.CodeMalformed,
		``:                      strictjson.CodeMalformed,
	} {
		msgs := Decode([]byte(payload))
		if len(msgs) != 1 || Code(msgs[0].Err) != want {
			t.Errorf("%s: %d messages, first %v, want one with code %s", payload, len(msgs), msgs[0].Err, want)
		}
	}
	if Code(nil) != "" {
		t.Error("Code(nil) is not empty")
	}
}
