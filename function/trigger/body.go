package trigger

import (
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/strictjson"
)

// A body is the intent JSON an envelope carries: an object or an array of
// them. This file finds it in the member that holds it; decode.go cuts it
// into messages.

// intentBody is a body, and, when it is one intent object that has been read
// already (checking a body found in a string reads it), that intent's head,
// so that it is not read again.
type intentBody struct {
	text []byte
	head intentHead
	read bool
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
func mnsBody(raw jsontext.Value) (intentBody, error) {
	body, ok := text(raw)
	if !ok {
		if c := firstByte(raw); c == '{' || c == '[' {
			// Not what FC documents, but a producer putting the JSON itself in
			// messageBody is unambiguous.
			return intentBody{text: raw}, nil
		}
		return intentBody{}, fmt.Errorf("%w: messageBody is %s, not a string", ErrInvalidBody, describe(raw))
	}
	if len(trimSpace(body)) == 0 {
		return intentBody{}, fmt.Errorf("%w: messageBody is empty", ErrMissingBody)
	}
	checked, err := checkBody(body)
	if err == nil {
		return checked, nil
	}
	if meantAsJSON(body, err) {
		return intentBody{}, fmt.Errorf("%w: messageBody is not strict JSON: %w", ErrInvalidBody, err)
	}
	decoded, b64err := base64.StdEncoding.DecodeString(string(body))
	if b64err != nil {
		return intentBody{}, fmt.Errorf("%w: messageBody is not JSON (%v) and not base64 either (%v)", ErrInvalidBody, err, b64err)
	}
	if c := firstByte(decoded); c == '{' || c == '[' {
		checked, err := checkBody(decoded)
		if err != nil {
			return intentBody{}, fmt.Errorf("%w: messageBody is base64 of text that is not strict JSON: %w", ErrInvalidBody, err)
		}
		return checked, nil
	}
	return intentBody{}, fmt.Errorf("%w: messageBody is not JSON (%v); it is valid base64, but decodes to %s, not a JSON object or array, so it is not taken for base64",
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
func jsonMember(raw jsontext.Value) (intentBody, error) {
	if s, ok := text(raw); ok {
		return checkBody(s)
	}
	return intentBody{text: raw}, nil
}

// checkBody says whether a body found in a string is JSON: its structure, and
// for a single value its strict verdict. The elements of an array body are
// judged one by one later (appendMessages), so that one bad intent in a list
// costs only itself.
func checkBody(body []byte) (intentBody, error) {
	b := intentBody{text: body}
	if firstByte(body) == '{' {
		// The common case, one intent: read once, here, for good.
		if b.head, b.read = readHead(body); b.read {
			return b, nil
		}
	}
	vals, inArray, err := strictjson.Values(body)
	switch {
	case err != nil:
		return b, err
	case !inArray:
		return b, strictjson.Check(vals[0])
	}
	return b, nil
}
