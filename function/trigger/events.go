package trigger

import (
	"errors"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

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
