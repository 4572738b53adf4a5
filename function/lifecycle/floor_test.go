package lifecycle

import (
	"context"
	"errors"
	"net/http"
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

// failingReads is the fake with every DescribeImages by ImageIds refused.
type failingReads struct{ *fakeECS }

func (f failingReads) DescribeImages(ctx context.Context, in ecsapi.DescribeImagesInput) (ecsapi.ImagePage, error) {
	if len(in.ImageIDs) > 0 {
		return ecsapi.ImagePage{}, apiErr("DescribeImages", "ServiceUnavailable", http.StatusServiceUnavailable)
	}
	return f.fakeECS.DescribeImages(ctx, in)
}

// deferredBatch runs ins one after another on an engine that defers the
// floor to the caller, as an invocation does, and returns their results and
// their results.
func deferredBatch(t *testing.T, e *Engine, ins ...intent.Intent) []*Result {
	t.Helper()
	e.DeferFloor = true
	var results []*Result
	for _, in := range ins {
		results = append(results, run(t, e, in))
	}
	return results
}

func deprecations(ids ...string) []intent.Intent {
	var ins []intent.Intent
	for _, id := range ids {
		ins = append(ins, intent.Intent{Action: "deprecate", ImageID: id})
	}
	return ins
}

// A batch that deprecated in two families reads what is left of both in one
// DescribeImages by id, after the last write, and lists neither again.
func TestRestoreFloorsReadsOnceForABatch(t *testing.T) {
	t.Parallel()
	f := newFake(append(family("w", "web", 4, 0), family("a", "api", 4, 0)...)...)
	e := newTestEngine(f)
	results := deferredBatch(t, e, deprecations("w-000", "a-000", "w-001", "w-002", "a-001")...)
	before, writes := len(f.describes), len(f.writeLog())
	errs := e.RestoreFloors(context.Background(), results)
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	read := f.describes[before:]
	if len(read) != 1 || read[0].Family != "" || !slices.Equal(slices.Sorted(slices.Values(read[0].ImageIDs)), []string{"a-002", "a-003", "w-003"}) {
		t.Fatalf("reads after the writes = %+v, want one by the ids left live: a-002, a-003, w-003", read)
	}
	if got := f.writeLog()[writes:]; len(got) != 0 {
		t.Errorf("writes after the batch = %q, want none: every family is above its floor", got)
	}
}

// Another run deprecates the last Available image of a family after the
// batch's writes: the read after them sees it, lists the family, and undoes
// the batch's newest deprecation there, reported on the result that made it.
func TestRestoreFloorsUndoesTheBatchsNewestDeprecation(t *testing.T) {
	t.Parallel()
	f := newFake(append(family("w", "web", 4, 0), family("a", "api", 4, 0)...)...)
	e := newTestEngine(f)
	results := deferredBatch(t, e, deprecations("w-001", "a-000", "w-000", "w-002")...)
	f.mu.Lock()
	f.images["w-003"].Status = ecsapi.StatusDeprecated // another run
	f.mu.Unlock()
	before := len(f.describes)
	if err := errors.Join(e.RestoreFloors(context.Background(), results)...); err != nil {
		t.Fatal(err)
	}
	if got := f.available("web"); !slices.Equal(got, []string{"w-002"}) {
		t.Fatalf("web Available = %v, want w-002 (the batch's newest deprecation there) re-activated", got)
	}
	if n := len(f.describes) - before; n != 2 || f.describes[before+1].Family != "web" {
		t.Errorf("reads after the writes = %+v, want by id, then the family web listed", f.describes[before:])
	}
	for i, res := range results {
		undone := slices.ContainsFunc(res.Held, func(h HeldStep) bool { return h.ImageID == "w-002" && strings.Contains(h.Reason, "undone") })
		if undone != (i == 3) {
			t.Errorf("result %d (%s) Held = %+v; the undo belongs to result 3 alone", i, res.Plan.ImageID, res.Held)
		}
	}
	if got := f.available("api"); len(got) != 3 {
		t.Errorf("api Available = %v, want its 3 untouched", got)
	}
}

// When the read after the writes fails, every result that deprecated in the
// families it was for gets the error (its message is settled on it), and a
// result that deprecated nothing does not.
func TestRestoreFloorsGivesAFailedReadToTheResultsItWasFor(t *testing.T) {
	t.Parallel()
	f := newFake(append(family("w", "web", 4, 0), family("a", "api", 4, 0)...)...)
	e := newTestEngine(f)
	ins := append(deprecations("w-000", "a-000"), intent.Intent{Action: "modify", ImageID: "a-003", Attributes: &intent.Attributes{Description: "d"}})
	results := deferredBatch(t, e, ins...)
	e.API = failingReads{f}
	errs := e.RestoreFloors(context.Background(), results)
	for i, want := range []bool{true, true, false} {
		if got := errs[i] != nil; got != want {
			t.Errorf("result %d error = %v, want an error: %v", i, errs[i], want)
		}
	}
	if errs[0] != nil && !strings.Contains(errs[0].Error(), "ServiceUnavailable") {
		t.Errorf("error = %v, want the API's code", errs[0])
	}
}
