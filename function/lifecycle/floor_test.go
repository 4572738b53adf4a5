package lifecycle

import (
	"slices"
	"strings"
	"testing"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/intent"
)

// Another run's deprecation lands between a run's fresh-read check and its
// own write, so that together they take the family below its floor (the fake
// records that write). The run reads the family after its writes, sees it,
// and undoes its own deprecation: the family does not stay below its floor.
func TestRestoreFloorAfterAConcurrentDeprecation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		images    []*fakeImage
		in        intent.Intent
		other     map[string]string // our write -> the image another run deprecates just before it
		wantAvail []string
		wantLast  string // the last write
		wantReads int    // DescribeImages calls
	}{
		{
			name:      "rollback",
			images:    []*fakeImage{img("w-a", "web", "Available", 1), img("w-n", "web", "Available", 6)},
			in:        intent.Intent{Action: "rollback", ImageID: "w-n"},
			other:     map[string]string{"w-n": "w-a"},
			wantAvail: []string{"w-n"},
			wantLast:  "w-n Status=Available",
			// image, family (recent: the re-check judges by it), the live
			// images after the write (restore), below the floor: the family
			// (what to undo is judged on a complete listing)
			wantReads: 4,
		},
		{
			name:      "explicit deprecate",
			images:    []*fakeImage{img("w-a", "web", "Available", 1), img("w-n", "web", "Available", 6)},
			in:        intent.Intent{Action: "deprecate", ImageID: "w-a"},
			other:     map[string]string{"w-a": "w-n"},
			wantAvail: []string{"w-a"},
			wantLast:  "w-a Status=Available",
			wantReads: 4,
		},
		{
			name:      "rotate (its settle read serves, no extra read)",
			images:    family("w", "web", 4, 0),
			in:        intent.Intent{Action: "rotate", ImageFamily: "web", Keep: keepN(1)},
			other:     map[string]string{"w-002": "w-003"}, // e.g. a rollback from w-003
			wantAvail: []string{"w-002"},
			wantLast:  "w-002 Status=Available",
			// family (recent: the re-check before the first deprecation
			// judges by it), settle's live images (which also serve the
			// floor check), below the floor: the family
			wantReads: 3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(tt.images...)
			f.beforeWrite = func(f *fakeECS, id string) {
				if o, ok := tt.other[id]; ok {
					f.images[o].Status = ecsapi.StatusDeprecated
					delete(tt.other, id)
				}
			}
			res := run(t, newTestEngine(f), tt.in)
			if got := f.available("web"); !slices.Equal(got, tt.wantAvail) {
				t.Fatalf("Available = %v, want %v\nwrites %q\n%s", got, tt.wantAvail, f.writeLog(), res.Plan.Table())
			}
			w := f.writeLog()
			if w[len(w)-1] != tt.wantLast {
				t.Errorf("writes = %q, want the last to be %q", w, tt.wantLast)
			}
			if len(f.violations) != 1 {
				t.Errorf("violations = %q, want exactly the one concurrent dip", f.violations)
			}
			id := strings.Fields(tt.wantLast)[0]
			if !slices.ContainsFunc(res.Held, func(h HeldStep) bool { return h.ImageID == id && strings.Contains(h.Reason, "deprecation undone") }) {
				t.Errorf("Held = %+v, want %s undone", res.Held, id)
			}
			if s := res.Plan.Steps[len(res.Plan.Steps)-1]; s.ImageID != id || !strings.Contains(s.Reason, "below its floor 1") {
				t.Errorf("the plan does not report the undo:\n%s", res.Plan.Table())
			}
			if got := f.count("DescribeImages"); got != tt.wantReads {
				t.Errorf("DescribeImages = %d, want %d", got, tt.wantReads)
			}
		})
	}
}

// A run whose deprecations leave the family at its floor reads it once more
// and writes nothing else.
func TestRestoreFloorLeavesAFamilyAtItsFloor(t *testing.T) {
	t.Parallel()
	f := newFake(img("w-a", "web", "Available", 1), img("w-n", "web", "Available", 6))
	res := run(t, newTestEngine(f), intent.Intent{Action: "rollback", ImageID: "w-n"})
	if got := f.writeLog(); !slices.Equal(got, []string{"w-n Status=Deprecated"}) || len(res.Held) != 0 {
		t.Fatalf("writes %q, held %+v", got, res.Held)
	}
}
