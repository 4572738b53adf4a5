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
