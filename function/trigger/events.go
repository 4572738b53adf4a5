package trigger

import (
	"bytes"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/strictjson"
)

// The wire shapes, as the members this package reads of each, by their JSON
// names exactly: names are matched case-sensitively (as json v2 does), so
// an MNS topic event's "MessageId" is never taken for "messageId". The other
// members (datacontenttype, subject, time, the aliyun* extensions) are read,
// strictly, and left aside, since their values and formats differ between
// the console, the docs and EventBridge itself.
//
// Every member is kept raw, as the bytes of its value (nil when absent), and
// read where it is understood: has tells a present member from an absent or
// null one, which is how the shapes are told apart (shape.go); str reads a
// string member, and a member of another type (a numeric id) reads as "",
// so that the message is still located and named and what it carries is
// judged where it is used; a member that may carry JSON in more than one form
// (an object, an array, a string holding either) is read in body.go.
//
// The members are read token by token with jsontext (wire.read), not by
// reflection into structs: an envelope is read once, and the values are
// slices of the payload, not copies.

// envelope is the members of one element that tell the shapes apart, read
// in one pass: the members of each wire type at once (their names never
// clash), each at its index below.
type envelope [envelopeMembers]jsontext.Value

const (
	// An EventBridge CloudEvent. It is an MNS queue message when its type is
	// mnsEventType (data is then an mnsMessage), or a custom event that
	// carries its intent in data: a JSON object, an array of them, or a
	// string holding either.
	envSpecVersion = iota
	envID
	envSource
	envType
	envData
	// An element of a batch delivered with the RawData schema: an
	// mnsMessage without its CloudEvent.
	envMessageID
	envMessageBody
	// A timer trigger's event. payload is the trigger's configured text:
	// here a string holding an intent or an array of them.
	envTriggerTime
	envTriggerName
	envPayload
	// An intent sent directly (see intentHead).
	envAction
	envelopeMembers
)

var envelopeWire = wire{
	names: []string{
		envSpecVersion: "specversion", envID: "id", envSource: "source", envType: "type", envData: "data",
		envMessageID: "messageId", envMessageBody: "messageBody",
		envTriggerTime: "triggerTime", envTriggerName: "triggerName", envPayload: "payload",
		envAction: "action",
	},
	// A CloudEvent's data is an MNS message's when it carries messageBody:
	// read on the way.
	nest: envData, inner: &mnsMessageWire,
}

// mnsEventType is the CloudEvent type EventBridge gives a message read from
// an MNS queue; it is the one value the decoder looks at, because it is what
// tells an MNS event from a custom event that carries its intent in `data`.
const mnsEventType = "mns:Queue:SendMessage"

// mnsMessage is the data of an MNS CloudEvent, and one element of a batch
// delivered with the RawData schema (whose requestId this package does not
// read). Its body is a string holding the intent JSON, or base64 of it when
// the trigger's IsBase64Decode is off.
type mnsMessage [mnsMembers]jsontext.Value

const (
	mnsMessageID = iota
	mnsMessageBody
	mnsMembers
)

var mnsMessageWire = wire{names: []string{mnsMessageID: "messageId", mnsMessageBody: "messageBody"}, nest: -1}

// intentHead is the part of an intent this package reads: its id names its
// message, its retry's attempt counts the deliveries of a deferred one, and
// its type tells an ActionTrail event, which is carried like an intent,
// from one. Validating the intent is the intent package's job.
type intentHead struct {
	members [headMembers]jsontext.Value
	// retry is the retry object's member: its attempt, raw because 3, 3.0
	// and 3e0 all count (see wholeNumber).
	retry [1]jsontext.Value
}

const (
	headID = iota
	headType
	headRetry
	headMembers
)

var intentHeadWire = wire{
	names: []string{headID: "id", headType: "type", headRetry: "retry"},
	nest:  headRetry, inner: &wire{names: []string{"attempt"}, nest: -1},
}

// wire is the table of a wire type: the names of the members this package
// reads, exactly as sent, and the one member (nest, -1 for none) whose
// value, when it is an object, is read on the way with its own table
// (inner), so that it is not read twice. The tables are package variables,
// built once.
type wire struct {
	names []string
	nest  int
	inner *wire
}

// read reads raw, which must be one JSON object, into vals (the value of
// the member named w.names[i], raw, goes into vals[i]; nil when absent) and
// the nested object's members into inner; the other members are left aside.
// It reads the whole of raw strictly, as strictjson.Check does (a repeated
// name, invalid UTF-8 or whitespace JSON does not allow is refused, at any
// depth), so err is nil exactly when Check's verdict is; see strictRead for
// its wording.
//
// vals and inner are slices of the caller's arrays, not structs filled
// through pointers, so that what is read stays on the caller's stack.
func (w *wire) read(raw []byte, vals, inner []jsontext.Value) error {
	d := strictjson.NewDecoder(raw)
	defer d.Release()
	if _, err := w.readFrom(d, raw, vals, inner); err != nil {
		return err
	}
	return d.End()
}

// readFrom reads the object that comes next in d, whose text is text, as
// read does, and returns its bytes.
func (w *wire) readFrom(d *strictjson.Decoder, text []byte, vals, inner []jsontext.Value) (jsontext.Value, error) {
	tok, err := d.ReadToken()
	switch {
	case err != nil:
		return nil, err
	case tok.Kind() != '{':
		return nil, errNotObject
	}
	start := d.Offset() - 1
	for d.PeekKind() != '}' {
		// A name read as a value is its quoted bytes, compared without a copy.
		name, err := d.ReadValue()
		if err != nil {
			return nil, err
		}
		i := w.index(name)
		var val jsontext.Value
		if i >= 0 && i == w.nest && d.PeekKind() == '{' {
			val, err = w.inner.readFrom(d, text, inner, nil)
		} else {
			val, err = d.ReadValue()
		}
		if err != nil {
			return nil, err
		}
		if i >= 0 {
			// Capped: a value becomes a message's Body, and appending to it
			// must not write over the rest of the payload.
			vals[i] = val[:len(val):len(val)]
		}
	}
	if _, err := d.ReadToken(); err != nil {
		return nil, err
	}
	end := d.Offset()
	return text[start:end:end], nil
}

// errNotObject is read's refusal of a value that is not an object; callers
// look at the first byte before, so it is never what a message carries.
var errNotObject = &strictjson.Error{Code: strictjson.CodeMalformed, Message: "not a JSON object"}

// index is the place in the table of the member named by quoted (a JSON
// string, as read), or -1. An escaped name ("\u0069d") means what its text
// says, as it does to json v2.
func (w *wire) index(quoted jsontext.Value) int {
	name := unquoted(quoted)
	for i := range w.names {
		if string(name) == w.names[i] {
			return i
		}
	}
	return -1
}

// strictRead reads raw with w, as read does. On a refusal its error is
// Check's (the error the element was refused with before it was read member
// by member), so that a refusal reads the same whichever way raw was read;
// should Check find nothing wrong, read's own error is kept.
func strictRead(w *wire, raw []byte, vals, inner []jsontext.Value) error {
	err := w.read(raw, vals, inner)
	if err == nil {
		return nil
	}
	if checked := strictjson.Check(raw); checked != nil {
		return checked
	}
	return err
}

// str is a string member's text, "" when it is absent or not a string.
func str(v jsontext.Value) string { return string(memberText(v)) }

// memberText is a string member's text, without a copy when it has no
// escape; nil when it is absent or not a string.
func memberText(v jsontext.Value) []byte {
	if len(v) == 0 || v[0] != '"' {
		return nil
	}
	return unquoted(v)
}

// unquoted is the text of v, a JSON string read strictly; it is v's own
// bytes when there is no escape in it.
func unquoted(v jsontext.Value) []byte {
	text := v[1 : len(v)-1]
	if bytes.IndexByte(text, '\\') < 0 {
		return text
	}
	b, _ := jsontext.AppendUnquote(nil, v) // read strictly: it unquotes
	return b
}
