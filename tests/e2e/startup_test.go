package e2e

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http/httpproxy"

	"github.com/ecs-image-lifecycle/image-lifecycle/tests/fcfake"
)

// hangGuard ends a CLI run that hangs. It is no time limit on the function:
// the runs below end in a couple of seconds, and before the fixes they ran
// for a quarter of an hour.
const hangGuard = 2 * time.Minute

// cliRun is one run of the binary as a CLI.
type cliRun struct {
	exitCode       int
	stdout, stderr string
	took           time.Duration
}

// runCLI runs the binary with args and exactly env (nothing of the host's
// environment, so no developer key or profile is found).
func runCLI(t *testing.T, env []string, args ...string) cliRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir = repoRoot
	cmd.Env = env
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := cliRun{stdout: stdout.String(), stderr: stderr.String(), took: time.Since(start)}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && ctx.Err() == nil:
		r.exitCode = exit.ExitCode()
	default:
		t.Fatalf("%v: %v (after %v)\nstderr:\n%s", args, err, r.took, r.stderr)
	}
	return r
}

// bareEnv is an environment with no credentials of any kind: no keys, a
// home without profiles, and the ECS endpoint on a closed loopback port, so
// that nothing could reach a real endpoint even if credentials were found.
func bareEnv(t *testing.T) []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "ECS_ENDPOINT=http://127.0.0.1:1"}
}

// blackHole accepts connections and reads the request line, and never
// answers: what the instance metadata address does off ECS.
type blackHole struct {
	ln    net.Listener
	mu    sync.Mutex
	lines []string
}

func startBlackHole(t *testing.T) *blackHole {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &blackHole{ln: ln}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b.mu.Lock()
			conns = append(conns, c)
			b.mu.Unlock()
			go func() {
				line, _ := bufio.NewReader(c).ReadString('\n')
				b.mu.Lock()
				b.lines = append(b.lines, strings.TrimSpace(line))
				b.mu.Unlock()
			}()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		<-done
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return b
}

func (b *blackHole) requests() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Join(b.lines, "\n")
}

// TestCLIWithoutCredentialsFailsFast: with no keys, no profile and no
// instance role, plan exits 2 at once and says what to set. The instance
// metadata lookup goes (through HTTP_PROXY, which the SDK's metadata client
// honours) to a loopback listener that accepts and never answers, as the
// metadata address does off ECS; it never reaches 100.100.100.200.
func TestCLIWithoutCredentialsFailsFast(t *testing.T) {
	t.Parallel()
	hole := startBlackHole(t)
	proxy := "http://" + hole.ln.Addr().String()
	// Refuse to run unless Go's proxy rules send the metadata address to the
	// black hole, as they will in the binary (net/http applies the same rules).
	metadata, _ := url.Parse("http://100.100.100.200/latest/meta-data/")
	if u, err := (&httpproxy.Config{HTTPProxy: proxy}).ProxyFunc()(metadata); err != nil || u == nil || u.Host != hole.ln.Addr().String() {
		t.Fatalf("HTTP_PROXY=%s would not carry the metadata lookup (%v, %v): not running", proxy, u, err)
	}
	env := append(bareEnv(t), "HTTP_PROXY="+proxy)

	r := runCLI(t, env, "plan", filepath.Join("events", "01-modify.json"))
	t.Logf("exit %d after %v", r.exitCode, r.took.Round(time.Millisecond))
	if r.exitCode != 2 {
		t.Errorf("exit %d, want 2 (a configuration error)\nstdout:\n%s\nstderr:\n%s", r.exitCode, r.stdout, r.stderr)
	}
	for _, want := range []string{"Credentials.NotFound", "ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "profile", "RAM role"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr does not mention %q:\n%s", want, r.stderr)
		}
	}
	if strings.Contains(r.stderr, "TransportError") || strings.Contains(r.stdout, "TransportError") {
		t.Errorf("no credentials was reported as a network fault:\n%s%s", r.stdout, r.stderr)
	}
	if !strings.Contains(hole.requests(), "100.100.100.200") {
		t.Errorf("the metadata lookup did not go through the black hole; it saw: %q", hole.requests())
	}
}

// TestCLIRefusedCredentialsExitTwo: credentials that ECS refuses are a
// configuration error too, named as such.
func TestCLIRefusedCredentialsExitTwo(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	env := append(bareEnv(t), "ECS_ENDPOINT="+w.emu.URL(),
		"ALIBABA_CLOUD_ACCESS_KEY_ID="+mnsKeyID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET="+mnsKeySecret)
	r := runCLI(t, env, "plan", filepath.Join("events", "01-modify.json"))
	if r.exitCode != 2 || !strings.Contains(r.stderr, "InvalidAccessKeyId.NotFound") || !strings.Contains(r.stderr, mnsKeyID) {
		t.Errorf("exit %d, want 2 with the refused key and the API's code\nstdout:\n%s\nstderr:\n%s", r.exitCode, r.stdout, r.stderr)
	}
	noSecrets(t, "the CLI's output", r.stdout+r.stderr)
}

// badConfigs are values that are refused at start, naming their variable
// (and, for a policy, the field and the reason).
func badConfigs() []struct{ name, value, says string } {
	badPolicy := filepath.Join(repoRoot, "tests", "e2e", "testdata", "bad-policy.json")
	return []struct{ name, value, says string }{
		{"ECS_ENDPOINT", "http://10.0.0.1:8080", "plain http is allowed only for a loopback host"},
		{"ALLOWED_FAMILIES", "[", "not a valid family pattern"},
		{"POLICY_FILE", badPolicy, "InvalidParameter.Keep: families[0].keep: must be 1 to 100"},
		{"POLICY_FILE", badPolicy, `names[0].family: no families[] rule covers "api"`},
		{"POLICY_FILE", filepath.Join(repoRoot, "deploy", "no-such-policy.json"), "InvalidParameter.PolicyFile: cannot read the policy"},
		{"POLICY", `{"version":1,"families":[{"match":"web","kep":3}]}`, `InvalidParameter.UnknownField: families[0].kep: unknown field "kep"; did you mean "keep"?`},
	}
}

// TestCLIBadConfigurationExitsTwo: a bad value stops the CLI before any
// message is worked, naming the variable.
func TestCLIBadConfigurationExitsTwo(t *testing.T) {
	t.Parallel()
	for _, bad := range badConfigs() {
		t.Run(bad.name+"="+filepath.Base(bad.value), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, worldOptions{})
			env := append(bareEnv(t), "ECS_ENDPOINT="+w.emu.URL(),
				"ALIBABA_CLOUD_ACCESS_KEY_ID="+ecsKeyID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET="+ecsKeySecret,
				"ALIBABA_CLOUD_SECURITY_TOKEN="+stsToken, bad.name+"="+bad.value)
			r := runCLI(t, env, "plan", filepath.Join("events", "01-modify.json"))
			if r.exitCode != 2 || !strings.Contains(r.stderr, bad.name) || !strings.Contains(r.stderr, bad.says) {
				t.Errorf("exit %d, want 2 naming %s (%q)\nstdout:\n%s\nstderr:\n%s", r.exitCode, bad.name, bad.says, r.stdout, r.stderr)
			}
			if n := w.emu.Calls("DescribeImages"); n != 0 {
				t.Errorf("%d DescribeImages calls: the bad value did not stop the start", n)
			}
		})
	}
}

// TestGo1BadConfigurationStopsTheStart: under FC's go1 runtime a bad value
// ends the instance before it takes an invocation, naming the variable.
func TestGo1BadConfigurationStopsTheStart(t *testing.T) {
	t.Parallel()
	for _, bad := range badConfigs() {
		t.Run(bad.name+"="+filepath.Base(bad.value), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, worldOptions{})
			fc, err := fcfake.Start()
			if err != nil {
				t.Fatal(err)
			}
			p, err := fc.StartProcess(binary, append(append([]string(nil), w.env...), bad.name+"="+bad.value)...)
			if err != nil {
				fc.Close()
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = p.Stop(); fc.Close() })
			select {
			case <-p.Exited():
			case <-time.After(hangGuard):
				t.Fatalf("the instance kept running with %s=%q:\n%s", bad.name, bad.value, p.Output())
			}
			var exit *exec.ExitError
			if !errors.As(p.Err(), &exit) || exit.ExitCode() != 2 || !strings.Contains(p.Output(), bad.name) || !strings.Contains(p.Output(), bad.says) {
				t.Errorf("exit %v, want 2 naming %s (%q):\n%s", p.Err(), bad.name, bad.says, p.Output())
			}
		})
	}
}
