package testenv

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ecs-image-lifecycle/image-lifecycle/tests/mnsfake"
)

func TestRoot(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat(filepath.Join(Root(t), "go.mod")); err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(Root(t), "events", "seed"); Path(t, "events", "seed") != want {
		t.Errorf("Path = %s, want %s", Path(t, "events", "seed"), want)
	}
}

// TestStartEmulator: the demo emulator answers on loopback, and is closed
// when its test ends.
func TestStartEmulator(t *testing.T) {
	t.Parallel()
	var url string
	t.Run("serve", func(t *testing.T) {
		emu := StartDemoEmulator(t)
		url = emu.URL()
		if !strings.HasPrefix(url, "http://127.0.0.1:") {
			t.Errorf("URL %s is not on 127.0.0.1", url)
		}
		if n := len(emu.Images()); n != len(DemoSeed(t).Images) || n == 0 {
			t.Errorf("%d images served, want the demo seed's", n)
		}
	})
	if resp, err := http.Get(url); err == nil {
		resp.Body.Close()
		t.Errorf("the emulator still answers at %s after its test ended", url)
	}
}

func TestStartMNS(t *testing.T) {
	t.Parallel()
	var endpoint string
	t.Run("serve", func(t *testing.T) {
		mns := StartMNS(t, mnsfake.Options{}, "a", "b")
		endpoint = mns.Endpoint()
		if !strings.HasPrefix(endpoint, "http://127.0.0.1:") {
			t.Errorf("endpoint %s is not on 127.0.0.1", endpoint)
		}
		for _, q := range []string{"a", "b"} {
			if mns.Messages(q) == nil { // nil: no such queue
				t.Errorf("queue %s was not created", q)
			}
		}
		if mns.Messages("c") != nil {
			t.Error("queue c exists, but was not asked for")
		}
	})
	if resp, err := http.Get(endpoint); err == nil {
		resp.Body.Close()
		t.Errorf("the MNS fake still answers at %s after its test ended", endpoint)
	}
}

// DemoSeed gives each caller its own copy.
func TestDemoSeedIsACopy(t *testing.T) {
	t.Parallel()
	a, b := DemoSeed(t), DemoSeed(t)
	a.Images[0].Name = "changed"
	if b.Images[0].Name == "changed" {
		t.Error("two DemoSeed calls share their images")
	}
}

// TestNotInTheFunction: test support (this package, the fakes under tests/)
// never becomes a dependency of the function's binary.
func TestNotInTheFunction(t *testing.T) {
	t.Parallel()
	cmd := exec.Command("go", "list", "-deps", "./function")
	cmd.Dir = Root(t)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps ./function: %v", err)
	}
	const module = "github.com/ecs-image-lifecycle/image-lifecycle/"
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, module+"function/trigger") {
		t.Fatalf("go list -deps ./function is not read right: no function/trigger in %d packages", len(deps))
	}
	for _, dep := range deps {
		if strings.HasPrefix(dep, module+"internal/testenv") || strings.HasPrefix(dep, module+"tests/") {
			t.Errorf("the function depends on %s", dep)
		}
	}
}
