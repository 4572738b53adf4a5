package trigger

import (
	"github.com/go-json-experiment/json/jsontext"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/actiontrail"
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
	// ShapeActionTrail is an EventBridge CloudEvent (or an array of them)
	// whose type is an ActionTrail one ("ecs:ActionTrail:ApiCall"): the
	// cloud's own record of a call, which is the message itself, not an
	// envelope around an intent.
	ShapeActionTrail Shape = "actiontrail"
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

// kind is what one element (the payload, or one element of a batch) is.
type kind int

const (
	kindUnknown kind = iota
	kindMNSEvent
	kindCustomEvent
	kindActionTrail
	kindRawData
	kindTimer
	kindIntent
)

// element is one element of a payload, classified.
type element struct {
	raw  jsontext.Value
	kind kind
	// err is set when the element is not strict JSON (strictjson.Check's
	// verdict): it is then refused on its own, and kind is kindUnknown.
	err error
	env envelope
	// mns is a CloudEvent's data read as an MNS message's (zero when it is
	// not an object); only an MNS CloudEvent uses it.
	mns mnsMessage
}

// classify reads one element, alone, strictly and decides its kind. An
// element that is not a JSON object is of unknown kind; one that does not
// read has err set, Check's verdict.
func classify(raw jsontext.Value) element {
	if firstByte(raw) != '{' {
		return element{raw: raw, err: strictjson.Check(raw)}
	}
	var e element
	if e.err = strictRead(&envelopeWire, raw, e.env[:], e.mns[:]); e.err != nil {
		return element{raw: raw, err: e.err}
	}
	e.raw = raw
	e.kind = e.kindOf()
	return e
}

// readElement reads the element that comes next in d (text is what d
// reads), strictly, and decides its kind, as classify does; err is d's
// refusal. It is how a payload that reads strictly as a whole is read, in
// one pass.
func readElement(d *strictjson.Decoder, text []byte) (e element, err error) {
	if d.PeekKind() != '{' {
		v, err := d.ReadValue()
		return element{raw: v[:len(v):len(v)]}, err
	}
	if e.raw, err = envelopeWire.readFrom(d, text, e.env[:], e.mns[:]); err != nil {
		return element{}, err
	}
	e.kind = e.kindOf()
	return e, nil
}

// kindOf decides the kind of an element from its members, read.
func (e *element) kindOf() kind {
	switch env := &e.env; {
	case has(env[envSpecVersion]):
		return e.cloudEventKind()
	case has(env[envMessageBody]) || has(env[envMessageID]):
		return kindRawData
	case has(env[envTriggerTime]) && has(env[envTriggerName]):
		return kindTimer
	case has(env[envAction]):
		return kindIntent
	case has(env[envType]) && has(env[envSource]) && has(env[envID]):
		// A CloudEvent whose producer left out specversion.
		return e.cloudEventKind()
	}
	return kindUnknown
}

// cloudEventKind tells an MNS CloudEvent from a custom one.
func (e *element) cloudEventKind() kind {
	// An object data has been read as an MNS message's already (e.mns).
	dataIsObject := firstByte(e.env[envData]) == '{'
	// data carrying messageBody is an MNS message whatever its type says: an
	// intent never has that key, so reading it as one could only fail.
	typ := memberText(e.env[envType])
	switch {
	case string(typ) == mnsEventType || (dataIsObject && has(e.mns[mnsMessageBody])):
		return kindMNSEvent
	case actiontrail.IsType(string(typ)):
		return kindActionTrail
	}
	return kindCustomEvent
}

// shapeOf names the shape of a payload whose first element is of kind k.
func shapeOf(k kind, inArray bool) Shape {
	switch k {
	case kindMNSEvent:
		if inArray {
			return ShapeMNSStream
		}
		return ShapeMNSEvent
	case kindCustomEvent:
		return ShapeEventBridge
	case kindActionTrail:
		return ShapeActionTrail
	case kindRawData:
		return ShapeMNSRawData
	case kindTimer:
		return ShapeTimer
	case kindIntent:
		return ShapeDirect
	}
	return ShapeUnknown
}

// payloadShape is the one place that names the shape of a split payload. It
// is judged on the first element that reads strictly (one that breaks a
// strict rule, a repeated name or invalid UTF-8, is refused on its own):
// first is that element classified, at its index, -1 when none reads.
func payloadShape(vals [][]byte, inArray bool) (shape Shape, first element, at int) {
	if inArray && len(vals) == 0 {
		return ShapeEmpty, first, -1
	}
	for i, raw := range vals {
		if first = classify(raw); first.err == nil {
			return shapeOf(first.kind, inArray), first, i
		}
	}
	return ShapeUnknown, element{}, -1
}

// detect names the shape of a payload, for the tests (the golden files name
// it); Decode makes the same decision, in payloadShape (or, for a payload it
// reads in one pass, on its first element's kind, which is the same).
func detect(payload []byte) Shape {
	vals, inArray, err := strictjson.Values(payload)
	if err != nil {
		return ShapeUnknown
	}
	shape, _, _ := payloadShape(vals, inArray)
	return shape
}
