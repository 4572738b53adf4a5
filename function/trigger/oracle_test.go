// The decoder as it was before issue 11 (reflection into the wire structs),
// kept verbatim as the oracle of differential_test.go: the new decoder must
// give the same messages, errors and codes for every payload. Only the
// package clause and the imports differ from the original files.

package trigger_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	stdjson "encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/actiontrail"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/redact"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/strictjson"
)

// Message is one unit of work: one intent, with where it came from.
type Message struct {
	// ID identifies the message across redeliveries: the MNS message id, else
	// the CloudEvent id; for a timer or a direct invoke the intent's id, else
	// timer:<name>:<time>:<index> or "sha256:" and 16 hex digits of the body.
	// A body holding an array of intents gives <id>#<index> per element.
	ID string `json:"id"`
	// IntentID is the intent's own "id" (a producer's correlation id), read
	// leniently from the body; "" when it has none or is not a usable intent.
	IntentID string `json:"intentId,omitempty"`
	// Source names where it came from: "mns", "eventbridge", "timer",
	// "direct", or "unknown" for the one message standing for a payload of an
	// unknown shape (see the Source constants).
	Source string `json:"source"`
	// Attempt is 1 on first delivery; a deferred message carries its count on:
	// it is retry.attempt+1 when the intent has a retry object.
	Attempt int `json:"attempt"`
	// Body is the intent's JSON exactly as received (after base64 decoding):
	// it is what a dead-letter or retry message carries on. It is always JSON
	// text (or nil): when Err is set, it may be text the strict rules refuse
	// (a repeated name, invalid UTF-8), kept byte for byte; when what was
	// found is not JSON at all, Body is that text as a JSON string; when
	// there was no body, the envelope.
	Body stdjson.RawMessage `json:"body"`
	// Event is set when Body is an ActionTrail event (actiontrail.Decode
	// reads it) rather than an intent: EventBridge delivered the cloud's
	// record of a call, or the retry queue brought a deferred one back.
	Event bool `json:"event,omitempty"`
	// Err is set when the message could be located but its body cannot be
	// used (not JSON, bad base64): it is then rejected, never dropped. It
	// wraps ErrUnknownShape, ErrMissingBody or ErrInvalidBody.
	Err error `json:"-"`
}

// Errors carried in Message.Err, to be matched with errors.Is.
var (
	// ErrUnknownShape: the payload (or one element of a batch) is none of the
	// shapes Decode understands; the error text lists them.
	ErrUnknownShape = errors.New("unrecognised payload shape")
	// ErrMissingBody: the envelope was found but carries no body (no
	// data.messageBody, no data, no timer payload).
	ErrMissingBody = errors.New("message has no body")
	// ErrInvalidBody: the body is there but is not usable: not JSON, bad
	// base64, or JSON that is neither an object nor an array of objects.
	ErrInvalidBody = errors.New("message body is not intent JSON")
)

// Codes of the refusals this package makes, for reports and dead letters.
const (
	CodeUnknownShape = "InvalidParameter.UnknownShape" // ErrUnknownShape
	CodeMissingBody  = "InvalidParameter.MissingBody"  // ErrMissingBody
	CodeInvalidBody  = "InvalidParameter.Payload"      // ErrInvalidBody
)

// Code is the code of a message's Err: the strict JSON rule it broke when
// there is one (strictjson's codes are the most specific), else the code of
// its kind. It is "" for nil.
func Code(err error) string {
	var se *strictjson.Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &se):
		return se.Code
	case errors.Is(err, ErrUnknownShape):
		return CodeUnknownShape
	case errors.Is(err, ErrMissingBody):
		return CodeMissingBody
	default:
		return CodeInvalidBody
	}
}

// accepted is the part of an unknown-shape error that tells the sender what
// would have been understood.
const accepted = "accepted: an MNS queue CloudEvent (type " + mnsEventType +
	", data.messageBody) or a JSON array of them; an EventBridge CloudEvent with the intent in `data`, or an array of them; " +
	"an array of MNS RawData objects {requestId, messageId, messageBody}; a timer event {triggerTime, triggerName, payload}; " +
	"an intent object (with \"action\") or a JSON array of intents"

// The wire shapes, as plain types whose JSON names are the wire's, exactly:
// json v2 matches names case-sensitively, so an MNS topic event's
// "MessageId" is never taken for "messageId". Only the members this package
// reads are declared; the rest (datacontenttype, subject, time, the aliyun*
// extensions) are ignored, since their values and formats differ between the
// console, the docs and EventBridge itself.
//
// A string member is a *string: nil when it is absent or null, which is how
// the shapes are told apart (shape.go). A member that may carry JSON in more
// than one form (an object, an array, a string holding either) is kept raw,
// as jsontext.Value, and read where it is understood (body.go).

// cloudEvent is an EventBridge CloudEvent. It is an MNS queue message when
// Type is mnsEventType (Data is then an mnsMessage), or a custom event that
// carries its intent in Data: a JSON object, an array of them, or a string
// holding either.
type cloudEvent struct {
	SpecVersion *string        `json:"specversion"`
	ID          *string        `json:"id"`
	Source      *string        `json:"source"`
	Type        *string        `json:"type"`
	Data        jsontext.Value `json:"data"`
}

// mnsEventType is the CloudEvent type EventBridge gives a message read from
// an MNS queue; it is the one value the decoder looks at, because it is what
// tells an MNS event from a custom event that carries its intent in `data`.
const mnsEventType = "mns:Queue:SendMessage"

// mnsMessage is the data of an MNS CloudEvent, and one element of a batch
// delivered with the RawData schema (whose requestId this package does not
// read). MessageBody is a string holding the intent JSON, or base64 of it
// when the trigger's IsBase64Decode is off.
type mnsMessage struct {
	MessageID   *string        `json:"messageId"`
	MessageBody jsontext.Value `json:"messageBody"`
}

// timerEvent is what a timer trigger sends. Payload is the trigger's
// configured text: here a string holding an intent or an array of them.
type timerEvent struct {
	TriggerTime *string        `json:"triggerTime"`
	TriggerName *string        `json:"triggerName"`
	Payload     jsontext.Value `json:"payload"`
}

// intentHead is the part of an intent this package reads: Action tells a
// direct invoke from the other shapes, ID names its message, and
// Retry.Attempt counts the deliveries of a deferred one. Validating the
// intent is the intent package's job.
type intentHead struct {
	Action *string    `json:"action"`
	ID     *string    `json:"id"`
	Retry  *retryHead `json:"retry"`
}

type retryHead struct {
	// Attempt is raw because 3, 3.0 and 3e0 all count (see wholeNumber).
	Attempt jsontext.Value `json:"attempt"`
}

// readWire reads raw into one of the types above. json v2's defaults hold
// (names matched exactly; repeated names and invalid UTF-8 refused), with one
// leniency: a member of the wrong type (a numeric id, a retry that is not an
// object) reads as empty instead of failing the whole element, so that the
// message is still located and named, and what it carries is judged where it
// is used.
func readWire(raw jsontext.Value, v any) error {
	return json.Unmarshal(raw, v, lenient)
}

var lenient = json.WithUnmarshalers(json.JoinUnmarshalers(
	json.UnmarshalFromFunc(func(dec *jsontext.Decoder, s *string) error {
		if dec.PeekKind() != '"' {
			*s = ""
			return dec.SkipValue()
		}
		tok, err := dec.ReadToken()
		if err != nil {
			return err
		}
		*s = tok.String()
		return nil
	}),
	json.UnmarshalFromFunc(func(dec *jsontext.Decoder, r *retryHead) error {
		if dec.PeekKind() != '{' {
			*r = retryHead{}
			return dec.SkipValue()
		}
		return errors.ErrUnsupported // an object: read it the usual way
	}),
))

// str is a string member's text, "" when it is absent.
func str(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

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

// members is every top-level member that tells the shapes apart, read in
// one pass: the members of each wire type at once (their names never clash).
type members struct {
	cloudEvent
	mnsMessage // RawData
	timerEvent
	Action *string `json:"action"` // a direct intent (see intentHead)
}

// element is one element of a payload, classified.
type element struct {
	raw  jsontext.Value
	kind kind
	members
	// data is a CloudEvent's data read as an MNS message's (zero when it is
	// not an object); only an MNS CloudEvent uses it.
	data mnsMessage
}

// classify reads one element and decides its kind. An element that is not a
// JSON object is of unknown kind.
func classify(raw jsontext.Value) element {
	e := element{raw: raw}
	if firstByte(raw) != '{' || readWire(raw, &e.members) != nil {
		return e
	}
	switch {
	case e.SpecVersion != nil:
		e.kind = e.cloudEventKind()
	case has(e.MessageBody) || e.MessageID != nil:
		e.kind = kindRawData
	case e.TriggerTime != nil && e.TriggerName != nil:
		e.kind = kindTimer
	case e.Action != nil:
		e.kind = kindIntent
	case e.Type != nil && e.Source != nil && e.ID != nil:
		// A CloudEvent whose producer left out specversion.
		e.kind = e.cloudEventKind()
	}
	return e
}

// cloudEventKind tells an MNS CloudEvent from a custom one, and reads the
// data of an MNS one.
func (e *element) cloudEventKind() kind {
	dataIsObject := firstByte(e.Data) == '{' && readWire(e.Data, &e.data) == nil
	// data carrying messageBody is an MNS message whatever its type says: an
	// intent never has that key, so reading it as one could only fail.
	switch {
	case str(e.Type) == mnsEventType || (dataIsObject && has(e.data.MessageBody)):
		return kindMNSEvent
	case actiontrail.IsType(str(e.Type)):
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
func payloadShape(elems []strictjson.Element, inArray bool) (shape Shape, first element, at int) {
	if inArray && len(elems) == 0 {
		return ShapeEmpty, first, -1
	}
	for i, el := range elems {
		if el.Err == nil {
			first = classify(el.Raw)
			return shapeOf(first.kind, inArray), first, i
		}
	}
	return ShapeUnknown, first, -1
}

// detect names the shape of a payload, for the tests (the golden files name
// it); Decode makes the same decision, in payloadShape.
func detect(payload []byte) Shape {
	elems, inArray, err := strictjson.Split(payload)
	if err != nil {
		return ShapeUnknown
	}
	shape, _, _ := payloadShape(elems, inArray)
	return shape
}

// Decode turns a payload, whatever trigger sent it, into messages. It never
// fails as a whole: every message it can locate comes back, and one whose body
// cannot be used has Err set (with an ID) so that it is rejected, never
// dropped. An empty JSON array gives zero messages; a payload of an unknown
// shape gives one message whose Err says which shapes are accepted.
//
// A body that is itself a JSON array (an MNS message carrying several intents,
// a timer payload listing several) gives one message per element. Bodies are
// kept byte-exact (after base64 decoding, for MNS). Attempt is 1, or
// retry.attempt+1 when the intent carries the retry object of a deferred
// message; the intent is otherwise not validated here.
//
// The way is one-directional: split the payload, name its shape (shape.go),
// open each element's envelope to find its body (body.go), cut the body into
// messages, each named by ids.go.
func Decode(payload []byte) []Message {
	// One copy, so that no message aliases the caller's buffer; every body
	// below is a slice of it (or, for a string body, its unquoted text).
	payload = bytes.Clone(payload)
	elems, inArray, err := strictjson.Split(payload)
	if err != nil {
		return []Message{unknownPayload(payload, fmt.Errorf("%w: the payload is not JSON: %w; %s", ErrUnknownShape, err, accepted))}
	}
	shape, first, at := payloadShape(elems, inArray)
	switch {
	case shape == ShapeEmpty:
		return []Message{}
	case shape == ShapeUnknown && at >= 0:
		// The whole payload is of an unknown shape: one message stands for it,
		// rather than one error per element of, say, a Kafka batch.
		what := describe(elems[at].Raw)
		if inArray {
			what = "a JSON array whose first element is " + what
		}
		return []Message{unknownPayload(payload, fmt.Errorf("%w: the payload is %s; %s", ErrUnknownShape, what, accepted))}
	}
	// Elements of a batch are judged one by one, so one bad element costs
	// only itself.
	msgs := make([]Message, 0, len(elems))
	for i, el := range elems {
		var o opened
		switch {
		case el.Err != nil:
			where := "the payload"
			if inArray {
				where = fmt.Sprintf("element %d of the payload", i)
			}
			o = refusal(SourceUnknown, ids{}, el.Raw, fmt.Errorf("%w: %s is not strict JSON: %w", ErrUnknownShape, where, el.Err))
		case i == at:
			o = open(first, i)
		default:
			o = open(classify(el.Raw), i)
		}
		msgs = append(msgs, o.messages()...)
	}
	return msgs
}

// opened is an element with its envelope opened: where it came from, how its
// messages are named, and its body, or why it has none.
type opened struct {
	source string
	ids    ids
	body   []byte
	// err is set when there is no usable body; carried is then what the one
	// message standing for the element carries on instead.
	err     error
	carried []byte
}

func refusal(source string, scheme ids, carried []byte, err error) opened {
	return opened{source: source, ids: scheme, err: err, carried: carried}
}

// open finds the body of one classified element; index is its place in the
// payload.
func open(e element, index int) opened {
	switch e.kind {
	case kindMNSEvent:
		return openMNSEvent(e)
	case kindRawData:
		return openMNSMessage(firstNonEmpty(str(e.MessageID), hashID(e.raw)), e.mnsMessage, e.raw)
	case kindCustomEvent:
		return openCustomEvent(e)
	case kindActionTrail:
		// The event is the message: its id names it, and it is read whole.
		return opened{source: SourceEventBridge, ids: ids{envelope: firstNonEmpty(str(e.ID), hashID(e.raw))}, body: e.raw}
	case kindTimer:
		return openTimer(e)
	case kindIntent:
		return opened{source: SourceDirect, body: e.raw}
	}
	return refusal(SourceUnknown, ids{}, e.raw,
		fmt.Errorf("%w: element %d is %s; %s", ErrUnknownShape, index, describe(e.raw), accepted))
}

// openMNSEvent reads an MNS message from its CloudEvent. The id is the MNS
// message id, which stays the same when EventBridge delivers the message again.
func openMNSEvent(e element) opened {
	id := firstNonEmpty(str(e.data.MessageID), str(e.ID), hashID(e.raw))
	switch {
	case !has(e.Data):
		return refusal(SourceMNS, ids{envelope: id}, e.raw, fmt.Errorf("%w: the MNS CloudEvent has no data", ErrMissingBody))
	case firstByte(e.Data) != '{':
		return refusal(SourceMNS, ids{envelope: id}, e.raw,
			fmt.Errorf("%w: the MNS CloudEvent's data is %s, not an object with messageBody", ErrInvalidBody, describe(e.Data)))
	}
	return openMNSMessage(id, e.data, e.raw)
}

// openMNSMessage reads one MNS message, from a CloudEvent's data or a RawData
// element; envelope is what a message without a body carries on instead.
func openMNSMessage(id string, m mnsMessage, envelope jsontext.Value) opened {
	scheme := ids{envelope: id}
	if !has(m.MessageBody) {
		return refusal(SourceMNS, scheme, envelope, fmt.Errorf("%w: messageBody is missing", ErrMissingBody))
	}
	body, err := mnsBody(m.MessageBody)
	if err != nil {
		return refusal(SourceMNS, scheme, m.MessageBody, err)
	}
	return opened{source: SourceMNS, ids: scheme, body: body}
}

// openCustomEvent reads an EventBridge CloudEvent that carries its intent in
// data, as a JSON object (or array) or as a string holding one.
func openCustomEvent(e element) opened {
	scheme := ids{envelope: firstNonEmpty(str(e.ID), hashID(e.raw))}
	if !has(e.Data) {
		return refusal(SourceEventBridge, scheme, e.raw, fmt.Errorf("%w: the CloudEvent has no data", ErrMissingBody))
	}
	body, err := jsonMember(e.Data)
	if err != nil {
		return refusal(SourceEventBridge, scheme, e.Data, fmt.Errorf("%w: data is a string that is not JSON (%w)", ErrInvalidBody, err))
	}
	return opened{source: SourceEventBridge, ids: scheme, body: body}
}

// openTimer reads a timer trigger event, whose configured payload arrives as a
// string holding JSON: one intent or an array of them.
func openTimer(e element) opened {
	scheme := timerIDs(str(e.TriggerName), str(e.TriggerTime))
	if !has(e.Payload) {
		return refusal(SourceTimer, scheme, e.raw, fmt.Errorf("%w: the timer event has no payload", ErrMissingBody))
	}
	body, err := jsonMember(e.Payload)
	if err != nil {
		return refusal(SourceTimer, scheme, e.Payload,
			fmt.Errorf("%w: the timer payload is not JSON (%w); configure the trigger's payload as an intent or an array of intents", ErrInvalidBody, err))
	}
	return opened{source: SourceTimer, ids: scheme, body: body}
}

// messages cuts an opened element's body into messages: one for an object,
// one per element for an array of them. Each is read strictly: a repeated
// name or invalid UTF-8 in one element rejects that element only. An element
// without a body gives the one message that says why.
func (o opened) messages() []Message {
	if o.err != nil {
		return []Message{o.failed(o.ids.refused(o.carried), o.carried, o.err)}
	}
	body := o.body
	elems, inArray, err := strictjson.Split(body)
	switch {
	case err != nil:
		return []Message{o.failed(o.ids.refused(body), body, fmt.Errorf("%w: %w", ErrInvalidBody, err))}
	case !inArray && elems[0].Err != nil:
		return []Message{o.failed(o.ids.refused(body), body, fmt.Errorf("%w: %w", ErrInvalidBody, elems[0].Err))}
	case !inArray && firstByte(body) == '{':
		// The body as it came, surrounding whitespace included: byte-exact.
		return []Message{o.message(body, 0, false)}
	case !inArray:
		return []Message{o.failed(o.ids.refused(body), body,
			fmt.Errorf("%w: the body is %s, not an intent object or an array of them", ErrInvalidBody, describe(body)))}
	case len(elems) == 0:
		return []Message{o.failed(o.ids.refused(body), body, fmt.Errorf("%w: the body is an empty array: it carries no intent", ErrInvalidBody))}
	}
	msgs := make([]Message, 0, len(elems))
	for i, el := range elems {
		switch {
		case el.Err != nil:
			msgs = append(msgs, o.failed(o.ids.name(i, true, "", el.Raw), el.Raw,
				fmt.Errorf("%w: element %d of the body: %w", ErrInvalidBody, i, el.Err)))
		case firstByte(el.Raw) != '{':
			msgs = append(msgs, o.failed(o.ids.name(i, true, "", el.Raw), el.Raw,
				fmt.Errorf("%w: element %d of the body is %s, not an intent object", ErrInvalidBody, i, describe(el.Raw))))
		default:
			msgs = append(msgs, o.message(el.Raw, i, true))
		}
	}
	return msgs
}

// message makes a usable message from an object's bytes: an intent, or an
// ActionTrail event, wherever it came from (an EventBridge rule, or a
// deferred event back from the retry queue). An event's "id" is its
// CloudEvent id, not an intent's correlation id, so it has no IntentID.
func (o opened) message(body []byte, index int, inArray bool) Message {
	intentID, attempt := readIntent(body)
	event := actiontrail.IsActionTrail(body)
	if event {
		intentID = ""
	}
	return Message{
		ID:       o.ids.name(index, inArray, intentID, body),
		IntentID: intentID,
		Source:   o.source,
		Attempt:  attempt,
		Body:     body,
		Event:    event,
	}
}

// failed makes a message that is to be rejected. Its Body is always JSON text
// (the bytes themselves when they are, else a JSON string of them), so a
// dead-letter message can embed it as it is.
func (o opened) failed(id string, body []byte, err error) Message {
	return Message{ID: id, Source: o.source, Attempt: 1, Body: []byte(asJSON(body)), Err: err}
}

// unknownPayload is the one message standing for a payload of unknown shape.
// Only JSON whitespace is trimmed: anything else is part of what was sent.
func unknownPayload(payload []byte, err error) Message {
	trimmed := trimSpace(payload)
	return refusal(SourceUnknown, ids{}, trimmed, err).messages()[0]
}

// readIntent returns the intent's id ("" if none) and the number of this
// delivery: retry.attempt+1 for a deferred message, else 1. It reads
// leniently: a wrong type here must not lose the message.
func readIntent(body []byte) (intentID string, attempt int) {
	var h intentHead
	if readWire(body, &h) != nil {
		return "", 1
	}
	attempt = 1
	if h.Retry != nil {
		if n, ok := wholeNumber(h.Retry.Attempt); ok && n > 0 {
			attempt = int(min(n, math.MaxInt32-1)) + 1
		}
	}
	return str(h.ID), attempt
}

// wholeNumber reads a JSON number that is a whole number (3, 3.0, 3e0).
func wholeNumber(raw jsontext.Value) (int64, bool) {
	if n, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
		return n, true
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || f != math.Trunc(f) || f > math.MaxInt64 || f < math.MinInt64 {
		return 0, false
	}
	return int64(f), true
}

// A body is the intent JSON an envelope carries: an object or an array of
// them. This file finds it in the member that holds it; decode.go cuts it
// into messages.

// mnsBody returns the intent JSON carried in messageBody. The body is a string
// holding JSON, or, when the trigger's IsBase64Decode is off and the producer
// base64-encodes (the Java and Python SDKs do by default), base64 of it.
//
// Base64 is chosen only when the body is not JSON and decodes to a JSON object
// or array. JSON is tried first because a JSON object or array can never be
// valid base64 (`{`, `[` and `"` are outside its alphabet), so a JSON body is
// never misread; and a plain text body that happens to be valid base64 ("TEST"
// is) decodes to bytes that are not JSON, so it is reported as not JSON rather
// than passed on as garbage. A body that was meant as JSON (it starts like an
// object or an array, or breaks a rule only JSON has, such as a repeated name
// or a no-break space around it) is refused for what is wrong with it.
func mnsBody(raw jsontext.Value) ([]byte, error) {
	body, ok := text(raw)
	if !ok {
		if c := firstByte(raw); c == '{' || c == '[' {
			// Not what FC documents, but a producer putting the JSON itself in
			// messageBody is unambiguous.
			return raw, nil
		}
		return nil, fmt.Errorf("%w: messageBody is %s, not a string", ErrInvalidBody, describe(raw))
	}
	if len(trimSpace(body)) == 0 {
		return nil, fmt.Errorf("%w: messageBody is empty", ErrMissingBody)
	}
	err := checkBody(body)
	if err == nil {
		return body, nil
	}
	if meantAsJSON(body, err) {
		return nil, fmt.Errorf("%w: messageBody is not strict JSON: %w", ErrInvalidBody, err)
	}
	decoded, b64err := base64.StdEncoding.DecodeString(string(body))
	if b64err != nil {
		return nil, fmt.Errorf("%w: messageBody is not JSON (%v) and not base64 either (%v)", ErrInvalidBody, err, b64err)
	}
	if c := firstByte(decoded); c == '{' || c == '[' {
		if err := checkBody(decoded); err != nil {
			return nil, fmt.Errorf("%w: messageBody is base64 of text that is not strict JSON: %w", ErrInvalidBody, err)
		}
		return decoded, nil
	}
	return nil, fmt.Errorf("%w: messageBody is not JSON (%v); it is valid base64, but decodes to %s, not a JSON object or array, so it is not taken for base64",
		ErrInvalidBody, err, describe(decoded))
}

// meantAsJSON tells a body that tried to be JSON from plain text (which may
// still be base64): it starts like an object or array, or what is wrong with
// it is a rule only JSON text has.
func meantAsJSON(body []byte, err error) bool {
	if c := firstByte(body); c == '{' || c == '[' {
		return true
	}
	var e *strictjson.Error
	return errors.As(err, &e) && e.Code != strictjson.CodeMalformed
}

// jsonMember returns the intent JSON carried in a custom event's data or a
// timer's payload: the member itself, or the text of a string holding it.
// err is set when a string holds something that is not JSON.
func jsonMember(raw jsontext.Value) (body []byte, err error) {
	if s, ok := text(raw); ok {
		return s, checkBody(s)
	}
	return raw, nil
}

// checkBody says whether a body found in a string is JSON: its structure, and
// for a single value its strict verdict. The elements of an array body are
// judged one by one later (bodyMessages), so that one bad intent in a list
// costs only itself.
func checkBody(body []byte) error {
	elems, inArray, err := strictjson.Split(body)
	switch {
	case err != nil:
		return err
	case !inArray:
		return elems[0].Err
	}
	return nil
}

// ids names the messages cut from one body (see Message.ID).
type ids struct {
	// envelope is the MNS message id or CloudEvent id: a body gives <id>, or
	// <id>#<index> per element when it is an array.
	envelope string
	// timer is "timer:<name>:<time>": a message is named by its intent's id,
	// else <timer>:<index>.
	timer string
	// Neither: the intent's id, else a hash of its body.
}

// timerIDs names the messages of a timer event.
func timerIDs(name, at string) ids { return ids{timer: "timer:" + name + ":" + at} }

// name is the id of message index of a body (inArray: the body is an array
// of intents), given its intent's id and its bytes.
func (s ids) name(index int, inArray bool, intentID string, body []byte) string {
	switch {
	case s.envelope != "" && inArray:
		return s.envelope + "#" + strconv.Itoa(index)
	case s.envelope != "":
		return s.envelope
	case intentID != "":
		return intentID
	case s.timer != "":
		return s.timer + ":" + strconv.Itoa(index)
	}
	return hashID(body)
}

// refused is the id of the one message that stands for an envelope, or a
// body, that could not be used: named as its first message would be, without
// an intent id.
func (s ids) refused(carried []byte) string { return s.name(0, false, "", carried) }

// hashID names a message that carries no id of its own: sha256 of its body,
// first 16 hex digits, so the same body always gets the same id.
func hashID(body []byte) string {
	sum := sha256.Sum256(body)
	return "sha256:" + hex.EncodeToString(sum[:8])
}

// firstNonEmpty picks an envelope's id: the first of the ids it carries, in
// order of preference, that is set.
func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
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

// has reports whether a raw member was present with a non-null value.
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

// asJSON returns b when it is JSON text (even text the strict rules refuse,
// so that a dead letter carries it byte for byte), else b as a JSON string,
// nil for nothing.
func asJSON(b []byte) jsontext.Value {
	if len(b) == 0 {
		return nil
	}
	if strictjson.Syntactic(b) {
		return b
	}
	// Bytes that are not UTF-8 cannot be a JSON string: they become U+FFFD.
	quoted, _ := json.Marshal(string(b), jsontext.AllowInvalidUTF8(true)) // a string always marshals then
	return quoted
}

// describe says what kind of JSON (or not) b is, for error messages.
func describe(b []byte) string {
	trimmed := trimSpace(b)
	switch {
	case len(trimmed) == 0:
		return "empty"
	case !strictjson.Syntactic(trimmed):
		return "not JSON"
	}
	switch trimmed[0] {
	case '{':
		if keys := keysOf(trimmed); keys != "" {
			return "a JSON object with keys " + keys
		}
		return "an empty JSON object"
	case '[':
		return "a JSON array"
	case '"':
		return "a JSON string"
	case 'n':
		return "null"
	case 't', 'f':
		return "a JSON boolean"
	}
	return "a JSON number"
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
