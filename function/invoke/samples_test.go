package invoke_test

import (
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/emulator"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/report"
	"github.com/ecs-image-lifecycle/image-lifecycle/internal/testenv"
	"github.com/ecs-image-lifecycle/image-lifecycle/internal/testenv/reportcheck"
)

// Image ids of events/seed/demo.json.
const (
	webOldest   = "m-bp1a2b3c4d5e6f7g8h9i" // web, Available, 2026-10-30
	webNov06    = "m-bp1web6h7i8j9k0l1m2n" // web, Available
	webKeepTag  = "m-bp1web3o4p5q6r7s8t9u" // web, Available, tagged lifecycle:keep=true
	webNov20    = "m-bp1web9v0w1x2y3z4a5b" // web, Available, newest Available
	webBuilding = "m-bp1web0a1b2c3d4e5f6g" // web, Creating
	apiNov02    = "m-bp1api8c9d0e1f2g3h4i" // api, Available, IMDS v1
	apiShared   = "m-bp1api2j3k4l5m6n7o8p" // api, Available, shared with another account
	apiNov24    = "m-bp1api5d6e7f8g9h0i1"  // api, Available, in use
	baseOld     = "m-bp1base7h8i9j0k1l2m"  // base, Deprecated
	baseNew     = "m-bp1base1a2b3c4d5e6f"  // base, Available (the only one)
	batchOnly   = "m-bp1batch3c4d5e6f7g8"  // batch, the only image
	baseImport  = "m-bp1base9z8y7x6w5v4u3" // no family, Available: an ImportImage of a base image
	webCopySH   = "m-uf6web2c3d4e5f6g7h8i" // cn-shanghai, no family, Creating: a CopyImage of web-2026-11-20
)

// TestSamples runs every sample payload of events/ and events/triggers/,
// each against a fresh demo seed with no queues configured, and checks the
// outcomes, codes and image states written out for each.
func TestSamples(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file  string
		want  map[report.Outcome]int
		codes []string          // sorted codes of the messages that carry one
		state map[string]string // image -> status afterwards
		// alternatives lists outcomes a message may end in when its result
		// depends on a race the handler allows (different groups run concurrently).
		either map[report.Outcome][]report.Outcome
		// policy: the handler has deploy/lifecycle-policy.json (the
		// ActionTrail samples do nothing without one).
		policy bool
		family map[string]string // image -> family afterwards
	}{
		{file: "01-modify.json", want: counts(report.Applied, 1), state: map[string]string{apiNov02: "Available"}},
		// The build finishes after a few reads; the promote then renames it and
		// deprecates the two oldest web images beyond keep 2 (the tagged one is excluded).
		{file: "02-promote-post-build.json", want: counts(report.Applied, 1),
			state: map[string]string{webBuilding: "Available", webOldest: "Deprecated", webNov06: "Deprecated",
				webKeepTag: "Available", webNov20: "Available"}},
		// The demo's ActionTrail CreateImage of the web build joins web with
		// the policy's keep 3, as the trigger sample does.
		{file: "02-actiontrail-createimage.json", want: counts(report.Applied, 1), policy: true,
			state: map[string]string{webBuilding: "Available", webOldest: "Deprecated", webNov06: "Deprecated", webKeepTag: "Available", webNov20: "Available"}},
		// keep 1 in api: the oldest goes, the shared one is skipped; batch has one image.
		{file: "03-rotate-timer.json", want: counts(report.Applied, 1),
			state: map[string]string{apiNov02: "Deprecated", apiShared: "Available", apiNov24: "Available", batchOnly: "Available"}},
		{file: "04-rollback.json", want: counts(report.Applied, 1),
			state: map[string]string{baseOld: "Available", baseNew: "Deprecated"}},
		// The floor refuses to deprecate the last Available image: a reason, not an error.
		{file: "05-deprecate.json", want: counts(report.Unchanged, 1), state: map[string]string{batchOnly: "Available"}},
		// Already Available on a fresh seed.
		{file: "06-activate.json", want: counts(report.Unchanged, 1), state: map[string]string{webOldest: "Available"}},
		{file: "07-rejected.json", want: counts(report.Rejected, 3),
			codes: []string{"InvalidImageName.Malformed", "InvalidOperation.FeaturesImdsSupportNotMatch", "InvalidParameter.UnknownField"}},
		{file: "triggers/direct-array.json", want: counts(report.Planned, 1, report.Applied, 1),
			state: map[string]string{baseNew: "Available", baseOld: "Available"}},
		{file: "triggers/direct.json", want: counts(report.Applied, 1)},
		{file: "triggers/empty-array.json", want: counts()},
		// A rollback of web without imageId: the newest Available web image is
		// deprecated, older ones are Available, so nothing is re-activated.
		{file: "triggers/eventbridge-custom-string.json", want: counts(report.Applied, 1),
			state: map[string]string{webNov20: "Deprecated", webNov06: "Available"}},
		{file: "triggers/eventbridge-custom.json", want: counts(report.Applied, 1),
			state: map[string]string{webBuilding: "Available", webOldest: "Deprecated", webNov06: "Deprecated"}},
		{file: "triggers/malformed-body.json", want: counts(report.Rejected, 1), codes: []string{"InvalidParameter.Payload"}},
		// A redelivered promote (retry.attempt 2) of the batch image: it is renamed.
		{file: "triggers/mns-base64.json", want: counts(report.Applied, 1), state: map[string]string{batchOnly: "Available"}},
		{file: "triggers/mns-event-driven.json", want: counts(report.Applied, 1), state: map[string]string{baseOld: "Available"}},
		// Two MNS messages, the second holding an array of two intents: three messages.
		{file: "triggers/mns-rawdata.json", want: counts(report.Applied, 2, report.Planned, 1),
			state: map[string]string{baseNew: "Available", webNov20: "Deprecated"}},
		// The promote (group web) and the deprecate of the oldest web image
		// (group of that image) run concurrently: whichever comes second finds
		// it Deprecated already. rotate api keep 3 finds 3 Available.
		{file: "triggers/mns-stream-batch.json", want: counts(report.Applied, 2, report.Unchanged, 1),
			either: map[report.Outcome][]report.Outcome{report.Applied: {report.Unchanged}},
			state:  map[string]string{webOldest: "Deprecated", webBuilding: "Available", apiNov02: "Available"}},
		{file: "triggers/mns-stream-single.json", want: counts(report.Applied, 1), state: map[string]string{webOldest: "Deprecated"}},
		// base has one Available image, api exactly keep 3.
		{file: "triggers/timer-array.json", want: counts(report.Unchanged, 2), state: map[string]string{baseNew: "Available"}},
		// keep 3 in web: the tagged image counts among the kept or is excluded;
		// either way the oldest goes. api is at keep 3 already.
		{file: "triggers/timer.json", want: counts(report.Applied, 1),
			state: map[string]string{webOldest: "Deprecated", webNov20: "Available", apiNov02: "Available"}},
		{file: "triggers/unknown-shape.json", want: counts(report.Rejected, 1), codes: []string{"InvalidParameter.UnknownShape"}},
		// The web build joins web with the policy's keep 3 (the tagged image
		// is among the newest 3): the two oldest go.
		{file: "triggers/actiontrail-createimage.json", want: counts(report.Applied, 1), policy: true,
			state: map[string]string{webBuilding: "Available", webOldest: "Deprecated", webNov06: "Deprecated", webKeepTag: "Available", webNov20: "Available"}},
		// The same, the image found by its name.
		{file: "triggers/actiontrail-createimage-noresponse.json", want: counts(report.Applied, 1), policy: true,
			state: map[string]string{webBuilding: "Available", webOldest: "Deprecated", webNov06: "Deprecated", webKeepTag: "Available", webNov20: "Available"}},
		// The copy, found by name in cn-shanghai, joins web there (names[]
		// web-*); nothing in cn-hangzhou changes.
		{file: "triggers/actiontrail-copyimage.json", want: counts(report.Applied, 1), policy: true,
			state:  map[string]string{webCopySH: "Available", webNov20: "Available", webOldest: "Available"},
			family: map[string]string{webCopySH: "web"}},
		// The import joins base (names[] base-*); base keeps 2.
		{file: "triggers/actiontrail-importimage.json", want: counts(report.Applied, 1), policy: true,
			state:  map[string]string{baseImport: "Available", baseNew: "Available"},
			family: map[string]string{baseImport: "base"}},
		// A failed call made no image.
		{file: "triggers/actiontrail-failed.json", want: counts(report.Unchanged, 1), policy: true},
	}
	// Every top-level sample must be in the table, so a new sample is not silently untested.
	listed := map[string]bool{}
	for _, tc := range tests {
		listed[tc.file] = true
	}
	for _, pattern := range []string{"*.json", "triggers/*.json"} {
		files, err := filepath.Glob(testenv.Path(t, "events", pattern))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			rel, _ := filepath.Rel(testenv.Path(t, "events"), f)
			if !listed[filepath.ToSlash(rel)] {
				t.Errorf("sample %s has no expectation in TestSamples", rel)
			}
		}
	}

	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			payload, err := os.ReadFile(testenv.Path(t, "events", filepath.FromSlash(tc.file)))
			if err != nil {
				t.Fatal(err)
			}
			emu := testenv.StartEmulator(t, emulator.Options{Seed: testenv.DemoSeed(t), CreatingCalls: 3})
			s := setup{}
			if tc.policy {
				s.policy = samplePolicy(t)
			}
			h := newHandler(t, emu, s)
			rep, err := handle(t, h, 20*time.Second, payload)
			if err != nil {
				t.Errorf("Handle: %v", err)
			}
			ids := make([]string, 0, len(rep.Messages))
			for _, m := range rep.Messages {
				ids = append(ids, m.ID)
			}
			reportcheck.Accounting(t, rep, err, ids)
			got := map[report.Outcome]int{}
			for o, n := range rep.Counts {
				if n > 0 {
					got[o] = n
				}
			}
			if !sameCounts(got, tc.want, tc.either) {
				for _, m := range rep.Messages {
					t.Logf("message %s %s %s: %s %s %s", m.ID, m.Action, m.ImageID, m.Outcome, m.Code, m.Error)
				}
				t.Errorf("counts %v, want %v", got, tc.want)
			}
			var codes []string
			for _, m := range rep.Messages {
				if m.Code != "" {
					codes = append(codes, m.Code)
				}
			}
			sort.Strings(codes)
			if !equalStrings(codes, tc.codes) {
				t.Errorf("codes %v, want %v", codes, tc.codes)
			}
			for id, want := range tc.state {
				if got := statusOf(t, emu, id); got != want {
					t.Errorf("image %s is %s, want %s", id, got, want)
				}
			}
			for id, want := range tc.family {
				if img, _ := emu.Image(id); img.Family != want {
					t.Errorf("image %s is in family %q, want %q", id, img.Family, want)
				}
			}
		})
	}
}

// counts builds an outcome count map from outcome, n pairs.
func counts(pairs ...any) map[report.Outcome]int {
	out := map[report.Outcome]int{}
	for i := 0; i < len(pairs); i += 2 {
		out[pairs[i].(report.Outcome)] = pairs[i+1].(int)
	}
	return out
}

// sameCounts compares counts, allowing one message to move from an outcome
// to one of its alternatives.
func sameCounts(got, want map[report.Outcome]int, either map[report.Outcome][]report.Outcome) bool {
	if equalCounts(got, want) {
		return true
	}
	for from, tos := range either {
		for _, to := range tos {
			moved := map[report.Outcome]int{}
			for o, n := range want {
				moved[o] = n
			}
			moved[from]--
			moved[to]++
			if moved[from] == 0 {
				delete(moved, from)
			}
			if equalCounts(got, moved) {
				return true
			}
		}
	}
	return false
}

func equalCounts(a, b map[report.Outcome]int) bool {
	if len(a) != len(b) {
		return false
	}
	for o, n := range a {
		if b[o] != n {
			return false
		}
	}
	return true
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
