package lifecycle

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/intent"
)

// A rollback from a named image is level-based: every case is delivered
// twice, and the second delivery must find nothing to write.
func TestRollbackFromImage(t *testing.T) {
	t.Parallel()
	tag := func(im *fakeImage) { im.Tags = map[string]string{"lifecycle:keep": "true"} }
	tests := []struct {
		name       string
		images     []*fakeImage
		guards     func(*Guards)
		in         intent.Intent
		wantWrites []string // in order
		wantAvail  []string // family web, oldest first
		wantReason map[string]string
		wantSkip   []string // steps a guard stopped
	}{
		{
			name: "an older image is Available: only the image is deprecated",
			images: append(family("w", "web", 2, 0), img("w-p", "web", "Deprecated", 5), img("w-n", "web", "Available", 6),
				img("w-x", "web", "Deprecated", 7)),
			in:         intent.Intent{Action: "rollback", ImageID: "w-n"},
			wantWrites: []string{"w-n Status=Deprecated"},
			wantAvail:  ids("w", 0, 1),
			wantReason: map[string]string{"w-n": "w-001, older, stays Available", "w-p": "not part of the rollback"},
		},
		{
			name:       "nothing older is Available: the newest older Deprecated image is re-activated first",
			images:     []*fakeImage{img("w-o", "web", "Deprecated", 1), img("w-p", "web", "Deprecated", 5), img("w-n", "web", "Available", 6)},
			in:         intent.Intent{Action: "rollback", ImageID: "w-n", ImageFamily: "web"},
			wantWrites: []string{"w-p Status=Available", "w-n Status=Deprecated"},
			wantAvail:  []string{"w-p"},
			wantReason: map[string]string{"w-p": "re-activate the newest Deprecated image older than w-n (none older is Available)",
				"w-n": "after w-p is Available"},
		},
		{
			name:       "already rolled back: nothing to write",
			images:     []*fakeImage{img("w-0", "web", "Available", 1), img("w-n", "web", "Deprecated", 6)},
			in:         intent.Intent{Action: "rollback", ImageID: "w-n"},
			wantAvail:  []string{"w-0"},
			wantReason: map[string]string{"w-n": "already Deprecated and w-0, older, is Available: nothing to change"},
		},
		{
			name: "already Deprecated but nothing older Available: the older one is re-activated",
			images: []*fakeImage{img("w-p", "web", "Deprecated", 5), img("w-n", "web", "Deprecated", 6),
				img("w-m", "web", "Available", 7)},
			in:         intent.Intent{Action: "rollback", ImageID: "w-n"},
			wantWrites: []string{"w-p Status=Available"},
			wantAvail:  []string{"w-p", "w-m"},
			wantReason: map[string]string{"w-n": "w-p re-activated"},
		},
		{
			name:       "nothing older to roll back to: kept",
			images:     []*fakeImage{img("w-n", "web", "Available", 6), img("w-x", "web", "Deprecated", 7)},
			in:         intent.Intent{Action: "rollback", ImageID: "w-n"},
			wantAvail:  []string{"w-n"},
			wantReason: map[string]string{"w-n": "kept Available, no image older than it to roll back to"},
			wantSkip:   []string{"w-n"},
		},
		{
			name:       "from an image that is not the newest",
			images:     family("w", "web", 3, 0),
			in:         intent.Intent{Action: "rollback", ImageID: "w-001"},
			wantWrites: []string{"w-001 Status=Deprecated"},
			wantAvail:  ids("w", 0, 2),
		},
		{
			name:       "floor 2 holds the rollback",
			images:     []*fakeImage{img("w-0", "web", "Available", 1), img("w-n", "web", "Available", 6)},
			guards:     func(g *Guards) { g.FamilyFloor = 2 },
			in:         intent.Intent{Action: "rollback", ImageID: "w-n"},
			wantAvail:  []string{"w-0", "w-n"},
			wantReason: map[string]string{"w-n": "floor: family web keeps 2 Available images (FAMILY_FLOOR); rollback not done"},
			wantSkip:   []string{"w-n"},
		},
		{
			name:       "floor 2 is met with the re-activated image",
			images:     []*fakeImage{img("w-p", "web", "Deprecated", 5), img("w-n", "web", "Available", 6), img("w-m", "web", "Available", 7)},
			guards:     func(g *Guards) { g.FamilyFloor = 2 },
			in:         intent.Intent{Action: "rollback", ImageID: "w-n"},
			wantWrites: []string{"w-p Status=Available", "w-n Status=Deprecated"},
			wantAvail:  []string{"w-p", "w-m"},
		},
		{
			name:       "the exclusion tag does not protect a named image",
			images:     []*fakeImage{img("w-p", "web", "Deprecated", 5), with(img("w-n", "web", "Available", 6), tag)},
			in:         intent.Intent{Action: "rollback", ImageID: "w-n"},
			wantWrites: []string{"w-p Status=Available", "w-n Status=Deprecated"},
			wantAvail:  []string{"w-p"},
		},
		{
			name: "a shared image holds the whole rollback",
			images: []*fakeImage{img("w-p", "web", "Deprecated", 5),
				with(img("w-n", "web", "Available", 6), func(i *fakeImage) { i.shares = []string{"1111"} })},
			in:         intent.Intent{Action: "rollback", ImageID: "w-n"},
			wantAvail:  []string{"w-n"},
			wantReason: map[string]string{"w-p": "skipped: shared with 1 account; rollback not done", "w-n": "rollback not done"},
			wantSkip:   []string{"w-p", "w-n"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(tt.images...)
			var mods []func(*Guards)
			if tt.guards != nil {
				mods = append(mods, tt.guards)
				g := DefaultGuards()
				tt.guards(&g)
				f.floor = g.FamilyFloor
			}
			res := run(t, newTestEngine(f, mods...), tt.in)
			if got := f.writeLog(); !slices.Equal(got, tt.wantWrites) {
				t.Errorf("writes = %q, want %q\n%s", got, tt.wantWrites, res.Plan.Table())
			}
			if got := f.available("web"); !slices.Equal(got, tt.wantAvail) {
				t.Errorf("Available = %v, want %v\n%s", got, tt.wantAvail, res.Plan.Table())
			}
			for id, r := range tt.wantReason {
				if s := stepOf(t, res.Plan, id); !strings.Contains(s.Reason, r) {
					t.Errorf("%s reason = %q, want it to contain %q", id, s.Reason, r)
				}
			}
			for _, s := range res.Plan.Steps {
				if want := slices.Contains(tt.wantSkip, s.ImageID); s.Skipped != want {
					t.Errorf("%s skipped = %t, want %t (%s)", s.ImageID, s.Skipped, want, s.Reason)
				}
			}
			if strings.Contains(res.Plan.Table(), "safe to redeliver") {
				t.Errorf("a rollback with imageId warns about redelivery:\n%s", res.Plan.Table())
			}
			if len(f.violations) > 0 {
				t.Errorf("floor violated: %v", f.violations)
			}

			// The duplicate delivery (a fresh invocation) changes nothing.
			again := run(t, newTestEngine(f, mods...), tt.in)
			if again.Changed || len(f.writeLog()) != len(tt.wantWrites) {
				t.Errorf("redelivery wrote %q\n%s", f.writeLog()[len(tt.wantWrites):], again.Plan.Table())
			}
			if again.Plan.HasChanges() {
				t.Errorf("redelivery planned changes:\n%s", again.Plan.Table())
			}
		})
	}
}

// Without imageId the image is resolved at plan time: the plan names it and
// says that a redelivery rolls back one image further, which it does. The
// imageId form, delivered three times, rolls back once.
func TestRollbackRedelivery(t *testing.T) {
	t.Parallel()
	fixture := func() *fakeECS {
		return newFake(img("w-a", "web", "Deprecated", 1), img("w-b", "web", "Deprecated", 2), img("w-c", "web", "Available", 3))
	}

	f := fixture()
	in := intent.Intent{Action: "rollback", ImageFamily: "web"}
	res := run(t, newTestEngine(f), in)
	if res.Plan.ImageID != "w-c" || !strings.Contains(stepOf(t, res.Plan, "w-c").Reason, "only a rollback with imageId is safe to redeliver") {
		t.Errorf("plan does not name the resolved image and warn:\n%s", res.Plan.Table())
	}
	if !strings.Contains(res.Plan.Table(), "image w-c") {
		t.Errorf("plan table does not name w-c:\n%s", res.Plan.Table())
	}
	res = run(t, newTestEngine(f), in)
	if res.Plan.ImageID != "w-b" {
		t.Errorf("second plan resolved %q, want w-b", res.Plan.ImageID)
	}
	if got := f.available("web"); !slices.Equal(got, []string{"w-a"}) {
		t.Errorf("after a duplicate without imageId Available = %v, want [w-a] (rolled back twice)", got)
	}

	f = fixture()
	in = intent.Intent{Action: "rollback", ImageFamily: "web", ImageID: "w-c"}
	for range 3 {
		run(t, newTestEngine(f), in)
	}
	want := []string{"w-b Status=Available", "w-c Status=Deprecated"}
	if got := f.writeLog(); !slices.Equal(got, want) {
		t.Errorf("three deliveries with imageId wrote %q, want %q", got, want)
	}
	if got := f.available("web"); !slices.Equal(got, []string{"w-b"}) {
		t.Errorf("Available = %v, want [w-b]", got)
	}
}

// A rollback whose imageId is not in imageFamily, or in no family, is refused
// with InvalidParameter and a message naming both, before any write.
func TestRollbackFamilyMismatch(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		in   intent.Intent
		want []string
	}{
		{"in another family", intent.Intent{Action: "rollback", ImageID: "m-1", ImageFamily: "web"}, []string{"m-1", "image family app", "not in imageFamily web"}},
		{"in no family", intent.Intent{Action: "rollback", ImageID: "m-2"}, []string{"m-2", "has no image family"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(img("m-1", "app", "Available", 2), img("m-0", "app", "Deprecated", 1), img("m-2", "", "Available", 3))
			res, err := newTestEngine(f).Run(context.Background(), tt.in)
			wantRefusal(t, err, "InvalidParameter")
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if res != nil || len(f.writeLog()) != 0 {
				t.Errorf("refused rollback wrote %q", f.writeLog())
			}
		})
	}
}

// Before deprecating, the rollback re-reads the family: when another run has
// deprecated what it rolls back to, or taken the family to its floor, the
// deprecation is held and the image stays Available.
func TestRollbackRechecksBeforeDeprecating(t *testing.T) {
	t.Parallel()
	t.Run("the re-activated image was deprecated again", func(t *testing.T) {
		t.Parallel()
		f := newFake(img("w-p", "web", "Deprecated", 5), img("w-n", "web", "Available", 6))
		f.afterWrite = func(f *fakeECS, id string) {
			if id == "w-p" { // another run deprecates it right after the activation
				f.images["w-p"].Status = ecsapi.StatusDeprecated
			}
		}
		res := run(t, newTestEngine(f), intent.Intent{Action: "rollback", ImageID: "w-n"})
		if got := f.available("web"); !slices.Equal(got, []string{"w-n"}) {
			t.Fatalf("Available = %v, want [w-n]\nwrites %q", got, f.writeLog())
		}
		if len(res.Held) != 1 || res.Held[0].ImageID != "w-n" || !strings.Contains(res.Held[0].Reason, "no Available image older than it") {
			t.Fatalf("Held = %+v, want w-n held for want of an older Available image", res.Held)
		}
	})
	t.Run("the family reached its floor", func(t *testing.T) {
		t.Parallel()
		f := newFake(img("w-a", "web", "Available", 1), img("w-b", "web", "Available", 2), img("w-n", "web", "Available", 6))
		f.floor = 2
		e := newTestEngine(f, func(g *Guards) { g.FamilyFloor = 2 })
		p, err := e.Plan(context.Background(), intent.Intent{Action: "rollback", ImageID: "w-n"})
		if err != nil || !stepOf(t, p, "w-n").deprecates() {
			t.Fatalf("plan: %v\n%s", err, p.Table())
		}
		f.images["w-a"].Status = ecsapi.StatusDeprecated // another run, between plan and apply
		planMadeEarlier(e)
		res, err := e.Apply(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.available("web"); !slices.Equal(got, []string{"w-b", "w-n"}) {
			t.Fatalf("Available = %v, want [w-b w-n]", got)
		}
		if len(res.Held) != 1 || !strings.Contains(res.Held[0].Reason, "keeps 2 Available images") {
			t.Fatalf("Held = %+v, want w-n held by the floor", res.Held)
		}
	})
}

// A rollback without imageId resolves the image to roll back from (the
// family's newest Available image) and then follows the same rule as one
// with imageId: the newest Deprecated image older than it is re-activated
// only when no older image is Available. README says so.
func TestRollbackWithoutImageIDFollowsTheSameRule(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name       string
		images     []*fakeImage
		wantWrites []string
		wantAvail  []string
	}{
		{
			name:       "an older image is Available: only the newest is deprecated",
			images:     []*fakeImage{img("w-a", "web", "Available", 1), img("w-p", "web", "Deprecated", 5), img("w-n", "web", "Available", 6)},
			wantWrites: []string{"w-n Status=Deprecated"},
			wantAvail:  []string{"w-a"},
		},
		{
			name:       "nothing older is Available: the newest older Deprecated image is re-activated first",
			images:     []*fakeImage{img("w-o", "web", "Deprecated", 1), img("w-p", "web", "Deprecated", 5), img("w-n", "web", "Available", 6)},
			wantWrites: []string{"w-p Status=Available", "w-n Status=Deprecated"},
			wantAvail:  []string{"w-p"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(tt.images...)
			res := run(t, newTestEngine(f), intent.Intent{Action: "rollback", ImageFamily: "web"})
			if got := f.writeLog(); !slices.Equal(got, tt.wantWrites) {
				t.Errorf("writes = %q, want %q\n%s", got, tt.wantWrites, res.Plan.Table())
			}
			if got := f.available("web"); !slices.Equal(got, tt.wantAvail) {
				t.Errorf("Available = %v, want %v", got, tt.wantAvail)
			}
			if res.Plan.ImageID != "w-n" {
				t.Errorf("resolved %q, want w-n", res.Plan.ImageID)
			}
		})
	}
}
