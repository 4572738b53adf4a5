package trigger

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/strictjson"
)

const (
	deprecateIntent = `{"action":"deprecate","imageId":"m-bp1a2b3c4d5e6f7g8h9i"}`
	activateIntent  = `{"action":"activate","id":"act-1","imageId":"m-bp1base7h8i9j0k1l2m"}`
)

// mnsCloudEvent builds an MNS CloudEvent as EventBridge delivers it; body is
// the messageBody value as raw JSON (normally a JSON string).
func mnsCloudEvent(id, messageID string, body string) string {
	return `{"id":"` + id + `","source":"MNS-fn-trigger","specversion":"1.0","type":"mns:Queue:SendMessage",` +
		`"datacontenttype":"application/json; charset=utf-8","subject":"acs:mns:cn-hangzhou:164901546557****:queues/q",` +
		`"time":"2021-04-08T06:28:17.093Z","aliyunpublishtime":"2020-11-19T21:04:42.179PRC",` +
		`"data":{"requestId":"606EA3074344430D4C81****","messageId":"` + messageID + `","messageBody":` + body + `}}`
}

// quote makes a JSON string of s, as messageBody, data or payload carry it.
func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// hashOf computes the expected id of a body without an id, independently of hashID.
func hashOf(body string) string {
	sum := sha256.Sum256([]byte(body))
	return "sha256:" + hex.EncodeToString(sum[:])[:16]
}

// want is one expected message. A nil errIs means the message must be usable.
type want struct {
	id      string
	source  string
	attempt int
	body    string // compared byte for byte
	errIs   error
	errHas  string // a phrase the error must contain
	event   bool   // the body is an ActionTrail event
}

// trailEvent is an ActionTrail CloudEvent of a CreateImage call, with top
// (members and their trailing comma) first.
func trailEvent(id, top string) string {
	return `{` + top + `"id":"` + id + `","source":"acs.ecs","specversion":"1.0","type":"ecs:ActionTrail:ApiCall",` +
		`"data":{"eventName":"CreateImage","acsRegion":"cn-hangzhou","requestParameters":{"ImageName":"web-1"}}}`
}

func TestDecode(t *testing.T) {
	t.Parallel()
	nested := `[[` + deprecateIntent + `],` + activateIntent + `]`
	tests := []struct {
		name    string
		payload string
		shape   Shape
		want    []want
	}{
		{
			name:    "an ActionTrail event is the message itself",
			payload: trailEvent("ev-1", ""),
			shape:   ShapeActionTrail,
			want:    []want{{id: "ev-1", source: SourceEventBridge, attempt: 1, body: trailEvent("ev-1", ""), event: true}},
		},
		{
			name:    "a batch of ActionTrail events",
			payload: `[` + trailEvent("ev-1", "") + `,` + trailEvent("ev-2", "") + `]`,
			shape:   ShapeActionTrail,
			want: []want{{id: "ev-1", source: SourceEventBridge, attempt: 1, body: trailEvent("ev-1", ""), event: true},
				{id: "ev-2", source: SourceEventBridge, attempt: 1, body: trailEvent("ev-2", ""), event: true}},
		},
		{
			name:    "another service's ActionTrail event is still an event (actiontrail.Decode says it is not ours)",
			payload: `{"id":"ev-3","source":"acs.actiontrail","specversion":"1.0","type":"actiontrail:ActionTrail:ApiCall","data":{"eventName":"DeleteDisk"}}`,
			shape:   ShapeActionTrail,
			want:    []want{{id: "ev-3", source: SourceEventBridge, attempt: 1, event: true}},
		},
		{
			name:    "a deferred event back from the retry queue counts its attempt",
			payload: `[` + mnsCloudEvent("ce-1", "MSG-9", quote(trailEvent("ev-1", `"retry":{"attempt":2,"firstSeen":"2026-11-27T04:12:10Z"},`))) + `]`,
			shape:   ShapeMNSStream,
			want: []want{{id: "MSG-9", source: SourceMNS, attempt: 3,
				body: trailEvent("ev-1", `"retry":{"attempt":2,"firstSeen":"2026-11-27T04:12:10Z"},`), event: true}},
		},
		{
			name:    "1-element array is an event-streaming batch of one",
			payload: `[` + mnsCloudEvent("ce-1", "MSG-1", quote(deprecateIntent)) + `]`,
			shape:   ShapeMNSStream,
			want:    []want{{id: "MSG-1", source: SourceMNS, attempt: 1, body: deprecateIntent}},
		},
		{
			name:    "single MNS CloudEvent is event-driven",
			payload: mnsCloudEvent("ce-1", "MSG-1", quote(deprecateIntent)),
			shape:   ShapeMNSEvent,
			want:    []want{{id: "MSG-1", source: SourceMNS, attempt: 1, body: deprecateIntent}},
		},
		{
			name:    "base64 body is decoded byte-exact",
			payload: `[` + mnsCloudEvent("ce-1", "MSG-1", quote(b64(" "+activateIntent+"\n"))) + `]`,
			shape:   ShapeMNSStream,
			want:    []want{{id: "MSG-1", source: SourceMNS, attempt: 1, body: " " + activateIntent + "\n"}},
		},
		{
			name:    "base64 that is not JSON is rejected",
			payload: `[` + mnsCloudEvent("ce-1", "MSG-1", quote(b64("deprecate m-bp1a2b3c4d5e6f7g8h9i"))) + `]`,
			shape:   ShapeMNSStream,
			want:    []want{{id: "MSG-1", source: SourceMNS, attempt: 1, errIs: ErrInvalidBody, errHas: "valid base64"}},
		},
		{
			name:    "plain body that looks like base64 is not misread",
			payload: `[` + mnsCloudEvent("ce-1", "MSG-1", `"TEST"`) + `]`,
			shape:   ShapeMNSStream,
			want: []want{{id: "MSG-1", source: SourceMNS, attempt: 1, body: `"TEST"`, errIs: ErrInvalidBody,
				errHas: "not taken for base64"}},
		},
		{
			name:    "bad base64 is rejected",
			payload: `[` + mnsCloudEvent("ce-1", "MSG-1", `"not json, not base64!"`) + `]`,
			shape:   ShapeMNSStream,
			want:    []want{{id: "MSG-1", source: SourceMNS, attempt: 1, errIs: ErrInvalidBody, errHas: "not base64 either"}},
		},
		{
			name:    "JSON body that is a number is rejected",
			payload: `[` + mnsCloudEvent("ce-1", "MSG-1", `"1234"`) + `]`,
			shape:   ShapeMNSStream,
			want:    []want{{id: "MSG-1", source: SourceMNS, attempt: 1, body: `1234`, errIs: ErrInvalidBody, errHas: "a JSON number"}},
		},
		{
			name:    "messageBody given as a JSON object is taken as it is",
			payload: mnsCloudEvent("ce-1", "MSG-1", deprecateIntent),
			shape:   ShapeMNSEvent,
			want:    []want{{id: "MSG-1", source: SourceMNS, attempt: 1, body: deprecateIntent}},
		},
		{
			name:    "body that is an array of intents splits with #index ids",
			payload: `[` + mnsCloudEvent("ce-1", "MSG-1", quote(`[`+deprecateIntent+`, `+activateIntent+`]`)) + `]`,
			shape:   ShapeMNSStream,
			want: []want{
				{id: "MSG-1#0", source: SourceMNS, attempt: 1, body: deprecateIntent},
				{id: "MSG-1#1", source: SourceMNS, attempt: 1, body: activateIntent},
			},
		},
		{
			name:    "nested array in a body: the inner array is rejected, its sibling kept",
			payload: `[` + mnsCloudEvent("ce-1", "MSG-1", quote(nested)) + `]`,
			shape:   ShapeMNSStream,
			want: []want{
				{id: "MSG-1#0", source: SourceMNS, attempt: 1, body: `[` + deprecateIntent + `]`, errIs: ErrInvalidBody, errHas: "element 0"},
				{id: "MSG-1#1", source: SourceMNS, attempt: 1, body: activateIntent},
			},
		},
		{
			name:    "body that is an empty array is rejected, not dropped",
			payload: `[` + mnsCloudEvent("ce-1", "MSG-1", `"[]"`) + `]`,
			shape:   ShapeMNSStream,
			want:    []want{{id: "MSG-1", source: SourceMNS, attempt: 1, body: `[]`, errIs: ErrInvalidBody, errHas: "empty array"}},
		},
		{
			name:    "missing data keeps the CloudEvent id",
			payload: `[{"id":"ce-7","source":"acs:mns","specversion":"1.0","type":"mns:Queue:SendMessage"}]`,
			shape:   ShapeMNSStream,
			want:    []want{{id: "ce-7", source: SourceMNS, attempt: 1, errIs: ErrMissingBody, errHas: "no data"}},
		},
		{
			name:    "missing messageBody keeps the message id",
			payload: `[{"id":"ce-7","specversion":"1.0","type":"mns:Queue:SendMessage","data":{"requestId":"r","messageId":"MSG-7"}}]`,
			shape:   ShapeMNSStream,
			want:    []want{{id: "MSG-7", source: SourceMNS, attempt: 1, errIs: ErrMissingBody, errHas: "messageBody"}},
		},
		{
			name:    "empty messageBody",
			payload: mnsCloudEvent("ce-1", "MSG-1", `""`),
			shape:   ShapeMNSEvent,
			want:    []want{{id: "MSG-1", source: SourceMNS, attempt: 1, errIs: ErrMissingBody, errHas: "empty"}},
		},
		{
			name:    "MNS data that is not an object",
			payload: `{"id":"ce-8","specversion":"1.0","type":"mns:Queue:SendMessage","data":"x"}`,
			shape:   ShapeMNSEvent,
			want:    []want{{id: "ce-8", source: SourceMNS, attempt: 1, errIs: ErrInvalidBody, errHas: "a JSON string"}},
		},
		{
			name:    "RawData elements",
			payload: `[{"requestId":"r1","messageId":"MSG-1","messageBody":` + quote(deprecateIntent) + `},{"requestId":"r2","messageId":"MSG-2"}]`,
			shape:   ShapeMNSRawData,
			want: []want{
				{id: "MSG-1", source: SourceMNS, attempt: 1, body: deprecateIntent},
				{id: "MSG-2", source: SourceMNS, attempt: 1, errIs: ErrMissingBody},
			},
		},
		{
			name:    "custom event with data object, whatever its source and time format",
			payload: `{"id":"ev-1","source":"ci.pipeline","specversion":"1.0","type":"image:Build:Succeeded","aliyunpublishtime":"2020-11-19T21:04:42.179PRC","data":` + activateIntent + `}`,
			shape:   ShapeEventBridge,
			want:    []want{{id: "ev-1", source: SourceEventBridge, attempt: 1, body: activateIntent}},
		},
		{
			name:    "custom event with data as a string",
			payload: `[{"id":"ev-2","source":"s","specversion":"1.0","type":"t","data":` + quote(deprecateIntent) + `}]`,
			shape:   ShapeEventBridge,
			want:    []want{{id: "ev-2", source: SourceEventBridge, attempt: 1, body: deprecateIntent}},
		},
		{
			name:    "custom event whose data string is not JSON",
			payload: `{"id":"ev-3","source":"s","specversion":"1.0","type":"t","data":"hello"}`,
			shape:   ShapeEventBridge,
			want:    []want{{id: "ev-3", source: SourceEventBridge, attempt: 1, body: `"hello"`, errIs: ErrInvalidBody}},
		},
		{
			name:    "custom event without data",
			payload: `{"id":"ev-4","source":"s","specversion":"1.0","type":"t"}`,
			shape:   ShapeEventBridge,
			want:    []want{{id: "ev-4", source: SourceEventBridge, attempt: 1, errIs: ErrMissingBody}},
		},
		{
			name:    "custom event without specversion is still a CloudEvent",
			payload: `{"id":"ev-5","source":"s","type":"t","data":` + deprecateIntent + `}`,
			shape:   ShapeEventBridge,
			want:    []want{{id: "ev-5", source: SourceEventBridge, attempt: 1, body: deprecateIntent}},
		},
		{
			name:    "custom event carrying an array of intents",
			payload: `{"id":"ev-6","source":"s","specversion":"1.0","type":"t","data":[` + deprecateIntent + `,` + activateIntent + `]}`,
			shape:   ShapeEventBridge,
			want: []want{
				{id: "ev-6#0", source: SourceEventBridge, attempt: 1, body: deprecateIntent},
				{id: "ev-6#1", source: SourceEventBridge, attempt: 1, body: activateIntent},
			},
		},
		{
			name:    "timer payload with one intent",
			payload: `{"triggerTime":"2023-12-26T07:49:00Z","triggerName":"nightly","payload":` + quote(deprecateIntent) + `}`,
			shape:   ShapeTimer,
			want:    []want{{id: "timer:nightly:2023-12-26T07:49:00Z:0", source: SourceTimer, attempt: 1, body: deprecateIntent}},
		},
		{
			name:    "timer payload with an array: intent id, else timer id with index",
			payload: `{"triggerTime":"T","triggerName":"n","payload":` + quote(`[`+activateIntent+`,`+deprecateIntent+`]`) + `}`,
			shape:   ShapeTimer,
			want: []want{
				{id: "act-1", source: SourceTimer, attempt: 1, body: activateIntent},
				{id: "timer:n:T:1", source: SourceTimer, attempt: 1, body: deprecateIntent},
			},
		},
		{
			name:    "timer payload not JSON",
			payload: `{"triggerTime":"2023-12-26T07:49:00Z","triggerName":"timer-trigger","payload":"awesome-fc"}`,
			shape:   ShapeTimer,
			want: []want{{id: "timer:timer-trigger:2023-12-26T07:49:00Z:0", source: SourceTimer, attempt: 1, body: `"awesome-fc"`,
				errIs: ErrInvalidBody, errHas: "timer payload is not JSON"}},
		},
		{
			name:    "timer without payload",
			payload: `{"triggerTime":"T","triggerName":"n"}`,
			shape:   ShapeTimer,
			want:    []want{{id: "timer:n:T:0", source: SourceTimer, attempt: 1, errIs: ErrMissingBody}},
		},
		{
			name:    "direct intent with id",
			payload: activateIntent,
			shape:   ShapeDirect,
			want:    []want{{id: "act-1", source: SourceDirect, attempt: 1, body: activateIntent}},
		},
		{
			name:    "direct intent without id is named by its hash",
			payload: deprecateIntent,
			shape:   ShapeDirect,
			want:    []want{{id: hashOf(deprecateIntent), source: SourceDirect, attempt: 1, body: deprecateIntent}},
		},
		{
			name:    "direct array",
			payload: `[` + deprecateIntent + `, ` + activateIntent + `]`,
			shape:   ShapeDirect,
			want: []want{
				{id: hashOf(deprecateIntent), source: SourceDirect, attempt: 1, body: deprecateIntent},
				{id: "act-1", source: SourceDirect, attempt: 1, body: activateIntent},
			},
		},
		{
			name:    "direct array with a stray element: only that element is rejected",
			payload: `[` + deprecateIntent + `, 42]`,
			shape:   ShapeDirect,
			want: []want{
				{id: hashOf(deprecateIntent), source: SourceDirect, attempt: 1, body: deprecateIntent},
				{id: hashOf("42"), source: SourceUnknown, attempt: 1, body: "42", errIs: ErrUnknownShape, errHas: "element 1"},
			},
		},
		{
			name:    "deferred message: attempt is retry.attempt+1",
			payload: `{"action":"deprecate","imageId":"m-1","retry":{"attempt":3,"firstSeen":"2026-11-27T08:00:00Z","messageId":"MSG-0"}}`,
			shape:   ShapeDirect,
			want: []want{{id: hashOf(`{"action":"deprecate","imageId":"m-1","retry":{"attempt":3,"firstSeen":"2026-11-27T08:00:00Z","messageId":"MSG-0"}}`),
				source: SourceDirect, attempt: 4, body: `{"action":"deprecate","imageId":"m-1","retry":{"attempt":3,"firstSeen":"2026-11-27T08:00:00Z","messageId":"MSG-0"}}`}},
		},
		{
			name:    "deferred MNS message in base64",
			payload: `[` + mnsCloudEvent("ce-1", "MSG-2", quote(b64(`{"action":"activate","imageId":"m-1","retry":{"attempt":2.0}}`))) + `]`,
			shape:   ShapeMNSStream,
			want:    []want{{id: "MSG-2", source: SourceMNS, attempt: 3, body: `{"action":"activate","imageId":"m-1","retry":{"attempt":2.0}}`}},
		},
		{
			name:    "retry of the wrong type is not validated here: attempt 1",
			payload: `{"action":"activate","id":"x","retry":{"attempt":"three"}}`,
			shape:   ShapeDirect,
			want:    []want{{id: "x", source: SourceDirect, attempt: 1, body: `{"action":"activate","id":"x","retry":{"attempt":"three"}}`}},
		},
		// A member of the wrong type reads as empty (str): the element is
		// still located, named by the next id it carries, and kept.
		{
			name:    "numeric MNS messageId: the CloudEvent id names it",
			payload: `{"specversion":"1.0","id":"ce-1","type":"mns:Queue:SendMessage","data":{"messageId":4,"messageBody":` + quote(deprecateIntent) + `}}`,
			shape:   ShapeMNSEvent,
			want:    []want{{id: "ce-1", source: SourceMNS, attempt: 1, body: deprecateIntent}},
		},
		{
			name:    "numeric specversion is still a CloudEvent",
			payload: `{"specversion":1,"id":"ev-1","type":"t","source":"s","data":` + deprecateIntent + `}`,
			shape:   ShapeEventBridge,
			want:    []want{{id: "ev-1", source: SourceEventBridge, attempt: 1, body: deprecateIntent}},
		},
		{
			name:    "timer name and time of other types still make a timer",
			payload: `{"triggerTime":1,"triggerName":{},"payload":` + quote(deprecateIntent) + `}`,
			shape:   ShapeTimer,
			want:    []want{{id: "timer:::0", source: SourceTimer, attempt: 1, body: deprecateIntent}},
		},
		{
			name:    "retry that is not an object keeps the intent id",
			payload: `{"action":"activate","id":"act-9","retry":3}`,
			shape:   ShapeDirect,
			want:    []want{{id: "act-9", source: SourceDirect, attempt: 1, body: `{"action":"activate","id":"act-9","retry":3}`}},
		},
		{
			name:    "retry that is an array keeps the intent id",
			payload: `{"action":"activate","id":"act-9","retry":[{"attempt":2}]}`,
			shape:   ShapeDirect,
			want:    []want{{id: "act-9", source: SourceDirect, attempt: 1, body: `{"action":"activate","id":"act-9","retry":[{"attempt":2}]}`}},
		},
		{
			name:    "numeric intent id: named by its hash, its attempt still read",
			payload: `{"action":"activate","id":7,"retry":{"attempt":2}}`,
			shape:   ShapeDirect,
			want: []want{{id: hashOf(`{"action":"activate","id":7,"retry":{"attempt":2}}`), source: SourceDirect, attempt: 3,
				body: `{"action":"activate","id":7,"retry":{"attempt":2}}`}},
		},
		{
			name:    "empty array gives no messages",
			payload: `[]`,
			shape:   ShapeEmpty,
		},
		{
			name:    "whitespace around an empty array",
			payload: " \n\t[ \r\n ]\n",
			shape:   ShapeEmpty,
		},
		{
			name:    "whitespace around an intent is not part of its body",
			payload: "\n\t  " + activateIntent + " \r\n",
			shape:   ShapeDirect,
			want:    []want{{id: "act-1", source: SourceDirect, attempt: 1, body: activateIntent}},
		},
		{
			name:    "whitespace before a batch",
			payload: "\n   [\n" + mnsCloudEvent("ce-1", "MSG-1", quote(deprecateIntent)) + "\n]",
			shape:   ShapeMNSStream,
			want:    []want{{id: "MSG-1", source: SourceMNS, attempt: 1, body: deprecateIntent}},
		},
		{
			name:    "empty payload",
			payload: "  ",
			shape:   ShapeUnknown,
			want:    []want{{id: hashOf(""), source: SourceUnknown, attempt: 1, errIs: ErrUnknownShape, errHas: "accepted"}},
		},
		{
			name:    "payload that is not JSON",
			payload: "deprecate m-1",
			shape:   ShapeUnknown,
			want:    []want{{id: hashOf("deprecate m-1"), source: SourceUnknown, attempt: 1, body: `"deprecate m-1"`, errIs: ErrUnknownShape, errHas: "not JSON"}},
		},
		{
			name:    "truncated batch",
			payload: `[` + mnsCloudEvent("ce-1", "MSG-1", quote(deprecateIntent)),
			shape:   ShapeUnknown,
			want:    []want{{source: SourceUnknown, attempt: 1, errIs: ErrUnknownShape}},
		},
		{
			name:    "OSS event: one message for the whole payload",
			payload: `{"events":[{"eventName":"ObjectCreated:PutObject","eventSource":"acs:oss"}]}`,
			shape:   ShapeUnknown,
			want:    []want{{source: SourceUnknown, attempt: 1, errIs: ErrUnknownShape, errHas: "keys events"}},
		},
		{
			name:    "array of serialized events (Kafka style): one message, not one per element",
			payload: `["{\"id\":\"1\"}","{\"id\":\"2\"}"]`,
			shape:   ShapeUnknown,
			want:    []want{{source: SourceUnknown, attempt: 1, errIs: ErrUnknownShape, errHas: "first element is a JSON string"}},
		},
		{
			name:    "intent with a misspelt action key is not guessed at",
			payload: `{"acton":"deprecate","imageId":"m-1"}`,
			shape:   ShapeUnknown,
			want:    []want{{source: SourceUnknown, attempt: 1, errIs: ErrUnknownShape, errHas: "acton"}},
		},
		{
			name:    "MNS topic event: keys are matched exactly, so MessageId is not messageId",
			payload: `{"TopicOwner":"164901546557****","Message":"hello","Subscriber":"164901546557****","PublishTime":1658235558094,"SubscriptionName":"sub","MessageMD5":"5D41402ABC4B2A76B9719D911017C592","TopicName":"topic","MessageId":"2B5E1A0F3D8C4B1A****"}`,
			shape:   ShapeUnknown,
			want:    []want{{source: SourceUnknown, attempt: 1, errIs: ErrUnknownShape, errHas: "MessageId"}},
		},
		{
			name:    "MNS data keys are matched exactly too",
			payload: `{"id":"ce-9","specversion":"1.0","type":"mns:Queue:SendMessage","data":{"MessageId":"M","MessageBody":` + quote(deprecateIntent) + `}}`,
			shape:   ShapeMNSEvent,
			want:    []want{{id: "ce-9", source: SourceMNS, attempt: 1, errIs: ErrMissingBody}},
		},
		{
			name:    "JSON null",
			payload: `null`,
			shape:   ShapeUnknown,
			want:    []want{{source: SourceUnknown, attempt: 1, body: "null", errIs: ErrUnknownShape}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := detect([]byte(tc.payload)); got != tc.shape {
				t.Errorf("detect = %q, want %q", got, tc.shape)
			}
			got := Decode([]byte(tc.payload))
			if len(got) != len(tc.want) {
				t.Fatalf("got %d messages, want %d: %+v", len(got), len(tc.want), got)
			}
			for i, w := range tc.want {
				checkMessage(t, i, got[i], w)
			}
		})
	}
}

func checkMessage(t *testing.T, i int, got Message, w want) {
	t.Helper()
	if got.ID == "" {
		t.Errorf("message %d: empty ID", i)
	}
	if w.id != "" && got.ID != w.id {
		t.Errorf("message %d: ID = %q, want %q", i, got.ID, w.id)
	}
	if got.Source != w.source {
		t.Errorf("message %d: Source = %q, want %q", i, got.Source, w.source)
	}
	if got.Attempt != w.attempt {
		t.Errorf("message %d: Attempt = %d, want %d", i, got.Attempt, w.attempt)
	}
	if w.body != "" && string(got.Body) != w.body {
		t.Errorf("message %d: Body = %q, want %q", i, got.Body, w.body)
	}
	if got.Body != nil && !json.Valid(got.Body) {
		t.Errorf("message %d: Body is not JSON: %q", i, got.Body)
	}
	if got.Event != w.event {
		t.Errorf("message %d: Event = %v, want %v", i, got.Event, w.event)
	}
	if got.Event && got.IntentID != "" {
		t.Errorf("message %d: an event has the intent id %q", i, got.IntentID)
	}
	switch {
	case w.errIs == nil && got.Err != nil:
		t.Errorf("message %d: unexpected Err %v", i, got.Err)
	case w.errIs != nil && !errors.Is(got.Err, w.errIs):
		t.Errorf("message %d: Err = %v, want errors.Is %v", i, got.Err, w.errIs)
	case w.errHas != "" && got.Err != nil && !strings.Contains(got.Err.Error(), w.errHas):
		t.Errorf("message %d: Err = %q, want it to mention %q", i, got.Err, w.errHas)
	}
}

// TestDecodeDoesNotAliasPayload makes sure a Body stays intact when the caller
// reuses its payload buffer (the FC runtime loop may).
func TestDecodeDoesNotAliasPayload(t *testing.T) {
	t.Parallel()
	for _, payload := range []string{activateIntent, "[" + activateIntent + "]", `{"nope":1}`} {
		buf := []byte(payload)
		msgs := Decode(buf)
		before := string(msgs[0].Body)
		for i := range buf {
			buf[i] = 'x'
		}
		if got := string(msgs[0].Body); got != before {
			t.Errorf("payload %s: Body changed with the caller's buffer: %q", payload, got)
		}
	}
}

// batch builds an event-streaming payload of n MNS messages, every tenth of
// them base64-encoded as a producer with IsBase64Decode off would send it.
func batch(n int) []byte {
	var buf bytes.Buffer
	buf.WriteByte('[')
	for i := range n {
		if i > 0 {
			buf.WriteByte(',')
		}
		intent := fmt.Sprintf(`{"action":"deprecate","imageId":"m-bp1%017d"}`, i)
		body := quote(intent)
		if i%10 == 0 {
			body = quote(b64(intent))
		}
		buf.WriteString(mnsCloudEvent(fmt.Sprintf("ce-%d", i), fmt.Sprintf("MSG-%d", i), body))
	}
	buf.WriteByte(']')
	return buf.Bytes()
}

// TestDecodeLargeBatch checks that the largest batch EventBridge pushes
// (CountBasedWindow up to 10000) comes back whole and in order.
func TestDecodeLargeBatch(t *testing.T) {
	t.Parallel()
	const n = 10000
	msgs := Decode(batch(n))
	if len(msgs) != n {
		t.Fatalf("got %d messages, want %d", len(msgs), n)
	}
	for i, m := range msgs {
		wantBody := fmt.Sprintf(`{"action":"deprecate","imageId":"m-bp1%017d"}`, i)
		if m.Err != nil || m.ID != "MSG-"+strconv.Itoa(i) || string(m.Body) != wantBody || m.Source != SourceMNS {
			t.Fatalf("message %d = {ID:%q Source:%q Body:%s Err:%v}, want ID MSG-%d and body %s", i, m.ID, m.Source, m.Body, m.Err, i, wantBody)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	payload := batch(10000)
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		if msgs := Decode(payload); len(msgs) != 10000 {
			b.Fatalf("got %d messages", len(msgs))
		}
	}
}

// FuzzDecode checks the promises Decode makes for any input: it never panics,
// every message has an ID, a Source and an Attempt of at least 1, a Body that
// is JSON text, a refused message has a code, a usable message's Body is a
// JSON object that passes the strict reading, and there is at least one
// message unless the payload is an empty JSON array. Seeded from events/
// (every sample and trigger fixture) and from testdata/fuzz.
//
//	go test ./function/trigger -run '^$' -fuzz FuzzDecode -fuzztime 60s
func FuzzDecode(f *testing.F) {
	for _, pattern := range []string{filepath.Join(fixtureDir, "*.json"), filepath.Join(fixtureDir, "..", "*.json")} {
		paths, _ := filepath.Glob(pattern)
		for _, p := range paths {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	for _, s := range []string{
		"", "[]", " [ ] ", "null", "{}", "[{}]", "[1]", `"x"`, deprecateIntent,
		`[` + mnsCloudEvent("c", "m", `"TEST"`) + `]`,
		`{"triggerTime":"T","triggerName":"n","payload":"[[]]"}`,
		`{"id":"e","source":"s","specversion":"1.0","type":"t","data":"[{},1]"}`,
		"\f[]", "\u00a0" + deprecateIntent, `{"action":"a","action":"b"}`, "{\"action\":\"\xff\"}",
	} {
		f.Add([]byte(s))
	}
	sources := map[string]bool{SourceMNS: true, SourceEventBridge: true, SourceTimer: true, SourceDirect: true, SourceUnknown: true}
	f.Fuzz(func(t *testing.T, payload []byte) {
		msgs := Decode(payload)
		elems, isArray, err := strictjson.Split(payload)
		emptyArray := err == nil && isArray && len(elems) == 0
		if emptyArray != (len(msgs) == 0) {
			t.Fatalf("empty array: %v, but %d messages", emptyArray, len(msgs))
		}
		if emptyArray != (detect(payload) == ShapeEmpty) {
			t.Fatalf("empty array: %v, but detect = %q", emptyArray, detect(payload))
		}
		for i, m := range msgs {
			if m.ID == "" || !sources[m.Source] || m.Attempt < 1 {
				t.Fatalf("message %d: ID %q, Source %q, Attempt %d", i, m.ID, m.Source, m.Attempt)
			}
			if m.Body != nil && !strictjson.Syntactic(m.Body) {
				t.Fatalf("message %d: Body is not JSON text: %q", i, m.Body)
			}
			if m.Err != nil && Code(m.Err) == "" {
				t.Fatalf("message %d: refused without a code: %v", i, m.Err)
			}
			if m.Err == nil && (firstByte(m.Body) != '{' || strictjson.Check(m.Body) != nil) {
				t.Fatalf("message %d: usable, but its Body is not a strict JSON object: %q", i, m.Body)
			}
		}
	})
}

// Decoding allocates what the messages carry and little else: envelopes are
// read token by token into the stack, not by reflection into structs. An MNS
// message whose body is a string costs its unquoted body, its message id and
// its intent's id; the payload's copy and the messages' slice are shared by
// the batch.
func TestDecodeAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's sync.Pool drops decoders at random")
	}
	const n = 100
	var buf bytes.Buffer
	buf.WriteByte('[')
	for i := range n {
		if i > 0 {
			buf.WriteByte(',')
		}
		intent := fmt.Sprintf(`{"action":"modify","id":"over-%d","imageId":"m-over%05d","attributes":{"imageName":"new-name-%d",`+
			`"description":"a new description","status":"Available","features":{"nvmeSupport":"supported"}}}`, i, i, i)
		buf.WriteString(mnsCloudEvent(fmt.Sprintf("ce-%d", i), fmt.Sprintf("%032X", i), quote(intent)))
	}
	buf.WriteByte(']')
	payload := buf.Bytes()
	if msgs := Decode(payload); len(msgs) != n || msgs[n-1].Err != nil || msgs[n-1].IntentID != "over-99" {
		t.Fatalf("got %d messages, the last %+v", len(msgs), msgs[len(msgs)-1])
	}
	if per := testing.AllocsPerRun(20, func() { Decode(payload) }) / n; per > 3.5 {
		t.Errorf("Decode allocates %.2f times per message, want 3.5 at most", per)
	}
}
