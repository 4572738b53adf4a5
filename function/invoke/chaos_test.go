package invoke_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/emulator"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/report"
	"github.com/ecs-image-lifecycle/image-lifecycle/internal/testenv"
	"github.com/ecs-image-lifecycle/image-lifecycle/internal/testenv/reportcheck"
	"github.com/ecs-image-lifecycle/image-lifecycle/tests/mnsfake"
)

// chaosSeed is 8 families of 5 images each (image 0 oldest); image 3 of
// every family starts Deprecated, the others Available.
func chaosSeed() *emulator.Seed {
	seed := &emulator.Seed{}
	for f := range 8 {
		imgs := familySeed(fmt.Sprintf("chaos%d", f), fmt.Sprintf("m-chaos%dx", f), 5)
		imgs[3].Status = ecsapi.StatusDeprecated
		seed.Images = append(seed.Images, imgs...)
	}
	return seed
}

// chaosBatch is 40 intents whose end state does not depend on the order they
// settle in (a redelivered message runs after the others): attribute sets on
// distinct images, one status intent per image in families 0-3, a rotation
// (keep 2) in families 4-7, duplicates and dry runs.
func chaosBatch() []testenv.MNSMessage {
	var out []testenv.MNSMessage
	add := func(body string) {
		out = append(out, testenv.MNSMessage{ID: fmt.Sprintf("chaos-%02d", len(out)), Body: body})
	}
	img := func(f, i int) string { return fmt.Sprintf("m-chaos%dx%03d", f, i) }
	for f := range 8 {
		add(fmt.Sprintf(`{"action":"modify","imageId":%q,"attributes":{"description":"chaos family %d"}}`, img(f, 0), f))
		add(fmt.Sprintf(`{"action":"modify","imageId":%q,"attributes":{"imageName":"chaos-renamed-%d"}}`, img(f, 1), f))
		if f < 4 {
			deprecate := fmt.Sprintf(`{"action":"deprecate","imageId":%q}`, img(f, 2))
			add(deprecate)
			add(fmt.Sprintf(`{"action":"activate","imageId":%q}`, img(f, 3)))
			add(deprecate) // a duplicate delivery
		} else {
			rotate := fmt.Sprintf(`{"action":"rotate","imageFamily":"chaos%d","keep":2}`, f)
			add(rotate)
			add(rotate) // a duplicate delivery
			add(fmt.Sprintf(`{"action":"deprecate","imageId":%q,"dryRun":true}`, img(f, 4)))
		}
	}
	return out
}

// TestChaos runs a batch of 40 mixed intents against an emulator that fails
// a third of all calls (503, 500, 502 pages, connection resets) and throttles,
// and redelivers, as MNS and the platform would, only the messages that were
// deferred (from the retry queue) or failed (the same message again), until
// every message settles. The floor must hold after every round, and the end
// state must equal that of a fault-free run of the same batch.
func TestChaos(t *testing.T) {
	t.Parallel()
	batch := chaosBatch()
	if len(batch) != 40 {
		t.Fatalf("chaos batch has %d intents, want 40", len(batch))
	}

	// The reference: the same batch with no faults, in one invocation.
	ref := testenv.StartEmulator(t, emulator.Options{Seed: chaosSeed()})
	rep, err := handle(t, newHandler(t, ref, setup{}), 30*time.Second, testenv.MNSBatch(t, batch...))
	reportcheck.Accounting(t, rep, err, ids(batch))
	if rep.Counts[report.Applied]+rep.Counts[report.Unchanged]+rep.Counts[report.Planned] != len(batch) {
		t.Fatalf("fault-free run did not settle everything: %v", rep.Counts)
	}
	want := imageStates(ref.Images())
	changed := 0
	for id, before := range imageStates(seedImages(chaosSeed())) {
		if want[id] != before {
			changed++
		}
	}
	// Per family, images 0 and 1 get a description and a name; in families
	// 0-3 image 2 is deprecated and image 3 activated; in families 4-7 the
	// rotation keeps images 4 and 2 and deprecates 0 and 1 (changed already).
	if changed != 4*4+4*2 {
		t.Fatalf("the fault-free run changed %d images, want 24", changed)
	}

	for _, withRetryQueue := range []bool{true, false} {
		name := "failed messages redelivered by the platform"
		if withRetryQueue {
			name = "deferred messages redelivered by MNS"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			emu := testenv.StartEmulator(t, emulator.Options{Seed: chaosSeed()})
			emu.SetFaults("", emulator.Faults{
				Unavailable: 0.20, Internal: 0.10, BadGateway: 0.05, Reset: 0.05,
				RateLimit: 200, RandSeed: 20261127,
			})
			mns := testenv.StartMNS(t, mnsfake.Options{}, retryQueue, deadQueue)
			// Two attempts per call: enough faults outlast them to make
			// messages defer or fail, round after round.
			h := newHandler(t, emu, setup{mns: mns, retry: withRetryQueue, dlq: true, maxAttempts: 100, callAttempts: 2})
			pending := batch
			const maxRounds = 30
			round := 0
			for ; len(pending) > 0 && round < maxRounds; round++ {
				rep, err := handle(t, h, 30*time.Second, testenv.MNSBatch(t, pending...))
				reportcheck.Accounting(t, rep, err, ids(pending))
				checkFloor(t, emu.Images(), 1)
				queued := map[string]string{}
				for _, m := range mns.Messages(retryQueue) {
					queued[m.ID] = m.Body
				}
				sent := map[string]string{}
				for _, m := range pending {
					sent[m.ID] = m.Body
				}
				var next []testenv.MNSMessage
				for _, m := range rep.Messages {
					switch m.Outcome {
					case report.Applied, report.Unchanged, report.Planned:
					case report.Deferred:
						body, ok := queued[m.DeferredTo]
						if !ok {
							t.Fatalf("round %d: %s deferred to %q, which the retry queue does not hold", round, m.ID, m.DeferredTo)
						}
						next = append(next, testenv.MNSMessage{ID: m.DeferredTo, Body: body})
					case report.Failed:
						next = append(next, testenv.MNSMessage{ID: m.ID, Body: sent[m.ID]})
					default:
						t.Fatalf("round %d: %s ended %s %s (%s): faults are transient, nothing may be given up", round, m.ID, m.Outcome, m.Code, m.Error)
					}
				}
				t.Logf("round %d: %d messages, %v", round, len(pending), rep.Counts)
				pending = next
			}
			if len(pending) > 0 {
				t.Fatalf("%d messages still unsettled after %d rounds", len(pending), maxRounds)
			}
			if round < 2 {
				t.Errorf("everything settled in %d round(s): the faults did not bite", round)
			}
			got := imageStates(emu.Images())
			for id, w := range want {
				if got[id] != w {
					t.Errorf("image %s ended %+v, the fault-free run %+v", id, got[id], w)
				}
			}
			if len(got) != len(want) {
				t.Errorf("%d images, fault-free run %d", len(got), len(want))
			}
		})
	}
}

// imageState is what the intents can change on an image.
type imageState struct {
	Name, Description, Family, Status string
}

func imageStates(images []ecsapi.Image) map[string]imageState {
	out := make(map[string]imageState, len(images))
	for _, img := range images {
		out[img.ImageID] = imageState{img.Name, img.Description, img.Family, img.Status}
	}
	return out
}

func seedImages(s *emulator.Seed) []ecsapi.Image {
	out := make([]ecsapi.Image, len(s.Images))
	for i, img := range s.Images {
		out[i] = img.Image
	}
	return out
}

func ids(msgs []testenv.MNSMessage) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.ID
	}
	return out
}
