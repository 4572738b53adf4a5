package queue

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/intent"
)

// Backoff schedule and MNS limits.
const (
	// BaseDelay is the delay after the first failed attempt; it doubles with
	// every further attempt.
	BaseDelay = 30 * time.Second
	// MaxDelay is the longest message delay MNS accepts (604800 s).
	MaxDelay = 7 * 24 * time.Hour
	// MaxBodyBytes is the default (and largest) MNS message size.
	MaxBodyBytes = 65536
	// Priority is what every message is sent with: the SDK's default of 0 is
	// rejected by the service, and 8 is the service's own default.
	Priority = 8
	// maxLastError keeps a long error text from bloating every retry.
	maxLastError = 1024
)

var (
	// ErrExhausted means the message has used up its attempts or its age:
	// the caller dead-letters it instead.
	ErrExhausted = errors.New("retries exhausted")
	// ErrNoRetryQueue means Defer was called with no RETRY_QUEUE configured.
	ErrNoRetryQueue = errors.New("no RETRY_QUEUE configured")
	// ErrNoDeadLetterQueue means DeadLetter was called with no
	// DEAD_LETTER_QUEUE configured.
	ErrNoDeadLetterQueue = errors.New("no DEAD_LETTER_QUEUE configured")
	// ErrNotObject means a body to defer is not a JSON object, so no retry
	// object can be added to it; such a message belongs in the dead-letter
	// queue.
	ErrNotObject = errors.New("message body is not a JSON object")
	// ErrTooLarge means the message would exceed MaxBodyBytes.
	ErrTooLarge = errors.New("message larger than MNS accepts")
)

// Deferral is a message whose work hit a transient condition and should be
// tried again later.
type Deferral struct {
	// MessageID is the id of the message as received. If the body already
	// carries retry.messageId (it was deferred before), that original id is
	// kept instead.
	MessageID string
	// Body is the intent JSON as received.
	Body []byte
	// Attempt is the number of the attempt that just failed: 1 on first
	// delivery, retry.attempt+1 for a deferred message.
	Attempt int
	// FirstSeen is when the message was first received; zero means the
	// body's retry.firstSeen, else Now.
	FirstSeen time.Time
	// LastError names what failed, e.g. "InvalidStatus.ImageIsCreating".
	LastError string
	// Now is the current time; zero means time.Now().
	Now time.Time
}

// Backoff is the delay before attempt+1: BaseDelay doubled for every attempt
// after the first, capped at MaxDelay. No jitter: a deferred message waits in
// MNS, so there is no herd of clients to spread out.
func Backoff(attempt int) time.Duration {
	d := BaseDelay
	for i := 1; i < attempt && d < MaxDelay; i++ {
		d *= 2
	}
	return min(d, MaxDelay)
}

// Defer re-enqueues the intent to the retry queue with the retry object set to
// {attempt, firstSeen, lastError, messageId} and a delay from Backoff, never
// past the remaining MaxMessageAge. It returns the new message id and the
// delay. When the attempt limit or the age is used up it returns ErrExhausted
// and sends nothing. A send still in flight when ctx ends is abandoned, not
// stopped: it may yet enqueue the message (see send).
func (q *Queue) Defer(ctx context.Context, d Deferral) (messageID string, delay time.Duration, err error) {
	if !q.CanDefer() {
		return "", 0, fmt.Errorf("queue: defer message %q: %w", d.MessageID, ErrNoRetryQueue)
	}
	now := d.Now
	if now.IsZero() {
		now = time.Now()
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(d.Body, &fields); err != nil || fields == nil {
		return "", 0, fmt.Errorf("queue: defer message %q: %w", d.MessageID, ErrNotObject)
	}
	retry := nextRetry(d, fields["retry"], now)
	if delay, err = q.delay(retry, now); err != nil {
		return "", 0, fmt.Errorf("queue: defer message %q: %w", retry.MessageID, err)
	}
	body, err := withRetry(fields, retry)
	if err != nil {
		return "", 0, fmt.Errorf("queue: defer message %q: %w", retry.MessageID, err)
	}
	id, err := q.send(ctx, "defer", q.cfg.RetryQueue, string(body), int64(delay/time.Second))
	if err != nil {
		return "", 0, err
	}
	return id, delay, nil
}

// nextRetry is the retry object the deferred message carries: this attempt
// and error, with the original id and first sighting that a previous
// deferral recorded in prev (a malformed one is simply replaced).
func nextRetry(d Deferral, prev json.RawMessage, now time.Time) intent.Retry {
	retry := intent.Retry{Attempt: max(d.Attempt, 1), FirstSeen: d.FirstSeen, LastError: truncate(d.LastError, maxLastError), MessageID: d.MessageID}
	var p intent.Retry
	if prev != nil && json.Unmarshal(prev, &p) == nil {
		if p.MessageID != "" {
			retry.MessageID = p.MessageID
		}
		if retry.FirstSeen.IsZero() {
			retry.FirstSeen = p.FirstSeen
		}
	}
	if retry.FirstSeen.IsZero() {
		retry.FirstSeen = now
	}
	retry.FirstSeen = retry.FirstSeen.UTC()
	return retry
}

// delay is how long the deferred message waits: Backoff's delay, never past
// the remaining MaxMessageAge; ErrExhausted when the attempts or the age are
// used up.
func (q *Queue) delay(retry intent.Retry, now time.Time) (time.Duration, error) {
	if retry.Attempt >= q.cfg.MaxAttempts {
		return 0, fmt.Errorf("attempt %d reached the limit of %d: %w", retry.Attempt, q.cfg.MaxAttempts, ErrExhausted)
	}
	remaining := retry.FirstSeen.Add(q.cfg.MaxMessageAge).Sub(now)
	if remaining <= 0 {
		return 0, fmt.Errorf("first seen %s, older than MAX_MESSAGE_AGE %v: %w",
			retry.FirstSeen.Format(time.RFC3339), q.cfg.MaxMessageAge, ErrExhausted)
	}
	// MNS delays are whole seconds; rounding down keeps the retry within the age.
	return min(Backoff(retry.Attempt), remaining).Truncate(time.Second), nil
}

// withRetry is the body with its retry object set, at most MaxBodyBytes.
func withRetry(fields map[string]json.RawMessage, retry intent.Retry) ([]byte, error) {
	encodedRetry, err := json.Marshal(retry)
	if err != nil {
		return nil, fmt.Errorf("encode retry: %w", err)
	}
	fields["retry"] = encodedRetry
	body, err := encodeJSON(fields)
	if err != nil {
		return nil, fmt.Errorf("encode body: %w", err)
	}
	if len(body) > MaxBodyBytes {
		return nil, fmt.Errorf("%d bytes: %w (%d)", len(body), ErrTooLarge, MaxBodyBytes)
	}
	return body, nil
}

// Letter is a message that will not succeed, with why.
type Letter struct {
	// MessageID is the id of the message (the original one, for a message
	// that was deferred before).
	MessageID string
	// Body is the message body exactly as received, JSON or not.
	Body []byte
	// Code and Message are the reason: an API error code, "InvalidIntent",
	// "RetriesExhausted" and its explanation.
	Code, Message string
	// Attempt is how many attempts were made.
	Attempt int
	// FirstSeen is when the message was first received; zero is omitted.
	FirstSeen time.Time
	// Now is the current time; zero means time.Now().
	Now time.Time
	// Plan is the plan that was refused (JSON), when there was one: a person
	// reads in it what the message would have done, and why.
	Plan json.RawMessage
	// Confirm is what to add to the message to approve exactly the refused
	// plan (a blast-radius refusal), nil otherwise.
	Confirm *intent.Confirm
}

// deadLetter is the JSON sent to the dead-letter queue, after originalBody.
type deadLetter struct {
	// OriginalBodyEncoding says how originalBody carries the body: "json"
	// (the body itself), "string" (a JSON string of text that is not JSON)
	// or "base64" (bytes that are not UTF-8, which MNS cannot carry).
	OriginalBodyEncoding string `json:"originalBodyEncoding"`
	// OriginalBodyTruncated is set when the body had to be cut to fit
	// MaxBodyBytes; originalBodySize is then its full size.
	OriginalBodyTruncated bool       `json:"originalBodyTruncated,omitempty"`
	OriginalBodySize      int        `json:"originalBodySize,omitempty"`
	MessageID             string     `json:"messageId"`
	Code                  string     `json:"code"`
	Message               string     `json:"message"`
	Attempt               int        `json:"attempt,omitempty"`
	FirstSeen             *time.Time `json:"firstSeen,omitempty"`
	DeadLetteredAt        time.Time  `json:"deadLetteredAt"`
	// Confirm comes before the plan, so that a letter too large for its plan
	// still carries it (PlanOmitted then says the plan was left out).
	Confirm     *intent.Confirm `json:"confirm,omitempty"`
	Plan        json.RawMessage `json:"plan,omitempty"`
	PlanOmitted bool            `json:"planOmitted,omitempty"`
}

// DeadLetter sends {"originalBody", "messageId", "code", "message", "attempt",
// "firstSeen", "deadLetteredAt", ...} to the dead-letter queue and returns the
// new message id. originalBody is the body itself when it is JSON, else a JSON
// string.
func (q *Queue) DeadLetter(ctx context.Context, l Letter) (messageID string, err error) {
	if !q.HasDeadLetter() {
		return "", fmt.Errorf("queue: dead-letter message %q: %w", l.MessageID, ErrNoDeadLetterQueue)
	}
	body, err := encodeLetter(l)
	if err != nil {
		return "", fmt.Errorf("queue: dead-letter message %q: %w", l.MessageID, err)
	}
	return q.send(ctx, "dead-letter", q.cfg.DeadLetterQueue, string(body), 0)
}

// encodeLetter writes originalBody first and byte for byte when the body is
// JSON (json.Marshal would re-compact it), then the other fields. A body
// that would push the letter past MaxBodyBytes is cut, since a letter that
// cannot be sent would make the platform redeliver the message for ever.
func encodeLetter(l Letter) ([]byte, error) {
	meta := letterMeta(l)
	var original []byte
	switch {
	case utf8.Valid(l.Body) && json.Valid(l.Body):
		meta.OriginalBodyEncoding, original = "json", l.Body
	case utf8.Valid(l.Body):
		meta.OriginalBodyEncoding = "string"
	default:
		meta.OriginalBodyEncoding = "base64"
	}
	letter, err := assembleLetter(original, l.Body, meta)
	if err != nil || len(letter) <= MaxBodyBytes {
		return letter, err
	}
	if meta.Plan != nil {
		// The plan is there to be read, the body and the ids to confirm to
		// be sent again: when they do not fit together, the plan goes first.
		meta.Plan, meta.PlanOmitted = nil, true
		if letter, err = assembleLetter(original, l.Body, meta); err != nil || len(letter) <= MaxBodyBytes {
			return letter, err
		}
	}
	return cutLetter(l.Body, meta, len(letter))
}

// letterMeta is the letter's fields other than its body.
func letterMeta(l Letter) deadLetter {
	now := l.Now
	if now.IsZero() {
		now = time.Now()
	}
	meta := deadLetter{
		MessageID:      l.MessageID,
		Code:           l.Code,
		Message:        l.Message,
		Attempt:        l.Attempt,
		DeadLetteredAt: now.UTC(),
		Confirm:        l.Confirm,
		Plan:           l.Plan,
	}
	if !l.FirstSeen.IsZero() {
		first := l.FirstSeen.UTC()
		meta.FirstSeen = &first
	}
	return meta
}

// cutLetter carries as much of a body that is too large (its letter was size
// bytes) as fits, as a string.
func cutLetter(body []byte, meta deadLetter, size int) ([]byte, error) {
	meta.OriginalBodyTruncated, meta.OriginalBodySize = true, len(body)
	if meta.OriginalBodyEncoding == "json" {
		meta.OriginalBodyEncoding = "string"
	}
	var letter []byte
	cut := body
	for size > MaxBodyBytes && len(cut) > 0 {
		cut = cut[:max(0, len(cut)-(size-MaxBodyBytes))]
		for len(cut) > 0 && meta.OriginalBodyEncoding == "string" && !utf8.Valid(cut) {
			cut = cut[:len(cut)-1] // never split a UTF-8 sequence
		}
		var err error
		if letter, err = assembleLetter(nil, cut, meta); err != nil {
			return nil, err
		}
		size = len(letter)
	}
	if size > MaxBodyBytes {
		return nil, fmt.Errorf("%w: the dead letter alone is %d bytes", ErrTooLarge, size)
	}
	return letter, nil
}

// assembleLetter writes {"originalBody":...,<meta fields>}. original, when not
// nil, is valid JSON written as it is; otherwise body is carried as a string
// in the encoding meta names.
func assembleLetter(original, body []byte, meta deadLetter) ([]byte, error) {
	if original == nil {
		text := string(body)
		if meta.OriginalBodyEncoding == "base64" {
			text = base64.StdEncoding.EncodeToString(body)
		}
		var err error
		if original, err = encodeJSON(text); err != nil {
			return nil, err
		}
	}
	rest, err := encodeJSON(meta)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.WriteString(`{"originalBody":`)
	out.Write(original)
	out.WriteByte(',')
	out.Write(rest[1:]) // rest is an object: drop its opening brace
	return out.Bytes(), nil
}

// encodeJSON is json.Marshal without HTML escaping, so that '<', '>' and '&'
// in an intent reach the queue as they were written.
func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
