package policy

import (
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/intent"
)

const goodPolicy = `{"version": 1, "families": [{"match": "web", "keep": 3}]}`

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// files serves a map as a file system; it records the paths read.
type files struct {
	m    map[string]string
	read []string
}

func (f *files) readFile(name string) ([]byte, error) {
	f.read = append(f.read, name)
	s, ok := f.m[name]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return []byte(s), nil
}

func TestLoad(t *testing.T) {
	t.Parallel()
	fsys := map[string]string{
		"/code/policy.json": goodPolicy,
		"/code/bad.json":    `{"version": 1, "families": [{"match": "web"}, {"match": "api"}, {"match": "base", "keep": 0}]}`,
	}
	tests := []struct {
		name     string
		env      map[string]string
		wantNil  bool
		wantErr  string // substring; "" = no error
		wantCode string
		wantRead []string
	}{
		{name: "neither", env: nil, wantNil: true},
		{name: "only spaces", env: map[string]string{"POLICY_FILE": "  ", "POLICY": " \n"}, wantNil: true},
		{name: "file", env: map[string]string{"POLICY_FILE": "/code/policy.json"}, wantRead: []string{"/code/policy.json"}},
		{name: "file path trimmed", env: map[string]string{"POLICY_FILE": " /code/policy.json\n"}, wantRead: []string{"/code/policy.json"}},
		{name: "inline", env: map[string]string{"POLICY": goodPolicy}},
		{name: "both", env: map[string]string{"POLICY_FILE": "/code/policy.json", "POLICY": goodPolicy},
			wantErr: "POLICY_FILE and POLICY are both set", wantCode: CodeConflict},
		{name: "file missing", env: map[string]string{"POLICY_FILE": "/code/nope.json"},
			wantErr:  "POLICY_FILE=/code/nope.json: InvalidParameter.PolicyFile: cannot read the policy: open /code/nope.json: file does not exist",
			wantCode: CodeUnreadable, wantRead: []string{"/code/nope.json"}},
		{name: "bad file", env: map[string]string{"POLICY_FILE": "/code/bad.json"},
			wantErr:  "POLICY_FILE=/code/bad.json: InvalidParameter.Keep: families[2].keep: must be 1 to 100",
			wantCode: intent.CodeInvalidKeep, wantRead: []string{"/code/bad.json"}},
		{name: "bad inline", env: map[string]string{"POLICY": `{"version": 1, "families": [{"match": "web", "kep": 2}]}`},
			wantErr: `POLICY: InvalidParameter.UnknownField: families[0].kep: unknown field "kep"; did you mean "keep"?`, wantCode: intent.CodeUnknownField},
		{name: "inline not JSON", env: map[string]string{"POLICY": "families: [web]"},
			wantErr: "POLICY: InvalidParameter.Malformed", wantCode: intent.CodeMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := &files{m: fsys}
			p, err := Load(env(tt.env), f.readFile)
			if strings.Join(f.read, ",") != strings.Join(tt.wantRead, ",") {
				t.Errorf("read %q, want %q", f.read, tt.wantRead)
			}
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				if (p == nil) != tt.wantNil {
					t.Fatalf("policy = %v, want nil: %v", p, tt.wantNil)
				}
				if p != nil {
					if r, ok := p.Family("web"); !ok || r.Keep != 3 {
						t.Errorf("web rule = %+v, %v", r, ok)
					}
				}
				return
			}
			if err == nil || p != nil {
				t.Fatalf("Load = %v, %v; want error %q", p, err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
			var e *intent.Error
			if !errors.As(err, &e) || e.Code != tt.wantCode {
				t.Errorf("error code = %v, want %s", e, tt.wantCode)
			}
		})
	}
}

func TestLoadNamesEveryViolation(t *testing.T) {
	t.Parallel()
	getenv := env(map[string]string{"POLICY": `{"version": 1, "families": [{"match": "web", "keep": 0}, {"match": "web", "maxDeprecationShare": 2}]}`})
	_, err := Load(getenv, nil)
	var errs intent.Errors
	if !errors.As(err, &errs) {
		t.Fatalf("error %v does not carry intent.Errors", err)
	}
	got := errs.Codes()
	want := []string{intent.CodeInvalidKeep, intent.CodeInvalidParameter, CodeInvalidMaxDeprecationShare}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("codes = %v, want %v", got, want)
	}
}
