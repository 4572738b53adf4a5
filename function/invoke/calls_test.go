package invoke_test

import (
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/emulator"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/report"
	"github.com/ecs-image-lifecycle/image-lifecycle/internal/testenv"
	"github.com/ecs-image-lifecycle/image-lifecycle/internal/testenv/fakeclock"
)

// callCase is one action worked in batches of at most 100 messages against
// the emulator, and what it may cost, per ECS action, by the emulator's own
// counters (every call that reached an action, failed ones included).
type callCase struct {
	name  string
	seed  []emulator.SeedImage
	msgs  []testenv.MNSMessage
	calls map[string]int // the exact count of each action; an action not named is 0
	// perChange bounds the calls per changed image (ModifyImageAttribute);
	// 0 where the safety reads of a small family cannot fit (the case says why).
	perChange float64
}

// TestCallsPerAction holds every action to its call count: reads included,
// one listing of a family for the plan and one after the writes, no share
// read for an image DescribeImages says is shared with no one, no write when
// nothing is left to change. A change that makes any action read more fails.
func TestCallsPerAction(t *testing.T) {
	t.Parallel()
	for _, c := range callCases() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			emu := testenv.StartEmulator(t, emulator.Options{Seed: &emulator.Seed{Images: c.seed}})
			h := newHandler(t, emu, setup{})
			// How fresh a family's listing is (freshFor) is told by the
			// Handler's clock: one that moves only when the code sleeps keeps
			// the counts the same on a busy machine as on an idle one.
			h.Clock = fakeclock.New(time.Now())
			for batch := range slices.Chunk(c.msgs, 100) {
				rep, err := handle(t, h, time.Minute, testenv.MNSBatch(t, batch...))
				if err != nil || rep.Counts[report.Applied]+rep.Counts[report.Unchanged] != len(batch) {
					t.Fatalf("counts %v, err %v: want every message applied or unchanged\n%+v", rep.Counts, err, rep.Messages[0])
				}
			}
			got := emu.CallView().Calls
			if !maps.Equal(got, c.calls) {
				t.Errorf("calls %v, want %v", got, c.calls)
			}
			writes, total := got["ModifyImageAttribute"], 0
			for _, n := range got {
				total += n
			}
			if writes > 0 && c.perChange > 0 && float64(total) > c.perChange*float64(writes) {
				t.Errorf("%d calls for %d changed images: %.3f a change, want at most %.2f", total, writes, float64(total)/float64(writes), c.perChange)
			}
		})
	}
}

func callCases() []callCase {
	big := familySeed("big", "m-big", 300)
	rotated := familySeed("big", "m-big", 300)
	for i := range rotated[:298] {
		rotated[i].Status = ecsapi.StatusDeprecated
	}
	sharedOne := familySeed("web", "m-web", 5)
	sharedOne[1].SharedWith = []string{"1111"}
	rotate := []testenv.MNSMessage{{ID: "rotate", Body: `{"action":"rotate","imageFamily":"big","keep":2}`}}
	return []callCase{
		// 3 pages for the plan (the re-check before the first deprecation
		// judges by it), and after the writes 1 page of the family's live
		// images (settle, which serves the floor check too): 302 calls for
		// 298 changes, 1.013 a change.
		{name: "rotate 300 keep 2", seed: big, msgs: rotate, perChange: 1.02,
			calls: map[string]int{"DescribeImages": 4, "ModifyImageAttribute": 298}},
		{name: "rotate converged", seed: rotated, msgs: rotate, calls: map[string]int{"DescribeImages": 3}},
		// The one image shared with an account is the only share read; it
		// stays Available (the shared guard).
		{name: "rotate with one shared image", seed: sharedOne,
			msgs:  []testenv.MNSMessage{{ID: "rotate", Body: `{"action":"rotate","imageFamily":"web","keep":2}`}},
			calls: map[string]int{"DescribeImages": 2, "DescribeImageSharePermission": 2, "ModifyImageAttribute": 2}},
		// The batch's ids (one call), the family (for the floor), the write,
		// what the write left live in the family, by id (the floor, ECS
		// having no conditional write).
		{name: "deprecate one in a family of 5", seed: familySeed("five", "m-five", 5), perChange: 4,
			msgs:  []testenv.MNSMessage{{ID: "dep", Body: `{"action":"deprecate","imageId":"m-five000"}`}},
			calls: map[string]int{"DescribeImages": 3, "ModifyImageAttribute": 1}},
		{name: "modify every attribute, 300 in 3 batches", seed: everyAttributeSeed(), msgs: everyAttributeMessages(), perChange: 1.02,
			// per batch its ids, and the family its images leave (one
			// listing, which every move's re-check judges by)
			calls: map[string]int{"DescribeImages": 3 + 3, "ModifyImageAttribute": 300}},
		{name: "activate 100", seed: rotated, msgs: actionMessages("activate", "m-big", 100), perChange: 1.01,
			calls: map[string]int{"DescribeImages": 1, "ModifyImageAttribute": 100}},
		// Each family: its listing, and one after the writes (settle). A
		// family of 30 holds 29 changes: the two listings are 2/29 of them.
		{name: "promote in 10 families of 30", seed: families("pro", 10, 30), msgs: promoteMessages(), perChange: 1.08,
			calls: map[string]int{"DescribeImages": 1 + 10*2, "ModifyImageAttribute": 10 * 29}},
		// The batch's ids, each family once (a page of 11; the re-check
		// before each deprecation judges by it, as updated by the batch's
		// own writes), and after every write the images left live in the
		// 10 families, by id, in one call (the floors).
		{name: "deprecate 10 in each of 10 families", seed: families("dep", 10, 11), msgs: deprecateMessages(), perChange: 1.12,
			calls: map[string]int{"DescribeImages": 1 + 10 + 1, "ModifyImageAttribute": 100}},
		// Rollbacks: 30 families of 10, the newest Available and named; in
		// half of them the one before it is too (one write), in the other
		// half it is re-activated first (two writes), and the family read
		// again before the newest is deprecated (only a read made after the
		// re-activation shows the floor that deprecation counts on holds).
		// Then the batch's one read after the writes.
		{name: "rollback in 30 families of 10", seed: rollbackSeed(), msgs: rollbackMessages(), perChange: 2.05,
			calls: map[string]int{"DescribeImages": 1 + 30 + 15 + 1, "ModifyImageAttribute": 45}},
	}
}

// everyAttributeSeed is 3 families of 100 Deprecated BIOS/v1 images.
func everyAttributeSeed() []emulator.SeedImage {
	var out []emulator.SeedImage
	for f := range 3 {
		fam := familySeed(fmt.Sprintf("all%d", f), fmt.Sprintf("m-all%dx", f), 100)
		for i := range fam {
			fam[i].Status, fam[i].BootMode, fam[i].NvmeSupport, fam[i].ImdsSupport = ecsapi.StatusDeprecated, "BIOS", "unsupported", "v1"
		}
		out = append(out, fam...)
	}
	return out
}

// everyAttributeMessages modify every attribute of each image of
// everyAttributeSeed, moving it to another family and making it Available.
func everyAttributeMessages() []testenv.MNSMessage {
	var out []testenv.MNSMessage
	for f := range 3 {
		for i := range 100 {
			out = append(out, testenv.MNSMessage{ID: fmt.Sprintf("all-%d-%d", f, i), Body: fmt.Sprintf(`{"action":"modify","imageId":"m-all%dx%03d",`+
				`"attributes":{"imageName":"new-%d-%d","description":"a new description","imageFamily":"moved%d","bootMode":"UEFI",`+
				`"licenseType":"BYOL","status":"Available","features":{"nvmeSupport":"supported","imdsSupport":"v2"}}}`, f, i, f, i, f)})
		}
	}
	return out
}

// actionMessages are n messages of action, one for each image prefix000...
func actionMessages(action, prefix string, n int) []testenv.MNSMessage {
	out := make([]testenv.MNSMessage, n)
	for i := range out {
		out[i] = testenv.MNSMessage{ID: fmt.Sprintf("%s-%d", action, i), Body: fmt.Sprintf(`{"action":%q,"imageId":"%s%03d"}`, action, prefix, i)}
	}
	return out
}

// families is count families of size Available images: family <name><f>,
// ids m-<name><f>x000 and on.
func families(name string, count, size int) []emulator.SeedImage {
	var out []emulator.SeedImage
	for f := range count {
		out = append(out, familySeed(fmt.Sprintf("%s%d", name, f), fmt.Sprintf("m-%s%dx", name, f), size)...)
	}
	return out
}

// promoteMessages promote the newest image of each families("pro", 10, 30),
// renamed, keep 2.
func promoteMessages() []testenv.MNSMessage {
	out := make([]testenv.MNSMessage, 10)
	for f := range out {
		out[f] = testenv.MNSMessage{ID: fmt.Sprintf("promote-%d", f), Body: fmt.Sprintf(
			`{"action":"promote","imageId":"m-pro%dx029","keep":2,"attributes":{"imageName":"pro%d-release"}}`, f, f)}
	}
	return out
}

// rollbackSeed is 30 families of 10 Deprecated images, the newest
// Available, and in the even families the one before it too.
func rollbackSeed() []emulator.SeedImage {
	out := families("rb", 30, 10)
	for i := range out {
		f, n := i/10, i%10
		if n < 8 || (n == 8 && f%2 == 1) {
			out[i].Status = ecsapi.StatusDeprecated
		}
	}
	return out
}

// rollbackMessages roll back each family of rollbackSeed from its newest image.
func rollbackMessages() []testenv.MNSMessage {
	out := make([]testenv.MNSMessage, 30)
	for f := range out {
		out[f] = testenv.MNSMessage{ID: fmt.Sprintf("rollback-%d", f), Body: fmt.Sprintf(
			`{"action":"rollback","imageFamily":"rb%d","imageId":"m-rb%dx009"}`, f, f)}
	}
	return out
}

// deprecateMessages deprecate the 10 oldest of each families("dep", 10, 11).
func deprecateMessages() []testenv.MNSMessage {
	var out []testenv.MNSMessage
	for f := range 10 {
		out = append(out, actionMessages("deprecate", fmt.Sprintf("m-dep%dx", f), 10)...)
	}
	for i := range out {
		out[i].ID = fmt.Sprintf("dep-%d", i)
	}
	return out
}
