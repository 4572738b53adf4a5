package trigger

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
)

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
func Decode(payload []byte) []Message {
	elems, inArray, err := payloadElements(payload)
	switch {
	case err != nil:
		return []Message{unknownPayload(payload, fmt.Errorf("%w: the payload is not JSON (%v); %s", ErrUnknownShape, err, accepted))}
	case inArray && len(elems) == 0:
		return []Message{}
	case len(elems) == 0:
		return []Message{unknownPayload(payload, fmt.Errorf("%w: the payload is %s; %s", ErrUnknownShape, describe(payload), accepted))}
	}
	first := examine(elems[0])
	if first.kind == kindUnknown {
		// The whole payload is of an unknown shape: one message stands for it,
		// rather than one error per element of, say, a Kafka batch.
		what := describe(elems[0])
		if inArray {
			what = "a JSON array whose first element is " + what
		}
		return []Message{unknownPayload(payload, fmt.Errorf("%w: the payload is %s; %s", ErrUnknownShape, what, accepted))}
	}
	msgs := make([]Message, 0, len(elems))
	for i, raw := range elems {
		e := first
		if i > 0 {
			e = examine(raw)
		}
		msgs = append(msgs, decodeElement(e, i)...)
	}
	return msgs
}

// decodeElement turns one located element into its messages. Elements of a
// batch are judged one by one, so one bad element costs only itself.
func decodeElement(e element, index int) []Message {
	p := &e.probe
	switch e.kind {
	case kindCloudEvent:
		if e.mns {
			return mnsEvent(e)
		}
		return customEvent(e)
	case kindRawData:
		id := firstNonEmpty(stringOf(p.MessageID), hashID(e.raw))
		return mnsMessage(id, p.MessageBody, e.raw)
	case kindTimer:
		return timerEvent(e)
	case kindIntent:
		return bodyMessages(SourceDirect, e.raw, ids{})
	}
	return []Message{failed(hashID(e.raw), SourceUnknown, e.raw,
		fmt.Errorf("%w: element %d is %s; %s", ErrUnknownShape, index, describe(e.raw), accepted))}
}

// mnsEvent reads an MNS message from its CloudEvent. ID is the MNS message id,
// which stays the same when EventBridge delivers the message again.
func mnsEvent(e element) []Message {
	p := &e.probe
	id := firstNonEmpty(stringOf(e.data.MessageID), stringOf(p.ID), hashID(e.raw))
	switch {
	case !has(p.Data):
		return []Message{failed(id, SourceMNS, e.raw, fmt.Errorf("%w: the MNS CloudEvent has no data", ErrMissingBody))}
	case firstByte(p.Data) != '{':
		return []Message{failed(id, SourceMNS, e.raw, fmt.Errorf("%w: the MNS CloudEvent's data is %s, not an object with messageBody", ErrInvalidBody, describe(p.Data)))}
	}
	return mnsMessage(id, e.data.MessageBody, e.raw)
}

// mnsMessage reads one MNS message body, from a CloudEvent or a RawData
// element; envelope is what a message without a body carries on instead.
func mnsMessage(id string, rawBody, envelope json.RawMessage) []Message {
	if !has(rawBody) {
		return []Message{failed(id, SourceMNS, envelope, fmt.Errorf("%w: messageBody is missing", ErrMissingBody))}
	}
	body, err := mnsBody(rawBody)
	if err != nil {
		return []Message{failed(id, SourceMNS, rawBody, err)}
	}
	return bodyMessages(SourceMNS, body, ids{envelope: id})
}

// mnsBody returns the intent JSON carried in messageBody. The body is a string
// holding JSON, or, when the trigger's IsBase64Decode is off and the producer
// base64-encodes (the Java and Python SDKs do by default), base64 of it.
//
// Base64 is chosen only when the body is not JSON and decodes to a JSON object
// or array. JSON is tried first because a JSON object or array can never be
// valid base64 (`{`, `[` and `"` are outside its alphabet), so a JSON body is
// never misread; and a plain text body that happens to be valid base64 ("TEST"
// is) decodes to bytes that are not JSON, so it is reported as not JSON rather
// than passed on as garbage.
func mnsBody(raw json.RawMessage) ([]byte, error) {
	s, ok := str(raw)
	if !ok {
		if c := firstByte(raw); c == '{' || c == '[' {
			// Not what FC documents, but a producer putting the JSON itself in
			// messageBody is unambiguous.
			return raw, nil
		}
		return nil, fmt.Errorf("%w: messageBody is %s, not a string", ErrInvalidBody, describe(raw))
	}
	body := []byte(s)
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, fmt.Errorf("%w: messageBody is empty", ErrMissingBody)
	}
	if json.Valid(body) {
		return body, nil
	}
	decoded, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: messageBody is not JSON (%v) and not base64 either (%v)", ErrInvalidBody, syntaxError(body), err)
	}
	if c := firstByte(decoded); (c == '{' || c == '[') && json.Valid(decoded) {
		return decoded, nil
	}
	return nil, fmt.Errorf("%w: messageBody is not JSON (%v); it is valid base64, but decodes to %s, not a JSON object or array, so it is not taken for base64",
		ErrInvalidBody, syntaxError(body), describe(decoded))
}

// customEvent reads an EventBridge CloudEvent that carries its intent in data,
// as a JSON object (or array) or as a string holding one.
func customEvent(e element) []Message {
	p := &e.probe
	id := firstNonEmpty(stringOf(p.ID), hashID(e.raw))
	if !has(p.Data) {
		return []Message{failed(id, SourceEventBridge, e.raw, fmt.Errorf("%w: the CloudEvent has no data", ErrMissingBody))}
	}
	body := []byte(p.Data)
	if s, ok := str(p.Data); ok {
		body = []byte(s)
		if !json.Valid(body) {
			return []Message{failed(id, SourceEventBridge, p.Data, fmt.Errorf("%w: data is a string that is not JSON (%v)", ErrInvalidBody, syntaxError(body)))}
		}
	}
	return bodyMessages(SourceEventBridge, body, ids{envelope: id})
}

// timerEvent reads a timer trigger event, whose configured payload arrives as
// a string holding JSON: one intent or an array of them.
func timerEvent(e element) []Message {
	p := &e.probe
	name, _ := str(p.TriggerName)
	at, _ := str(p.TriggerTime)
	scheme := ids{timer: "timer:" + name + ":" + at}
	if !has(p.Payload) {
		return []Message{failed(scheme.name(0, false, "", nil), SourceTimer, e.raw, fmt.Errorf("%w: the timer event has no payload", ErrMissingBody))}
	}
	body := []byte(p.Payload)
	if s, ok := str(p.Payload); ok {
		body = []byte(s)
		if !json.Valid(body) {
			return []Message{failed(scheme.name(0, false, "", nil), SourceTimer, p.Payload,
				fmt.Errorf("%w: the timer payload is not JSON (%v); configure the trigger's payload as an intent or an array of intents", ErrInvalidBody, syntaxError(body)))}
		}
	}
	return bodyMessages(SourceTimer, body, scheme)
}

// ids names the messages cut from one body.
type ids struct {
	// envelope is the MNS message id or CloudEvent id: a body gives <id>, or
	// <id>#<index> per element when it is an array.
	envelope string
	// timer is "timer:<name>:<time>": a message is named by its intent's id,
	// else <timer>:<index>.
	timer string
	// Neither: the intent's id, else a hash of its body.
}

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

// bodyMessages cuts a JSON body into messages: one for an object, one per
// element for an array of them.
func bodyMessages(source string, body []byte, scheme ids) []Message {
	switch firstByte(body) {
	case '{':
		return []Message{message(source, body, scheme, 0, false)}
	case '[':
		var elems []json.RawMessage
		if err := json.Unmarshal(body, &elems); err != nil {
			return []Message{failed(scheme.name(0, false, "", body), source, body, fmt.Errorf("%w: %v", ErrInvalidBody, err))}
		}
		if len(elems) == 0 {
			return []Message{failed(scheme.name(0, false, "", body), source, body, fmt.Errorf("%w: the body is an empty array: it carries no intent", ErrInvalidBody))}
		}
		msgs := make([]Message, 0, len(elems))
		for i, el := range elems {
			if firstByte(el) != '{' {
				msgs = append(msgs, failed(scheme.name(i, true, "", el), source, el,
					fmt.Errorf("%w: element %d of the body is %s, not an intent object", ErrInvalidBody, i, describe(el))))
				continue
			}
			msgs = append(msgs, message(source, el, scheme, i, true))
		}
		return msgs
	}
	return []Message{failed(scheme.name(0, false, "", body), source, body,
		fmt.Errorf("%w: the body is %s, not an intent object or an array of them", ErrInvalidBody, describe(body)))}
}

// message makes a usable message from an intent object's bytes.
func message(source string, body []byte, scheme ids, index int, inArray bool) Message {
	intentID, attempt := readIntent(body)
	return Message{
		ID:       scheme.name(index, inArray, intentID, body),
		IntentID: intentID,
		Source:   source,
		Attempt:  attempt,
		Body:     json.RawMessage(body),
	}
}

// failed makes a message that is to be rejected. Its Body is always valid JSON
// (the bytes themselves when they are JSON, else a JSON string of them), so a
// report or dead-letter message can embed it as it is.
func failed(id, source string, body []byte, err error) Message {
	return Message{ID: id, Source: source, Attempt: 1, Body: asJSON(body), Err: err}
}

// unknownPayload is the one message standing for a payload of unknown shape.
func unknownPayload(payload []byte, err error) Message {
	trimmed := bytes.Clone(bytes.TrimSpace(payload))
	return failed(hashID(trimmed), SourceUnknown, trimmed, err)
}

// bodyProbe reads the two fields of an intent this package needs, leniently:
// validating the intent is the intent package's job, and a wrong type here
// must not lose the message.
type bodyProbe struct {
	ID    json.RawMessage `json:"id"`
	Retry json.RawMessage `json:"retry"`
}

type retryProbe struct {
	Attempt json.RawMessage `json:"attempt"`
}

// readIntent returns the intent's id ("" if none) and the number of this
// delivery: retry.attempt+1 for a deferred message, else 1.
func readIntent(body []byte) (intentID string, attempt int) {
	attempt = 1
	var p bodyProbe
	if json.Unmarshal(body, &p) != nil {
		return "", attempt
	}
	intentID = stringOf(p.ID)
	if firstByte(p.Retry) != '{' {
		return intentID, attempt
	}
	var r retryProbe
	if json.Unmarshal(p.Retry, &r) != nil {
		return intentID, attempt
	}
	if n, ok := wholeNumber(r.Attempt); ok && n > 0 {
		attempt = int(min(n, math.MaxInt32-1)) + 1
	}
	return intentID, attempt
}

// wholeNumber reads a JSON number that is a whole number (3, 3.0, 3e0).
func wholeNumber(raw json.RawMessage) (int64, bool) {
	if n, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
		return n, true
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || f != math.Trunc(f) || f > math.MaxInt64 || f < math.MinInt64 {
		return 0, false
	}
	return int64(f), true
}

// hashID names a message that carries no id of its own: sha256 of its body,
// first 16 hex digits, so the same body always gets the same id.
func hashID(body []byte) string {
	sum := sha256.Sum256(body)
	return "sha256:" + hex.EncodeToString(sum[:8])
}

// stringOf reads a JSON string, "" for anything else.
func stringOf(raw json.RawMessage) string {
	s, _ := str(raw)
	return s
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// asJSON returns b when it is JSON, else b as a JSON string, nil for nothing.
func asJSON(b []byte) json.RawMessage {
	if len(b) == 0 {
		return nil
	}
	if json.Valid(b) {
		return json.RawMessage(b)
	}
	quoted, _ := json.Marshal(string(b)) // a string always marshals
	return quoted
}

// syntaxError says why b is not JSON.
func syntaxError(b []byte) error {
	var v json.RawMessage
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	return nil
}

// describe says what kind of JSON (or not) b is, for error messages.
func describe(b []byte) string {
	trimmed := bytes.TrimSpace(b)
	switch {
	case len(trimmed) == 0:
		return "empty"
	case !json.Valid(trimmed):
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
