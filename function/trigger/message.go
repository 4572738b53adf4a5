// Package trigger turns the raw payload of an invocation, whatever trigger sent
// it, into messages: one per intent, each with an id for idempotency and logs.
package trigger

import "encoding/json"

// Message is one unit of work: one intent, with where it came from.
type Message struct {
	// ID identifies the message across redeliveries: the MNS message id, else the
	// CloudEvent id, else the intent's id, else a hash of the body.
	ID string `json:"id"`
	// Source names the shape it arrived in: "mns", "eventbridge", "timer", "direct".
	Source string `json:"source"`
	// Attempt is 1 on first delivery; a deferred message carries its count on.
	Attempt int `json:"attempt"`
	// Body is the intent's JSON exactly as received (after base64 decoding):
	// it is what a dead-letter or retry message carries on.
	Body json.RawMessage `json:"body"`
	// Err is set when the message could be located but its body cannot be
	// used (not JSON, bad base64): it is then rejected, never dropped.
	Err error `json:"-"`
}
