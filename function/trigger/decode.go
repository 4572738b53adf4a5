package trigger

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/strictjson"
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
	// One copy, so that no message aliases the caller's buffer; every body
	// below is a slice of it (or, for a string body, its unquoted text).
	payload = bytes.Clone(payload)
	elems, inArray, err := strictjson.Split(payload)
	switch {
	case err != nil:
		return []Message{unknownPayload(payload, fmt.Errorf("%w: the payload is not JSON: %w; %s", ErrUnknownShape, err, accepted))}
	case inArray && len(elems) == 0:
		return []Message{}
	}
	// The shape is judged on the first element that reads: one that breaks
	// a strict rule (a repeated name, invalid UTF-8) is rejected on its own.
	first, firstAt := element{}, -1
	for i, el := range elems {
		if el.Err == nil {
			first, firstAt = examine(el.Raw), i
			break
		}
	}
	if firstAt >= 0 && first.kind == kindUnknown {
		// The whole payload is of an unknown shape: one message stands for it,
		// rather than one error per element of, say, a Kafka batch.
		what := describe(elems[firstAt].Raw)
		if inArray {
			what = "a JSON array whose first element is " + what
		}
		return []Message{unknownPayload(payload, fmt.Errorf("%w: the payload is %s; %s", ErrUnknownShape, what, accepted))}
	}
	msgs := make([]Message, 0, len(elems))
	for i, el := range elems {
		switch {
		case el.Err != nil:
			where := "the payload"
			if inArray {
				where = fmt.Sprintf("element %d of the payload", i)
			}
			msgs = append(msgs, failed(hashID(el.Raw), SourceUnknown, el.Raw, fmt.Errorf("%w: %s is not strict JSON: %w", ErrUnknownShape, where, el.Err)))
		case i == firstAt:
			msgs = append(msgs, decodeElement(first, i)...)
		default:
			msgs = append(msgs, decodeElement(examine(el.Raw), i)...)
		}
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
func mnsMessage(id string, rawBody, envelope jsontext.Value) []Message {
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

// customEvent reads an EventBridge CloudEvent that carries its intent in data,
// as a JSON object (or array) or as a string holding one.
func customEvent(e element) []Message {
	p := &e.probe
	id := firstNonEmpty(stringOf(p.ID), hashID(e.raw))
	if !has(p.Data) {
		return []Message{failed(id, SourceEventBridge, e.raw, fmt.Errorf("%w: the CloudEvent has no data", ErrMissingBody))}
	}
	body := []byte(p.Data)
	if s, ok := text(p.Data); ok {
		body = s
		if err := checkBody(body); err != nil {
			return []Message{failed(id, SourceEventBridge, p.Data, fmt.Errorf("%w: data is a string that is not JSON (%w)", ErrInvalidBody, err))}
		}
	}
	return bodyMessages(SourceEventBridge, body, ids{envelope: id})
}

// timerEvent reads a timer trigger event, whose configured payload arrives as
// a string holding JSON: one intent or an array of them.
func timerEvent(e element) []Message {
	p := &e.probe
	name := stringOf(p.TriggerName)
	at := stringOf(p.TriggerTime)
	scheme := ids{timer: "timer:" + name + ":" + at}
	if !has(p.Payload) {
		return []Message{failed(scheme.name(0, false, "", nil), SourceTimer, e.raw, fmt.Errorf("%w: the timer event has no payload", ErrMissingBody))}
	}
	body := []byte(p.Payload)
	if s, ok := text(p.Payload); ok {
		body = s
		if err := checkBody(body); err != nil {
			return []Message{failed(scheme.name(0, false, "", nil), SourceTimer, p.Payload,
				fmt.Errorf("%w: the timer payload is not JSON (%w); configure the trigger's payload as an intent or an array of intents", ErrInvalidBody, err))}
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
// element for an array of them. Each is read strictly: a repeated name or
// invalid UTF-8 in one element rejects that element only.
func bodyMessages(source string, body []byte, scheme ids) []Message {
	elems, inArray, err := strictjson.Split(body)
	switch {
	case err != nil:
		return []Message{failed(scheme.name(0, false, "", body), source, body, fmt.Errorf("%w: %w", ErrInvalidBody, err))}
	case !inArray && elems[0].Err != nil:
		return []Message{failed(scheme.name(0, false, "", body), source, body, fmt.Errorf("%w: %w", ErrInvalidBody, elems[0].Err))}
	case !inArray && firstByte(body) == '{':
		// The body as it came, surrounding whitespace included: byte-exact.
		return []Message{message(source, body, scheme, 0, false)}
	case !inArray:
		return []Message{failed(scheme.name(0, false, "", body), source, body,
			fmt.Errorf("%w: the body is %s, not an intent object or an array of them", ErrInvalidBody, describe(body)))}
	case len(elems) == 0:
		return []Message{failed(scheme.name(0, false, "", body), source, body, fmt.Errorf("%w: the body is an empty array: it carries no intent", ErrInvalidBody))}
	}
	msgs := make([]Message, 0, len(elems))
	for i, el := range elems {
		switch {
		case el.Err != nil:
			msgs = append(msgs, failed(scheme.name(i, true, "", el.Raw), source, el.Raw,
				fmt.Errorf("%w: element %d of the body: %w", ErrInvalidBody, i, el.Err)))
		case firstByte(el.Raw) != '{':
			msgs = append(msgs, failed(scheme.name(i, true, "", el.Raw), source, el.Raw,
				fmt.Errorf("%w: element %d of the body is %s, not an intent object", ErrInvalidBody, i, describe(el.Raw))))
		default:
			msgs = append(msgs, message(source, el.Raw, scheme, i, true))
		}
	}
	return msgs
}

// message makes a usable message from an intent object's bytes.
func message(source string, body []byte, scheme ids, index int, inArray bool) Message {
	intentID, attempt := readIntent(body)
	return Message{
		ID:       scheme.name(index, inArray, intentID, body),
		IntentID: intentID,
		Source:   source,
		Attempt:  attempt,
		Body:     body,
	}
}

// failed makes a message that is to be rejected. Its Body is always JSON text
// (the bytes themselves when they are, else a JSON string of them), so a
// dead-letter message can embed it as it is.
func failed(id, source string, body []byte, err error) Message {
	return Message{ID: id, Source: source, Attempt: 1, Body: []byte(asJSON(body)), Err: err}
}

// unknownPayload is the one message standing for a payload of unknown shape.
// Only JSON whitespace is trimmed: anything else is part of what was sent.
func unknownPayload(payload []byte, err error) Message {
	trimmed := trimSpace(payload)
	return failed(hashID(trimmed), SourceUnknown, trimmed, err)
}

// bodyProbe reads the two fields of an intent this package needs, leniently:
// validating the intent is the intent package's job, and a wrong type here
// must not lose the message.
type bodyProbe struct {
	ID    jsontext.Value `json:"id"`
	Retry jsontext.Value `json:"retry"`
}

type retryProbe struct {
	Attempt jsontext.Value `json:"attempt"`
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

// hashID names a message that carries no id of its own: sha256 of its body,
// first 16 hex digits, so the same body always gets the same id.
func hashID(body []byte) string {
	sum := sha256.Sum256(body)
	return "sha256:" + hex.EncodeToString(sum[:8])
}

// stringOf reads a JSON string, "" for anything else.
func stringOf(raw jsontext.Value) string {
	s, _ := text(raw)
	return string(s)
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
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
