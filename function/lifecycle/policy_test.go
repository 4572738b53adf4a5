package lifecycle

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/emulator"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/intent"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/policy"
)

// mustPolicy parses a policy for a test.
func mustPolicy(t *testing.T, text string) *policy.Policy {
	t.Helper()
	p, err := policy.Parse([]byte(text))
	if err != nil {
		t.Fatalf("policy: %v", err)
	}
	return p
}

func runIntent(t *testing.T, e *Engine, in intent.Intent) (*Result, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return e.Run(ctx, in)
}

// Each family of a rotation works with its own rule; an intent's own values win.
func TestRotateSettingsFromThePolicy(t *testing.T) {
	t.Parallel()
	const pol = `{"version":1,"families":[
		{"match":"web","keep":3,"minAge":"5h","maxDeprecations":100,"maxDeprecationShare":1},
		{"match":"api-*","keep":1,"maxDeprecations":100,"maxDeprecationShare":1}]}`
	tests := []struct {
		name string
		in   intent.Intent
		want map[string][]string // family -> Available afterwards
	}{
		{"the rules' keep and minAge", intent.Intent{Action: "rotate", ImageFamilies: []string{"web", "api-1", "batch"}},
			map[string][]string{
				// web: keep 3 of 8; of the other 5, those younger than 5 h (none: the newest is 20 h old) all go.
				"web": {"w-005", "w-006", "w-007"},
				// api-1: keep 1.
				"api-1": {"a-003"},
				// batch: no rule, the intent's default keep 2.
				"batch": {"b-002", "b-003"},
			}},
		{"the intent's keep wins", intent.Intent{Action: "rotate", ImageFamilies: []string{"web", "api-1"}, Keep: keepN(2)},
			map[string][]string{"web": {"w-006", "w-007"}, "api-1": {"a-002", "a-003"}}},
		{"the intent's minAge wins", intent.Intent{Action: "rotate", ImageFamily: "web", MinAge: intent.Duration(25 * time.Hour)},
			// 25 h before now (hour 28): images of hour 3 and older may go.
			map[string][]string{"web": {"w-004", "w-005", "w-006", "w-007"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			imgs := append(append(seedFamily("w", "web", 8, 0), seedFamily("a", "api-1", 4, 0)...), seedFamily("b", "batch", 4, 0)...)
			s, e := startEmulator(t, emulator.Options{}, imgs...)
			e.Policy = mustPolicy(t, pol)
			e.Now = func() time.Time { return t0.Add(28 * time.Hour) }
			res, err := runIntent(t, e, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			for fam, want := range tt.want {
				if got := emulatorAvailable(s, fam); !slices.Equal(got, want) {
					t.Errorf("%s: Available = %v, want %v\n%s", fam, got, want, res.Plan.Table())
				}
			}
		})
	}
}

func TestRotateWithoutFamilies(t *testing.T) {
	t.Parallel()
	imgs := append(append(seedFamily("w", "web", 4, 0), seedFamily("a", "api-1", 3, 0)...), seedFamily("b", "batch", 4, 0)...)

	t.Run("every family the policy covers", func(t *testing.T) {
		t.Parallel()
		s, e := startEmulator(t, emulator.Options{}, imgs...)
		e.Policy = mustPolicy(t, `{"version":1,"families":[{"match":"web","keep":1,"maxDeprecations":5,"maxDeprecationShare":1},{"match":"api-*","keep":2},{"match":"gone","keep":1}]}`)
		res, err := runIntent(t, e, intent.Intent{Action: "rotate"})
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Plan.Families; !slices.Equal(got, []string{"api-1", "gone", "web"}) {
			t.Errorf("families %v", got)
		}
		for fam, want := range map[string][]string{"web": {"w-003"}, "api-1": {"a-001", "a-002"}, "batch": {"b-000", "b-001", "b-002", "b-003"}} {
			if got := emulatorAvailable(s, fam); !slices.Equal(got, want) {
				t.Errorf("%s: Available = %v, want %v", fam, got, want)
			}
		}
	})
	t.Run("a family outside ALLOWED_FAMILIES is left out, not refused", func(t *testing.T) {
		t.Parallel()
		s, e := startEmulator(t, emulator.Options{}, imgs...)
		e.Guards.AllowedFamilies = []string{"api-*"}
		e.Policy = mustPolicy(t, `{"version":1,"families":[{"match":"web","keep":1},{"match":"api-*","keep":2}]}`)
		res, err := runIntent(t, e, intent.Intent{Action: "rotate"})
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Plan.Families; !slices.Equal(got, []string{"api-1"}) {
			t.Errorf("families %v", got)
		}
		if got := emulatorAvailable(s, "web"); len(got) != 4 {
			t.Errorf("web changed: %v", got)
		}
	})
	t.Run("without a policy: refused, naming POLICY_FILE", func(t *testing.T) {
		t.Parallel()
		s, e := startEmulator(t, emulator.Options{}, imgs...)
		_, err := runIntent(t, e, intent.Intent{Action: "rotate"})
		var r *Refusal
		if !errors.As(err, &r) || r.Code != "MissingParameter" || !strings.Contains(r.Reason, "POLICY_FILE") {
			t.Fatalf("err = %v", err)
		}
		if n := s.Calls("DescribeImages"); n != 0 {
			t.Errorf("%d DescribeImages calls", n)
		}
	})
}

// A promote fills in what the family's rule gives a new image, where the
// intent leaves it empty, and keeps what the rule says.
func TestPromoteAttributesFromThePolicy(t *testing.T) {
	t.Parallel()
	imgs := append(seedFamily("w", "web", 4, 0), seedImage("m-new", "", ecsapi.StatusAvailable, 10))
	s, e := startEmulator(t, emulator.Options{}, imgs...)
	e.Policy = mustPolicy(t, `{"version":1,"families":[{"match":"web","keep":3,
		"attributes":{"description":"web tier, managed","bootMode":"UEFI","features":{"nvmeSupport":"supported","imdsSupport":"v2"}}}]}`)
	res, err := runIntent(t, e, intent.Intent{Action: "promote", ImageID: "m-new",
		Attributes: &intent.Attributes{ImageFamily: "web", Description: "build 7", Features: &intent.Features{NvmeSupport: "unsupported"}}})
	if err != nil {
		t.Fatal(err)
	}
	im, _ := s.Image("m-new")
	if im.Family != "web" || im.Description != "build 7" || im.BootMode != "UEFI" || im.NvmeSupport != "unsupported" || im.ImdsSupport != "v2" {
		t.Errorf("promoted image = %+v", im)
	}
	if got, want := emulatorAvailable(s, "web"), []string{"w-002", "w-003", "m-new"}; !slices.Equal(got, want) {
		t.Errorf("Available = %v, want %v (keep 3)", got, want)
	}
	if !slices.ContainsFunc(res.Plan.Notes, func(n string) bool {
		return strings.Contains(n, "families[0] (web) covers family web: keep 3, attributes description, bootMode, features.nvmeSupport, features.imdsSupport")
	}) {
		t.Errorf("notes %q", res.Plan.Notes)
	}
}

func TestBlastRadius(t *testing.T) {
	t.Parallel()
	// web: 8 Available; a rotation with keep 2 deprecates 6.
	const limited = `{"version":1,"families":[{"match":"web","keep":2,"maxDeprecations":3}]}`
	six := []string{"w-000", "w-001", "w-002", "w-003", "w-004", "w-005"}
	tests := []struct {
		name      string
		policy    string
		in        intent.Intent
		refused   bool
		available int
	}{
		{"refused whole", limited, intent.Intent{Action: "rotate", ImageFamily: "web"}, true, 8},
		{"a dry run is refused too", limited, intent.Intent{Action: "rotate", ImageFamily: "web", DryRun: true}, true, 8},
		{"confirmed by id", limited, intent.Intent{Action: "rotate", ImageFamily: "web", Confirm: &intent.Confirm{Deprecate: six}}, false, 2},
		{"confirmed in part: the rest within the limits", limited, intent.Intent{Action: "rotate", ImageFamily: "web", Confirm: &intent.Confirm{Deprecate: six[:3]}}, false, 2},
		{"confirmed in part: the rest beyond", limited, intent.Intent{Action: "rotate", ImageFamily: "web", Confirm: &intent.Confirm{Deprecate: six[:2]}}, true, 8},
		{"the default limits of a rule without its own", `{"version":1,"families":[{"match":"web","keep":2}]}`,
			intent.Intent{Action: "rotate", ImageFamily: "web"}, true, 8},
		{"a family no rule covers is not checked", `{"version":1,"families":[{"match":"api","keep":2,"maxDeprecations":1}]}`,
			intent.Intent{Action: "rotate", ImageFamily: "web"}, false, 2},
		{"no policy, no check", "", intent.Intent{Action: "rotate", ImageFamily: "web"}, false, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, e := startEmulator(t, emulator.Options{}, seedFamily("w", "web", 8, 0)...)
			if tt.policy != "" {
				e.Policy = mustPolicy(t, tt.policy)
			}
			res, err := runIntent(t, e, tt.in)
			if got := len(emulatorAvailable(s, "web")); got != tt.available {
				t.Errorf("%d Available, want %d", got, tt.available)
			}
			var r *Refusal
			if !tt.refused {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.As(err, &r) || r.Code != policy.CodeBlastRadius {
				t.Fatalf("err = %v, want a %s refusal", err, policy.CodeBlastRadius)
			}
			if !slices.Equal(r.Confirm, six) || !strings.Contains(r.Reason, `"confirm": {"deprecate": ["w-000", `) {
				t.Errorf("confirm %v, reason %s", r.Confirm, r.Reason)
			}
			if res == nil || res.Plan == nil || len(res.Plan.Steps) != 8 {
				t.Errorf("the refused plan is not returned with the refusal: %+v", res)
			}
			if n := s.Calls("ModifyImageAttribute"); n != 0 {
				t.Errorf("%d writes", n)
			}
		})
	}
}

func TestBlastRadiusOverFamilies(t *testing.T) {
	t.Parallel()
	imgs := append(seedFamily("w", "web", 4, 0), seedFamily("a", "api", 4, 0)...)
	s, e := startEmulator(t, emulator.Options{}, imgs...)
	e.Policy = mustPolicy(t, `{"version":1,"families":[{"match":"*","keep":1,"maxDeprecations":2}]}`)
	_, err := runIntent(t, e, intent.Intent{Action: "rotate"})
	var r *Refusal
	if !errors.As(err, &r) {
		t.Fatalf("err = %v", err)
	}
	want := []string{"a-000", "a-001", "a-002", "w-000", "w-001", "w-002"}
	if !slices.Equal(r.Confirm, want) || !strings.Contains(r.Reason, "family api") || !strings.Contains(r.Reason, "family web") ||
		!strings.Contains(r.Reason, `to approve every family at once, re-send the message with "confirm": {"deprecate": ["a-000", "a-001", "a-002", "w-000", "w-001", "w-002"]}`) {
		t.Errorf("confirm %v, reason %s", r.Confirm, r.Reason)
	}
	if n := s.Calls("ModifyImageAttribute"); n != 0 {
		t.Errorf("%d writes", n)
	}
	// Confirmed: both families are rotated.
	if _, err := runIntent(t, e, intent.Intent{Action: "rotate", Confirm: &intent.Confirm{Deprecate: want}}); err != nil {
		t.Fatal(err)
	}
	if got := append(emulatorAvailable(s, "api"), emulatorAvailable(s, "web")...); !slices.Equal(got, []string{"a-003", "w-003"}) {
		t.Errorf("Available %v", got)
	}
}

// A promote within the limits notes the check; an explicit deprecate is not checked.
func TestBlastRadiusNotesAndActions(t *testing.T) {
	t.Parallel()
	imgs := append(seedFamily("w", "web", 3, 0), seedImage("m-new", "web", ecsapi.StatusAvailable, 10))
	s, e := startEmulator(t, emulator.Options{}, imgs...)
	e.Policy = mustPolicy(t, `{"version":1,"families":[{"match":"web","keep":2,"maxDeprecations":2,"maxDeprecationShare":0.5}]}`)
	res, err := runIntent(t, e, intent.Intent{Action: "promote", ImageID: "m-new"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(res.Plan.Notes, "blast radius: the plan deprecates 2 of the 4 Available images of family web, within maxDeprecations 2 and maxDeprecationShare 0.5") {
		t.Errorf("notes %q", res.Plan.Notes)
	}
	// 2 Available now; deprecating one is half the family, over no limit,
	// but an explicit deprecate is never checked anyway.
	e.Policy = mustPolicy(t, `{"version":1,"families":[{"match":"web","keep":2,"maxDeprecations":1,"maxDeprecationShare":0.1}]}`)
	if _, err := runIntent(t, e, intent.Intent{Action: "deprecate", ImageID: "w-002"}); err != nil {
		t.Fatal(err)
	}
	if im, _ := s.Image("w-002"); im.Status != ecsapi.StatusDeprecated {
		t.Errorf("w-002 is %s", im.Status)
	}
}

func TestSettleHeldToTheBlastRadius(t *testing.T) {
	t.Parallel()
	e := &Engine{Policy: mustPolicy(t, `{"version":1,"families":[{"match":"web","keep":1,"maxDeprecations":2,"maxDeprecationShare":1}]}`)}
	deprecate := []FieldChange{{Field: FieldStatus, From: ecsapi.StatusAvailable, To: ecsapi.StatusDeprecated}}
	// The run deprecated w-0 and w-1; the settle pass finds w-2 beyond keep too.
	res := &Result{Applied: []AppliedStep{{ImageID: "w-0", Changes: deprecate}, {ImageID: "w-1", Changes: deprecate}}}
	p := &Plan{Steps: []Step{
		{ImageID: "w-0", Family: "web", Status: ecsapi.StatusDeprecated},
		{ImageID: "w-1", Family: "web", Status: ecsapi.StatusDeprecated},
		{ImageID: "w-2", Family: "web", Status: ecsapi.StatusAvailable, Changes: deprecate},
		{ImageID: "w-3", Family: "web", Status: ecsapi.StatusAvailable},
	}}
	e.holdBeyondBlastRadius(intent.Intent{Action: "rotate", ImageFamily: "web"}, res, p)
	if p.HasChanges() || len(res.Held) != 1 || res.Held[0].ImageID != "w-2" || !strings.Contains(res.Held[0].Reason, "3 of the 4 Available images of family web") {
		t.Fatalf("held %+v, plan %+v", res.Held, p.Steps)
	}
	// Confirmed, it goes ahead.
	p.Steps[2].Changes, p.Steps[2].Held = deprecate, nil
	res.Held = nil
	e.holdBeyondBlastRadius(intent.Intent{Action: "rotate", ImageFamily: "web", Confirm: &intent.Confirm{Deprecate: []string{"w-0", "w-1", "w-2"}}}, res, p)
	if !p.HasChanges() || len(res.Held) != 0 {
		t.Fatalf("held %+v", res.Held)
	}
}
