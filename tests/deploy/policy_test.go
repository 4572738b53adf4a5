package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/ecs-image-lifecycle/image-lifecycle/internal/testenv"
)

// policy is a RAM policy document (Version "1"), parsed strictly: RAM names
// its elements with exact case and knows no others.
type policy struct {
	Statements []statement
}

type statement struct {
	Effect    string
	Actions   []string
	Resources []string
	Principal map[string][]string // trust policies only
}

var actionRe = regexp.MustCompile(`^[a-z0-9-]+:[A-Za-z0-9*]+$`)

// parsePolicy checks the RAM policy grammar. A trust policy names a Principal
// and no Resource; a permission policy the other way round.
func parsePolicy(b []byte, trust bool) (policy, error) {
	var doc map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&doc); err != nil {
		return policy{}, fmt.Errorf("not a JSON object: %w", err)
	}
	if err := onlyKeys(doc, "Version", "Statement"); err != nil {
		return policy{}, err
	}
	var version string
	if err := json.Unmarshal(doc["Version"], &version); err != nil || version != "1" {
		return policy{}, fmt.Errorf(`Version is %s, want "1"`, doc["Version"])
	}
	var raw []map[string]json.RawMessage
	if err := json.Unmarshal(doc["Statement"], &raw); err != nil || len(raw) == 0 {
		return policy{}, fmt.Errorf("Statement must be a non-empty array of objects (%v)", err)
	}
	var p policy
	for i, st := range raw {
		s, err := parseStatement(st, trust)
		if err != nil {
			return policy{}, fmt.Errorf("Statement[%d]: %w", i, err)
		}
		p.Statements = append(p.Statements, s)
	}
	return p, nil
}

func parseStatement(st map[string]json.RawMessage, trust bool) (statement, error) {
	var s statement
	want := []string{"Effect", "Action", "Resource", "Condition"}
	if trust {
		want = []string{"Effect", "Action", "Principal", "Condition"}
	}
	if err := onlyKeys(st, want...); err != nil {
		return s, err
	}
	if err := json.Unmarshal(st["Effect"], &s.Effect); err != nil || (s.Effect != "Allow" && s.Effect != "Deny") {
		return s, fmt.Errorf("Effect is %s, want Allow or Deny", st["Effect"])
	}
	var err error
	if s.Actions, err = stringOrList(st["Action"]); err != nil {
		return s, fmt.Errorf("Action: %w", err)
	}
	for _, a := range s.Actions {
		if !actionRe.MatchString(a) {
			return s, fmt.Errorf("Action %q is not service:Name", a)
		}
	}
	if trust {
		var pr map[string]json.RawMessage
		if err := json.Unmarshal(st["Principal"], &pr); err != nil || len(pr) == 0 {
			return s, fmt.Errorf("Principal must be an object such as {\"Service\": [...]}")
		}
		s.Principal = map[string][]string{}
		for k, v := range pr {
			if s.Principal[k], err = stringOrList(v); err != nil {
				return s, fmt.Errorf("Principal.%s: %w", k, err)
			}
		}
		return s, nil
	}
	if s.Resources, err = stringOrList(st["Resource"]); err != nil {
		return s, fmt.Errorf("Resource: %w", err)
	}
	for _, r := range s.Resources {
		if !strings.HasPrefix(r, "acs:") && r != "*" {
			return s, fmt.Errorf("Resource %q is neither an ARN (acs:...) nor *", r)
		}
	}
	return s, nil
}

func onlyKeys(m map[string]json.RawMessage, allowed ...string) error {
	for _, k := range sortedKeys(m) {
		if !contains(allowed, k) {
			return fmt.Errorf("unknown element %q (want one of %v)", k, allowed)
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

func stringOrList(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 {
		return nil, fmt.Errorf("missing")
	}
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		if one == "" {
			return nil, fmt.Errorf("empty")
		}
		return []string{one}, nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil || len(list) == 0 {
		return nil, fmt.Errorf("want a string or a non-empty list of strings, got %s", raw)
	}
	for _, s := range list {
		if s == "" {
			return nil, fmt.Errorf("empty string in %s", raw)
		}
	}
	return list, nil
}

// grants maps each allowed action to the sorted resources it is allowed on.
func (p policy) grants() map[string][]string {
	out := map[string][]string{}
	for _, s := range p.Statements {
		if s.Effect != "Allow" {
			continue
		}
		for _, a := range s.Actions {
			out[a] = append(out[a], s.Resources...)
		}
	}
	for a := range out {
		sort.Strings(out[a])
	}
	return out
}

func readPolicy(t *testing.T, name string, trust bool) policy {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.Root(t), "deploy", name))
	if err != nil {
		t.Fatal(err)
	}
	p, err := parsePolicy(b, trust)
	if err != nil {
		t.Fatalf("deploy/%s: %v", name, err)
	}
	return p
}

// TestPermissionPolicies: the actions granted are exactly the ones the function
// calls, each on the narrowest resource it needs; the queue, project and
// logstore names agree with s.yaml's vars.
func TestPermissionPolicies(t *testing.T) {
	t.Parallel()
	s, _ := loadSpec(t)
	v := func(name string) string {
		t.Helper()
		val, ok := s.Vars[name].(string)
		if !ok || val == "" {
			t.Fatalf("s.yaml vars.%s is missing", name)
		}
		return val
	}
	queues := []string{
		"acs:mns:*:*:/queues/" + v("deadLetterQueue") + "/messages",
		"acs:mns:*:*:/queues/" + v("retryQueue") + "/messages",
	}
	sort.Strings(queues)
	const images = "acs:ecs:*:*:image/*"
	tests := []struct {
		file string
		want map[string][]string
	}{
		{"ram-policy.json", map[string][]string{
			"ecs:DescribeImages":               {images},
			"ecs:ModifyImageAttribute":         {images},
			"ecs:DescribeImageSharePermission": {images},
			"ecs:DescribeInstances":            {"acs:ecs:*:*:instance/*"},
			"mns:SendMessage":                  queues,
			"log:PostLogStoreLogs":             {"acs:log:*:*:project/" + v("logProject") + "/logstore/" + v("logStore")},
		}},
		{"ram-policy-unshare.json", map[string][]string{
			"ecs:ModifyImageSharePermission": {images},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			p := readPolicy(t, tc.file, false)
			for _, st := range p.Statements {
				if st.Effect != "Allow" {
					t.Errorf("unexpected %s statement", st.Effect)
				}
			}
			if got := p.grants(); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("grants\n  %v\nwant exactly\n  %v", got, tc.want)
			}
		})
	}
}

func TestTrustPolicy(t *testing.T) {
	t.Parallel()
	p := readPolicy(t, "trust-policy.json", true)
	if len(p.Statements) != 1 {
		t.Fatalf("%d statements, want 1", len(p.Statements))
	}
	st := p.Statements[0]
	want := statement{Effect: "Allow", Actions: []string{"sts:AssumeRole"}, Principal: map[string][]string{"Service": {"fc.aliyuncs.com"}}}
	if !reflect.DeepEqual(st, want) {
		t.Errorf("statement %+v, want %+v", st, want)
	}
}

func TestParsePolicyRefusesBadGrammar(t *testing.T) {
	t.Parallel()
	const okStmt = `{"Effect":"Allow","Action":"ecs:DescribeImages","Resource":"acs:ecs:*:*:image/*"}`
	tests := []struct {
		name, doc string
		trust     bool
		want      string // "" = valid
	}{
		{name: "valid", doc: `{"Version":"1","Statement":[` + okStmt + `]}`},
		{name: "valid lists", doc: `{"Version":"1","Statement":[{"Effect":"Deny","Action":["a:B","c:D"],"Resource":["*"]}]}`},
		{name: "valid trust", trust: true, doc: `{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"Service":["fc.aliyuncs.com"]}}]}`},
		{name: "not JSON", doc: `{"Version":"1",`, want: "not a JSON object"},
		{name: "version 2", doc: `{"Version":"2","Statement":[` + okStmt + `]}`, want: "Version"},
		{name: "version as number", doc: `{"Version":1,"Statement":[` + okStmt + `]}`, want: "Version"},
		{name: "no statements", doc: `{"Version":"1","Statement":[]}`, want: "non-empty"},
		{name: "lower-case key", doc: `{"Version":"1","statement":[` + okStmt + `]}`, want: `unknown element "statement"`},
		{name: "effect misspelt", doc: `{"Version":"1","Statement":[{"Effect":"allow","Action":"a:B","Resource":"*"}]}`, want: "Effect"},
		{name: "action not service:name", doc: `{"Version":"1","Statement":[{"Effect":"Allow","Action":"DescribeImages","Resource":"*"}]}`, want: "service:Name"},
		{name: "no resource", doc: `{"Version":"1","Statement":[{"Effect":"Allow","Action":"a:B"}]}`, want: "Resource: missing"},
		{name: "resource not an ARN", doc: `{"Version":"1","Statement":[{"Effect":"Allow","Action":"a:B","Resource":"image/*"}]}`, want: "neither an ARN"},
		{name: "principal in a permission policy", doc: `{"Version":"1","Statement":[{"Effect":"Allow","Action":"a:B","Resource":"*","Principal":{"Service":"x"}}]}`, want: `"Principal"`},
		{name: "trust without principal", trust: true, doc: `{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]}`, want: "Principal must be"},
		{name: "empty action list", doc: `{"Version":"1","Statement":[{"Effect":"Allow","Action":[],"Resource":"*"}]}`, want: "Action"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := parsePolicy([]byte(tc.doc), tc.trust)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestPolicyGrantsExactSetCatchesExtras(t *testing.T) {
	t.Parallel()
	// A policy with one action too many must not compare equal to the expected set.
	p, err := parsePolicy([]byte(`{"Version":"1","Statement":[
		{"Effect":"Allow","Action":["ecs:DescribeImages","ecs:DeleteImage"],"Resource":"acs:ecs:*:*:image/*"}]}`), false)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"ecs:DescribeImages": {"acs:ecs:*:*:image/*"}}
	if reflect.DeepEqual(p.grants(), want) {
		t.Fatal("an extra action went unnoticed")
	}
}

const (
	ecsImport = "github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	mnsImport = "github.com/aliyun/aliyun-mns-go-sdk"
)

// createRequestRe matches the ECS SDK's request constructors.
var createRequestRe = regexp.MustCompile(`^Create(\w+)Request$`)

// mnsQueueCalls maps the MNS queue methods of aliyun-mns-go-sdk to their RAM
// actions.
var mnsQueueCalls = map[string]string{
	"SendMessage": "mns:SendMessage", "BatchSendMessage": "mns:BatchSendMessage",
	"ReceiveMessage": "mns:ReceiveMessage", "BatchReceiveMessage": "mns:BatchReceiveMessage",
	"DeleteMessage": "mns:DeleteMessage", "BatchDeleteMessage": "mns:BatchDeleteMessage",
	"PeekMessage": "mns:PeekMessage", "BatchPeekMessage": "mns:BatchPeekMessage",
	"ChangeMessageVisibility": "mns:ChangeMessageVisibility",
}

// cloudCalls lists the RAM actions the function's code can call, read from its
// source: every ecs.CreateXxxRequest() is ecs:Xxx, and every MNS queue method
// called in a file that imports the MNS SDK is its mns: action. The emulator
// (a local stand-in for ECS) and tests are not the function's calls.
func cloudCalls(t *testing.T, dir string) map[string][]string {
	t.Helper()
	calls := map[string][]string{} // action -> files
	fset := token.NewFileSet()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "emulator" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		names := map[string]string{} // local import name -> import path
		for _, im := range f.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			name := filepath.Base(p)
			if p == mnsImport {
				name = "ali_mns" // the package clause of aliyun-mns-go-sdk
			}
			if im.Name != nil {
				name = im.Name.Name
			}
			names[name] = p
		}
		usesMNS := false
		for _, p := range names {
			usesMNS = usesMNS || p == mnsImport
		}
		rel, _ := filepath.Rel(dir, path)
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if x, ok := sel.X.(*ast.Ident); ok && names[x.Name] == ecsImport {
				if m := createRequestRe.FindStringSubmatch(sel.Sel.Name); m != nil {
					calls["ecs:"+m[1]] = append(calls["ecs:"+m[1]], rel)
				}
			}
			if a, ok := mnsQueueCalls[sel.Sel.Name]; ok && usesMNS {
				calls[a] = append(calls[a], rel)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return calls
}

// TestPoliciesMatchTheCode: the two permission policies together grant exactly
// the cloud calls the function's code makes (plus the platform's log writes),
// so a new call without a policy change, or a grant nothing uses, fails here.
func TestPoliciesMatchTheCode(t *testing.T) {
	t.Parallel()
	calls := cloudCalls(t, filepath.Join(testenv.Root(t), "function"))
	if len(calls) == 0 {
		t.Fatal("found no ECS or MNS calls under function/: the scanner no longer sees them")
	}
	granted := map[string]bool{}
	for _, f := range []string{"ram-policy.json", "ram-policy-unshare.json"} {
		for a := range readPolicy(t, f, false).grants() {
			granted[a] = true
		}
	}
	delete(granted, "log:PostLogStoreLogs") // used by FC to write the function's logs, not by the code
	for a, files := range calls {
		if !granted[a] {
			t.Errorf("the code calls %s (%s) but no policy in deploy/ grants it", a, strings.Join(files, ", "))
		}
	}
	for a := range granted {
		if _, ok := calls[a]; !ok {
			t.Errorf("deploy/ grants %s but the code never calls it", a)
		}
	}
}

func TestCloudCallsScanner(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	files := map[string]string{
		"a.go": `package a
import ecs2 "github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
func f() { _ = ecs2.CreateDescribeImagesRequest(); _ = ecs2.CreateDescribeImagesResponse() }`,
		"b.go": `package a
import "github.com/aliyun/aliyun-mns-go-sdk"
func g(q ali_mns.AliMNSQueue) { q.SendMessage(ali_mns.MessageSendRequest{}) }`,
		"c.go": `package a
func h(q interface{ SendMessage() }) { q.SendMessage() } // not the MNS SDK`,
		"emulator/e.go": `package emulator
import "github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
func e() { _ = ecs.CreateDeleteImageRequest() }`,
		"a_test.go": `package a
import "github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
func t() { _ = ecs.CreateDeleteImageRequest() }`,
	}
	for name, src := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got := cloudCalls(t, dir)
	want := map[string][]string{"ecs:DescribeImages": {"a.go"}, "mns:SendMessage": {"b.go"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("cloudCalls = %v, want %v", got, want)
	}
}
