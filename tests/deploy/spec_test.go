package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/ecs-image-lifecycle/image-lifecycle/internal/testenv"
)

// spec is the part of a Serverless Devs s.yaml these tests read.
type spec struct {
	Edition   string              `yaml:"edition"`
	Vars      map[string]any      `yaml:"vars"`
	Resources map[string]resource `yaml:"resources"`
}

type resource struct {
	Component string              `yaml:"component"`
	Actions   map[string][]action `yaml:"actions"`
	Props     map[string]any      `yaml:"props"`
}

type action struct {
	Run  string `yaml:"run"`
	Path string `yaml:"path"`
}

// The alternative custom-runtime resource sits in s.yaml as a comment, so that
// `s deploy` deploys one function; these markers let the tests validate it too.
const (
	customBegin = "# --- begin custom runtime resource ---"
	customEnd   = "# --- end custom runtime resource ---"
)

// envPlaceholders stand in for the deploying shell's environment (${env(X)}),
// each with the type fc3 would see after substitution.
var envPlaceholders = map[string]any{
	"ALIBABA_CLOUD_ACCOUNT_ID": "1234567890123456",
}

func readSYAML(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.Root(t), "s.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// loadSpec parses s.yaml, with the commented-out custom runtime resource
// returned separately under its own name.
func loadSpec(t *testing.T) (spec, map[string]resource) {
	t.Helper()
	raw := readSYAML(t)
	var s spec
	if err := yaml.Unmarshal(raw, &s); err != nil {
		t.Fatalf("s.yaml: %v", err)
	}
	block, err := commentedBlock(string(raw), customBegin, customEnd)
	if err != nil {
		t.Fatalf("s.yaml: %v", err)
	}
	var custom map[string]resource
	if err := yaml.Unmarshal([]byte(block), &custom); err != nil {
		t.Fatalf("s.yaml, custom runtime block: %v", err)
	}
	return s, custom
}

// commentedBlock returns the lines between the two marker lines with their
// leading "# " removed.
func commentedBlock(text, begin, end string) (string, error) {
	lines := strings.Split(text, "\n")
	var out []string
	inside, seen := false, false
	for i, l := range lines {
		switch {
		case strings.TrimSpace(l) == begin:
			inside, seen = true, true
		case strings.TrimSpace(l) == end:
			if !inside {
				return "", fmt.Errorf("line %d: %q before %q", i+1, end, begin)
			}
			return strings.Join(out, "\n"), nil
		case inside:
			if l != "#" && !strings.HasPrefix(l, "# ") {
				return "", fmt.Errorf("line %d: %q inside the commented block is not a comment", i+1, l)
			}
			out = append(out, strings.TrimPrefix(strings.TrimPrefix(l, "#"), " "))
		}
	}
	if !seen {
		return "", fmt.Errorf("marker %q not found", begin)
	}
	return "", fmt.Errorf("marker %q not found", end)
}

var (
	exprRe = regexp.MustCompile(`\$\{([^}]*)\}`)
	varsRe = regexp.MustCompile(`^vars\.([A-Za-z_][A-Za-z0-9_]*)$`)
	envRe  = regexp.MustCompile(`^env\(\s*'?([A-Za-z_][A-Za-z0-9_]*)'?\s*\)$`)
)

// resolve substitutes ${vars.x} and ${env(X)} the way Serverless Devs does: a
// string that is exactly one expression takes the value with its type, an
// expression inside a longer string is spliced in as text.
func resolve(v any, vars map[string]any) (any, error) {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			r, err := resolve(e, vars)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			out[k] = r
		}
		return out, nil
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			r, err := resolve(e, vars)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out[i] = r
		}
		return out, nil
	case string:
		if m := exprRe.FindStringSubmatch(v); m != nil && m[0] == v {
			return lookup(m[1], vars)
		}
		var firstErr error
		s := exprRe.ReplaceAllStringFunc(v, func(e string) string {
			r, err := lookup(e[2:len(e)-1], vars)
			if err != nil && firstErr == nil {
				firstErr = err
			}
			return fmt.Sprint(r)
		})
		return s, firstErr
	default:
		return v, nil
	}
}

func lookup(expr string, vars map[string]any) (any, error) {
	expr = strings.TrimSpace(expr)
	if m := varsRe.FindStringSubmatch(expr); m != nil {
		v, ok := vars[m[1]]
		if !ok {
			return nil, fmt.Errorf("${%s}: no such entry in vars", expr)
		}
		return v, nil
	}
	if m := envRe.FindStringSubmatch(expr); m != nil {
		v, ok := envPlaceholders[m[1]]
		if !ok {
			return nil, fmt.Errorf("${%s}: no placeholder for this environment variable in envPlaceholders", expr)
		}
		return v, nil
	}
	return nil, fmt.Errorf("${%s}: only ${vars.x} and ${env(X)} are expected", expr)
}

// jsonValue turns a YAML-decoded value into plain JSON data (numbers become
// float64), the form validators and mutations work on.
func jsonValue(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// resolvedProps returns every resource's props, the commented custom runtime
// one included (its name gets a "(commented)" suffix), with variables resolved.
func resolvedProps(t *testing.T) map[string]map[string]any {
	t.Helper()
	s, custom := loadSpec(t)
	all := map[string]resource{}
	for name, r := range s.Resources {
		all[name] = r
	}
	for name, r := range custom {
		all[name+" (commented)"] = r
	}
	out := map[string]map[string]any{}
	for name, r := range all {
		if r.Component != "fc3" {
			t.Errorf("resource %s: component %q, want fc3", name, r.Component)
		}
		p, err := resolve(r.Props, s.Vars)
		if err != nil {
			t.Fatalf("resource %s props: %v", name, err)
		}
		out[name] = jsonValue(t, p)
	}
	return out
}

func TestEveryVariableIsDocumentedAtTheTop(t *testing.T) {
	t.Parallel()
	raw := string(readSYAML(t))
	lines := strings.Split(raw, "\n")
	var header, body []string
	for i, l := range lines {
		if !strings.HasPrefix(l, "#") {
			header, body = lines[:i], lines[i:]
			break
		}
	}
	doc := strings.Join(header, "\n")
	used := map[string]bool{}
	for _, m := range exprRe.FindAllString(strings.Join(body, "\n"), -1) {
		used[m] = true
	}
	if len(used) == 0 {
		t.Fatal("s.yaml uses no ${...} values; the test would check nothing")
	}
	for e := range used {
		if !strings.Contains(doc, e) {
			t.Errorf("%s is used but not documented in the comment at the top of s.yaml", e)
		}
	}
}

func TestTimerPayloadIsAnIntent(t *testing.T) {
	t.Parallel()
	n := 0
	for name, props := range resolvedProps(t) {
		for _, tr := range triggers(props) {
			if tr["triggerType"] != "timer" {
				continue
			}
			n++
			cfg, _ := tr["triggerConfig"].(map[string]any)
			payload, ok := cfg["payload"].(string)
			if !ok {
				t.Errorf("%s/%v: timer payload is %T, want a JSON string", name, tr["triggerName"], cfg["payload"])
				continue
			}
			env, _ := props["environmentVariables"].(map[string]any)
			if err := checkRotatePayload(payload, env["POLICY_FILE"] != nil || env["POLICY"] != nil); err != nil {
				t.Errorf("%s/%v: %v", name, tr["triggerName"], err)
			}
		}
	}
	if n == 0 {
		t.Fatal("no timer trigger found")
	}
}

func triggers(props map[string]any) []map[string]any {
	list, _ := props["triggers"].([]any)
	var out []map[string]any
	for _, e := range list {
		if m, ok := e.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func TestPreDeployIsTheCIBuildCommand(t *testing.T) {
	t.Parallel()
	s, custom := loadSpec(t)
	for name, r := range map[string]resource{"imageLifecycle": s.Resources["imageLifecycle"], "custom runtime": custom["imageLifecycle"]} {
		acts := r.Actions["pre-deploy"]
		if len(acts) == 0 {
			t.Errorf("%s: no pre-deploy action", name)
			continue
		}
		if acts[0].Run != BuildCommand {
			t.Errorf("%s: pre-deploy runs\n  %q\nCI runs\n  %q", name, acts[0].Run, BuildCommand)
		}
		if p := filepath.Clean(acts[0].Path); p != "." {
			t.Errorf("%s: pre-deploy runs in %q, want the repository root (./)", name, acts[0].Path)
		}
	}
	// CI's script runs the same line, so a deploy cannot break unseen.
	if ci, err := os.ReadFile(filepath.Join(testenv.Root(t), ".ci", "run")); err != nil {
		t.Logf("no .ci/run to compare with: %v", err)
	} else if !containsLine(string(ci), BuildCommand) {
		t.Errorf(".ci/run has no line that is exactly\n  %s", BuildCommand)
	}
	// The built file must be what the go1 runtime starts: code dir + handler.
	p := s.Resources["imageLifecycle"].Props
	if got := filepath.Join(fmt.Sprint(p["code"]), fmt.Sprint(p["handler"])); got != "target/main" {
		t.Errorf("code + handler = %s, but the build writes target/main", got)
	}
}

// TestPolicyShipsWithTheCode: each resource's pre-deploy copies the lifecycle
// policy into the code package, POLICY_FILE names that copy where FC puts
// it, and CI makes the same copy after its build.
func TestPolicyShipsWithTheCode(t *testing.T) {
	t.Parallel()
	s, custom := loadSpec(t)
	props := resolvedProps(t)
	for name, r := range map[string]resource{"imageLifecycle": s.Resources["imageLifecycle"], "imageLifecycle (commented)": custom["imageLifecycle"]} {
		if !slices.ContainsFunc(r.Actions["pre-deploy"], func(a action) bool { return a.Run == PolicyCommand && filepath.Clean(a.Path) == "." }) {
			t.Errorf("%s: no pre-deploy action runs %q in ./", name, PolicyCommand)
		}
		env, _ := props[name]["environmentVariables"].(map[string]any)
		if env["POLICY_FILE"] != PolicyFile {
			t.Errorf("%s: POLICY_FILE is %v, want %s", name, env["POLICY_FILE"], PolicyFile)
		}
		if code := filepath.Clean(fmt.Sprint(props[name]["code"])); code != "target" {
			t.Errorf("%s: the code package is %s, not target/ where the policy is copied", name, code)
		}
	}
	if want := "cp " + PolicySource + " target/" + filepath.Base(PolicyFile); PolicyCommand != want {
		t.Errorf("PolicyCommand %q does not copy %s to target/ under the name POLICY_FILE gives (%q)", PolicyCommand, PolicySource, want)
	}
	if ci, err := os.ReadFile(filepath.Join(testenv.Root(t), ".ci", "run")); err != nil {
		t.Fatal(err)
	} else if !containsLine(string(ci), PolicyCommand) {
		t.Errorf(".ci/run has no line that is exactly\n  %s", PolicyCommand)
	}
}

func TestOnlyOneResourceIsDeployed(t *testing.T) {
	t.Parallel()
	s, _ := loadSpec(t)
	var names []string
	for n := range s.Resources {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) != 1 || names[0] != "imageLifecycle" {
		t.Errorf("resources = %v, want only imageLifecycle (the custom runtime one stays commented out)", names)
	}
	if s.Edition != "3.0.0" {
		t.Errorf("edition %q, want 3.0.0 (fc3 is a Serverless Devs 3 component)", s.Edition)
	}
}

func TestCommentedBlock(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, text, want, wantErr string
	}{
		{name: "extracts", text: "a: 1\n# B\n#   x: 1\n#\n#   y: 2\n# E\n", want: "  x: 1\n\n  y: 2"},
		{name: "no begin", text: "a: 1\n", wantErr: `"# B" not found`},
		{name: "no end", text: "# B\n# x: 1", wantErr: `"# E" not found`},
		{name: "uncommented line", text: "# B\nx: 1\n# E\n", wantErr: "is not a comment"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := commentedBlock(tc.text, "# B", "# E")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestResolve(t *testing.T) {
	t.Parallel()
	vars := map[string]any{"n": 3, "s": "web"}
	tests := []struct {
		name    string
		in      any
		want    any
		wantErr string
	}{
		{name: "whole expression keeps the type", in: "${vars.n}", want: 3},
		{name: "spliced into text", in: "x-${vars.s}-${vars.n}", want: "x-web-3"},
		{name: "env placeholder", in: "${env(ALIBABA_CLOUD_ACCOUNT_ID)}", want: "1234567890123456"},
		{name: "env quoted", in: "a${env('ALIBABA_CLOUD_ACCOUNT_ID')}", want: "a1234567890123456"},
		{name: "unknown var", in: "${vars.nope}", wantErr: "no such entry"},
		{name: "unknown env", in: "${env(NOPE)}", wantErr: "no placeholder"},
		{name: "other magic", in: "${config('AccountID')}", wantErr: "only ${vars.x}"},
		{name: "nested", in: map[string]any{"a": []any{"${vars.s}"}}, want: map[string]any{"a": []any{"web"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := resolve(tc.in, vars)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(tc.want)
			if !bytes.Equal(g, w) {
				t.Fatalf("got %s, want %s", g, w)
			}
		})
	}
}

func containsLine(text, line string) bool {
	for _, l := range strings.Split(text, "\n") {
		if strings.TrimSpace(l) == line {
			return true
		}
	}
	return false
}
