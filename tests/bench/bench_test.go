package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/credential"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/emulator"
)

// The per-message overhead of section 5, for `go test -bench Overhead ./tests/bench`.
func BenchmarkOverheadPlan(b *testing.B)  { benchOverhead(b, true) }
func BenchmarkOverheadApply(b *testing.B) { benchOverhead(b, false) }

// The suite counts calls from the emulator's request log: what it reads
// must be what the emulator answered, through the real SDK, throttled
// answers and family listings included.
func TestProbeReadsTheEmulatorLog(t *testing.T) {
	e, err := startECS(&emulator.Seed{Images: family("web", "web", 3, ecsapi.StatusAvailable)})
	if err != nil {
		t.Fatal(err)
	}
	defer e.close()
	// One call, then none for 100 s.
	e.srv.SetFaults("ModifyImageAttribute", emulator.Faults{RateLimit: 0.01})
	api, err := ecsapi.New(ecsapi.Config{Region: "cn-hangzhou", Endpoint: e.url(),
		Credentials: &credential.Credentials{AccessKeyID: emulator.DefaultKey, AccessKeySecret: emulator.DefaultKey}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := api.DescribeImages(ctx, ecsapi.DescribeImagesInput{Family: "web", OwnerAlias: "self", PageNumber: 1, PageSize: 100}); err != nil {
		t.Fatal(err)
	}
	if _, err := api.DescribeImages(ctx, ecsapi.DescribeImagesInput{ImageIDs: []string{"m-web00000", "m-web00001"}}); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second is throttled
		_, _ = api.ModifyImageAttribute(ctx, ecsapi.ModifyInput{ImageID: "m-web00000", Changes: ecsapi.Changes{Description: "a new one"}})
	}
	got := count(e.probe.requests())
	if got.total != 4 || got.byAction["DescribeImages"] != 2 || got.byAction["ModifyImageAttribute"] != 2 {
		t.Errorf("counted %d calls %v, want DescribeImages 2, ModifyImageAttribute 2", got.total, got.byAction)
	}
	if got.familyListings != 1 || got.familyPages != 1 || got.idReads != 1 {
		t.Errorf("family listings %d, pages %d, reads by id %d: want 1, 1, 1", got.familyListings, got.familyPages, got.idReads)
	}
	if got.throttled != 1 || got.writesOK != 1 || !got.changed["m-web00000"] {
		t.Errorf("throttled %d, writes %d, changed %v: want 1, 1, m-web00000", got.throttled, got.writesOK, got.changed)
	}
	if v := e.srv.CallView(); v.Total != got.total {
		t.Errorf("the emulator's own count is %d, the probe's %d", v.Total, got.total)
	}
}

func TestParseLine(t *testing.T) {
	for _, c := range []struct {
		line   string
		action string
		params map[string]string
		status int
		code   string
	}{
		{`09:05:15.123 v1 DescribeImages ImageFamily=web PageNumber=2 -> 200 OK 1.1ms`, "DescribeImages",
			map[string]string{"ImageFamily": "web", "PageNumber": "2"}, 200, ""},
		{`09:05:15.123 v3 ModifyImageAttribute Description="two words -> here" ImageId=m-1 -> 400 Throttling.User 0.2ms`, "ModifyImageAttribute",
			map[string]string{"Description": "two words -> here", "ImageId": "m-1"}, 400, "Throttling.User"},
		{`09:05:15.123 v1 ModifyImageAttribute ImageId=m-1 -> connection reset 0.1ms`, "ModifyImageAttribute",
			map[string]string{"ImageId": "m-1"}, 0, "no-answer"},
		{`09:05:15.123 - (no action) -> 400 MissingParameter 0.1ms`, "", map[string]string{}, 400, "MissingParameter"},
		{`09:05:15.123 v1 DescribeImages -> 200 OK 0.1ms`, "DescribeImages", map[string]string{}, 200, ""},
	} {
		r, ok := parseLine(c.line)
		if !ok || r.action != c.action || r.status != c.status || r.code != c.code || len(r.params) != len(c.params) {
			t.Errorf("%s: got %+v", c.line, r)
			continue
		}
		for k, v := range c.params {
			if r.params[k] != v {
				t.Errorf("%s: %s = %q, want %q", c.line, k, r.params[k], v)
			}
		}
	}
	if _, ok := parseLine("not a log line"); ok {
		t.Error("a line without an answer parsed")
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		xs   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(c.xs); got != c.want {
			t.Errorf("median(%v) = %g, want %g", c.xs, got, c.want)
		}
	}
}

func TestWriteRatesCountsTheMiddleHalf(t *testing.T) {
	t0 := time.Unix(0, 0)
	var reqs []request
	// 10 s of run: a burst of 50 accepted writes at the start, then 10/s.
	for range 50 {
		reqs = append(reqs, request{at: t0, action: "ModifyImageAttribute"})
	}
	for i := range 100 {
		reqs = append(reqs, request{at: t0.Add(time.Duration(i+1) * 100 * time.Millisecond), action: "ModifyImageAttribute"})
		reqs = append(reqs, request{at: t0.Add(time.Duration(i+1) * 100 * time.Millisecond), action: "ModifyImageAttribute", code: "Throttling.User"})
	}
	sustained, overall := writeRates(reqs)
	if sustained != 10 || overall != 15 {
		t.Errorf("sustained %g/s, overall %g/s: want 10 and 15", sustained, overall)
	}
}

func TestParseInitTrace(t *testing.T) {
	out := "init internal/bytealg @0.008 ms, 0 ms clock, 0 bytes, 0 allocs\n" +
		"init " + modulePath + "function/emulator @1.2 ms, 0.32 ms clock, 151234 bytes, 2236 allocs\n" +
		"{\"level\":\"INFO\",\"msg\":\"init of something\"}\n" +
		"init " + modulePath + "function/ecsapi @1.6 ms, 0.04 ms clock, 9000 bytes, 109 allocs\n"
	tr := parseInitTrace(out)
	if len(tr.pkgs) != 3 || tr.allocs != 2345 || tr.bytes != 160234 {
		t.Fatalf("parsed %+v", tr)
	}
	own := tr.only(modulePath)
	if len(own.pkgs) != 2 || own.allocs != 2345 {
		t.Errorf("own %+v", own)
	}
	if top := own.top(1); top != "function/emulator 0.32 ms 2236 allocs" {
		t.Errorf("top %q", top)
	}
}

func TestWriteMarkdownKeepsTheProse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "B.md")
	before := "# B\n\nprose\n\n" + beginMark + "\nold table\n" + endMark + "\n\nmore prose\n"
	if err := os.WriteFile(path, []byte(before), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeMarkdown(path, markdown([]row{{group: "1 calls", measure: "a|b", today: "1", target: "2", verdict: gap}})); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	got := string(b)
	if strings.Contains(got, "old table") || !strings.Contains(got, `| 1 calls | a\|b | 1 | 2 | **GAP** |`) ||
		!strings.HasPrefix(got, "# B\n\nprose\n\n"+beginMark) || !strings.HasSuffix(got, endMark+"\n\nmore prose\n") {
		t.Errorf("rewritten:\n%s", got)
	}
	if err := os.WriteFile(path, []byte("no markers"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeMarkdown(path, "x"); err == nil {
		t.Error("a file without markers was rewritten")
	}
}

// The RSS breakdown reads a binary's read-only segments and whether it links
// reflect's method lookup by name: text/template does, a plain program not.
func TestReadOnlySegments(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two programs")
	}
	build := func(name, src string) string {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module "+name+"\n\ngo 1.22\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("go", "build", "-trimpath", "-o", "prog", ".")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", name, err, out)
		}
		return filepath.Join(dir, "prog")
	}
	plain := build("plain", "package main\n\nimport \"os\"\n\nfunc main() { os.Stdout.WriteString(\"hi\\n\") }\n")
	tmpl := build("tmpl", "package main\n\nimport (\n\t\"os\"\n\t\"text/template\"\n)\n\n"+
		"func main() { template.Must(template.New(\"\").Parse(os.Args[0])).Execute(os.Stdout, os.Args) }\n")
	for _, c := range []struct {
		bin  string
		want bool
	}{{plain, false}, {tmpl, true}} {
		size, byName, err := readOnlySegments(c.bin)
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(c.bin)
		if err != nil {
			t.Fatal(err)
		}
		if size <= 0 || size >= fi.Size() {
			t.Errorf("%s: read-only segments %d bytes, want some of its %d", filepath.Base(filepath.Dir(c.bin)), size, fi.Size())
		}
		if byName != c.want {
			t.Errorf("%s: links reflect.Value.MethodByName %v, want %v", c.bin, byName, c.want)
		}
	}
}
