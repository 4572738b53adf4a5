package policy

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/intent"
)

var update = flag.Bool("update", false, "rewrite testdata/bad/*.want from what Parse returns now")

// TestBadPolicies reads every testdata/bad/X.json and compares its refusal,
// one violation per line ("Code: field: message"), with testdata/bad/X.want.
// Run with -update to rewrite the .want files, then read the diff.
func TestBadPolicies(t *testing.T) {
	t.Parallel()
	paths, err := filepath.Glob(filepath.Join("testdata", "bad", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) < 40 {
		t.Fatalf("only %d bad policies in testdata/bad", len(paths))
	}
	for _, path := range paths {
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			text, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			p, err := Parse(text)
			if err == nil {
				t.Fatalf("accepted: %+v", p)
			}
			if p != nil {
				t.Errorf("a refused policy came back as %+v", p)
			}
			var errs intent.Errors
			if !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("error %v (%T) is not intent.Errors", err, err)
			}
			var got strings.Builder
			for _, e := range errs {
				if e.Code == "" {
					t.Errorf("violation without a code: %v", e)
				}
				got.WriteString(e.Error() + "\n")
			}
			wantPath := strings.TrimSuffix(path, ".json") + ".want"
			if *update {
				if err := os.WriteFile(wantPath, []byte(got.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(wantPath)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got.String() != string(want) {
				t.Errorf("refusal differs from %s\n got:\n%s want:\n%s", wantPath, got.String(), want)
			}
		})
	}
}
