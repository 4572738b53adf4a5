package lifecycle

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/intent"
)

// The plan goes into the JSON report as it is: camelCase, intent spelling.
func TestPlanJSON(t *testing.T) {
	t.Parallel()
	f := newFake(family("w", "web", 3, 0)...)
	p, err := newTestEngine(f).Plan(context.Background(), intent.Intent{Action: "rotate", ImageFamily: "web", Keep: keepN(1), DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"action":"rotate"`, `"regionId":"cn-hangzhou"`, `"families":["web"]`, `"dryRun":true`,
		`"imageId":"w-000"`, `"imageFamily":"web"`, `"changes":[{"field":"status","from":"Available","to":"Deprecated"}]`,
		`"reason":"newest Available, kept (keep 1)"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("plan JSON lacks %s:\n%s", want, b)
		}
	}
	var back Plan
	if err := json.Unmarshal(b, &back); err != nil || len(back.Steps) != 3 || !back.HasChanges() {
		t.Fatalf("round trip: %v, %+v", err, back)
	}
}

// A rotate planned on a cached family that another invocation has since
// changed (a promote joined a newer image) deprecates what the stale plan
// said, then its settle pass re-reads the family and finishes the job.
func TestSettleAfterAStalePlan(t *testing.T) {
	t.Parallel()
	f := newFake(append(family("w", "web", 4, 0), img("m-new", "", "Available", 10))...)
	stale := newTestEngine(f)
	if _, err := stale.Plan(context.Background(), intent.Intent{Action: "rotate", ImageFamily: "web", DryRun: true}); err != nil {
		t.Fatal(err) // caches the family as it was: w-000..w-003
	}
	run(t, newTestEngine(f), intent.Intent{Action: "promote", ImageID: "m-new", Keep: keepN(3), Attributes: &intent.Attributes{ImageFamily: "web"}})
	if got := f.available("web"); !slices.Equal(got, []string{"w-002", "w-003", "m-new"}) {
		t.Fatalf("after promote Available = %v", got)
	}
	res := run(t, stale, intent.Intent{Action: "rotate", ImageFamily: "web", Keep: keepN(2)})
	if got, want := f.available("web"), []string{"w-003", "m-new"}; !slices.Equal(got, want) {
		t.Fatalf("Available = %v, want %v\n%s", got, want, res.Plan.Table())
	}
	if !strings.Contains(res.Plan.Table(), "settle (fresh read after own writes)") {
		t.Errorf("settled step not in the plan:\n%s", res.Plan.Table())
	}
}
