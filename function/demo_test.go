package main

import (
	"bytes"
	"context"
	"flag"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/emulator"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/policy"
	"github.com/ecs-image-lifecycle/image-lifecycle/internal/testenv"
)

var updateReadme = flag.Bool("update-readme", false, "rewrite README.md's plan blocks from the demo's output")

// countingProxy counts, on the wire, every request that reaches the emulator,
// by its Action: the truth the demo's own counts are checked against.
type countingProxy struct {
	next http.Handler
	mu   sync.Mutex
	n    map[string]int
}

func (c *countingProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	c.mu.Lock()
	c.n[r.Form.Get("Action")]++
	c.mu.Unlock()
	c.next.ServeHTTP(w, r)
}

// runDemoOn plays the demo against a seeded emulator behind a counting proxy
// and returns its output and the calls the proxy saw.
func runDemoOn(t *testing.T) (string, map[string]int) {
	t.Helper()
	seed := testenv.DemoSeed(t)
	emu, err := emulator.New(emulator.Options{Seed: seed, CreatingCalls: demoCreatingCalls})
	if err != nil {
		t.Fatal(err)
	}
	proxy := &countingProxy{next: emu, n: map[string]int{}}
	srv := httptest.NewServer(proxy)
	defer srv.Close()
	samples, _ := filepath.Glob(filepath.Join("..", "events", "*.json"))
	sort.Strings(samples)
	var out, errOut bytes.Buffer
	pol, err := policy.Load(func(name string) string {
		return map[string]string{policy.EnvFile: filepath.Join("..", "deploy", "lifecycle-policy.json")}[name]
	}, os.ReadFile)
	if err != nil || pol == nil {
		t.Fatalf("policy %v: %v", pol, err)
	}
	if failed := playDemo(context.Background(), emu, demoSetup{endpoint: srv.URL, region: seed.Region, policy: pol}, samples, &out, &errOut); failed {
		t.Fatalf("demo failed:\n%s\n%s", out.String(), errOut.String())
	}
	proxy.mu.Lock()
	defer proxy.mu.Unlock()
	return out.String(), maps.Clone(proxy.n)
}

var callsLine = regexp.MustCompile(`(?m)^\(ECS calls for this event: (\d+)(?:: (.*))?\)$`)

// The demo counts every ECS call of each event, by action: summed over the
// events, its counts are exactly what reached the emulator on the wire.
func TestDemoCountsEveryCallByAction(t *testing.T) {
	out, wire := runDemoOn(t)
	lines := callsLine.FindAllStringSubmatch(out, -1)
	samples, _ := filepath.Glob(filepath.Join("..", "events", "*.json"))
	if len(lines) != len(samples) {
		t.Fatalf("%d call lines for %d events:\n%s", len(lines), len(samples), out)
	}
	shown := map[string]int{}
	for _, l := range lines {
		total, _ := strconv.Atoi(l[1])
		sum := 0
		for _, part := range strings.Split(l[2], ", ") {
			if part == "" {
				continue
			}
			action, n, ok := strings.Cut(part, " ")
			k, err := strconv.Atoi(n)
			if !ok || err != nil {
				t.Fatalf("unreadable count %q in %q", part, l[0])
			}
			shown[action] += k
			sum += k
		}
		if sum != total {
			t.Errorf("%q: the actions add up to %d", l[0], sum)
		}
	}
	if !maps.Equal(shown, wire) {
		t.Errorf("the demo counted %v, the wire saw %v", shown, wire)
	}
	if wire["DescribeImageSharePermission"] == 0 {
		t.Errorf("no share-permission read on the wire (%v): the check proves nothing", wire)
	}
}

// demoActions must name every action the ECS client sends, so that a call
// added to function/ecsapi is counted too.
func TestDemoActionsCoverTheClient(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("ecsapi", "calls.go"))
	if err != nil {
		t.Fatal(err)
	}
	sent := regexp.MustCompile(`const action = "(\w+)"`).FindAllStringSubmatch(string(src), -1)
	if len(sent) == 0 {
		t.Fatal("found no action in ecsapi/calls.go")
	}
	for _, m := range sent {
		if !slices.Contains(demoActions, m[1]) {
			t.Errorf("the ECS client sends %s, which the demo does not count", m[1])
		}
	}
}

// planBlocks returns the plan tables in text: each starts with its "action "
// line (after indent) and runs to the first blank line, dedented.
func planBlocks(text, indent string) []string {
	var out []string
	var cur []string
	flush := func() {
		if len(cur) > 0 {
			out = append(out, strings.Join(cur, "\n"))
		}
		cur = nil
	}
	for _, line := range strings.Split(text, "\n") {
		switch {
		case strings.HasPrefix(line, indent+"action "):
			flush()
			cur = []string{strings.TrimPrefix(line, indent)}
		case cur != nil && strings.HasPrefix(line, indent) && strings.TrimSpace(line) != "":
			cur = append(cur, strings.TrimRight(strings.TrimPrefix(line, indent), " "))
		default:
			flush()
		}
	}
	flush()
	return out
}

// readmePlans returns README.md's fenced blocks that hold a plan table.
func readmePlans(readme string) (blocks []string, spans [][2]int) {
	fence := regexp.MustCompile("(?s)```\n(action .*?)\n```")
	for _, m := range fence.FindAllStringSubmatchIndex(readme, -1) {
		blocks = append(blocks, readme[m[2]:m[3]])
		spans = append(spans, [2]int{m[2], m[3]})
	}
	return blocks, spans
}

// The plan tables README shows are the demo's own output, byte for byte;
// go test ./function -run TestReadmePlans -update-readme rewrites them.
func TestReadmePlansAreTheDemos(t *testing.T) {
	out, _ := runDemoOn(t)
	demo := map[string]string{} // first line -> block
	for _, b := range planBlocks(out, "  ") {
		first, _, _ := strings.Cut(b, "\n")
		demo[first] = b
	}
	path := filepath.Join("..", "README.md")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	blocks, spans := readmePlans(readme)
	if len(blocks) < 3 {
		t.Fatalf("README shows %d plan blocks, want the promote, rotate and rollback plans", len(blocks))
	}
	for i := len(blocks) - 1; i >= 0; i-- {
		first, _, _ := strings.Cut(blocks[i], "\n")
		want, ok := demo[first]
		switch {
		case !ok:
			t.Errorf("README's plan %q is not in the demo's output", first)
		case blocks[i] == want:
		case *updateReadme:
			readme = readme[:spans[i][0]] + want + readme[spans[i][1]:]
		default:
			t.Errorf("README's plan differs from the demo's (go test ./function -run TestReadmePlans -update-readme):\nREADME:\n%s\ndemo:\n%s", blocks[i], want)
		}
	}
	if *updateReadme && readme != string(raw) {
		if err := os.WriteFile(path, []byte(readme), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
