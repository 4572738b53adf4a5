package deploy

import (
	"bytes"
	"context"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestBootstrap: the custom runtime start file is a shell script that FC can
// execute (execute bit on disk and in git, since a clone takes it from git)
// and that hands over to the binary's HTTP mode.
func TestBootstrap(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	path := filepath.Join(root, "bootstrap")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("#!/bin/sh\n")) {
		t.Errorf("bootstrap starts with %q, want #!/bin/sh", strings.SplitN(string(b), "\n", 2)[0])
	}
	var cmds []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			cmds = append(cmds, l)
		}
	}
	if len(cmds) != 1 || cmds[0] != "exec /code/main serve" {
		t.Errorf("bootstrap runs %q, want only: exec /code/main serve", cmds)
	}
	if out, err := exec.Command("sh", "-n", path).CombinedOutput(); err != nil {
		t.Errorf("sh -n bootstrap: %v\n%s", err, out)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o111 != 0o111 {
		t.Errorf("bootstrap mode %v, want executable by all", fi.Mode().Perm())
	}
	// The mode git records is what a fresh clone (and CI) gets.
	out, err := exec.Command("git", "-C", root, "ls-files", "-s", "--", "bootstrap").Output()
	if err != nil {
		t.Skipf("git not usable here: %v", err)
	}
	if !strings.HasPrefix(string(out), "100755 ") {
		t.Errorf("git records bootstrap as %q, want mode 100755 (git update-index --chmod=+x bootstrap)", strings.TrimSpace(string(out)))
	}
}

// TestBuildCommand runs BuildCommand exactly as CI and the pre-deploy action do
// and checks that it yields what the go1 runtime starts: a static linux/amd64
// executable at target/main.
func TestBuildCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the whole function; skipped with -short")
	}
	root := repoRoot(t)
	// Packages still missing from the tree (the function is written in
	// parallel) are not this command's fault; CI's own build step reports them.
	list := exec.Command("go", "list", "-e", "-deps", "-f", "{{with .Error}}{{.}}{{end}}", "./function")
	list.Dir = root
	if out, err := list.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Skipf("./function is not complete yet: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", BuildCommand)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", BuildCommand, err, out)
	}
	bin := filepath.Join(root, "target", "main")
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatalf("target/main is not an ELF file: %v", err)
	}
	defer f.Close()
	if f.Machine != elf.EM_X86_64 || f.Type != elf.ET_EXEC {
		t.Errorf("target/main: machine %v, type %v; want EM_X86_64, ET_EXEC", f.Machine, f.Type)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("target/main asks for a dynamic loader; CGO_ENABLED=0 should make it static")
		}
	}
	fi, err := os.Stat(bin)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o100 == 0 {
		t.Errorf("target/main mode %v is not executable", fi.Mode().Perm())
	}
	// -trimpath keeps the build machine's paths out of the binary.
	raw, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if regexp.MustCompile(regexp.QuoteMeta(root) + `/function`).Match(raw) {
		t.Errorf("target/main contains %s: was -trimpath dropped?", root)
	}
}
