package trigger

import (
	"errors"

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

// accepted is the part of an unknown-shape error that tells the sender what
// would have been understood.
const accepted = "accepted: an MNS queue CloudEvent (type " + mnsEventType +
	", data.messageBody) or a JSON array of them; an EventBridge CloudEvent with the intent in `data`, or an array of them; " +
	"an array of MNS RawData objects {requestId, messageId, messageBody}; a timer event {triggerTime, triggerName, payload}; " +
	"an intent object (with \"action\") or a JSON array of intents"
