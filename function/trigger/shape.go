package trigger

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
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
// exactly, as the intent decoder matches them (encoding/json's struct
// matching would take an MNS topic event's "MessageId" for "messageId"), and
// values are kept raw so that a wrong type in one of them (a numeric id, say)
// does not fail the whole element: it is judged where it is used.
type probe struct {
	SpecVersion json.RawMessage
	ID          json.RawMessage
	Type        json.RawMessage
	Source      json.RawMessage
	Data        json.RawMessage
	TriggerTime json.RawMessage
	TriggerName json.RawMessage
	Payload     json.RawMessage
	Action      json.RawMessage
	MessageID   json.RawMessage
	MessageBody json.RawMessage
}

// readProbe reads an object's keys; ok is false when raw is not an object.
func readProbe(raw json.RawMessage) (p probe, ok bool) {
	var m map[string]json.RawMessage
	if firstByte(raw) != '{' || json.Unmarshal(raw, &m) != nil {
		return p, false
	}
	return probe{
		SpecVersion: m["specversion"], ID: m["id"], Type: m["type"], Source: m["source"], Data: m["data"],
		TriggerTime: m["triggerTime"], TriggerName: m["triggerName"], Payload: m["payload"],
		Action: m["action"], MessageID: m["messageId"], MessageBody: m["messageBody"],
	}, true
}

// mnsData is the `data` of an MNS CloudEvent, and one RawData element.
type mnsData struct {
	MessageID   json.RawMessage
	MessageBody json.RawMessage
}

// readMNSData reads data's keys, exactly; ok is false when it is not an object.
func readMNSData(raw json.RawMessage) (d mnsData, ok bool) {
	var m map[string]json.RawMessage
	if firstByte(raw) != '{' || json.Unmarshal(raw, &m) != nil {
		return d, false
	}
	return mnsData{MessageID: m["messageId"], MessageBody: m["messageBody"]}, true
}

// element is one located element with what was learnt about it.
type element struct {
	raw   json.RawMessage
	probe probe
	kind  kind
	// mns is set, with data, when a CloudEvent is an MNS message.
	mns  bool
	data mnsData
}

// examine classifies one element. An element that is not a JSON object is of
// unknown kind.
func examine(raw json.RawMessage) element {
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
		typ, _ := str(p.Type)
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

// payloadElements splits a payload into its elements: one for an object, one
// per element for an array. It returns no elements and no error for JSON of
// another kind (a string, a number) and for an empty payload.
func payloadElements(payload []byte) (elems []json.RawMessage, inArray bool, err error) {
	trimmed := bytes.TrimSpace(payload)
	switch firstByte(trimmed) {
	case '[':
		if err := json.Unmarshal(trimmed, &elems); err != nil {
			return nil, true, err
		}
		return elems, true, nil
	case '{':
		if !json.Valid(trimmed) {
			// Unmarshal into a throwaway value only to get a precise error.
			var v map[string]json.RawMessage
			return nil, false, json.Unmarshal(trimmed, &v)
		}
		// A copy, so that a message's Body never aliases the caller's buffer
		// (array elements are copies already).
		return []json.RawMessage{bytes.Clone(trimmed)}, false, nil
	}
	return nil, false, nil
}

// Detect names the shape of a payload. It is meant for logs and tests; Decode
// makes the same decision.
func Detect(payload []byte) Shape {
	elems, inArray, err := payloadElements(payload)
	switch {
	case err != nil:
		return ShapeUnknown
	case inArray && len(elems) == 0:
		return ShapeEmpty
	case len(elems) == 0:
		return ShapeUnknown
	}
	return shapeOf(examine(elems[0]), inArray)
}

// has reports whether a key was present with a non-null value.
func has(raw json.RawMessage) bool {
	return len(raw) > 0 && !bytes.Equal(raw, []byte("null"))
}

// str reads a JSON string; ok is false for anything else.
func str(raw json.RawMessage) (string, bool) {
	if firstByte(raw) != '"' {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// firstByte is the first byte that is not JSON whitespace, or 0.
func firstByte(b []byte) byte {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return c
	}
	return 0
}

// keysOf lists an object's keys for an error message, at most a few of them.
func keysOf(raw json.RawMessage) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	// Sorted so that the same payload always gives the same error text.
	slices.Sort(keys)
	if len(keys) > 8 {
		keys = append(keys[:8], "...")
	}
	return strings.Join(keys, ", ")
}
