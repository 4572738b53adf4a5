// Package trigger turns the raw payload of an invocation, whatever trigger sent
// it, into messages: one per intent (or ActionTrail event), each with an id
// for idempotency and logs.
//
// One file per step, each calling only the ones below it: decode.go (Decode:
// read the payload's elements, open each element's envelope, cut its body
// into messages); shape.go (which shape a payload and each element is);
// body.go (the intent JSON inside a member: messageBody, data, payload);
// ids.go (message ids); events.go (the wire types, and the tables that read
// their members token by token); raw.go (raw JSON helpers and the
// descriptions errors give); errors.go (errors and their codes).
package trigger

import "encoding/json"

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
	Body json.RawMessage `json:"body"`
	// Event is set when Body is an ActionTrail event (actiontrail.Decode
	// reads it) rather than an intent: EventBridge delivered the cloud's
	// record of a call, or the retry queue brought a deferred one back.
	Event bool `json:"event,omitempty"`
	// Err is set when the message could be located but its body cannot be
	// used (not JSON, bad base64): it is then rejected, never dropped. It
	// wraps ErrUnknownShape, ErrMissingBody or ErrInvalidBody.
	Err error `json:"-"`
}
