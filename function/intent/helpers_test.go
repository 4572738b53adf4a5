package intent

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// violations renders err as "Code field" lines, in order, so that tests can
// compare the whole list exactly.
func violations(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("error %v is a %T, want Errors", err, err)
	}
	if len(es) == 0 {
		t.Fatalf("error is an empty Errors")
	}
	out := make([]string, len(es))
	for i, e := range es {
		if e.Code == "" || e.Message == "" {
			t.Errorf("violation %d has an empty code or message: %#v", i, e)
		}
		out[i] = e.Code + " " + e.Field
	}
	return out
}

// wantViolations fails unless err holds exactly want, in order.
func wantViolations(t *testing.T, err error, want ...string) {
	t.Helper()
	if got := violations(t, err); !slices.Equal(got, want) {
		t.Errorf("violations:\n got  %q\n want %q\n error: %v", got, want, err)
	}
}

// fixture reads a file from testdata.
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fixtures lists the valid intents in testdata.
func fixtures(t testing.TB) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no fixtures in testdata: %v", err)
	}
	for i, n := range names {
		names[i] = filepath.Base(n)
	}
	return names
}
