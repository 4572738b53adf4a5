package trigger

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"

	"github.com/go-json-experiment/json/jsontext"
)

// ids names the messages cut from one body (see Message.ID).
type ids struct {
	// envelope is the MNS message id or CloudEvent id: a body gives <id>, or
	// <id>#<index> per element when it is an array.
	envelope string
	// timer is "timer:<name>:<time>": a message is named by its intent's id,
	// else <timer>:<index>.
	timer string
	// Neither: the intent's id, else a hash of its body.
}

// timerIDs names the messages of a timer event.
func timerIDs(name, at string) ids { return ids{timer: "timer:" + name + ":" + at} }

// name is the id of message index of a body (inArray: the body is an array
// of intents), given its intent's id and its bytes.
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

// refused is the id of the one message that stands for an envelope, or a
// body, that could not be used: named as its first message would be, without
// an intent id.
func (s ids) refused(carried []byte) string { return s.name(0, false, "", carried) }

// hashID names a message that carries no id of its own: sha256 of its body,
// first 16 hex digits, so the same body always gets the same id.
func hashID(body []byte) string {
	sum := sha256.Sum256(body)
	return "sha256:" + hex.EncodeToString(sum[:8])
}

// envelopeID is an envelope's id: the first of the ids it carries, in
// order of preference, that is a non-empty string; else a hash of the
// envelope, computed only then.
func envelopeID(envelope []byte, carried ...jsontext.Value) string {
	for _, id := range carried {
		if s := str(id); s != "" {
			return s
		}
	}
	return hashID(envelope)
}
