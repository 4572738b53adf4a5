package policy

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func ids(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("m-bp1old%03d", i)
	}
	return out
}

func TestCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		limits    Limits
		plan      Plan
		confirmed []string
		allowed   bool
		reason    []string // substrings of the reason
	}{
		{name: "nothing to deprecate", limits: DefaultLimits(), plan: Plan{Family: "web", Available: 1},
			allowed: true, reason: []string{"deprecates no image of family web"}},
		{name: "steady state promote, keep 1", limits: DefaultLimits(), plan: Plan{Family: "web", Available: 2, Deprecate: ids(1)},
			allowed: true, reason: []string{"deprecates 1 of the 2 Available images of family web, within maxDeprecations 5 and maxDeprecationShare 0.5"}},
		{name: "at both limits", limits: DefaultLimits(), plan: Plan{Family: "web", Available: 10, Deprecate: ids(5)}, allowed: true},
		{name: "over the count", limits: DefaultLimits(), plan: Plan{Family: "web", Available: 20, Deprecate: ids(6)},
			reason: []string{"deprecates 6 of the 20 Available images of family web, more than maxDeprecations 5; nothing was changed"}},
		{name: "over the share", limits: DefaultLimits(), plan: Plan{Family: "api", Available: 5, Deprecate: ids(3)},
			reason: []string{"more than maxDeprecationShare 0.5 (2 of 5 Available)"}},
		{name: "over both", limits: DefaultLimits(), plan: Plan{Family: "api", Available: 8, Deprecate: ids(7)},
			reason: []string{"more than maxDeprecations 5 and maxDeprecationShare 0.5 (4 of 8 Available)"}},
		{name: "share rounds down", limits: Limits{MaxDeprecations: 100, MaxDeprecationShare: 0.34}, plan: Plan{Family: "api", Available: 5, Deprecate: ids(2)},
			reason: []string{"maxDeprecationShare 0.34 (1 of 5 Available)"}},
		{name: "a share float64 cannot hold exactly loses no image (0.29*100 is 28.999…)", limits: Limits{MaxDeprecations: 100, MaxDeprecationShare: 0.29}, plan: Plan{Family: "api", Available: 100, Deprecate: ids(29)},
			allowed: true},
		{name: "one more than the share is refused", limits: Limits{MaxDeprecations: 100, MaxDeprecationShare: 0.29}, plan: Plan{Family: "api", Available: 100, Deprecate: ids(30)},
			reason: []string{"(29 of 100 Available)"}},
		{name: "share 1 allows the whole family (the floor guard is the engine's)", limits: Limits{MaxDeprecations: 100, MaxDeprecationShare: 1}, plan: Plan{Family: "api", Available: 3, Deprecate: ids(3)},
			allowed: true},
		{name: "zero limits mean the defaults", limits: Limits{}, plan: Plan{Family: "web", Available: 100, Deprecate: ids(6)},
			reason: []string{"more than maxDeprecations 5"}},
		{name: "available below the plan counts as the plan", limits: Limits{MaxDeprecations: 100, MaxDeprecationShare: 0.5}, plan: Plan{Family: "web", Available: 0, Deprecate: ids(2)},
			reason: []string{"of the 2 Available images", "(1 of 2 Available)"}},
		{name: "no family", limits: DefaultLimits(), plan: Plan{Available: 10, Deprecate: ids(6)},
			reason: []string{"of family (none)"}},
		{name: "confirmed ids do not count", limits: DefaultLimits(), plan: Plan{Family: "web", Available: 10, Deprecate: ids(7)}, confirmed: ids(7),
			allowed: true, reason: []string{"7 of them confirmed by id; the 0 others are within"}},
		{name: "a subset of the confirmed ids (a retried, partly applied run)", limits: DefaultLimits(), plan: Plan{Family: "web", Available: 6, Deprecate: ids(7)[4:]}, confirmed: ids(7),
			allowed: true},
		{name: "confirmed plus a few within the limits", limits: DefaultLimits(), plan: Plan{Family: "web", Available: 11, Deprecate: append(ids(7), "m-bp1new")}, confirmed: ids(7),
			allowed: true, reason: []string{"8 of the 11", "7 of them confirmed by id; the 1 others are within"}},
		{name: "confirmed plus too many others", limits: DefaultLimits(), plan: Plan{Family: "web", Available: 20, Deprecate: ids(12)}, confirmed: ids(6),
			reason: []string{"12 of the 20 Available images of family web, 6 of them confirmed by id (6 not confirmed), more than maxDeprecations 5"}},
		{name: "a confirmation of other images changes nothing", limits: DefaultLimits(), plan: Plan{Family: "web", Available: 20, Deprecate: ids(6)}, confirmed: []string{"m-bp1other1", "m-bp1other2"},
			reason: []string{"more than maxDeprecations 5"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := Check(tt.limits, tt.plan, tt.confirmed)
			if d.Allowed != tt.allowed {
				t.Fatalf("Allowed = %v, want %v (%s)", d.Allowed, tt.allowed, d.Reason)
			}
			for _, want := range tt.reason {
				if !strings.Contains(d.Reason, want) {
					t.Errorf("reason %q does not contain %q", d.Reason, want)
				}
			}
			if d.Deprecations != len(tt.plan.Deprecate) {
				t.Errorf("Deprecations = %d", d.Deprecations)
			}
			if d.Allowed {
				if d.Code != "" || d.Confirm != nil {
					t.Errorf("allowed with code %q, confirm %q", d.Code, d.Confirm)
				}
				return
			}
			if d.Code != CodeBlastRadius {
				t.Errorf("Code = %q", d.Code)
			}
			if !strings.Contains(d.Reason, `re-send the message with "confirm": {"deprecate": [`) {
				t.Errorf("reason does not say how to confirm: %s", d.Reason)
			}
			// What the refusal offers to confirm approves exactly this plan.
			if again := Check(tt.limits, tt.plan, d.Confirm); !again.Allowed {
				t.Errorf("the plan, confirmed with the refusal's own list, is still refused: %s", again.Reason)
			}
		})
	}
}

// TestConfirmationIsNotReusable plays the redelivery story: a plan is
// refused, a person confirms it, the confirmed message is applied, then the
// same confirmed message comes again after the family changed.
func TestConfirmationIsNotReusable(t *testing.T) {
	t.Parallel()
	limits := Limits{MaxDeprecations: 2, MaxDeprecationShare: 1}
	family := ids(10) // Available, oldest first; keep 3
	first := Plan{Family: "web", Available: 10, Deprecate: family[:7]}
	refused := Check(limits, first, nil)
	if refused.Allowed || !reflect.DeepEqual(refused.Confirm, family[:7]) {
		t.Fatalf("first plan: %+v", refused)
	}
	confirm := refused.Confirm
	if d := Check(limits, first, confirm); !d.Allowed {
		t.Fatalf("confirmed plan refused: %s", d.Reason)
	}
	// Applied: 3 Available remain. Seven new builds arrive; a redelivery of
	// the confirmed message now plans the seven newer ones.
	family = append(family[7:], "m-bp1new01", "m-bp1new02", "m-bp1new03", "m-bp1new04", "m-bp1new05", "m-bp1new06", "m-bp1new07")
	replay := Plan{Family: "web", Available: len(family), Deprecate: family[:7]}
	d := Check(limits, replay, confirm)
	if d.Allowed {
		t.Fatalf("a replayed confirmation approved images it never named: %s", d.Reason)
	}
	if d.Confirmed != 0 || !reflect.DeepEqual(d.Confirm, slices.Sorted(slices.Values(replay.Deprecate))) {
		t.Errorf("replay decision = %+v", d)
	}
}

func TestCheckConfirmListIsSortedAndDistinct(t *testing.T) {
	t.Parallel()
	d := Check(Limits{MaxDeprecations: 1, MaxDeprecationShare: 1}, Plan{Family: "web", Available: 9, Deprecate: []string{"m-c", "m-a", "m-b", "m-a"}}, nil)
	if want := []string{"m-a", "m-b", "m-c"}; !reflect.DeepEqual(d.Confirm, want) {
		t.Errorf("Confirm = %q, want %q", d.Confirm, want)
	}
	if !strings.HasSuffix(d.Reason, `"confirm": {"deprecate": ["m-a", "m-b", "m-c"]}`) {
		t.Errorf("reason = %s", d.Reason)
	}
}

func TestDefaultsKeepSteadyStateUnconfirmed(t *testing.T) {
	t.Parallel()
	// A promote with keep k finds k+1 Available images (the new one
	// included) and deprecates one: never a refusal with the defaults.
	for keep := 1; keep <= 100; keep++ {
		if d := Check(DefaultLimits(), Plan{Family: "web", Available: keep + 1, Deprecate: ids(1)}, nil); !d.Allowed {
			t.Fatalf("keep %d: %s", keep, d.Reason)
		}
	}
	// A catch-up run with keep k may deprecate min(5, k) images unconfirmed.
	for keep := 1; keep <= 10; keep++ {
		n := min(5, keep)
		if d := Check(DefaultLimits(), Plan{Family: "web", Available: keep + n, Deprecate: ids(n)}, nil); !d.Allowed {
			t.Errorf("keep %d, %d to deprecate: %s", keep, n, d.Reason)
		}
		if d := Check(DefaultLimits(), Plan{Family: "web", Available: keep + n + 1, Deprecate: ids(n + 1)}, nil); d.Allowed {
			t.Errorf("keep %d, %d to deprecate: allowed", keep, n+1)
		}
	}
}

func BenchmarkCheck(b *testing.B) {
	plan := Plan{Family: "web", Available: 100, Deprecate: ids(90)}
	confirmed := ids(100)
	for b.Loop() {
		Check(DefaultLimits(), plan, confirmed)
	}
}
