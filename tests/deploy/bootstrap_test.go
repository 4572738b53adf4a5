package deploy

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/internal/testenv"
)

// TestBootstrap: the custom runtime start file is a shell script that FC can
// execute (execute bit on disk and in git, since a clone takes it from git)
// and that hands over to the binary's HTTP mode.
func TestBootstrap(t *testing.T) {
	t.Parallel()
	root := testenv.Root(t)
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
	root := testenv.Root(t)
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
	if err := checkGo1Binary(filepath.Join(root, "target", "main"), root); err != nil {
		t.Error(err)
	}
}

// checkGo1Binary checks that bin is what FC's go1 runtime can start: an
// executable, static linux/amd64 ELF file, without the build machine's paths
// under root (-trimpath).
func checkGo1Binary(bin, root string) error {
	f, err := elf.Open(bin)
	if err != nil {
		return fmt.Errorf("%s is not an ELF file: %w", bin, err)
	}
	defer f.Close()
	if f.Machine != elf.EM_X86_64 || f.Type != elf.ET_EXEC {
		return fmt.Errorf("%s: machine %v, type %v; want EM_X86_64, ET_EXEC", bin, f.Machine, f.Type)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s asks for a dynamic loader; CGO_ENABLED=0 should make it static", bin)
		}
	}
	fi, err := os.Stat(bin)
	if err != nil {
		return err
	}
	if fi.Mode().Perm()&0o100 == 0 {
		return fmt.Errorf("%s: mode %v is not executable", bin, fi.Mode().Perm())
	}
	raw, err := os.ReadFile(bin)
	if err != nil {
		return err
	}
	if bytes.Contains(raw, []byte(root+string(filepath.Separator))) {
		return fmt.Errorf("%s contains the build path %s: was -trimpath dropped?", bin, root)
	}
	return nil
}

// TestCheckGo1Binary shows checkGo1Binary can fail: it builds a small go1
// function (tests/fcfake/testdata/echo) the way FC can run it and ways it
// cannot. (Only linux/amd64 builds: other targets would compile a whole
// standard library on a cold cache.)
func TestCheckGo1Binary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds binaries; skipped with -short")
	}
	t.Parallel()
	root := testenv.Root(t)
	build := func(t *testing.T, trimpath bool) string {
		t.Helper()
		bin := filepath.Join(t.TempDir(), "main")
		args := []string{"build", "-o", bin, "./tests/fcfake/testdata/echo"}
		if trimpath {
			args = append(args[:1], append([]string{"-trimpath"}, args[1:]...)...)
		}
		cmd := exec.Command("go", args...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %v: %v\n%s", args, err, out)
		}
		return bin
	}
	tests := []struct {
		name    string
		binary  func(t *testing.T) string
		wantErr string
	}{
		{"as the pre-deploy action builds", func(t *testing.T) string { return build(t, true) }, ""},
		{"without -trimpath", func(t *testing.T) string { return build(t, false) }, "-trimpath"},
		{"execute bit lost", func(t *testing.T) string {
			bin := build(t, true)
			if err := os.Chmod(bin, 0o644); err != nil {
				t.Fatal(err)
			}
			return bin
		}, "not executable"},
		{"a script", func(t *testing.T) string { return filepath.Join(root, "bootstrap") }, "not an ELF file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := checkGo1Binary(tc.binary(t), root)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatal(err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}
