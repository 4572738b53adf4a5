package e2e

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/report"
)

// triggerFixtures are events/triggers/*.json with the outcome of each message,
// worked out from the fixture and events/seed/demo.json, each on a fresh seed:
//
//   - direct-array: a dry-run deprecate of the only Available base image
//     (planned; the floor shows in the plan), then activate base-2026-09-15.
//   - rollback of web without imageId (eventbridge-custom-string, and inside
//     mns-rawdata): the newest Available web image is deprecated; older web
//     images are Available, so nothing is re-activated -> applied.
//   - the promotes of the web build: applied (the build finishes, two older
//     web images are deprecated).
//   - mns-base64 is a deferred promote (retry.attempt 2) of the Available
//     batch image: it is renamed, attempt 3.
//   - timer rotates web keeping 3 (the tagged image counts as kept):
//     web-2026-10-30 is deprecated; listing the family also finishes the
//     build (the emulator's CreatingCalls 1), so the settle pass's fresh read
//     sees 4 Available and deprecates web-2026-11-06 too -> applied.
//   - the other rotations (api keeping 3, base keeping 2) find nothing
//     beyond keep -> unchanged.
//   - mns-stream-batch: the deprecate of web-2026-10-30 names only its image,
//     but it is in family web, so it runs after the promote that came before
//     it, which has deprecated it already -> unchanged.
//   - malformed-body and unknown-shape cannot be read: dead-lettered with
//     InvalidParameter.Payload and InvalidParameter.UnknownShape (a DLQ is
//     configured).
//   - actiontrail-*, with deploy/lifecycle-policy.json (as s.yaml deploys
//     it): the web build's CreateImage joins web with keep 3 (applied), found
//     by its name when the record has no responseElements; the copy, found
//     by its name in cn-shanghai, joins web there (names[] web-*); the import
//     joins base; the failed call is unchanged.
var triggerFixtures = map[string][]want{
	"direct-array": {
		{"", report.Planned, ""},
		{"", report.Applied, ""},
	},
	"direct":                    {{"ticket-4711", report.Applied, ""}},
	"empty-array":               {},
	"eventbridge-custom-string": {{"56fa5efxexf2-8d46-558b-ce04-gbc****", report.Applied, ""}},
	"eventbridge-custom":        {{"45ef4dewdwe1-7c35-447a-bd93-fab****", report.Applied, ""}},
	"malformed-body":            {{"1B2C3D4E5F60718293A4B5C6D7E8****", report.DeadLettered, "InvalidParameter.Payload"}},
	"mns-base64":                {{"F9AE93A4807994680CD55A5AA778****", report.Applied, ""}},
	"mns-event-driven":          {{"E8FD82F3796883579BC449499667****", report.Applied, ""}},
	"mns-rawdata": {
		{"0A1B2C3D4E5F60718293A4B5C6D7****", report.Applied, ""},
		{"", report.Planned, ""},
		{"", report.Applied, ""},
	},
	"mns-stream-batch": {
		{"C6DB60D1574661357FA227277445****", report.Applied, ""},
		{"C6DB60D1574661357FA227277446****", report.Unchanged, ""},
		{"C6DB60D1574661357FA227277447****", report.Unchanged, ""},
	},
	"mns-stream-single": {{"D7EC71E2685772468AB338388556****", report.Applied, ""}},
	"timer-array": {
		{"", report.Unchanged, ""},
		{"", report.Unchanged, ""},
	},
	"timer":         {{"timer:nightly-rotate:2026-11-27T04:00:00Z:0", report.Applied, ""}},
	"unknown-shape": {{"", report.DeadLettered, "InvalidParameter.UnknownShape"}},

	"actiontrail-createimage":            {{"0c6f2b8e-3d41-4b7a-9a52-6e1f0d7c4a11", report.Applied, ""}},
	"actiontrail-createimage-noresponse": {{"9d4e7a20-51c8-4f3b-8e6d-2b7c1f0a9e55", report.Applied, ""}},
	"actiontrail-copyimage":              {{"5b2e9c41-8f07-4d3a-b6e2-1a9c0f4d7e22", report.Applied, ""}},
	"actiontrail-importimage":            {{"c8d1e4f7-2a5b-4c8e-9f1a-3b6c9d2e5f33", report.Applied, ""}},
	"actiontrail-failed":                 {{"e7a9b3c5-6d2f-4e81-a4c6-8b0d2f4a6c44", report.Unchanged, ""}},
}

// TestTriggerFixtures sends every payload shape through the binary (go1).
func TestTriggerFixtures(t *testing.T) {
	t.Parallel()
	paths, err := filepath.Glob(filepath.Join(repoRoot, "events", "triggers", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range paths {
		names = append(names, strings.TrimSuffix(filepath.Base(p), ".json"))
	}
	for name := range triggerFixtures {
		if !slices.Contains(names, name) {
			t.Errorf("fixture %s.json is gone", name)
		}
	}
	for _, name := range names {
		wants, ok := triggerFixtures[name]
		if !ok {
			t.Errorf("fixture %s.json has no expectations here: add them", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, worldOptions{creatingCalls: 1, policy: strings.HasPrefix(name, "actiontrail-")})
			door := startGo1(t, w)
			r := door.invoke(t, call{payload: sample(t, "triggers/"+name+".json")})
			if r.isError {
				t.Fatalf("invocation error %s: %s", r.errorType, r.errorMessage)
			}
			checkReport(t, name, r, wants)
			for i, m := range r.report.Messages {
				want := 1
				if name == "mns-base64" { // its body carries retry.attempt 2
					want = 3
				}
				if m.Attempt != want {
					t.Errorf("message %d: attempt %d, want %d", i, m.Attempt, want)
				}
			}
			announced := map[string]report.Message{}
			for _, m := range r.report.Messages {
				if m.Outcome == report.DeadLettered {
					announced[m.DeadLetterID] = m
				}
			}
			checkLetters(t, w, announced)
		})
	}
}
