package policy

import (
	"os"
	"path/filepath"
	"testing"
)

// TestSamplePolicy reads deploy/lifecycle-policy.json, the sample shipped with the
// function, and checks what it says about each family.
func TestSamplePolicy(t *testing.T) {
	t.Parallel()
	text, err := os.ReadFile(filepath.Join("..", "..", "deploy", "lifecycle-policy.json"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse(text)
	if err != nil {
		t.Fatalf("deploy/lifecycle-policy.json: %v", err)
	}
	web, ok := p.Family("web")
	if !ok || web.Keep != 3 || web.MinAge.Std().Hours() != 168 || web.Limits != (Limits{MaxDeprecations: 2, MaxDeprecationShare: DefaultMaxDeprecationShare}) {
		t.Errorf("web rule = %+v, %v", web, ok)
	}
	if web.Attributes == nil || web.Attributes.Features == nil || web.Attributes.Features.ImdsSupport != "v2" || web.Attributes.BootMode != "UEFI" {
		t.Errorf("web attributes = %+v", web.Attributes)
	}
	api, _ := p.Family("api")
	if api.Limits != (Limits{MaxDeprecations: 1, MaxDeprecationShare: 0.34}) || api.Keep != 2 {
		t.Errorf("api rule = %+v", api)
	}
	base, _ := p.Family("base")
	if base.Limits != DefaultLimits() || base.Attributes.Description == "" {
		t.Errorf("base rule = %+v", base)
	}
	if _, ok := p.Family("batch"); ok {
		t.Error("the sample covers batch; it is meant to leave it to its messages")
	}
	for name, want := range map[string]string{"web-2026-11-27-copy": "web", "api-import-7": "api", "base-2026-12": "base"} {
		if got, ok := p.FamilyForImageName(name); !ok || got != want {
			t.Errorf("FamilyForImageName(%q) = %q, %v; want %q", name, got, ok, want)
		}
	}
	if _, ok := p.FamilyForImageName("batch-2026-11-10"); ok {
		t.Error("a batch image name joined a family")
	}
}
