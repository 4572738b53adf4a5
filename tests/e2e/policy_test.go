package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/emulator"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/report"
)

// The lifecycle policy and the cloud's own events, through the binary under
// the go1 runtime, against the emulator and the MNS fake.

// The demo seed's images these tests name.
const (
	webOldest  = "m-bp1a2b3c4d5e6f7g8h9i" // web-2026-10-30
	webNov06   = "m-bp1web6h7i8j9k0l1m2n"
	webKeepTag = "m-bp1web3o4p5q6r7s8t9u" // tagged lifecycle:keep=true
	webNov20   = "m-bp1web9v0w1x2y3z4a5b"
	shanghai   = "m-uf6web2c3d4e5f6g7h8i" // the copy of web-2026-11-20 in cn-shanghai
)

// TestActionTrailFailedCall: the record of a failed CreateImage changes
// nothing, says why, and costs no ECS call.
func TestActionTrailFailedCall(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{policy: true})
	door := startGo1(t, w)
	r := door.invoke(t, call{payload: sample(t, "triggers/actiontrail-failed.json")})
	checkReport(t, "failed call", r, []want{{"e7a9b3c5-6d2f-4e81-a4c6-8b0d2f4a6c44", report.Unchanged, ""}})
	m := r.report.Messages[0]
	if m.Plan == nil || !strings.Contains(m.Plan.Reason, "the CreateImage call failed (InvalidImageName.Duplicated: The specified image name is already in use.): it made no image") {
		t.Errorf("the report does not say why: %s", r.raw)
	}
	if n := w.emu.Calls("DescribeImages") + w.emu.Calls("ModifyImageAttribute"); n != 0 {
		t.Errorf("%d ECS calls for a failed call's record", n)
	}
}

// TestActionTrailWithoutResponseElements: a record without the new image's
// id finds it by its exact name (DescribeImages' name filter is loose: an
// image whose name only starts with it is left alone), waits out Creating,
// and promotes it with the policy's attributes and keep.
func TestActionTrailWithoutResponseElements(t *testing.T) {
	t.Parallel()
	const decoy = "m-bp1decoy0a1b2c3d4e5f"
	w := newWorld(t, worldOptions{creatingCalls: 2, policy: true, seed: func(s *emulator.Seed) {
		img := s.Images[0]
		img.ImageID, img.Name, img.Family, img.Status = decoy, "web-build-04120", "", "Available"
		s.Images = append(s.Images, img)
	}})
	door := startGo1(t, w)
	r := door.invoke(t, call{payload: sample(t, "triggers/actiontrail-createimage-noresponse.json")})
	checkReport(t, "no responseElements", r, []want{{"9d4e7a20-51c8-4f3b-8e6d-2b7c1f0a9e55", report.Applied, ""}})
	m := r.report.Messages[0]
	if m.ImageID != buildImage || !slices.Equal(m.Families, []string{"web"}) || m.Source != "eventbridge" {
		t.Errorf("the report names image %s of %v from %s", m.ImageID, m.Families, m.Source)
	}
	if !slices.ContainsFunc(m.Plan.Notes, func(n string) bool {
		return strings.Contains(n, `found by its exact name "web-build-0412" in cn-hangzhou`)
	}) {
		t.Errorf("notes %q", m.Plan.Notes)
	}
	build := w.image(t, buildImage)
	if build.Status != "Available" || build.Family != "web" || build.NvmeSupport != "supported" || build.ImdsSupport != "v2" || build.BootMode != "UEFI" {
		t.Errorf("the build: %+v", build)
	}
	for id, want := range map[string]string{webOldest: "Deprecated", webNov06: "Deprecated", webKeepTag: "Available", webNov20: "Available"} {
		if got := w.image(t, id).Status; got != want {
			t.Errorf("%s is %s, want %s (keep 3)", id, got, want)
		}
	}
	if d := w.image(t, decoy); d.Family != "" {
		t.Errorf("the image whose name only starts with the build's joined %q", d.Family)
	}
}

// TestActionTrailCopyToAnotherRegion: a CopyImage record names the copy
// only by its name in the destination region. Not listed there yet, the
// event is deferred as it came; back through the intent queue once ECS lists
// the copy, it promotes the copy in cn-shanghai, where it joins web by the
// policy's names[]. Nothing in cn-hangzhou changes.
func TestActionTrailCopyToAnotherRegion(t *testing.T) {
	t.Parallel()
	var cp emulator.SeedImage
	w := newWorld(t, worldOptions{creatingCalls: 1, policy: true, seed: func(s *emulator.Seed) {
		s.Images = slices.DeleteFunc(s.Images, func(im emulator.SeedImage) bool {
			if im.ImageID == shanghai {
				cp = im
				return true
			}
			return false
		})
	}})
	door := startGo1(t, w)
	event := sample(t, "triggers/actiontrail-copyimage.json")
	r := door.invoke(t, call{payload: event})
	checkReport(t, "copy not listed yet", r, []want{{"5b2e9c41-8f07-4d3a-b6e2-1a9c0f4d7e22", report.Deferred, "InvalidImageId.NotFound"}})
	if m := r.report.Messages[0]; m.RegionID != "cn-shanghai" || !strings.Contains(m.Error, `no own image is named "web-2026-11-20-sh" in cn-shanghai yet`) {
		t.Errorf("deferred in %s: %s", m.RegionID, m.Error)
	}
	queued := w.mns.Messages(retryQueue)
	if len(queued) != 1 {
		t.Fatalf("%d messages in the retry queue", len(queued))
	}
	var back map[string]json.RawMessage
	if err := json.Unmarshal([]byte(queued[0].Body), &back); err != nil || string(back["type"]) != `"ecs:ActionTrail:ApiCall"` || back["retry"] == nil {
		t.Fatalf("the deferred event %s", queued[0].Body)
	}

	if err := w.emu.PutImage(cp); err != nil {
		t.Fatal(err)
	}
	r = door.invoke(t, call{payload: redeliver(t, sample(t, promoteSample), queued[0])})
	checkReport(t, "copy listed", r, []want{{queued[0].ID, report.Applied, ""}})
	if m := r.report.Messages[0]; m.Attempt != 2 || m.ImageID != shanghai || m.RegionID != "cn-shanghai" || m.Source != "mns" {
		t.Errorf("second delivery: attempt %d image %s region %s source %s", m.Attempt, m.ImageID, m.RegionID, m.Source)
	}
	copied := w.image(t, shanghai)
	if copied.Status != "Available" || copied.Family != "web" || copied.RegionID != "cn-shanghai" {
		t.Errorf("the copy: %+v", copied)
	}
	for _, id := range []string{webOldest, webNov06, webKeepTag, webNov20} {
		if got := w.image(t, id).Status; got != "Available" {
			t.Errorf("%s in cn-hangzhou is %s: the copy's family there was touched", id, got)
		}
	}
}

// TestBlastRadiusRefusalAndConfirmation: a rotation that would deprecate
// more than the policy allows changes nothing and is dead-lettered with its
// plan and the ids to confirm; sent again with them, it is applied.
func TestBlastRadiusRefusalAndConfirmation(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	door := startGo1(t, w, `POLICY={"version":1,"families":[{"match":"web","keep":1,"maxDeprecations":1}]}`)
	const rotate = `{"action":"rotate","id":"nightly-web","imageFamily":"web"}`
	r := door.invoke(t, call{payload: []byte(rotate)})
	checkReport(t, "refused", r, []want{{"nightly-web", report.DeadLettered, "Forbidden.BlastRadius"}})
	toConfirm := []string{webOldest, webNov06}
	m := r.report.Messages[0]
	if m.Confirm == nil || !slices.Equal(m.Confirm.Deprecate, toConfirm) || !strings.Contains(m.Error, "more than maxDeprecations 1; nothing was changed") {
		t.Fatalf("the report: confirm %+v, %s", m.Confirm, m.Error)
	}
	if n := w.emu.Calls("ModifyImageAttribute"); n != 0 {
		t.Fatalf("%d writes before the refusal", n)
	}
	letters := w.letters(t)
	if len(letters) != 1 {
		t.Fatalf("%d dead letters", len(letters))
	}
	l := letters[0]
	if l.Code != "Forbidden.BlastRadius" || l.Confirm == nil || !slices.Equal(l.Confirm.Deprecate, toConfirm) || l.Plan == nil || len(l.Plan.Steps) == 0 ||
		string(l.OriginalBody) != rotate {
		t.Fatalf("the dead letter: %+v", l)
	}

	// The person adds the letter's confirm to the original body.
	var body map[string]json.RawMessage
	if err := json.Unmarshal(l.OriginalBody, &body); err != nil {
		t.Fatal(err)
	}
	body["confirm"], _ = json.Marshal(l.Confirm)
	body["id"] = json.RawMessage(`"nightly-web-confirmed"`)
	again, _ := json.Marshal(body)
	r = door.invoke(t, call{payload: again})
	checkReport(t, "confirmed", r, []want{{"nightly-web-confirmed", report.Applied, ""}})
	for id, st := range map[string]string{webOldest: "Deprecated", webNov06: "Deprecated", webKeepTag: "Available", webNov20: "Available"} {
		if got := w.image(t, id).Status; got != st {
			t.Errorf("%s is %s, want %s", id, got, st)
		}
	}
}

// TestRotationFromThePolicy: a rotate that names no family rotates every
// family the policy covers, each with its own keep and minAge; without a
// policy it is refused, naming POLICY_FILE.
func TestRotationFromThePolicy(t *testing.T) {
	t.Parallel()
	t.Run("with the policy", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, worldOptions{policy: true})
		door := startGo1(t, w)
		r := door.invoke(t, call{payload: []byte(`{"action":"rotate","id":"nightly"}`)})
		// web keeps 3 (of 4 Available; the build is Creating): 2026-10-30 is
		// older than minAge 7d, deprecated. api keeps 2 older than 14 days:
		// api-2026-11-02, deprecated (1 of 3: within maxDeprecations 1 and
		// maxDeprecationShare 0.34). base has one Available image.
		checkReport(t, "rotate", r, []want{{"nightly", report.Applied, ""}})
		if got := r.report.Messages[0].Plan.Families; !slices.Equal(got, []string{"api", "base", "web"}) {
			t.Errorf("families %v", got)
		}
		for id, st := range map[string]string{webOldest: "Deprecated", webNov06: "Available", "m-bp1api8c9d0e1f2g3h4i": "Deprecated",
			"m-bp1api5d6e7f8g9h0i1": "Available", "m-bp1base1a2b3c4d5e6f": "Available", "m-bp1batch3c4d5e6f7g8": "Available"} {
			if got := w.image(t, id).Status; got != st {
				t.Errorf("%s is %s, want %s", id, got, st)
			}
		}
	})
	t.Run("without a policy", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, worldOptions{})
		env := append(bareEnv(t), "ECS_ENDPOINT="+w.emu.URL(),
			"ALIBABA_CLOUD_ACCESS_KEY_ID="+ecsKeyID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET="+ecsKeySecret, "ALIBABA_CLOUD_SECURITY_TOKEN="+stsToken)
		file := filepath.Join(t.TempDir(), "rotate.json")
		writeFile(t, file, `{"action":"rotate"}`)
		res := runCLI(t, env, "plan", file)
		if res.exitCode != 1 || !strings.Contains(res.stdout, "code=MissingParameter") || !strings.Contains(res.stdout, "set POLICY_FILE") {
			t.Errorf("exit %d\n%s\n%s", res.exitCode, res.stdout, res.stderr)
		}
		if n := w.emu.Calls("DescribeImages"); n != 0 {
			t.Errorf("%d reads", n)
		}
	})
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
