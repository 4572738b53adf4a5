package invoke_test

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/emulator"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/intent"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/lifecycle"
	lifecyclepolicy "github.com/ecs-image-lifecycle/image-lifecycle/function/policy"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/report"
	"github.com/ecs-image-lifecycle/image-lifecycle/internal/testenv"
	"github.com/ecs-image-lifecycle/image-lifecycle/internal/testenv/reportcheck"
	"github.com/ecs-image-lifecycle/image-lifecycle/tests/mnsfake"
)

// sample reads a file of events/.
func sample(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(testenv.Path(t, "events", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Events that change nothing cost no ECS call, not even the batch's read ahead.
func TestEventsThatChangeNothing(t *testing.T) {
	t.Parallel()
	notOurs := `{"id":"ev-9","source":"acs.ecs","specversion":"1.0","type":"ecs:ActionTrail:ApiCall",` +
		`"data":{"eventName":"DeleteImage","acsRegion":"cn-hangzhou","requestParameters":{"ImageId":"` + webOldest + `"}}}`
	noRecord := `{"id":"ev-8","source":"acs.ecs","specversion":"1.0","type":"ecs:ActionTrail:ApiCall","data":"not a record"}`
	tests := []struct {
		name, payload string
		outcome       report.Outcome
		code, says    string
	}{
		{"a failed call", sample(t, "triggers/actiontrail-failed.json"), report.Unchanged, "",
			"nothing to do: the CreateImage call failed (InvalidImageName.Duplicated: The specified image name is already in use.): it made no image"},
		{"another call", notOurs, report.Unchanged, "", `not acted on: "DeleteImage": only CreateImage, CopyImage and ImportImage records are read`},
		{"a record that cannot be read", noRecord, report.Rejected, "InvalidParameter.ActionTrail", "must be the ActionTrail record, an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			emu := testenv.StartEmulator(t, emulator.Options{Seed: testenv.DemoSeed(t)})
			h := newHandler(t, emu, setup{policy: samplePolicy(t)})
			rep, err := handle(t, h, 5*time.Second, []byte(`[`+tt.payload+`,`+tt.payload+`]`))
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range rep.Messages {
				said := m.Reason + m.Error
				if m.Plan != nil {
					said += m.Plan.Table()
				}
				if m.Outcome != tt.outcome || m.Code != tt.code || !strings.Contains(said, tt.says) || m.Source != "eventbridge" {
					t.Errorf("message %s: %s %s, said %q; want %s %s saying %q", m.ID, m.Outcome, m.Code, said, tt.outcome, tt.code, tt.says)
				}
			}
			if n := emu.Calls("DescribeImages") + emu.Calls("ModifyImageAttribute"); n != 0 {
				t.Errorf("%d ECS calls", n)
			}
		})
	}
}

// A plan beyond the blast radius is refused whole and dead-lettered with the
// plan and the ids to confirm; the message sent again with them is applied.
func TestBlastRadiusDeadLetterAndConfirmation(t *testing.T) {
	t.Parallel()
	emu := testenv.StartEmulator(t, emulator.Options{Seed: testenv.DemoSeed(t)})
	mns := testenv.StartMNS(t, mnsfake.Options{}, retryQueue, deadQueue)
	pol, err := lifecyclepolicy.Parse([]byte(`{"version":1,"families":[{"match":"web","keep":1,"maxDeprecations":1}]}`))
	if err != nil {
		t.Fatal(err)
	}
	h := newHandler(t, emu, setup{mns: mns, retry: true, dlq: true, policy: pol})
	const rotate = `{"action":"rotate","id":"nightly","imageFamily":"web"}`
	rep, err := handle(t, h, 5*time.Second, testenv.MNSBatch(t, testenv.MNSMessage{ID: "msg-1", Body: rotate}))
	reportcheck.Accounting(t, rep, err, []string{"msg-1"})
	m := rep.Messages[0]
	want := []string{webOldest, webNov06}
	if m.Outcome != report.DeadLettered || m.Code != "Forbidden.BlastRadius" || m.Confirm == nil || !slices.Equal(m.Confirm.Deprecate, want) ||
		m.Plan == nil || !strings.Contains(m.Error, "more than maxDeprecations 1") {
		t.Fatalf("refused: %s %s confirm %+v: %s", m.Outcome, m.Code, m.Confirm, m.Error)
	}
	if n := emu.Calls("ModifyImageAttribute"); n != 0 {
		t.Errorf("%d writes before the refusal", n)
	}
	letters := mns.Messages(deadQueue)
	if len(letters) != 1 {
		t.Fatalf("%d dead letters", len(letters))
	}
	var letter struct {
		OriginalBody json.RawMessage
		Code         string
		Confirm      *intent.Confirm
		Plan         *lifecycle.Plan
	}
	if err := json.Unmarshal([]byte(letters[0].Body), &letter); err != nil {
		t.Fatal(err)
	}
	if string(letter.OriginalBody) != rotate || letter.Code != "Forbidden.BlastRadius" || letter.Confirm == nil ||
		!slices.Equal(letter.Confirm.Deprecate, want) || letter.Plan == nil || len(letter.Plan.Steps) != 5 {
		t.Fatalf("dead letter %s", letters[0].Body)
	}

	// A person adds the letter's confirm to the original body and sends it again.
	var body map[string]json.RawMessage
	if err := json.Unmarshal(letter.OriginalBody, &body); err != nil {
		t.Fatal(err)
	}
	body["confirm"], _ = json.Marshal(letter.Confirm)
	again, _ := json.Marshal(body)
	rep, err = handle(t, h, 5*time.Second, testenv.MNSBatch(t, testenv.MNSMessage{ID: "msg-2", Body: string(again)}))
	reportcheck.Accounting(t, rep, err, []string{"msg-2"})
	if m := rep.Messages[0]; m.Outcome != report.Applied {
		t.Fatalf("confirmed: %s %s: %s", m.Outcome, m.Code, m.Error)
	}
	for id, want := range map[string]string{webOldest: "Deprecated", webNov06: "Deprecated", webKeepTag: "Available", webNov20: "Available"} {
		if got := statusOf(t, emu, id); got != want {
			t.Errorf("%s is %s, want %s", id, got, want)
		}
	}
	// The same confirmed message again changes nothing: its images are done.
	rep, _ = handle(t, h, 5*time.Second, testenv.MNSBatch(t, testenv.MNSMessage{ID: "msg-3", Body: string(again)}))
	if m := rep.Messages[0]; m.Outcome != report.Unchanged {
		t.Errorf("the confirmation again: %s %s", m.Outcome, m.Error)
	}
}

// An event whose image is not listed yet is deferred as it came (the event,
// with the retry object at its top), and read as an event when it comes back.
func TestEventDeferredAndBack(t *testing.T) {
	t.Parallel()
	seed := testenv.DemoSeed(t)
	var cp emulator.SeedImage
	seed.Images = slices.DeleteFunc(seed.Images, func(im emulator.SeedImage) bool {
		if im.ImageID == webCopySH {
			cp = im
			return true
		}
		return false
	})
	emu := testenv.StartEmulator(t, emulator.Options{Seed: seed, CreatingCalls: 1})
	mns := testenv.StartMNS(t, mnsfake.Options{}, retryQueue, deadQueue)
	h := newHandler(t, emu, setup{mns: mns, retry: true, dlq: true, policy: samplePolicy(t)})
	event := sample(t, "triggers/actiontrail-copyimage.json")
	rep, err := handle(t, h, 5*time.Second, []byte(event))
	reportcheck.Accounting(t, rep, err, []string{"5b2e9c41-8f07-4d3a-b6e2-1a9c0f4d7e22"})
	if m := rep.Messages[0]; m.Outcome != report.Deferred || m.Code != "InvalidImageId.NotFound" || m.RegionID != "cn-shanghai" {
		t.Fatalf("first delivery: %s %s in %s: %s", m.Outcome, m.Code, m.RegionID, m.Error)
	}
	queued := mns.Messages(retryQueue)
	if len(queued) != 1 {
		t.Fatalf("%d deferred", len(queued))
	}
	var back struct {
		Type  string        `json:"type"`
		Retry *intent.Retry `json:"retry"`
	}
	if err := json.Unmarshal([]byte(queued[0].Body), &back); err != nil || back.Type != "ecs:ActionTrail:ApiCall" || back.Retry == nil || back.Retry.Attempt != 1 {
		t.Fatalf("deferred body %s", queued[0].Body)
	}

	// ECS lists the copy now; the event comes back through the intent queue.
	if err := emu.PutImage(cp); err != nil {
		t.Fatal(err)
	}
	rep, err = handle(t, h, 5*time.Second, testenv.MNSBatch(t, fromQueue(queued)...))
	reportcheck.Accounting(t, rep, err, []string{queued[0].ID})
	m := rep.Messages[0]
	if m.Outcome != report.Applied || m.Attempt != 2 || m.ImageID != webCopySH || !slices.Equal(m.Families, []string{"web"}) {
		t.Fatalf("second delivery: %s attempt %d image %s families %v: %s", m.Outcome, m.Attempt, m.ImageID, m.Families, m.Error)
	}
	if img, _ := emu.Image(webCopySH); img.Family != "web" || img.Status != "Available" {
		t.Errorf("the copy: %+v", img)
	}
}

// An event's plan beyond the blast radius is confirmed as any message's:
// the letter's confirm, added at the top of the event as it came.
func TestEventConfirmedAtItsTop(t *testing.T) {
	t.Parallel()
	emu := testenv.StartEmulator(t, emulator.Options{Seed: testenv.DemoSeed(t), CreatingCalls: 1})
	mns := testenv.StartMNS(t, mnsfake.Options{}, retryQueue, deadQueue)
	pol, err := lifecyclepolicy.Parse([]byte(`{"version":1,"families":[{"match":"web","keep":1,"maxDeprecations":1}]}`))
	if err != nil {
		t.Fatal(err)
	}
	h := newHandler(t, emu, setup{mns: mns, retry: true, dlq: true, policy: pol})
	event := sample(t, "triggers/actiontrail-createimage.json")
	rep, err := handle(t, h, 5*time.Second, []byte(event))
	reportcheck.Accounting(t, rep, err, []string{"0c6f2b8e-3d41-4b7a-9a52-6e1f0d7c4a11"})
	m := rep.Messages[0]
	want := []string{webOldest, webNov06, webNov20} // beyond keep 1; the tagged image is excluded
	if m.Outcome != report.DeadLettered || m.Code != "Forbidden.BlastRadius" || m.Confirm == nil || !slices.Equal(m.Confirm.Deprecate, want) {
		t.Fatalf("%s %s confirm %+v: %s", m.Outcome, m.Code, m.Confirm, m.Error)
	}
	var body map[string]json.RawMessage
	if err := json.Unmarshal([]byte(event), &body); err != nil {
		t.Fatal(err)
	}
	body["confirm"], _ = json.Marshal(m.Confirm)
	again, _ := json.Marshal(body)
	rep, err = handle(t, h, 5*time.Second, again)
	reportcheck.Accounting(t, rep, err, []string{"0c6f2b8e-3d41-4b7a-9a52-6e1f0d7c4a11"})
	if m := rep.Messages[0]; m.Outcome != report.Applied {
		t.Fatalf("confirmed: %s %s: %s", m.Outcome, m.Code, m.Error)
	}
	for id, st := range map[string]string{webBuilding: "Available", webOldest: "Deprecated", webNov06: "Deprecated", webNov20: "Deprecated", webKeepTag: "Available"} {
		if got := statusOf(t, emu, id); got != st {
			t.Errorf("%s is %s, want %s", id, got, st)
		}
	}
}
