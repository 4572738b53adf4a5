package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/intent"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/report"
	"github.com/ecs-image-lifecycle/image-lifecycle/tests/mnsfake"
)

// shortTimeout is a function timeout that a promote of a Creating image
// outlasts: the deadline's split (retry.DefaultShares) ends the wait for a
// Creating image 8 s before the deadline and keeps the last 3 s to settle, so
// the promote gives up waiting about 4 s in and defers.
const shortTimeout = 12 * time.Second

const promoteSample = "02-promote-post-build.json"

// The MNS message id of the promote sample.
const promoteMessageID = "C6DB60D1574661357FA2272774451A02"

// TestDeferralRoundTrip: a promote of an image that stays Creating is deferred
// to RETRY_QUEUE with a delay and a retry object; fed back as the trigger
// would deliver it, after the image finished, it applies as attempt 2.
func TestDeferralRoundTrip(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{}) // CreatingCalls 0: Creating until SetStatus
	door := startGo1(t, w)

	start := time.Now()
	r := door.invoke(t, call{payload: sample(t, promoteSample), timeout: shortTimeout})
	if r.isError {
		t.Fatalf("invocation error %s: %s", r.errorType, r.errorMessage)
	}
	if elapsed := time.Since(start); elapsed > shortTimeout {
		t.Errorf("the deferring invocation took %v, longer than its %v timeout", elapsed, shortTimeout)
	}
	checkReport(t, "first delivery", r, []want{{promoteMessageID, report.Deferred, "InvalidStatus.ImageIsCreating"}})
	m := r.report.Messages[0]

	msgs := w.mns.Messages(retryQueue)
	if len(msgs) != 1 {
		t.Fatalf("%d messages in %s, want the deferred one", len(msgs), retryQueue)
	}
	deferred := msgs[0]
	if deferred.ID != m.DeferredTo || deferred.DelaySeconds <= 0 || m.RetryDelay == "" {
		t.Errorf("retry message %s with delay %ds; the report says %s after %q", deferred.ID, deferred.DelaySeconds, m.DeferredTo, m.RetryDelay)
	}
	var body struct {
		Action string       `json:"action"`
		Retry  intent.Retry `json:"retry"`
	}
	if err := json.Unmarshal([]byte(deferred.Body), &body); err != nil {
		t.Fatalf("retry message body: %v\n%s", err, deferred.Body)
	}
	rt := body.Retry
	if body.Action != "promote" || rt.Attempt != 1 || rt.LastError != "InvalidStatus.ImageIsCreating" || rt.MessageID != promoteMessageID {
		t.Errorf("retry message %s, want the promote with retry {attempt 1, lastError InvalidStatus.ImageIsCreating, messageId %s}", deferred.Body, promoteMessageID)
	}
	if rt.FirstSeen.Before(start.Add(-time.Second)) || rt.FirstSeen.After(time.Now().Add(time.Second)) {
		t.Errorf("retry.firstSeen %v, want the first delivery's time (%v)", rt.FirstSeen, start)
	}
	if img := w.image(t, buildImage); img.Status != "Creating" || img.Name != "web-build-0412" {
		t.Errorf("the build after the deferral: %s %q, want it untouched", img.Status, img.Name)
	}

	// The build finishes; the retry message comes back through the trigger.
	if err := w.emu.SetStatus(buildImage, "Available"); err != nil {
		t.Fatal(err)
	}
	r = door.invoke(t, call{payload: redeliver(t, sample(t, promoteSample), deferred)})
	if r.isError {
		t.Fatalf("redelivery: invocation error %s: %s", r.errorType, r.errorMessage)
	}
	checkReport(t, "redelivery", r, []want{{deferred.ID, report.Applied, ""}})
	if got := r.report.Messages[0].Attempt; got != 2 {
		t.Errorf("redelivery attempt %d, want 2", got)
	}
	if got, want := stateOf(w.image(t, buildImage)), demoFinal[buildImage]; got != want {
		t.Errorf("the build after the redelivery:\n got %+v\nwant %+v", got, want)
	}
	for _, id := range []string{"m-bp1web6h7i8j9k0l1m2n", "m-bp1a2b3c4d5e6f7g8h9i"} {
		if st := w.image(t, id).Status; st != "Deprecated" {
			t.Errorf("%s is %s, want Deprecated beyond keep 2", id, st)
		}
	}
	if n := len(w.mns.Messages(retryQueue)); n != 1 {
		t.Errorf("%d messages in the retry queue, want only the first deferral", n)
	}
	if n := len(w.letters(t)); n != 0 {
		t.Errorf("%d dead letters, want none", n)
	}
}

// redeliver wraps an MNS message the way the MNS trigger (EventBridge)
// delivers it: the sample's CloudEvent array, with data.messageId and
// data.messageBody replaced by the message's.
func redeliver(t *testing.T, envelope []byte, m mnsfake.Message) []byte {
	t.Helper()
	var events []map[string]any
	if err := json.Unmarshal(envelope, &events); err != nil || len(events) != 1 {
		t.Fatalf("%s is not a one-event MNS CloudEvent array: %v", promoteSample, err)
	}
	data, ok := events[0]["data"].(map[string]any)
	if !ok {
		t.Fatalf("%s has no data object", promoteSample)
	}
	data["messageId"], data["messageBody"] = m.ID, m.Body
	events[0]["id"] = "redelivery-of-" + strings.ToLower(m.ID)
	b, err := json.Marshal(events)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRetryQueueOutage: when the message must be deferred but RETRY_QUEUE
// does not answer, the invocation fails, so the platform redelivers the
// message instead of it being acknowledged unsettled. In serve mode the
// failure is the documented 404 with x-fc-status: 404 and the report inside.
func TestRetryQueueOutage(t *testing.T) {
	t.Parallel()
	for _, door := range []string{"go1", "serve"} {
		t.Run(door, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, worldOptions{})
			d := startDoor(t, w, door)
			w.mns.SetDown(retryQueue, true)
			r := d.invoke(t, call{payload: sample(t, promoteSample), timeout: shortTimeout})
			if !r.isError {
				t.Fatalf("the invocation succeeded although the message could not be deferred:\n%s", r.raw)
			}
			if !strings.Contains(r.errorMessage, "could not be settled") || !strings.Contains(r.errorMessage, promoteMessageID) {
				t.Errorf("error %s: %q, want it to name the unsettled message", r.errorType, r.errorMessage)
			}
			if w.mns.Sends(retryQueue) == 0 {
				t.Error("the function never tried the retry queue")
			}
			if n := len(w.mns.Messages(retryQueue)) + len(w.mns.Messages(deadLetterQueue)); n != 0 {
				t.Errorf("%d messages were stored, want none", n)
			}
			if door == "serve" {
				checkReport(t, "outage", r, []want{{promoteMessageID, report.Failed, "InvalidStatus.ImageIsCreating"}})
			}

			// The queue is back: the redelivered batch is deferred normally.
			w.mns.SetDown(retryQueue, false)
			r = d.invoke(t, call{payload: sample(t, promoteSample), timeout: shortTimeout})
			if r.isError {
				t.Fatalf("after the outage: %s: %s", r.errorType, r.errorMessage)
			}
			checkReport(t, "after the outage", r, []want{{promoteMessageID, report.Deferred, "InvalidStatus.ImageIsCreating"}})
		})
	}
}

// startDoor starts the binary behind the named front door: "go1" or "serve".
func startDoor(t *testing.T, w *world, door string) frontDoor {
	t.Helper()
	switch door {
	case "go1":
		return startGo1(t, w)
	case "serve":
		addr := freeAddr(t)
		return startServe(t, serveCommand(w, addr), addr)
	}
	t.Fatalf("unknown front door %q", door)
	return nil
}
