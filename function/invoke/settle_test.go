package invoke_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/emulator"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/intent"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/invoke"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/queue"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/report"
	"github.com/ecs-image-lifecycle/image-lifecycle/internal/testenv"
	"github.com/ecs-image-lifecycle/image-lifecycle/internal/testenv/fakeclock"
	"github.com/ecs-image-lifecycle/image-lifecycle/internal/testenv/reportcheck"
	"github.com/ecs-image-lifecycle/image-lifecycle/tests/mnsfake"
)

// stuckEmulator serves the demo seed with the web build stuck in Creating, so
// that any write to it answers InvalidStatus.ImageIsCreating for ever.
func stuckEmulator(t *testing.T) *emulator.Server {
	t.Helper()
	return testenv.StartEmulator(t, emulator.Options{Seed: testenv.DemoSeed(t)})
}

// stuckModify is an intent that stays transient: it modifies the image still Creating.
const stuckModify = `{"action":"modify","imageId":"` + webBuilding + `","attributes":{"description":"waiting for the build"}}`

// retryBody is a message of the retry queue, decoded.
type retryBody struct {
	Action  string        `json:"action"`
	ImageID string        `json:"imageId"`
	Retry   *intent.Retry `json:"retry"`
}

func decodeRetry(t *testing.T, m mnsfake.Message) retryBody {
	t.Helper()
	var b retryBody
	if err := json.Unmarshal([]byte(m.Body), &b); err != nil {
		t.Fatalf("retry queue message %s is not JSON: %v\n%s", m.ID, err, m.Body)
	}
	if b.Retry == nil {
		t.Fatalf("retry queue message %s has no retry object: %s", m.ID, m.Body)
	}
	return b
}

// deadLetterBody is a message of the dead-letter queue, decoded.
type deadLetterBody struct {
	OriginalBody         json.RawMessage `json:"originalBody"`
	OriginalBodyEncoding string          `json:"originalBodyEncoding"`
	MessageID            string          `json:"messageId"`
	Code                 string          `json:"code"`
	Message              string          `json:"message"`
	Attempt              int             `json:"attempt"`
}

func decodeDeadLetter(t *testing.T, m mnsfake.Message) deadLetterBody {
	t.Helper()
	var b deadLetterBody
	if err := json.Unmarshal([]byte(m.Body), &b); err != nil {
		t.Fatalf("dead letter %s is not JSON: %v\n%s", m.ID, err, m.Body)
	}
	return b
}

// deferralInvocation is the function timeout of TestDeferralRoundTrip.
const deferralInvocation = 3 * time.Second

// TestDeferralRoundTrip follows one transient message through the retry
// queue: the first delivery runs out of invocation time and is deferred with
// the retry object and the schedule's delay; each redelivery counts the
// attempt on and keeps the original id and first sighting; at the attempt
// limit the message is dead-lettered with the API's code.
func TestDeferralRoundTrip(t *testing.T) {
	t.Parallel()
	emu := stuckEmulator(t)
	mns := testenv.StartMNS(t, mnsfake.Options{}, retryQueue, deadQueue)
	clk := fakeclock.New(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
	h := newHandler(t, emu, setup{mns: mns, retry: true, dlq: true, maxAttempts: 3, now: clk.Now})
	firstSeen := clk.Now()

	// Delivery 1: the call is retried until the deadline (less the policy's
	// reserve), then the message is deferred, not failed. The invocations are
	// short, but long enough that settling's quarter of them (750 ms) leaves
	// the MNS send room on a machine busy with the whole race-built suite.
	start := time.Now()
	rep, err := handle(t, h, deferralInvocation, testenv.MNSBatch(t, testenv.MNSMessage{ID: "orig-1", Body: stuckModify}))
	reportcheck.Accounting(t, rep, err, []string{"orig-1"})
	if took := time.Since(start); took < 700*time.Millisecond {
		t.Errorf("Handle took %v: the transient error was not waited out until near the deadline", took)
	}
	m := rep.Messages[0]
	if m.Outcome != report.Deferred || m.Code != "InvalidStatus.ImageIsCreating" {
		t.Fatalf("delivery 1: %s %s (%s), want deferred InvalidStatus.ImageIsCreating", m.Outcome, m.Code, m.Error)
	}
	queued := mns.Messages(retryQueue)
	if len(queued) != 1 {
		t.Fatalf("retry queue holds %d messages, want 1", len(queued))
	}
	if m.DeferredTo != queued[0].ID || m.RetryDelay != "30s" {
		t.Errorf("report says deferred to %q after %s; queue holds %q", m.DeferredTo, m.RetryDelay, queued[0].ID)
	}
	if queued[0].DelaySeconds != int64(queue.Backoff(1)/time.Second) {
		t.Errorf("DelaySeconds %d, want %v from the schedule", queued[0].DelaySeconds, queue.Backoff(1))
	}
	b := decodeRetry(t, queued[0])
	wantRetry := intent.Retry{Attempt: 1, FirstSeen: firstSeen, LastError: "InvalidStatus.ImageIsCreating", MessageID: "orig-1"}
	if b.Action != "modify" || b.ImageID != webBuilding || !sameRetry(*b.Retry, wantRetry) {
		t.Errorf("deferred body %s, want the intent with retry %+v", queued[0].Body, wantRetry)
	}

	// Delivery 2: MNS hands the deferred message back under its new id.
	clk.Advance(time.Minute)
	rep, err = handle(t, h, deferralInvocation, testenv.MNSBatch(t, fromQueue(queued)...))
	reportcheck.Accounting(t, rep, err, []string{queued[0].ID})
	if m := rep.Messages[0]; m.Outcome != report.Deferred || m.Attempt != 2 || m.RetryDelay != "1m0s" {
		t.Fatalf("delivery 2: %s attempt %d delay %s (%s), want deferred attempt 2 after 1m0s", m.Outcome, m.Attempt, m.RetryDelay, m.Error)
	}
	queued = mns.Messages(retryQueue)
	if len(queued) != 2 {
		t.Fatalf("retry queue holds %d messages, want 2", len(queued))
	}
	wantRetry.Attempt = 2
	if b := decodeRetry(t, queued[1]); !sameRetry(*b.Retry, wantRetry) || queued[1].DelaySeconds != 60 {
		t.Errorf("second deferral %s (delay %ds), want retry %+v after 60s", queued[1].Body, queued[1].DelaySeconds, wantRetry)
	}

	// Delivery 3 reaches MaxAttempts 3: dead-lettered with the last code.
	rep, err = handle(t, h, deferralInvocation, testenv.MNSBatch(t, fromQueue(queued[1:])...))
	reportcheck.Accounting(t, rep, err, []string{queued[1].ID})
	m = rep.Messages[0]
	if m.Outcome != report.DeadLettered || m.Code != "InvalidStatus.ImageIsCreating" || !strings.Contains(m.Error, "retries exhausted") {
		t.Fatalf("delivery 3: %s %s (%s), want dead-lettered InvalidStatus.ImageIsCreating, retries exhausted", m.Outcome, m.Code, m.Error)
	}
	if n := len(mns.Messages(retryQueue)); n != 2 {
		t.Errorf("retry queue holds %d messages after exhaustion, want still 2", n)
	}
	letters := mns.Messages(deadQueue)
	if len(letters) != 1 || m.DeadLetterID != letters[0].ID {
		t.Fatalf("dead-letter queue holds %d messages, report says %q", len(letters), m.DeadLetterID)
	}
	dl := decodeDeadLetter(t, letters[0])
	if dl.Code != "InvalidStatus.ImageIsCreating" || dl.Attempt != 3 || dl.OriginalBodyEncoding != "json" {
		t.Errorf("dead letter %s, want code InvalidStatus.ImageIsCreating, attempt 3, the body as JSON", letters[0].Body)
	}
	if statusOf(t, emu, webBuilding) != "Creating" {
		t.Errorf("the stuck image changed state")
	}
}

// TestDeadLetterCarriesOriginalID: a dead letter of a message that was
// deferred before names the original message id (queue.Letter's contract),
// so an operator can trace it back to what the producer sent.
func TestDeadLetterCarriesOriginalID(t *testing.T) {
	t.Parallel()
	emu := stuckEmulator(t)
	mns := testenv.StartMNS(t, mnsfake.Options{}, retryQueue, deadQueue)
	clk := fakeclock.New(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
	h := newHandler(t, emu, setup{mns: mns, retry: true, dlq: true, maxAttempts: 2, callAttempts: 2, now: clk.Now})
	rep, err := handle(t, h, 5*time.Second, testenv.MNSBatch(t, testenv.MNSMessage{ID: "orig-2", Body: stuckModify}))
	reportcheck.Accounting(t, rep, err, []string{"orig-2"})
	rep, err = handle(t, h, 5*time.Second, testenv.MNSBatch(t, fromQueue(mns.Messages(retryQueue))...))
	if rep.Messages[0].Outcome != report.DeadLettered {
		t.Fatalf("second delivery %s, want dead-lettered (err %v)", rep.Messages[0].Outcome, err)
	}
	if dl := decodeDeadLetter(t, mns.Messages(deadQueue)[0]); dl.MessageID != "orig-2" {
		t.Errorf("dead letter names message %q, want the original id orig-2", dl.MessageID)
	}
}

// TestDeferralExhaustion covers the two limits and the missing DLQ: past
// MaxAttempts or MaxMessageAge a deferred message is dead-lettered with the
// API's code, or rejected when there is no dead-letter queue.
func TestDeferralExhaustion(t *testing.T) {
	t.Parallel()
	// A message as the retry queue hands it back: deferred twice before.
	firstSeen := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	redelivered := func(attempt int) string {
		return `{"action":"modify","imageId":"` + webBuilding + `","attributes":{"description":"waiting"},` +
			`"retry":{"attempt":` + string(rune('0'+attempt)) + `,"firstSeen":"2026-11-27T09:00:00Z","lastError":"InvalidStatus.ImageIsCreating","messageId":"orig-3"}}`
	}
	tests := []struct {
		name        string
		dlq         bool
		maxAttempts int
		maxAge      time.Duration
		now         time.Time
		attempt     int // retry.attempt in the body; the delivery is attempt+1
		want        report.Outcome
		inError     string
	}{
		{name: "attempt limit, DLQ", dlq: true, maxAttempts: 3, now: firstSeen.Add(time.Hour), attempt: 2,
			want: report.DeadLettered, inError: "reached the limit of 3"},
		{name: "message age, DLQ", dlq: true, maxAttempts: 50, maxAge: 2 * time.Hour, now: firstSeen.Add(3 * time.Hour), attempt: 2,
			want: report.DeadLettered, inError: "older than MAX_MESSAGE_AGE"},
		{name: "attempt limit, no DLQ", maxAttempts: 3, now: firstSeen.Add(time.Hour), attempt: 2,
			want: report.Rejected, inError: "reached the limit of 3"},
		{name: "message age, no DLQ", maxAttempts: 50, maxAge: 2 * time.Hour, now: firstSeen.Add(3 * time.Hour), attempt: 2,
			want: report.Rejected, inError: "older than MAX_MESSAGE_AGE"},
		{name: "within both limits", dlq: true, maxAttempts: 50, maxAge: 4 * time.Hour, now: firstSeen.Add(3 * time.Hour), attempt: 2,
			want: report.Deferred},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			emu := stuckEmulator(t)
			mns := testenv.StartMNS(t, mnsfake.Options{}, retryQueue, deadQueue)
			now := tc.now
			h := newHandler(t, emu, setup{mns: mns, retry: true, dlq: tc.dlq, maxAttempts: tc.maxAttempts, maxAge: tc.maxAge,
				callAttempts: 2, now: func() time.Time { return now }})
			rep, err := handle(t, h, 5*time.Second, testenv.MNSBatch(t, testenv.MNSMessage{ID: "redelivery-9", Body: redelivered(tc.attempt)}))
			reportcheck.Accounting(t, rep, err, []string{"redelivery-9"})
			if err != nil {
				t.Errorf("Handle: %v, want no error (the message settled)", err)
			}
			m := rep.Messages[0]
			if m.Outcome != tc.want || m.Attempt != tc.attempt+1 || m.Code != "InvalidStatus.ImageIsCreating" || !strings.Contains(m.Error, tc.inError) {
				t.Fatalf("%s attempt %d code %q error %q, want %s attempt %d InvalidStatus.ImageIsCreating with %q",
					m.Outcome, m.Attempt, m.Code, m.Error, tc.want, tc.attempt+1, tc.inError)
			}
			letters := mns.Messages(deadQueue)
			switch tc.want {
			case report.DeadLettered:
				if len(letters) != 1 {
					t.Fatalf("dead-letter queue holds %d, want 1", len(letters))
				}
				if dl := decodeDeadLetter(t, letters[0]); dl.Code != "InvalidStatus.ImageIsCreating" || dl.Attempt != tc.attempt+1 {
					t.Errorf("dead letter %s", letters[0].Body)
				}
			case report.Deferred:
				q := mns.Messages(retryQueue)
				if len(q) != 1 {
					t.Fatalf("retry queue holds %d, want 1", len(q))
				}
				b := decodeRetry(t, q[0])
				want := intent.Retry{Attempt: 3, FirstSeen: firstSeen, LastError: "InvalidStatus.ImageIsCreating", MessageID: "orig-3"}
				if !sameRetry(*b.Retry, want) {
					t.Errorf("retry %+v, want %+v", *b.Retry, want)
				}
				// Backoff(3) is 120s, within the hour of age left.
				if q[0].DelaySeconds != 120 {
					t.Errorf("DelaySeconds %d, want 120", q[0].DelaySeconds)
				}
			default:
				if len(letters) != 0 || len(mns.Messages(retryQueue)) != 0 {
					t.Errorf("a rejected message reached a queue")
				}
			}
		})
	}
}

// TestDeadLetter: invalid input and a permanent API error go to the DLQ with
// the original body and the code; without a DLQ they are rejected and the
// invocation succeeds (retrying cannot help).
func TestDeadLetter(t *testing.T) {
	t.Parallel()
	msgs := []struct {
		msg  testenv.MNSMessage
		code string
		// asString: the body was not JSON, so the trigger carries it on as a
		// JSON string (trigger.Message.Body), and the DLQ gets that string.
		asString bool
	}{
		{testenv.MNSMessage{ID: "bad-field", Body: `{"action":"modify","imageId":"` + apiNov02 + `","ImageName":"x"}`}, "InvalidParameter.UnknownField", false},
		{testenv.MNSMessage{ID: "bad-name", Body: `{"action":"modify","imageId":"` + apiNov02 + `","attributes":{"imageName":"aliyun-x"}}`}, "InvalidImageName.Malformed", false},
		{testenv.MNSMessage{ID: "not-json", Body: `deprecate m-bp1a2b3c4d5e6f7g8h9i please`}, "InvalidParameter.Payload", true},
		// The emulator refuses a name another image of the account already has.
		{testenv.MNSMessage{ID: "duplicate-name", Body: `{"action":"modify","imageId":"` + apiNov02 + `","attributes":{"imageName":"api-2026-11-12"}}`}, "InvalidImageName.Duplicated", false},
	}
	for _, withDLQ := range []bool{true, false} {
		name := "no DLQ"
		if withDLQ {
			name = "DLQ"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			emu := testenv.StartEmulator(t, emulator.Options{Seed: testenv.DemoSeed(t)})
			mns := testenv.StartMNS(t, mnsfake.Options{}, retryQueue, deadQueue)
			h := newHandler(t, emu, setup{mns: mns, retry: true, dlq: withDLQ})
			var batch []testenv.MNSMessage
			var ids []string
			for _, m := range msgs {
				batch = append(batch, m.msg)
				ids = append(ids, m.msg.ID)
			}
			rep, err := handle(t, h, 10*time.Second, testenv.MNSBatch(t, batch...))
			reportcheck.Accounting(t, rep, err, ids)
			if err != nil {
				t.Errorf("Handle: %v, want nil: every message settled", err)
			}
			got := byID(rep)
			letters := map[string]deadLetterBody{}
			for _, l := range mns.Messages(deadQueue) {
				d := decodeDeadLetter(t, l)
				letters[d.MessageID] = d
			}
			for _, m := range msgs {
				r := got[m.msg.ID]
				want := report.Rejected
				if withDLQ {
					want = report.DeadLettered
				}
				if r.Outcome != want || r.Code != m.code {
					t.Errorf("%s: %s %s (%s), want %s %s", m.msg.ID, r.Outcome, r.Code, r.Error, want, m.code)
					continue
				}
				if !withDLQ {
					continue
				}
				d, ok := letters[m.msg.ID]
				if !ok {
					t.Errorf("%s: no dead letter", m.msg.ID)
					continue
				}
				original := string(d.OriginalBody)
				if m.asString {
					if err := json.Unmarshal(d.OriginalBody, &original); err != nil {
						t.Errorf("%s: originalBody %s is not a JSON string", m.msg.ID, d.OriginalBody)
					}
				}
				if original != m.msg.Body || d.Code != m.code || d.OriginalBodyEncoding != "json" {
					t.Errorf("%s: dead letter carries body %q code %s encoding %s, want %q %s json",
						m.msg.ID, original, d.Code, d.OriginalBodyEncoding, m.msg.Body, m.code)
				}
			}
			if !withDLQ && len(mns.Messages(deadQueue)) != 0 {
				t.Errorf("dead letters sent with no DLQ configured")
			}
			if len(mns.Messages(retryQueue)) != 0 {
				t.Errorf("a permanent failure was deferred")
			}
			if statusOf(t, emu, apiNov02) != "Available" {
				t.Errorf("image %s changed", apiNov02)
			}
			if img, _ := emu.Image(apiNov02); img.Name != "api-2026-11-02" {
				t.Errorf("image %s renamed to %s", apiNov02, img.Name)
			}
		})
	}
}

// TestQueueOutage: when the retry queue or the DLQ is down, the messages that
// needed it fail, the invocation returns *FailedError naming them, and the
// rest of the batch still settles.
func TestQueueOutage(t *testing.T) {
	t.Parallel()
	batch := []testenv.MNSMessage{
		{ID: "transient", Body: stuckModify},
		{ID: "invalid", Body: `{"action":"retire","imageId":"` + apiNov02 + `"}`},
		{ID: "good", Body: `{"action":"modify","imageId":"` + apiNov24 + `","attributes":{"description":"still here"}}`},
		{ID: "dry", Body: `{"action":"deprecate","imageId":"` + webNov06 + `","dryRun":true}`},
	}
	tests := []struct {
		down   string
		failed string
		want   map[string]report.Outcome
	}{
		{down: retryQueue, failed: "transient", want: map[string]report.Outcome{
			"transient": report.Failed, "invalid": report.DeadLettered, "good": report.Applied, "dry": report.Planned}},
		{down: deadQueue, failed: "invalid", want: map[string]report.Outcome{
			"transient": report.Deferred, "invalid": report.Failed, "good": report.Applied, "dry": report.Planned}},
	}
	for _, tc := range tests {
		t.Run(tc.down+" down", func(t *testing.T) {
			t.Parallel()
			emu := stuckEmulator(t)
			mns := testenv.StartMNS(t, mnsfake.Options{}, retryQueue, deadQueue)
			mns.SetDown(tc.down, true)
			h := newHandler(t, emu, setup{mns: mns, retry: true, dlq: true, callAttempts: 3})
			rep, err := handle(t, h, 10*time.Second, testenv.MNSBatch(t, batch...))
			reportcheck.Accounting(t, rep, err, []string{"transient", "invalid", "good", "dry"})
			var fe *invoke.FailedError
			if !errors.As(err, &fe) || len(fe.IDs) != 1 || fe.IDs[0] != tc.failed {
				t.Fatalf("Handle error %v, want *FailedError naming %s", err, tc.failed)
			}
			got := byID(rep)
			for id, want := range tc.want {
				if got[id].Outcome != want {
					t.Errorf("%s: %s (%s), want %s", id, got[id].Outcome, got[id].Error, want)
				}
			}
			if f := got[tc.failed]; !strings.Contains(f.Error, "503") && !strings.Contains(f.Error, queue.CodeInvalidResponse) {
				t.Errorf("failed message's error %q does not say the queue answered 503", f.Error)
			}
			if mns.Sends(tc.down) == 0 {
				t.Errorf("no send reached the queue that is down")
			}
			if img, _ := emu.Image(apiNov24); img.Description != "still here" {
				t.Errorf("the good message was not applied: %q", img.Description)
			}
			if statusOf(t, emu, webNov06) != "Available" {
				t.Errorf("the dry run changed an image")
			}
		})
	}
}

func sameRetry(a, b intent.Retry) bool {
	return a.Attempt == b.Attempt && a.FirstSeen.Equal(b.FirstSeen) && a.LastError == b.LastError && a.MessageID == b.MessageID
}
