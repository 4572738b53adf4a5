package lifecycle

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/intent"
)

// tableRow returns the plan table's rows about one image and field.
func tableRows(p *Plan, id, field string) []string {
	var out []string
	for _, line := range strings.Split(p.Table(), "\n") {
		if f := strings.Fields(line); len(f) > 3 && f[0] == id && f[3] == field {
			out = append(out, line)
		}
	}
	return out
}

// A deprecation Apply held back (another run changed the family since the
// plan) is reported as held, in the plan's steps, its table and its JSON,
// never as a change that was made; the input plan is left as planned.
func TestHeldDeprecationIsShownAsHeld(t *testing.T) {
	t.Parallel()
	f := newFake(family("w", "web", 4, 0)...)
	e := newTestEngine(f)
	p, err := e.Plan(context.Background(), intent.Intent{Action: "rotate", ImageFamily: "web", Keep: keepN(2)})
	if err != nil {
		t.Fatal(err)
	}
	planned := p.Table()
	f.images["w-003"].Status = ecsapi.StatusDeprecated // another run, between plan and apply
	planMadeEarlier(e)
	res, err := e.Apply(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if res.Changed != true || len(res.Held) != 1 {
		t.Fatalf("Changed %t, Held %+v", res.Changed, res.Held)
	}
	s := stepOf(t, res.Plan, "w-001")
	wantHeld := []FieldChange{{Field: FieldStatus, From: "Available", To: "Deprecated"}}
	if len(s.Changes) != 0 || !slices.Equal(s.Held, wantHeld) || !strings.Contains(s.HeldReason, "fresh read") {
		t.Errorf("held step = %+v; want no changes, held %v with the fresh-read reason", s, wantHeld)
	}
	if h := res.Held[0]; h.ImageID != "w-001" || !slices.Equal(h.Changes, wantHeld) {
		t.Errorf("Result.Held = %+v, want w-001 with its held change", h)
	}
	rows := tableRows(res.Plan, "w-001", FieldStatus)
	if len(rows) != 1 || strings.Contains(rows[0], "Deprecated  ") || !strings.Contains(rows[0], "held") ||
		!strings.Contains(rows[0], "status stays Available") {
		t.Errorf("table shows the held deprecation as %q:\n%s", rows, res.Plan.Table())
	}
	if rows := tableRows(res.Plan, "w-000", FieldStatus); len(rows) != 1 || !strings.Contains(rows[0], "Available  Deprecated") {
		t.Errorf("the deprecation that was made reads %q", rows)
	}
	b, _ := json.Marshal(res.Plan)
	if !strings.Contains(string(b), `"held":[{"field":"status","from":"Available","to":"Deprecated"}],"heldReason":"fresh read`) {
		t.Errorf("plan JSON does not show the held change:\n%s", b)
	}
	if p.Table() != planned {
		t.Errorf("Apply changed the plan it was given:\n%s", p.Table())
	}
}

// A move out of a family held back by the floor is shown as held; the rest of
// the modify, which was made, is shown as made.
func TestHeldMoveIsShownAsHeld(t *testing.T) {
	t.Parallel()
	f := newFake(img("m-1", "web", "Available", 1), img("m-2", "web", "Available", 2))
	e := newTestEngine(f)
	p, err := e.Plan(context.Background(), intent.Intent{Action: "modify", ImageID: "m-2",
		Attributes: &intent.Attributes{ImageFamily: "app", Description: "moved"}})
	if err != nil {
		t.Fatal(err)
	}
	f.images["m-1"].Status = ecsapi.StatusDeprecated
	planMadeEarlier(e)
	res, err := e.Apply(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	s := stepOf(t, res.Plan, "m-2")
	if len(s.Changes) != 1 || s.Changes[0].Field != FieldDescription || len(s.Held) != 1 || s.Held[0].Field != FieldImageFamily {
		t.Fatalf("step = %+v; want description made, imageFamily held", s)
	}
	if rows := tableRows(res.Plan, "m-2", FieldImageFamily); len(rows) != 1 || strings.Contains(rows[0], " app ") ||
		!strings.Contains(rows[0], "imageFamily stays web") {
		t.Errorf("held move reads %q:\n%s", rows, res.Plan.Table())
	}
}

// alreadyDoneAPI answers every ModifyImageAttribute as the retry layer does
// when the API says the target state already holds: success, nothing written.
type alreadyDoneAPI struct{ *fakeECS }

func (a alreadyDoneAPI) ModifyImageAttributeWrote(_ context.Context, in ecsapi.ModifyInput) (string, bool, error) {
	a.enter("ModifyImageAttribute")()
	return "req-already", false, nil
}

// A write the API answered as already done (another run got there first) is
// not counted as a change: the run is not Changed, the step says so, and no
// request id is reported for it.
func TestAlreadyDoneIsNotAWrite(t *testing.T) {
	t.Parallel()
	f := newFake(family("w", "web", 2, 0)...)
	e := newTestEngine(f)
	e.API = alreadyDoneAPI{f}
	res := run(t, e, intent.Intent{Action: "deprecate", ImageID: "w-000"})
	if res.Changed || len(res.Applied) != 0 {
		t.Fatalf("Changed %t, Applied %+v; want nothing written", res.Changed, res.Applied)
	}
	s := stepOf(t, res.Plan, "w-000")
	if len(s.Changes) != 0 || !strings.Contains(s.Reason, "already held") {
		t.Errorf("step = %+v; want no change, with a reason saying the state already held", s)
	}
}

// While a promote waits for a Creating image, the hook is told the image, its
// progress, the next check and when the wait gives up; MaxCreatingWait bounds
// the wait even under a later context deadline, and the last report says it
// gave up.
func TestCreatingWaitProgress(t *testing.T) {
	t.Parallel()
	f := newFake(&fakeImage{Image: img("m-new", "web", "Creating", 10).Image, readyAt: time.Now().Add(time.Hour)})
	f.images["m-new"].Progress = 40
	e := newTestEngine(f)
	e.CreatingBackoff = func(int) time.Duration { return 10 * time.Millisecond }
	e.MaxCreatingWait = 50 * time.Millisecond
	var seen []CreatingWait
	e.OnCreatingWait = func(w CreatingWait) { seen = append(seen, w) }
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := e.Run(ctx, intent.Intent{Action: "promote", ImageID: "m-new"})
	wantNotYet(t, err, "InvalidStatus.ImageIsCreating")
	if !strings.Contains(err.Error(), "50ms") {
		t.Errorf("error %q does not say how long the wait was bounded to", err)
	}
	if len(seen) < 2 {
		t.Fatalf("hook called %d times, want every check reported", len(seen))
	}
	first, last := seen[0], seen[len(seen)-1]
	if first.ImageID != "m-new" || first.Status != "Creating" || first.Next != 10*time.Millisecond || first.GivingUp ||
		first.GiveUpAt.Before(start) || first.GiveUpAt.After(start.Add(time.Second)) {
		t.Errorf("first report %+v", first)
	}
	if !last.GivingUp || last.Next != 0 {
		t.Errorf("last report %+v, want it to say the wait gave up", last)
	}
	for _, w := range seen {
		if w.Progress < 0 || w.Progress > 100 {
			t.Errorf("progress %d", w.Progress)
		}
	}
}
