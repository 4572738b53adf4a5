package trigger

import (
	"bytes"
	"fmt"
	"math"
	"strconv"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/actiontrail"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/strictjson"
)

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
// The way is one-directional: read the payload's elements (in one pass when
// it reads strictly as a whole, else one by one), name its shape (shape.go),
// open each element's envelope to find its body (body.go), cut the body into
// messages, each named by ids.go. Envelopes are read by the tables of
// events.go.
func Decode(payload []byte) []Message {
	// One copy, so that no message aliases the caller's buffer; every body
	// below is a slice of it (or, for a string body, its unquoted text).
	payload = bytes.Clone(payload)
	if msgs, ok := decodeWhole(payload); ok {
		return msgs
	}
	return decodeElements(payload)
}

// decodeWhole is Decode for a payload that reads strictly as a whole, which
// is what triggers send: one pass, each element's envelope read as it
// comes. ok is false when anything in the payload is refused, or its first
// element is of no known shape; decodeElements, which judges each element
// alone, then says why.
func decodeWhole(payload []byte) (msgs []Message, ok bool) {
	d := strictjson.NewDecoder(payload)
	defer d.Release()
	inArray := d.PeekKind() == '['
	if inArray {
		if _, err := d.ReadToken(); err != nil {
			return nil, false
		}
	}
	msgs = []Message{}
	for i := 0; !inArray || d.PeekKind() != ']'; i++ {
		e, err := readElement(d, payload)
		if err != nil || (i == 0 && e.kind == kindUnknown) {
			return nil, false
		}
		msgs = open(e, i, inArray).appendMessages(msgs)
		if !inArray {
			break
		}
	}
	if inArray {
		if _, err := d.ReadToken(); err != nil {
			return nil, false
		}
	}
	return msgs, d.End() == nil
}

// decodeElements is Decode for any payload: split, then each element read
// on its own, so that one that breaks a strict rule costs only itself.
func decodeElements(payload []byte) []Message {
	vals, inArray, err := strictjson.Values(payload)
	if err != nil {
		return []Message{unknownPayload(payload, fmt.Errorf("%w: the payload is not JSON: %w; %s", ErrUnknownShape, err, accepted))}
	}
	shape, first, at := payloadShape(vals, inArray)
	switch {
	case shape == ShapeEmpty:
		return []Message{}
	case shape == ShapeUnknown && at >= 0:
		// The whole payload is of an unknown shape: one message stands for it,
		// rather than one error per element of, say, a Kafka batch.
		what := describe(vals[at])
		if inArray {
			what = "a JSON array whose first element is " + what
		}
		return []Message{unknownPayload(payload, fmt.Errorf("%w: the payload is %s; %s", ErrUnknownShape, what, accepted))}
	}
	// Elements of a batch are judged one by one, so one bad element costs
	// only itself.
	msgs := make([]Message, 0, len(vals))
	for i, raw := range vals {
		e := first
		if i != at {
			e = classify(raw)
		}
		msgs = open(e, i, inArray).appendMessages(msgs)
	}
	return msgs
}

// opened is an element with its envelope opened: where it came from, how its
// messages are named, and its body, or why it has none.
type opened struct {
	source string
	ids    ids
	body   intentBody
	// err is set when there is no usable body; carried is then what the one
	// message standing for the element carries on instead.
	err     error
	carried []byte
}

func refusal(source string, scheme ids, carried []byte, err error) opened {
	return opened{source: source, ids: scheme, err: err, carried: carried}
}

// open finds the body of one classified element; index is its place in the
// payload (inArray: the payload is an array of them).
func open(e element, index int, inArray bool) opened {
	switch e.kind {
	case kindUnknown:
		if e.err != nil {
			where := "the payload"
			if inArray {
				where = fmt.Sprintf("element %d of the payload", index)
			}
			return refusal(SourceUnknown, ids{}, e.raw, fmt.Errorf("%w: %s is not strict JSON: %w", ErrUnknownShape, where, e.err))
		}
	case kindMNSEvent:
		return openMNSEvent(e)
	case kindRawData:
		m := mnsMessage{mnsMessageID: e.env[envMessageID], mnsMessageBody: e.env[envMessageBody]}
		return openMNSMessage(envelopeID(e.raw, m[mnsMessageID]), m, e.raw)
	case kindCustomEvent:
		return openCustomEvent(e)
	case kindActionTrail:
		// The event is the message: its id names it, and it is read whole.
		return opened{source: SourceEventBridge, ids: ids{envelope: envelopeID(e.raw, e.env[envID])}, body: intentBody{text: e.raw}}
	case kindTimer:
		return openTimer(e)
	case kindIntent:
		return opened{source: SourceDirect, body: intentBody{text: e.raw}}
	}
	return refusal(SourceUnknown, ids{}, e.raw,
		fmt.Errorf("%w: element %d is %s; %s", ErrUnknownShape, index, describe(e.raw), accepted))
}

// openMNSEvent reads an MNS message from its CloudEvent. The id is the MNS
// message id, which stays the same when EventBridge delivers the message again.
func openMNSEvent(e element) opened {
	id := envelopeID(e.raw, e.mns[mnsMessageID], e.env[envID])
	switch {
	case !has(e.env[envData]):
		return refusal(SourceMNS, ids{envelope: id}, e.raw, fmt.Errorf("%w: the MNS CloudEvent has no data", ErrMissingBody))
	case firstByte(e.env[envData]) != '{':
		return refusal(SourceMNS, ids{envelope: id}, e.raw,
			fmt.Errorf("%w: the MNS CloudEvent's data is %s, not an object with messageBody", ErrInvalidBody, describe(e.env[envData])))
	}
	return openMNSMessage(id, e.mns, e.raw)
}

// openMNSMessage reads one MNS message, from a CloudEvent's data or a RawData
// element; envelope is what a message without a body carries on instead.
func openMNSMessage(id string, m mnsMessage, envelope jsontext.Value) opened {
	scheme := ids{envelope: id}
	raw := m[mnsMessageBody]
	if !has(raw) {
		return refusal(SourceMNS, scheme, envelope, fmt.Errorf("%w: messageBody is missing", ErrMissingBody))
	}
	body, err := mnsBody(raw)
	if err != nil {
		return refusal(SourceMNS, scheme, raw, err)
	}
	return opened{source: SourceMNS, ids: scheme, body: body}
}

// openCustomEvent reads an EventBridge CloudEvent that carries its intent in
// data, as a JSON object (or array) or as a string holding one.
func openCustomEvent(e element) opened {
	scheme := ids{envelope: envelopeID(e.raw, e.env[envID])}
	data := e.env[envData]
	if !has(data) {
		return refusal(SourceEventBridge, scheme, e.raw, fmt.Errorf("%w: the CloudEvent has no data", ErrMissingBody))
	}
	body, err := jsonMember(data)
	if err != nil {
		return refusal(SourceEventBridge, scheme, data, fmt.Errorf("%w: data is a string that is not JSON (%w)", ErrInvalidBody, err))
	}
	return opened{source: SourceEventBridge, ids: scheme, body: body}
}

// openTimer reads a timer trigger event, whose configured payload arrives as a
// string holding JSON: one intent or an array of them.
func openTimer(e element) opened {
	scheme := timerIDs(str(e.env[envTriggerName]), str(e.env[envTriggerTime]))
	payload := e.env[envPayload]
	if !has(payload) {
		return refusal(SourceTimer, scheme, e.raw, fmt.Errorf("%w: the timer event has no payload", ErrMissingBody))
	}
	body, err := jsonMember(payload)
	if err != nil {
		return refusal(SourceTimer, scheme, payload,
			fmt.Errorf("%w: the timer payload is not JSON (%w); configure the trigger's payload as an intent or an array of intents", ErrInvalidBody, err))
	}
	return opened{source: SourceTimer, ids: scheme, body: body}
}

// appendMessages cuts an opened element's body into messages, appended to
// msgs: one for an object, one per element for an array of them. Each is
// read strictly: a repeated name or invalid UTF-8 in one element rejects
// that element only. An element without a body gives the one message that
// says why.
func (o opened) appendMessages(msgs []Message) []Message {
	if o.err != nil {
		return append(msgs, o.failed(o.ids.refused(o.carried), o.carried, o.err))
	}
	body := o.body.text
	if !o.body.read && firstByte(body) == '{' {
		// The common case, one intent, read once; a body that does not read
		// is refused below, in the words of a full split.
		o.body.head, o.body.read = readHead(body)
	}
	if o.body.read {
		// The body as it came, surrounding whitespace included: byte-exact.
		return append(msgs, o.message(body, 0, false, o.body.head))
	}
	elems, inArray, err := strictjson.Values(body)
	switch {
	case err != nil:
		return append(msgs, o.failed(o.ids.refused(body), body, fmt.Errorf("%w: %w", ErrInvalidBody, err)))
	case !inArray:
		if err := strictjson.Check(elems[0]); err != nil {
			return append(msgs, o.failed(o.ids.refused(body), body, fmt.Errorf("%w: %w", ErrInvalidBody, err)))
		}
		// Not an object: an object that reads took the way above.
		return append(msgs, o.failed(o.ids.refused(body), body,
			fmt.Errorf("%w: the body is %s, not an intent object or an array of them", ErrInvalidBody, describe(body))))
	case len(elems) == 0:
		return append(msgs, o.failed(o.ids.refused(body), body, fmt.Errorf("%w: the body is an empty array: it carries no intent", ErrInvalidBody)))
	}
	for i, raw := range elems {
		msgs = append(msgs, o.element(raw, i))
	}
	return msgs
}

// element is the message of element i of an array body.
func (o opened) element(raw []byte, i int) Message {
	if firstByte(raw) != '{' {
		if err := strictjson.Check(raw); err != nil {
			return o.failed(o.ids.name(i, true, "", raw), raw, fmt.Errorf("%w: element %d of the body: %w", ErrInvalidBody, i, err))
		}
		return o.failed(o.ids.name(i, true, "", raw), raw,
			fmt.Errorf("%w: element %d of the body is %s, not an intent object", ErrInvalidBody, i, describe(raw)))
	}
	h, ok := readHead(raw)
	if !ok {
		err := strictjson.Check(raw)
		return o.failed(o.ids.name(i, true, "", raw), raw, fmt.Errorf("%w: element %d of the body: %w", ErrInvalidBody, i, err))
	}
	return o.message(raw, i, true, h)
}

// message makes a usable message from an object's bytes and its head: an
// intent, or an ActionTrail event, wherever it came from (an EventBridge
// rule, or a deferred event back from the retry queue). An event's "id" is
// its CloudEvent id, not an intent's correlation id, so it has no IntentID.
func (o opened) message(body []byte, index int, inArray bool, h intentHead) Message {
	intentID := ""
	// What actiontrail.IsActionTrail decides, from the type already read
	// (an intent has none: IsType, which splits it, is not asked then).
	typ := memberText(h.members[headType])
	event := len(typ) > 0 && actiontrail.IsType(string(typ))
	if !event {
		intentID = str(h.members[headID])
	}
	return Message{
		ID:       o.ids.name(index, inArray, intentID, body),
		IntentID: intentID,
		Source:   o.source,
		Attempt:  h.attempt(),
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
	return refusal(SourceUnknown, ids{}, trimmed, err).appendMessages(nil)[0]
}

// readHead reads an intent object's head, strictly (see wire.read): ok is
// false when body does not read (Check says why).
func readHead(body []byte) (h intentHead, ok bool) {
	return h, intentHeadWire.read(body, h.members[:], h.retry[:]) == nil
}

// attempt is the number of this delivery: retry.attempt+1 for a deferred
// message, else 1. It reads leniently: a retry that is not an object, or
// an attempt that is not a whole number, must not lose the message.
func (h intentHead) attempt() int {
	// A retry that is an object has been read (h.retry).
	if firstByte(h.members[headRetry]) != '{' {
		return 1
	}
	if n, ok := wholeNumber(h.retry[0]); ok && n > 0 {
		return int(min(n, math.MaxInt32-1)) + 1
	}
	return 1
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
