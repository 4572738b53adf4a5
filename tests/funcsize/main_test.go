package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// source writes a function whose declaration spans lines lines.
func source(recv, name string, lines int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "func %s%s() {\n", recv, name)
	for range lines - 2 {
		b.WriteString("\t_ = 0\n")
	}
	b.WriteString("}\n")
	return b.String()
}

// tree writes a package with functions of 60 and 61 lines, a 61-line method
// on a pointer, and a long function in a test file, and returns its directory.
func tree(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "function", "p")
	if err := os.MkdirAll(filepath.Join(dir, "testdata"), 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"p.go":               "package p\n\ntype T struct{}\n\n" + source("", "short", 60) + source("", "long", 61) + source("(t *T) ", "Method", 61),
		"p_test.go":          "package p\n\n" + source("", "longTest", 100),
		"testdata/skip.go":   "package skip\n\n" + source("", "fixture", 100),
		"generic.go":         "package p\n\ntype G[K comparable] struct{}\n\n" + source("(g G[K]) ", "Get", 61),
		"declared_only.go":   "package p\n\nfunc external()\n",
		"nested/deeper/d.go": "package deeper\n\n" + source("", "deep", 70),
	}
	for name, text := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func write(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "file.txt")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLongFunctionsAreFound(t *testing.T) {
	dir := tree(t)
	got, err := longFunctions(dir, 60)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range got {
		names = append(names, fmt.Sprintf("%s %s %d", filepath.Base(o.file), o.fn, o.value))
	}
	want := map[string]bool{"p.go long 61": true, "p.go (*T).Method 61": true, "generic.go (G).Get 61": true, "d.go deep 70": true}
	if len(names) != len(want) {
		t.Fatalf("found %q, want %d: %v", names, len(want), want)
	}
	for _, n := range names {
		if !want[n] {
			t.Errorf("found %q, not one of %v", n, want)
		}
	}
}

func TestAllowListAndCycloReport(t *testing.T) {
	dir := tree(t)
	base := filepath.ToSlash(dir)
	cyclo := write(t, "23 p long "+base+"/p.go:5:1\nAverage: 3.1\n")
	allowAll := write(t, "# comment\n"+
		base+"/p.go long lines 61\n"+
		base+"/p.go (*T).Method lines 61\n"+
		base+"/generic.go (G).Get lines 61\n"+
		base+"/nested/deeper/d.go deep lines 70\n"+
		base+"/p.go long cyclo 23   # measured when listed\n")
	var out bytes.Buffer
	if err := run(&out, 60, cyclo, allowAll, []string{dir}); err != nil {
		t.Fatalf("everything listed, got %v", err)
	}
	if !strings.Contains(out.String(), "allowed: "+base+"/p.go long cyclo 23") {
		t.Errorf("the allowed offenders are not shown: %s", out.String())
	}

	for _, tc := range []struct {
		name, cyclo, allow, want string
	}{
		{"unlisted length", "", base + "/p.go long lines 61\n", "(*T).Method is 61 lines long"},
		{"unlisted complexity", cyclo, "", "long has cyclomatic complexity 23"},
		{"stale entry", "", base + "/p.go short lines 60\n", "no longer over its limit"},
		{"report without its Average line", write(t, "23 p long "+base+"/p.go:5:1\n"), "", "no Average line"},
		{"not a gocyclo report", write(t, "gocyclo: not found\nAverage: 1\n"), "", "not a gocyclo line"},
		{"malformed allow-list", "", base + "/p.go long 61\n", "want FILE FUNCTION lines|cyclo VALUE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			allow := ""
			if tc.allow != "" {
				allow = write(t, tc.allow)
			}
			err := run(&bytes.Buffer{}, 60, tc.cyclo, allow, []string{dir})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error saying %q", err, tc.want)
			}
		})
	}
}

// TestRepositoryIsWithinTheLimits runs the length check over the real
// function/ tree with the real allow-list, as .ci/run does (without gocyclo,
// which .ci/run fetches from the module proxy).
func TestRepositoryIsWithinTheLimits(t *testing.T) {
	root := filepath.Join("..", "..")
	allow, err := readAllow(filepath.Join(root, ".ci", "funcsize-allow.txt"))
	if err != nil {
		t.Fatal(err)
	}
	long, err := longFunctions(filepath.Join(root, "function"), 60)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range long {
		key := strings.TrimPrefix(o.file, "../../") + " " + o.fn + " " + o.metric
		if !allow[key] {
			t.Errorf("%s: %s is %d lines long (limit 60) and not in .ci/funcsize-allow.txt", o.pos, o.fn, o.value)
		}
	}
}
