package invoke_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/emulator"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/report"
	"github.com/ecs-image-lifecycle/image-lifecycle/internal/testenv"
	"github.com/ecs-image-lifecycle/image-lifecycle/internal/testenv/reportcheck"
)

// TestOrderWithinFamily: messages about one image or family run in arrival
// order, so the last intent of a batch decides the state, whichever order
// the batch holds. Repeated, because a race would show only sometimes.
func TestOrderWithinFamily(t *testing.T) {
	t.Parallel()
	deprecate := `{"action":"deprecate","imageId":"` + webNov06 + `"}`
	activate := `{"action":"activate","imageId":"` + webNov06 + `"}`
	// The same pair named through the family: promote-style modifies that
	// also carry attributes.imageFamily share the family's group.
	famDeprecate := `{"action":"modify","imageId":"` + webNov06 + `","attributes":{"imageFamily":"web","status":"Deprecated"}}`
	famActivate := `{"action":"modify","imageId":"` + webNov06 + `","attributes":{"imageFamily":"web","status":"Available"}}`
	tests := []struct {
		name          string
		first, second string
		want          string
	}{
		{"deprecate then activate", deprecate, activate, "Available"},
		{"activate then deprecate", activate, deprecate, "Deprecated"},
		{"family: deprecate then activate", famDeprecate, famActivate, "Available"},
		{"family: activate then deprecate", famActivate, famDeprecate, "Deprecated"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for round := range 5 {
				emu := testenv.StartEmulator(t, emulator.Options{Seed: testenv.DemoSeed(t)})
				// Slow writes widen any window in which the second could overtake the first.
				emu.SetFaults("ModifyImageAttribute", emulator.Faults{FailNext: []string{emulator.FaultSlow}, SlowDelay: 100 * time.Millisecond})
				h := newHandler(t, emu, setup{concurrency: 8})
				rep, err := handle(t, h, 10*time.Second, testenv.MNSBatch(t,
					testenv.MNSMessage{ID: "first", Body: tc.first}, testenv.MNSMessage{ID: "second", Body: tc.second}))
				reportcheck.Accounting(t, rep, err, []string{"first", "second"})
				if got := statusOf(t, emu, webNov06); got != tc.want {
					t.Fatalf("round %d: image is %s, want %s (%v)", round, got, tc.want, rep.Counts)
				}
				// Deprecated first then Available (or the reverse) are two real changes.
				if rep.Counts[report.Applied] != 2 && tc.want == "Available" {
					t.Errorf("round %d: counts %v, want both applied", round, rep.Counts)
				}
			}
		})
	}
}

// TestConcurrencyAcrossFamilies: messages of different families run at once
// (up to BATCH_CONCURRENCY), messages of one family one after another. Every
// write is slowed by the emulator, so the elapsed time tells them apart.
func TestConcurrencyAcrossFamilies(t *testing.T) {
	t.Parallel()
	const (
		n     = 4
		delay = 250 * time.Millisecond
	)
	var seed emulator.Seed
	for f := range n {
		seed.Images = append(seed.Images, familySeed(fmt.Sprintf("fam%d", f), fmt.Sprintf("m-fam%dx", f), 3)...)
	}
	// Each message modifies one image, naming its family so it joins the family's group.
	modify := func(family, image string) string {
		return fmt.Sprintf(`{"action":"modify","imageId":%q,"attributes":{"imageFamily":%q,"description":"touched"}}`, image, family)
	}
	var across, within []testenv.MNSMessage
	for i := range n {
		across = append(across, testenv.MNSMessage{ID: fmt.Sprintf("a%d", i), Body: modify(fmt.Sprintf("fam%d", i), fmt.Sprintf("m-fam%dx000", i))})
		within = append(within, testenv.MNSMessage{ID: fmt.Sprintf("w%d", i), Body: modify("fam0", fmt.Sprintf("m-fam0x%03d", i%3))})
	}
	within = within[:3] // three distinct images of fam0
	tests := []struct {
		name        string
		batch       []testenv.MNSMessage
		concurrency int
		atLeast     time.Duration // serial work cannot be faster
		below       time.Duration // concurrent work must be faster
	}{
		{name: "different families, concurrency 4", batch: across, concurrency: n, below: 3 * delay},
		{name: "different families, concurrency 1", batch: across, concurrency: 1, atLeast: n * delay},
		{name: "one family, concurrency 4", batch: within, concurrency: n, atLeast: 3 * delay},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := seed
			emu := testenv.StartEmulator(t, emulator.Options{Seed: &s})
			emu.SetFaults("ModifyImageAttribute", emulator.Faults{Slow: 1, SlowDelay: delay})
			h := newHandler(t, emu, setup{concurrency: tc.concurrency})
			ids := make([]string, len(tc.batch))
			for i, m := range tc.batch {
				ids[i] = m.ID
			}
			start := time.Now()
			rep, err := handle(t, h, 20*time.Second, testenv.MNSBatch(t, tc.batch...))
			took := time.Since(start)
			reportcheck.Accounting(t, rep, err, ids)
			if rep.Counts[report.Applied] != len(tc.batch) {
				t.Fatalf("counts %v, want every message applied", rep.Counts)
			}
			if tc.atLeast > 0 && took < tc.atLeast {
				t.Errorf("took %v, want at least %v: messages that must run in turn overlapped", took, tc.atLeast)
			}
			if tc.below > 0 && took >= tc.below {
				t.Errorf("took %v, want under %v: messages of different families did not run concurrently", took, tc.below)
			}
		})
	}
}

// TestBatchReadEfficiency: 50 deprecate intents on one family of 60 images
// cost one ModifyImageAttribute per image and these DescribeImages calls:
//   - 1: Prefetch reads the 50 ids in one call (up to 100 ids a call);
//   - 1: the first plan reads the family (60 images, one page of 100), and
//     every later plan finds it in the invocation's cache;
//   - 1: after every message's writes, the batch reads the images its
//     deprecations left live in the family, by id, to undo its own
//     deprecations should two runs have taken the family below its floor
//     together (lifecycle.Engine.RestoreFloors);
//   - 0: Apply re-checks the floor before each deprecation against other
//     writers (DESIGN, Concurrency) on a listing read less than a second
//     before, as updated by the batch's own writes: the plan's.
//
// That is 3 with one worker. With several
// workers, the first plans start together and each misses the still empty
// family cache (there is no single-flight), so up to Concurrency-1 extra
// family reads happen.
func TestBatchReadEfficiency(t *testing.T) {
	t.Parallel()
	const (
		images     = 60
		deprecates = 50
		// prefetch + first family read + the batch's read after its
		// writes (the floor)
		floorReads = 1 + 1 + 1
	)
	tests := []struct {
		concurrency int
		minDescribe int
		maxDescribe int
	}{
		{concurrency: 1, minDescribe: floorReads, maxDescribe: floorReads},
		{concurrency: 8, minDescribe: floorReads, maxDescribe: floorReads + 8 - 1},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("concurrency %d", tc.concurrency), func(t *testing.T) {
			t.Parallel()
			seed := emulator.Seed{Images: familySeed("eff", "m-eff", images)}
			emu := testenv.StartEmulator(t, emulator.Options{Seed: &seed})
			h := newHandler(t, emu, setup{concurrency: tc.concurrency})
			var batch []testenv.MNSMessage
			var ids []string
			for i := range deprecates {
				id := fmt.Sprintf("d%02d", i)
				batch = append(batch, testenv.MNSMessage{ID: id, Body: fmt.Sprintf(`{"action":"deprecate","imageId":"m-eff%03d"}`, i)})
				ids = append(ids, id)
			}
			emu.ResetCalls()
			rep, err := handle(t, h, 30*time.Second, testenv.MNSBatch(t, batch...))
			reportcheck.Accounting(t, rep, err, ids)
			if rep.Counts[report.Applied] != deprecates {
				t.Fatalf("counts %v, want %d applied", rep.Counts, deprecates)
			}
			checkFloor(t, emu.Images(), 1)
			describe, modify := emu.Calls("DescribeImages"), emu.Calls("ModifyImageAttribute")
			t.Logf("DescribeImages %d, ModifyImageAttribute %d", describe, modify)
			if modify != deprecates {
				t.Errorf("ModifyImageAttribute called %d times, want %d: one per changed image", modify, deprecates)
			}
			if describe < tc.minDescribe || describe > tc.maxDescribe {
				t.Errorf("DescribeImages called %d times, want %d..%d", describe, tc.minDescribe, tc.maxDescribe)
			}
		})
	}
}

// TestOrderDefaultRegionSpelling: a message that omits the default region
// and one that names it are about the same image, so they must keep their order.
func TestOrderDefaultRegionSpelling(t *testing.T) {
	t.Parallel()
	checkSecondWins(t,
		`{"action":"deprecate","imageId":"`+webNov06+`"}`,
		`{"action":"activate","imageId":"`+webNov06+`","regionId":"cn-hangzhou"}`)
}

// TestOrderImageAndFamilySpelling: a message that names only an image and one
// that names the image and its family are about the same family, so they
// must keep their order.
func TestOrderImageAndFamilySpelling(t *testing.T) {
	t.Parallel()
	checkSecondWins(t,
		`{"action":"deprecate","imageId":"`+webNov06+`"}`,
		`{"action":"modify","imageId":"`+webNov06+`","attributes":{"imageFamily":"web","status":"Available"}}`)
}

// checkSecondWins runs first then second (a deprecate, then an activation of
// the same image) in one batch, with the first write slowed so that a second
// message that does not wait for the first overtakes it.
func checkSecondWins(t *testing.T, first, second string) {
	t.Helper()
	emu := testenv.StartEmulator(t, emulator.Options{Seed: testenv.DemoSeed(t)})
	emu.SetFaults("ModifyImageAttribute", emulator.Faults{FailNext: []string{emulator.FaultSlow}, SlowDelay: 300 * time.Millisecond})
	h := newHandler(t, emu, setup{concurrency: 8})
	rep, err := handle(t, h, 10*time.Second, testenv.MNSBatch(t,
		testenv.MNSMessage{ID: "first", Body: first}, testenv.MNSMessage{ID: "second", Body: second}))
	reportcheck.Accounting(t, rep, err, []string{"first", "second"})
	if got := statusOf(t, emu, webNov06); got != "Available" {
		t.Errorf("image is %s, want Available: the second message overtook the first (%v)", got, rep.Counts)
	}
}
