package policy

import (
	"reflect"
	"testing"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/intent"
)

func mustParse(t *testing.T, text string) *Policy {
	t.Helper()
	p, err := Parse([]byte(text))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return p
}

const lookupPolicy = `{
  "version": 1,
  "families": [
    {"match": "web", "keep": 3, "minAge": "7d", "maxDeprecations": 2},
    {"match": "web-*", "keep": 1, "maxDeprecationShare": 1},
    {"match": "api"},
    {"match": "*", "keep": 5, "minAge": 30}
  ],
  "names": [
    {"match": "web-canary-*", "family": "web-canary"},
    {"match": "web-*", "family": "web"},
    {"match": "legacy-api", "family": "api"},
    {"match": "*", "family": "misc"}
  ]
}`

func TestFamilyFirstMatchWins(t *testing.T) {
	t.Parallel()
	p := mustParse(t, lookupPolicy)
	tests := []struct {
		family    string
		wantIndex int // -1: no rule
		wantKeep  int
		wantAge   time.Duration
		wantLimit Limits
	}{
		{"web", 0, 3, 7 * 24 * time.Hour, Limits{2, DefaultMaxDeprecationShare}},
		{"web-canary", 1, 1, 0, Limits{DefaultMaxDeprecations, 1}},
		{"api", 2, intent.DefaultKeep, 0, DefaultLimits()},
		{"batch", 3, 5, 30 * 24 * time.Hour, DefaultLimits()},
		{"Web", 3, 5, 30 * 24 * time.Hour, DefaultLimits()}, // names are case-sensitive, as in ECS
		{"", -1, 0, 0, Limits{}},
	}
	for _, tt := range tests {
		r, ok := p.Family(tt.family)
		if ok != (tt.wantIndex >= 0) {
			t.Errorf("Family(%q) ok = %v", tt.family, ok)
			continue
		}
		if !ok {
			continue
		}
		if r.Index != tt.wantIndex || r.Keep != tt.wantKeep || r.MinAge.Std() != tt.wantAge || r.Limits != tt.wantLimit {
			t.Errorf("Family(%q) = %+v; want index %d keep %d minAge %s limits %+v", tt.family, r, tt.wantIndex, tt.wantKeep, tt.wantAge, tt.wantLimit)
		}
	}
}

func TestFamilyWithoutCatchAll(t *testing.T) {
	t.Parallel()
	p := mustParse(t, `{"version": 1, "families": [{"match": "web"}]}`)
	if _, ok := p.Family("api"); ok {
		t.Error("api is covered by a policy that names only web")
	}
	if got, ok := p.FamilyForImageName("web-1"); ok {
		t.Errorf("a policy without names[] gave %q", got)
	}
}

func TestFamilyForImageName(t *testing.T) {
	t.Parallel()
	p := mustParse(t, lookupPolicy)
	tests := []struct{ name, want string }{
		{"web-canary-2026-11-27", "web-canary"},
		{"web-2026-11-27", "web"},
		{"web-canary", "web"}, // "web-canary-*" needs the dash
		{"legacy-api", "api"},
		{"legacy-api-2", "misc"},
		{"anything", "misc"},
		{"", ""},
	}
	for _, tt := range tests {
		got, ok := p.FamilyForImageName(tt.name)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("FamilyForImageName(%q) = %q, %v; want %q", tt.name, got, ok, tt.want)
		}
	}
}

func TestNilPolicyCoversNothing(t *testing.T) {
	t.Parallel()
	var p *Policy
	if _, ok := p.Family("web"); ok {
		t.Error("nil policy covers web")
	}
	if _, ok := p.FamilyForImageName("web-1"); ok {
		t.Error("nil policy names a family")
	}
	if p.Families() != nil || p.Names() != nil || p.Patterns() != nil {
		t.Error("nil policy has rules")
	}
}

func TestRulesAreCopies(t *testing.T) {
	t.Parallel()
	p := mustParse(t, lookupPolicy)
	p.Families()[0].Keep = 99
	p.Names()[0].Family = "x"
	if r, _ := p.Family("web"); r.Keep != 3 {
		t.Error("Families() exposes the policy's own slice")
	}
	if f, _ := p.FamilyForImageName("web-canary-1"); f != "web-canary" {
		t.Error("Names() exposes the policy's own slice")
	}
}

// TestPatternsRotateEveryFamily checks that a bare rotate completed with the
// policy's patterns is an intent that validates: the patterns are checked
// by the same rules when the policy is read.
func TestPatternsRotateEveryFamily(t *testing.T) {
	t.Parallel()
	p := mustParse(t, lookupPolicy)
	want := []string{"web", "web-*", "api", "*"}
	if got := p.Patterns(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Patterns() = %q, want %q", got, want)
	}
	in := intent.Intent{Action: intent.ActionRotate, ImageFamilies: p.Patterns()}
	if err := in.Validate(); err != nil {
		t.Errorf("rotate with the policy's patterns: %v", err)
	}
}

func TestSettingsIntentWins(t *testing.T) {
	t.Parallel()
	p := mustParse(t, lookupPolicy)
	r, _ := p.Family("web") // keep 3, minAge 7d
	two, zero := 2, 0
	tests := []struct {
		name     string
		in       intent.Intent
		wantKeep int
		wantAge  time.Duration
	}{
		{"intent says nothing", intent.Intent{Action: intent.ActionRotate}, 3, 168 * time.Hour},
		{"intent keep", intent.Intent{Action: intent.ActionRotate, Keep: &two}, 2, 168 * time.Hour},
		{"intent keep 0", intent.Intent{Action: intent.ActionRotate, Keep: &zero}, 0, 168 * time.Hour},
		{"intent minAge", intent.Intent{Action: intent.ActionRotate, MinAge: intent.Duration(time.Hour)}, 3, time.Hour},
		{"both", intent.Intent{Action: intent.ActionRotate, Keep: &two, MinAge: intent.Duration(48 * time.Hour)}, 2, 48 * time.Hour},
	}
	for _, tt := range tests {
		keep, age := r.Settings(tt.in)
		if keep != tt.wantKeep || age != tt.wantAge {
			t.Errorf("%s: Settings = %d, %s; want %d, %s", tt.name, keep, age, tt.wantKeep, tt.wantAge)
		}
	}
}

func TestPromoteAttributes(t *testing.T) {
	t.Parallel()
	p := mustParse(t, `{"version": 1, "families": [
	  {"match": "web-*", "attributes": {"description": "web tier", "bootMode": "UEFI", "licenseType": "BYOL",
	    "features": {"nvmeSupport": "supported", "imdsSupport": "v2"}}},
	  {"match": "api", "attributes": {}},
	  {"match": "base"}]}`)
	web, _ := p.Family("web-eu")
	got := web.PromoteAttributes("web-eu")
	want := &intent.Attributes{Description: "web tier", BootMode: "UEFI", LicenseType: "BYOL", ImageFamily: "web-eu",
		Features: &intent.Features{NvmeSupport: "supported", ImdsSupport: "v2"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("PromoteAttributes = %+v, want %+v", got, want)
	}
	got.Features.ImdsSupport = "v1"
	got.Description = "changed"
	if again := web.PromoteAttributes("web-eu"); again.Features.ImdsSupport != "v2" || again.Description != "web tier" {
		t.Error("PromoteAttributes shares memory with the rule")
	}
	// The result is a promote's attributes that validate.
	in := intent.Intent{Action: intent.ActionPromote, ImageID: "m-bp1web0a1b2c3d4e5f6g", Attributes: want}
	if err := in.Validate(); err != nil {
		t.Errorf("promote with the policy's attributes: %v", err)
	}
	for _, family := range []string{"api", "base"} {
		r, _ := p.Family(family)
		if r.Attributes != nil {
			t.Errorf("%s: Attributes = %+v, want nil (the rule sets none)", family, r.Attributes)
		}
		if got := r.PromoteAttributes(family); !reflect.DeepEqual(got, &intent.Attributes{ImageFamily: family}) {
			t.Errorf("%s: PromoteAttributes = %+v", family, got)
		}
	}
}

func TestParseAccepts(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, text string }{
		{"minimal", `{"version":1,"families":[{"match":"web"}]}`},
		{"null members are absent", `{"version":1,"families":[{"match":"web","keep":null,"attributes":null,"minAge":null}],"names":null,"$comment":null}`},
		{"comments everywhere", `{"$comment":"x","version":1,"families":[{"$comment":"y","match":"web"}],"names":[{"$comment":"z","match":"w*","family":"web"}]}`},
		{"empty names", `{"version":1,"families":[{"match":"web"}],"names":[]}`},
		{"limits at their bounds", `{"version":1,"families":[{"match":"web","keep":100,"maxDeprecations":100,"maxDeprecationShare":1},{"match":"api","keep":1,"maxDeprecations":1,"maxDeprecationShare":0.01}]}`},
		{"minAge forms", `{"version":1,"families":[{"match":"a1","minAge":"168h"},{"match":"a2","minAge":"7d"},{"match":"a3","minAge":7},{"match":"a4","minAge":0}]}`},
		{"glob after glob", `{"version":1,"families":[{"match":"web-*"},{"match":"web-?"},{"match":"*"}]}`},
		{"Chinese family", `{"version":1,"families":[{"match":"网站"}],"names":[{"match":"网站-*","family":"网站"}]}`},
		{"JSON whitespace around", " \t\r\n{\"version\":1,\"families\":[{\"match\":\"web\"}]}\n "},
	}
	for _, tt := range tests {
		if _, err := Parse([]byte(tt.text)); err != nil {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}
