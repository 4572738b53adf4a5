package lifecycle

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/intent"
)

func ids(prefix string, nums ...int) []string {
	out := make([]string, len(nums))
	for i, n := range nums {
		out[i] = fmt.Sprintf("%s-%03d", prefix, n)
	}
	return out
}

func TestFamilyActions(t *testing.T) {
	t.Parallel()
	tag := func(im *fakeImage) { im.Tags = map[string]string{"lifecycle:keep": "true"} }
	shared := func(im *fakeImage) { im.shares = []string{"1111", "2222"} }
	five := family("w", "web", 5, 0)
	tests := []struct {
		name       string
		images     []*fakeImage
		guards     func(*Guards)
		in         intent.Intent
		wantAvail  map[string][]string // family -> Available ids, oldest first
		wantReason map[string]string
		wantCalls  map[string]int
	}{
		{
			name:      "rotate keeps the newest 2",
			images:    family("w", "web", 5, 0),
			in:        intent.Intent{Action: "rotate", ImageFamily: "web", Keep: keepN(2)},
			wantAvail: map[string][]string{"web": ids("w", 3, 4)},
			// one family read (the re-check before the first deprecation
			// judges by it, read a moment ago; the others by it as updated
			// by our own writes), one fresh read after them (settle); no
			// share read (DescribeImages says IsSelfShared "False")
			wantCalls: map[string]int{"DescribeImages": 2, "DescribeImageSharePermission": 0, "ModifyImageAttribute": 3},
			wantReason: map[string]string{
				"w-004": "newest Available, kept (keep 2)", "w-000": "deprecated",
			},
		},
		{
			name: "rotate already converged reads once and writes nothing",
			images: append(family("w", "web", 2, 10), img("w-old1", "web", "Deprecated", 1),
				img("w-old2", "web", "Deprecated", 2), img("w-new", "web", "Creating", 20)),
			in:         intent.Intent{Action: "rotate", ImageFamily: "web"},
			wantAvail:  map[string][]string{"web": ids("w", 0, 1)},
			wantCalls:  map[string]int{"DescribeImages": 1, "DescribeImageSharePermission": 0, "ModifyImageAttribute": 0},
			wantReason: map[string]string{"w-old1": "already Deprecated", "w-new": "still Creating"},
		},
		{
			name: "rotate: a Creating image does not count toward keep",
			images: append(family("w", "web", 3, 0),
				with(img("w-new", "web", "Creating", 9), func(i *fakeImage) { i.Progress = 40 })),
			in:        intent.Intent{Action: "rotate", ImageFamily: "web", Keep: keepN(2)},
			wantAvail: map[string][]string{"web": ids("w", 1, 2)},
		},
		{
			name:       "rotate respects minAge",
			images:     family("w", "web", 5, 990), // hours 990..994; the clock is at 1000
			in:         intent.Intent{Action: "rotate", ImageFamily: "web", Keep: keepN(1), MinAge: intent.Duration(8 * time.Hour)},
			wantAvail:  map[string][]string{"web": ids("w", 3, 4)},
			wantReason: map[string]string{"w-003": "younger than minAge 8h0m0s"},
		},
		{
			name:       "rotate keep 0 stops at the floor",
			images:     family("w", "web", 3, 0),
			in:         intent.Intent{Action: "rotate", ImageFamily: "web", Keep: keepN(0)},
			wantAvail:  map[string][]string{"web": ids("w", 2)},
			wantReason: map[string]string{"w-002": "floor: last Available image of family web"},
		},
		{
			name:       "rotate with floor 3 above keep 1",
			images:     family("w", "web", 5, 0),
			guards:     func(g *Guards) { g.FamilyFloor = 3 },
			in:         intent.Intent{Action: "rotate", ImageFamily: "web", Keep: keepN(1)},
			wantAvail:  map[string][]string{"web": ids("w", 2, 3, 4)},
			wantReason: map[string]string{"w-003": "floor: family web keeps 3 Available images"},
		},
		{
			name:       "rotate skips a shared image and it counts as Available",
			images:     append(family("w", "web", 3, 0)[1:], with(img("w-000", "web", "Available", 0), shared)),
			in:         intent.Intent{Action: "rotate", ImageFamily: "web", Keep: keepN(1)},
			wantAvail:  map[string][]string{"web": ids("w", 0, 2)},
			wantReason: map[string]string{"w-000": "skipped: shared with 2 accounts"},
		},
		{
			name:      "rotate unshares first when allowed",
			images:    append(family("w", "web", 3, 0)[1:], with(img("w-000", "web", "Available", 0), shared)),
			guards:    func(g *Guards) { g.UnshareBeforeDeprecate = true },
			in:        intent.Intent{Action: "rotate", ImageFamily: "web", Keep: keepN(1)},
			wantAvail: map[string][]string{"web": ids("w", 2)},
			wantCalls: map[string]int{"RemoveImageShares": 1},
		},
		{
			name:       "rotate never deprecates an image with the exclusion tag",
			images:     append(family("w", "web", 3, 0)[1:], with(img("w-000", "web", "Available", 0), tag)),
			in:         intent.Intent{Action: "rotate", ImageFamily: "web", Keep: keepN(1)},
			wantAvail:  map[string][]string{"web": ids("w", 0, 2)},
			wantReason: map[string]string{"w-000": "excluded: tag lifecycle:keep=true"},
		},
		{
			name:      "rotate with the exclusion tag turned off",
			images:    append(family("w", "web", 3, 0)[1:], with(img("w-000", "web", "Available", 0), tag)),
			guards:    func(g *Guards) { g.ExcludeTag = "" },
			in:        intent.Intent{Action: "rotate", ImageFamily: "web", Keep: keepN(1)},
			wantAvail: map[string][]string{"web": ids("w", 2)},
		},
		{
			name: "rotate matches families by glob, and the allow-list filters them",
			images: slices.Concat(family("a", "web-a", 3, 0), family("b", "web-b", 3, 0), family("c", "web-c", 3, 0),
				family("d", "db", 3, 0)),
			guards: func(g *Guards) { g.AllowedFamilies = []string{"web-a", "web-b"} },
			in:     intent.Intent{Action: "rotate", ImageFamilies: []string{"web-*"}, Keep: keepN(1)},
			wantAvail: map[string][]string{"web-a": ids("a", 2), "web-b": ids("b", 2),
				"web-c": ids("c", 0, 1, 2), "db": ids("d", 0, 1, 2)},
			// one region listing (12 images, one page), which the re-checks
			// before the deprecations in web-a and web-b judge by (read a
			// moment ago), one region listing after them (settle)
			wantCalls: map[string]int{"DescribeImages": 1 + 1},
		},
		{
			name:      "rotate 150 images reads the family in 2 pages",
			images:    family("w", "web", 150, 0),
			in:        intent.Intent{Action: "rotate", ImageFamily: "web", Keep: keepN(2), DryRun: true},
			wantAvail: map[string][]string{"web": ids("w", seq(150)...)},
			wantCalls: map[string]int{"DescribeImages": 2, "DescribeImageSharePermission": 0, "ModifyImageAttribute": 0},
		},
		{
			name:      "rotate 100 images reads the family in 1 page",
			images:    family("w", "web", 100, 0),
			in:        intent.Intent{Action: "rotate", ImageFamily: "web", Keep: keepN(100), DryRun: true},
			wantCalls: map[string]int{"DescribeImages": 1, "DescribeImageSharePermission": 0},
		},
		{
			name:      "the exclusion tag needs its value too",
			images:    append(family("w", "web", 3, 0)[1:], with(img("w-000", "web", "Available", 0), func(i *fakeImage) { i.Tags = map[string]string{"lifecycle:keep": "false"} })),
			in:        intent.Intent{Action: "rotate", ImageFamily: "web", Keep: keepN(1)},
			wantAvail: map[string][]string{"web": ids("w", 2)},
		},
		{
			name:       "rollback of a family with no Available image does nothing",
			images:     []*fakeImage{img("w-p", "web", "Deprecated", 5)},
			in:         intent.Intent{Action: "rollback", ImageFamily: "web"},
			wantReason: map[string]string{"w-p": "nothing to roll back"},
			wantCalls:  map[string]int{"ModifyImageAttribute": 0},
		},
		{
			name:      "dry run changes nothing",
			images:    five,
			in:        intent.Intent{Action: "rotate", ImageFamily: "web", Keep: keepN(1), DryRun: true},
			wantAvail: map[string][]string{"web": ids("w", 0, 1, 2, 3, 4)},
			wantCalls: map[string]int{"ModifyImageAttribute": 0, "RemoveImageShares": 0},
		},
		{
			name: "promote sets attributes and the family, then deprecates beyond keep",
			images: append(family("w", "web", 3, 0),
				with(img("m-new", "", "Available", 10), func(i *fakeImage) { i.Name = "build-7" })),
			in: intent.Intent{Action: "promote", ImageID: "m-new", Keep: keepN(2), Attributes: &intent.Attributes{
				ImageName: "web-7", ImageFamily: "web", Features: &intent.Features{ImdsSupport: "v2"}}},
			wantAvail:  map[string][]string{"web": {"w-002", "m-new"}},
			wantReason: map[string]string{"m-new": "promoted image", "w-000": "older than the promoted image"},
		},
		{
			name:      "promote activates a Deprecated image",
			images:    append(family("w", "web", 3, 0), img("m-new", "web", "Deprecated", 10)),
			in:        intent.Intent{Action: "promote", ImageID: "m-new", Keep: keepN(1)},
			wantAvail: map[string][]string{"web": {"m-new"}},
		},
		{
			name:      "promote already converged makes no write",
			images:    append(family("w", "web", 1, 0), img("m-new", "web", "Available", 10), img("w-old", "web", "Deprecated", 0)),
			in:        intent.Intent{Action: "promote", ImageID: "m-new", Keep: keepN(2), Attributes: &intent.Attributes{ImageFamily: "web"}},
			wantAvail: map[string][]string{"web": {"w-000", "m-new"}},
			wantCalls: map[string]int{"DescribeImages": 2, "ModifyImageAttribute": 0},
		},
		{
			name:       "promote never deprecates images newer than the promoted one",
			images:     append(family("w", "web", 4, 0), img("m-old", "web", "Deprecated", 1)),
			in:         intent.Intent{Action: "promote", ImageID: "m-old", Keep: keepN(1)},
			wantAvail:  map[string][]string{"web": {"m-old", "w-001", "w-002", "w-003"}}, // same hour: ties go by ImageId
			wantReason: map[string]string{"w-003": "newer than the promoted image, kept"},
		},
		{
			name:      "rollback re-activates the previous image, then deprecates the newest",
			images:    []*fakeImage{img("w-o", "web", "Deprecated", 0), img("w-p", "web", "Deprecated", 5), img("w-n", "web", "Available", 6), img("w-x", "web", "Deprecated", 7)},
			in:        intent.Intent{Action: "rollback", ImageFamily: "web"},
			wantAvail: map[string][]string{"web": {"w-p"}},
			wantReason: map[string]string{"w-p": "rollback: re-activate", "w-n": "rollback: deprecate",
				"w-x": "not part of the rollback", "w-o": "not part of the rollback"},
		},
		{
			name:       "rollback with an older Available image only deprecates the newest",
			images:     append(family("w", "web", 2, 0), img("w-p", "web", "Deprecated", 5), img("w-n", "web", "Available", 6)),
			in:         intent.Intent{Action: "rollback", ImageFamily: "web"},
			wantAvail:  map[string][]string{"web": ids("w", 0, 1)},
			wantReason: map[string]string{"w-n": "w-001, older, stays Available", "w-p": "not part of the rollback"},
			wantCalls:  map[string]int{"ModifyImageAttribute": 1},
		},
		{
			name:       "rollback with nothing older to roll back to does nothing",
			images:     []*fakeImage{img("w-n", "web", "Available", 6), img("w-x", "web", "Deprecated", 7)},
			in:         intent.Intent{Action: "rollback", ImageFamily: "web"},
			wantAvail:  map[string][]string{"web": {"w-n"}},
			wantReason: map[string]string{"w-n": "no image older than it to roll back to"},
			wantCalls:  map[string]int{"ModifyImageAttribute": 0},
		},
		{
			name:       "rollback of a shared newest image is held entirely",
			images:     []*fakeImage{img("w-p", "web", "Deprecated", 5), with(img("w-n", "web", "Available", 6), shared)},
			in:         intent.Intent{Action: "rollback", ImageFamily: "web"},
			wantAvail:  map[string][]string{"web": {"w-n"}},
			wantReason: map[string]string{"w-p": "skipped: shared with 2 accounts", "w-n": "rollback not done"},
			wantCalls:  map[string]int{"ModifyImageAttribute": 0},
		},
		{
			name:       "rollback of an excluded newest image is held",
			images:     []*fakeImage{img("w-p", "web", "Deprecated", 5), with(img("w-n", "web", "Available", 6), tag)},
			in:         intent.Intent{Action: "rollback", ImageFamily: "web"},
			wantAvail:  map[string][]string{"web": {"w-n"}},
			wantReason: map[string]string{"w-n": "excluded"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(tt.images...)
			var mods []func(*Guards)
			if tt.guards != nil {
				mods = append(mods, tt.guards)
			}
			res := run(t, newTestEngine(f, mods...), tt.in)
			for fam, want := range tt.wantAvail {
				if got := f.available(fam); !slices.Equal(got, want) {
					t.Errorf("Available in %s = %v, want %v\nwrites %q\n%s", fam, got, want, f.writeLog(), res.Plan.Table())
				}
			}
			for id, r := range tt.wantReason {
				if s := stepOf(t, res.Plan, id); !strings.Contains(s.Reason, r) {
					t.Errorf("%s reason = %q, want it to contain %q\n%s", id, s.Reason, r, res.Plan.Table())
				}
			}
			for action, n := range tt.wantCalls {
				if got := f.count(action); got != n {
					t.Errorf("%s calls = %d, want %d", action, got, n)
				}
			}
			if len(f.violations) > 0 {
				t.Errorf("floor violated: %v", f.violations)
			}
			if tt.in.DryRun && (res.Changed || len(f.writeLog()) > 0) {
				t.Errorf("dry run wrote: %q", f.writeLog())
			}
		})
	}
}

func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

func TestRollbackOrder(t *testing.T) {
	t.Parallel()
	f := newFake(img("w-p", "web", "Deprecated", 5), img("w-n", "web", "Available", 6))
	run(t, newTestEngine(f), intent.Intent{Action: "rollback", ImageFamily: "web"})
	want := []string{"w-p Status=Available", "w-n Status=Deprecated"}
	if got := f.writeLog(); !slices.Equal(got, want) {
		t.Fatalf("writes = %q, want activate before deprecate %q", got, want)
	}
	if len(f.violations) > 0 {
		t.Fatalf("floor violated: %v", f.violations)
	}
}

func TestPromoteWaitsForCreating(t *testing.T) {
	t.Parallel()
	f := newFake(append(family("w", "web", 3, 0),
		&fakeImage{Image: img("m-new", "", "Creating", 10).Image, readyAt: time.Now().Add(60 * time.Millisecond)})...)
	f.images["m-new"].Progress = 0
	e := newTestEngine(f)
	var seen []int
	e.CreatingBackoff = func(p int) time.Duration { seen = append(seen, p); return 10 * time.Millisecond }
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := e.Run(ctx, intent.Intent{Action: "promote", ImageID: "m-new", Keep: keepN(2), Attributes: &intent.Attributes{ImageFamily: "web"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := f.available("web"), []string{"w-002", "m-new"}; !slices.Equal(got, want) {
		t.Fatalf("Available = %v, want %v\n%s", got, want, res.Plan.Table())
	}
	if len(seen) < 2 || !slices.IsSorted(seen) {
		t.Errorf("backoff saw progress %v, want several rising values", seen)
	}
}

func TestPromoteGivesUpBeforeTheDeadline(t *testing.T) {
	t.Parallel()
	f := newFake(append(family("w", "web", 3, 0),
		&fakeImage{Image: img("m-new", "web", "Creating", 10).Image, readyAt: time.Now().Add(time.Hour)})...)
	e := newTestEngine(f)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	waitUntil(e, ctx, 20*time.Millisecond)
	start := time.Now()
	res, err := e.Run(ctx, intent.Intent{Action: "promote", ImageID: "m-new", Keep: keepN(1)})
	wantNotYet(t, err, "InvalidStatus.ImageIsCreating")
	if res != nil || len(f.writeLog()) != 0 {
		t.Fatalf("promote of a Creating image wrote %q", f.writeLog())
	}
	if f.count("DescribeImages") < 2 {
		t.Errorf("DescribeImages = %d, want it to re-read while waiting", f.count("DescribeImages"))
	}
	if took := time.Since(start); took > 100*time.Millisecond {
		t.Errorf("gave up after %v, past the deadline", took)
	}
}

func TestDefaultCreatingBackoff(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		progress int
		want     time.Duration
	}{{100, 2 * time.Second}, {90, 3 * time.Second}, {10, 27 * time.Second}, {0, 30 * time.Second}, {-5, 30 * time.Second}} {
		if got := DefaultCreatingBackoff(tt.progress); got != tt.want {
			t.Errorf("DefaultCreatingBackoff(%d) = %v, want %v", tt.progress, got, tt.want)
		}
	}
}

// A Creating image named by modify is planned as usual; the API answers
// ImageIsCreating and the error passes through for the retry layer.
func TestModifyCreatingPassesTheAPIErrorThrough(t *testing.T) {
	t.Parallel()
	f := newFake(&fakeImage{Image: img("m-1", "web", "Creating", 1).Image, readyAt: time.Now().Add(time.Hour)})
	res, err := newTestEngine(f).Run(context.Background(), intent.Intent{Action: "modify", ImageID: "m-1", Attributes: &intent.Attributes{Description: "d"}})
	wantAPIError(t, err, "InvalidStatus.ImageIsCreating", 403)
	if ecsapi.Code(err) != "InvalidStatus.ImageIsCreating" || res == nil || !res.Plan.HasChanges() {
		t.Fatalf("err %v, result %+v", err, res)
	}
}
