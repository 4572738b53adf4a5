package trigger

import (
	"bytes"
	"slices"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/redact"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/strictjson"
)

// Shape names the form a payload arrived in. It is decided by structure (which
// keys are present, object or array), never by values such as `source` or time
// formats, which differ between the console, the docs and EventBridge itself.
type Shape string

const (
	// ShapeMNSStream is FC's MNS queue trigger in event-streaming mode: a JSON
	// array of CloudEvents of type mns:Queue:SendMessage, even for one message.
	ShapeMNSStream Shape = "mns-event-streaming"
	// ShapeMNSEvent is the same CloudEvent delivered alone (event-driven mode).
	ShapeMNSEvent Shape = "mns-event-driven"
	// ShapeEventBridge is a custom EventBridge CloudEvent (or an array of them)
	// carrying the intent in `data`.
	ShapeEventBridge Shape = "eventbridge"
	// ShapeMNSRawData is the RawData delivery schema: the CloudEvents' `data`
	// objects {requestId, messageId, messageBody} without their envelopes.
	ShapeMNSRawData Shape = "mns-rawdata"
	// ShapeTimer is a timer trigger event {triggerTime, triggerName, payload}.
	ShapeTimer Shape = "timer"
	// ShapeDirect is a direct invoke: an intent object or an array of intents.
	ShapeDirect Shape = "direct"
	// ShapeEmpty is an empty JSON array: a batch of nothing.
	ShapeEmpty Shape = "empty"
	// ShapeUnknown is anything else, including a payload that is not JSON.
	ShapeUnknown Shape = "unknown"
)

// Sources, as carried in Message.Source.
const (
	SourceMNS         = "mns"
	SourceEventBridge = "eventbridge"
	SourceTimer       = "timer"
	SourceDirect      = "direct"
	// SourceUnknown marks the single message that stands for a payload of an
	// unknown shape, so that it is still reported rather than lost.
	SourceUnknown = "unknown"
)

// mnsEventType is the CloudEvent type EventBridge gives a message read from
// an MNS queue; it is the one value the decoder looks at, because it is what
// tells an MNS event from a custom event that carries its intent in `data`.
const mnsEventType = "mns:Queue:SendMessage"

// accepted is the part of an unknown-shape error that tells the sender what
// would have been understood.
const accepted = "accepted: an MNS queue CloudEvent (type " + mnsEventType +
	", data.messageBody) or a JSON array of them; an EventBridge CloudEvent with the intent in `data`, or an array of them; " +
	"an array of MNS RawData objects {requestId, messageId, messageBody}; a timer event {triggerTime, triggerName, payload}; " +
	"an intent object (with \"action\") or a JSON array of intents"

// kind is what one located element (the payload, or one array element) is.
type kind int

const (
	kindUnknown kind = iota
	kindCloudEvent
	kindRawData
	kindTimer
	kindIntent
)

// probe holds the top-level keys that tell the shapes apart. Keys are matched
// exactly, as the intent decoder matches them (a case-insensitive match would
// take an MNS topic event's "MessageId" for "messageId"), and values are kept
// raw so that a wrong type in one of them (a numeric id, say) does not fail
// the whole element: it is judged where it is used.
type probe struct {
	SpecVersion jsontext.Value `json:"specversion"`
	ID          jsontext.Value `json:"id"`
	Type        jsontext.Value `json:"type"`
	Source      jsontext.Value `json:"source"`
	Data        jsontext.Value `json:"data"`
	TriggerTime jsontext.Value `json:"triggerTime"`
	TriggerName jsontext.Value `json:"triggerName"`
	Payload     jsontext.Value `json:"payload"`
	Action      jsontext.Value `json:"action"`
	MessageID   jsontext.Value `json:"messageId"`
	MessageBody jsontext.Value `json:"messageBody"`
}

// readProbe reads an object's keys (json v2 matches names exactly, and
// refuses a repeated one); ok is false when raw is not an object.
func readProbe(raw jsontext.Value) (p probe, ok bool) {
	if firstByte(raw) != '{' || json.Unmarshal(raw, &p) != nil {
		return p, false
	}
	return p, true
}

// mnsData is the `data` of an MNS CloudEvent, and one RawData element.
type mnsData struct {
	MessageID   jsontext.Value `json:"messageId"`
	MessageBody jsontext.Value `json:"messageBody"`
}

// readMNSData reads data's keys, exactly; ok is false when it is not an object.
func readMNSData(raw jsontext.Value) (d mnsData, ok bool) {
	if firstByte(raw) != '{' || json.Unmarshal(raw, &d) != nil {
		return d, false
	}
	return d, true
}

// element is one located element with what was learnt about it.
type element struct {
	raw   jsontext.Value
	probe probe
	kind  kind
	// mns is set, with data, when a CloudEvent is an MNS message.
	mns  bool
	data mnsData
}

// examine classifies one element. An element that is not a JSON object is of
// unknown kind.
func examine(raw jsontext.Value) element {
	e := element{raw: raw}
	var ok bool
	if e.probe, ok = readProbe(raw); !ok {
		return e
	}
	p := &e.probe
	switch {
	case has(p.SpecVersion):
		e.kind = kindCloudEvent
	case has(p.MessageBody) || has(p.MessageID):
		e.kind = kindRawData
	case has(p.TriggerTime) && has(p.TriggerName):
		e.kind = kindTimer
	case has(p.Action):
		e.kind = kindIntent
	case has(p.Type) && has(p.Source) && has(p.ID):
		// A CloudEvent whose producer left out specversion.
		e.kind = kindCloudEvent
	}
	if e.kind == kindCloudEvent {
		typ := stringOf(p.Type)
		// data carrying messageBody is an MNS message whatever its type says:
		// an intent never has that key, so reading it as one could only fail.
		var isObject bool
		e.data, isObject = readMNSData(p.Data)
		e.mns = typ == mnsEventType || (isObject && has(e.data.MessageBody))
	}
	return e
}

// shapeOf names the shape of a payload whose first element is e.
func shapeOf(e element, inArray bool) Shape {
	switch e.kind {
	case kindCloudEvent:
		switch {
		case !e.mns:
			return ShapeEventBridge
		case inArray:
			return ShapeMNSStream
		default:
			return ShapeMNSEvent
		}
	case kindRawData:
		return ShapeMNSRawData
	case kindTimer:
		return ShapeTimer
	case kindIntent:
		return ShapeDirect
	}
	return ShapeUnknown
}

// detect names the shape of a payload, for the tests (the golden files name
// it); Decode makes the same decision.
func detect(payload []byte) Shape {
	elems, inArray, err := strictjson.Split(payload)
	switch {
	case err != nil:
		return ShapeUnknown
	case inArray && len(elems) == 0:
		return ShapeEmpty
	}
	for _, el := range elems {
		if el.Err == nil {
			return shapeOf(examine(el.Raw), inArray)
		}
	}
	return ShapeUnknown
}

// has reports whether a key was present with a non-null value.
func has(raw jsontext.Value) bool {
	return len(raw) > 0 && !bytes.Equal(raw, []byte("null"))
}

// text reads a JSON string's text; ok is false for anything else.
func text(raw jsontext.Value) ([]byte, bool) {
	if firstByte(raw) != '"' {
		return nil, false
	}
	s, err := jsontext.AppendUnquote(nil, bytes.TrimRight(raw, jsonSpace))
	if err != nil {
		return nil, false
	}
	return s, true
}

// jsonSpace is the whitespace JSON allows between tokens, and the only
// whitespace ever trimmed: anything else is part of what was sent.
const jsonSpace = " \t\r\n"

// trimSpace trims JSON whitespace.
func trimSpace(b []byte) []byte { return bytes.Trim(b, jsonSpace) }

// firstByte is the first byte that is not JSON whitespace, or 0.
func firstByte(b []byte) byte {
	if t := bytes.TrimLeft(b, jsonSpace); len(t) > 0 {
		return t[0]
	}
	return 0
}

// keysOf lists an object's keys for an error message, at most a few of them,
// each clipped: the names are the sender's.
func keysOf(raw jsontext.Value) string {
	d := strictjson.NewDecoder(raw, jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	if tok, err := d.ReadToken(); err != nil || tok.Kind() != '{' {
		return ""
	}
	var keys []string
	for d.PeekKind() == '"' {
		tok, err := d.ReadToken()
		if err != nil {
			return ""
		}
		// Read before the next call: it would void the token.
		keys = append(keys, redact.Clip(tok.String(), redact.EchoLimit))
		if _, err := d.ReadValue(); err != nil {
			return ""
		}
	}
	// Sorted so that the same payload always gives the same error text.
	slices.Sort(keys)
	keys = slices.Compact(keys)
	if len(keys) > 8 {
		keys = append(keys[:8], "...")
	}
	return strings.Join(keys, ", ")
}
