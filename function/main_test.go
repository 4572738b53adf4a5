package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/emulator"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/report"
	"github.com/ecs-image-lifecycle/image-lifecycle/internal/testenv"
)

func TestMain(m *testing.M) {
	ecs.GetEndpointMap() // the SDK fills this global lazily and without a lock
	os.Exit(m.Run())
}

// cliEnv points the SDK's default credential chain at the emulator's keys and
// keeps the developer's own configuration out of the test.
func cliEnv(t *testing.T) {
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", emulator.DefaultKey)
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", emulator.DefaultKey)
	t.Setenv("ALIBABA_CLOUD_SECURITY_TOKEN", "")
	t.Setenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
	for _, k := range []string{"ECS_ENDPOINT", "RETRY_QUEUE", "DEAD_LETTER_QUEUE", "MNS_ENDPOINT", "FC_REGION", "POLICY_FILE", "POLICY"} {
		t.Setenv(k, "")
	}
}

func runCmd(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code := run(ctx, args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestUsageErrorsExitTwo(t *testing.T) {
	cliEnv(t)
	for _, args := range [][]string{
		nil,
		{"frobnicate"},
		{"apply"},
		{"plan", "--output", "yaml", "x.json"},
		{"apply", "--no-such-flag", "x.json"},
		{"apply", filepath.Join(t.TempDir(), "missing.json")},
	} {
		if code, _, _ := runCmd(t, "", args...); code != exitUsage {
			t.Errorf("%q: exit %d, want %d", args, code, exitUsage)
		}
	}
	if code, out, _ := runCmd(t, "", "help"); code != exitOK || !strings.Contains(out, "usage:") {
		t.Errorf("help: exit %d, output %q", code, out)
	}
}

func TestPlanChangesNothingAndPrintsTheDifference(t *testing.T) {
	cliEnv(t)
	emu := testenv.StartDemoEmulator(t)
	code, out, errOut := runCmd(t, "", "plan", "--endpoint", emu.URL(), filepath.Join("..", "events", "01-modify.json"))
	if code != exitOK {
		t.Fatalf("exit %d; stderr: %s", code, errOut)
	}
	for _, want := range []string{"outcome=planned", "features.imdsSupport", "v1", "v2"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan output lacks %q:\n%s", want, out)
		}
	}
	if n := emu.Calls("ModifyImageAttribute"); n != 0 {
		t.Errorf("plan sent %d ModifyImageAttribute calls", n)
	}
	if img, _ := emu.Image("m-bp1api8c9d0e1f2g3h4i"); img.ImdsSupport != "v1" {
		t.Errorf("plan changed the image: %+v", img)
	}
}

func TestApplyFromStdinAsJSON(t *testing.T) {
	cliEnv(t)
	emu := testenv.StartDemoEmulator(t)
	in := `{"action":"deprecate","imageId":"m-bp1web6h7i8j9k0l1m2n"}`
	code, out, errOut := runCmd(t, in, "apply", "--endpoint", emu.URL(), "--output", "json", "-")
	if code != exitOK {
		t.Fatalf("exit %d; stderr: %s", code, errOut)
	}
	var rep report.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("output is not a JSON report: %v\n%s", err, out)
	}
	if rep.Received != 1 || rep.Counts[report.Applied] != 1 {
		t.Fatalf("report %+v", rep)
	}
	if img, _ := emu.Image("m-bp1web6h7i8j9k0l1m2n"); img.Status != ecsapi.StatusDeprecated {
		t.Fatalf("image not deprecated: %+v", img)
	}
}

// plan shows what an ActionTrail event would do with the policy of
// POLICY_FILE, and why an event of another call is left alone.
func TestPlanActionTrailEvents(t *testing.T) {
	cliEnv(t)
	t.Setenv("POLICY_FILE", filepath.Join("..", "deploy", "lifecycle-policy.json"))
	emu := testenv.StartDemoEmulator(t)
	code, out, errOut := runCmd(t, "", "plan", "--endpoint", emu.URL(), filepath.Join("..", "events", "triggers", "actiontrail-importimage.json"))
	if code != exitOK || !strings.Contains(out, "action promote (ActionTrail ImportImage F0E1D2C3-B4A5-4968-8776-5F4E3D2C1B0A), region cn-hangzhou, image m-bp1base9z8y7x6w5v4u3, families base (dry run)") ||
		!strings.Contains(out, "note: family base from policy names[2] (base-* matches base-import-ubuntu-2404)") {
		t.Errorf("exit %d:\n%s\n%s", code, out, errOut)
	}
	other := `{"id":"ev-1","source":"acs.ecs","specversion":"1.0","type":"ecs:ActionTrail:ApiCall","data":{"eventName":"DeleteImage"}}`
	code, out, _ = runCmd(t, other, "plan", "--endpoint", emu.URL(), "-")
	if code != exitOK || !strings.Contains(out, "outcome=unchanged") || !strings.Contains(out, `reason: not acted on: "DeleteImage"`) {
		t.Errorf("exit %d:\n%s", code, out)
	}
	if n := emu.Calls("ModifyImageAttribute"); n != 0 {
		t.Errorf("plan wrote %d times", n)
	}
}

func TestApplyExitsOneWhenAMessageIsRejected(t *testing.T) {
	cliEnv(t)
	emu := testenv.StartDemoEmulator(t)
	code, out, _ := runCmd(t, "", "apply", "--endpoint", emu.URL(), filepath.Join("..", "events", "07-rejected.json"))
	if code != exitMessages {
		t.Fatalf("exit %d, want %d:\n%s", code, exitMessages, out)
	}
	if !strings.Contains(out, "InvalidImageName.Malformed") || !strings.Contains(out, `did you mean "attributes.imageName"`) {
		t.Errorf("the rejections do not explain themselves:\n%s", out)
	}
}

func TestDemoRunsEverySample(t *testing.T) {
	code, out, errOut := runCmd(t, "", "demo", "--seed", filepath.Join("..", "events", "seed", "demo.json"), "--events", filepath.Join("..", "events"),
		"--policy", filepath.Join("..", "deploy", "lifecycle-policy.json"))
	if code != exitOK {
		t.Fatalf("demo exit %d; stderr: %s\n%s", code, errOut, out)
	}
	// The event's story: the wait, the policy's keep, the blast radius.
	for _, want := range []string{"waiting for m-bp1web0a1b2c3d4e5f6g: Creating 40%", "action promote (ActionTrail CreateImage ",
		"beyond keep 3, deprecated", "note: blast radius: the plan deprecates 2 of the 5 Available images of family web"} {
		if !strings.Contains(out, want) {
			t.Errorf("the demo does not show %q", want)
		}
	}
	samples, _ := filepath.Glob(filepath.Join("..", "events", "*.json"))
	for _, s := range samples {
		if !strings.Contains(out, "== "+s) {
			t.Errorf("demo did not run %s", s)
		}
	}
	if !strings.Contains(out, "== images after") || strings.Contains(out, "outcome=failed") {
		t.Errorf("unexpected demo output:\n%s", out)
	}
}

func TestCustomRuntimeInvoke(t *testing.T) {
	emu := testenv.StartDemoEmulator(t)
	h := demoHandler(demoSetup{endpoint: emu.URL(), region: "cn-hangzhou"}, &bytes.Buffer{}, &bytes.Buffer{})
	srv := httptest.NewServer(customRuntime(h, newLogger(&bytes.Buffer{}, "error")))
	defer srv.Close()

	post := func(body string, headers map[string]string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/invoke", strings.NewReader(body))
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	deadline := time.Now().Add(20 * time.Second).UnixMilli()
	hdr := map[string]string{"x-fc-request-id": "req-1", "x-fc-function-deadline": itoa(deadline)}

	resp := post(`{"action":"deprecate","imageId":"m-bp1web6h7i8j9k0l1m2n"}`, hdr)
	var rep report.Report
	if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, err %v", resp.StatusCode, err)
	}
	if rep.RequestID != "req-1" || rep.Counts[report.Applied] != 1 {
		t.Fatalf("report %+v", rep)
	}

	// A transient failure with no retry queue cannot be settled: FC must see a
	// function error (404 and x-fc-status) so the event is delivered again.
	emu.SetFaults("DescribeImages", emulator.Faults{FailNext: slices.Repeat([]string{"ServiceUnavailable"}, 1000)})
	hdr["x-fc-function-deadline"] = itoa(time.Now().Add(7 * time.Second).UnixMilli())
	resp = post(`{"action":"activate","imageId":"m-bp1web6h7i8j9k0l1m2n"}`, hdr)
	if resp.StatusCode != http.StatusNotFound || resp.Header.Get("x-fc-status") != "404" {
		t.Fatalf("status %d, x-fc-status %q", resp.StatusCode, resp.Header.Get("x-fc-status"))
	}
	var failure struct {
		ErrorMessage string         `json:"errorMessage"`
		Report       *report.Report `json:"report"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&failure); err != nil || failure.Report == nil || failure.Report.Counts[report.Failed] != 1 {
		t.Fatalf("error body: %+v, %v", failure, err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// Every subcommand answers -h and --help with its own help on stdout, exit 0.
func TestHelpOnEverySubcommand(t *testing.T) {
	cliEnv(t)
	for _, cmd := range []string{"apply", "plan", "demo", "emulator", "serve", "version"} {
		for _, h := range []string{"-h", "--help"} {
			code, out, errOut := runCmd(t, "", cmd, h)
			if code != exitOK || !strings.Contains(out, "usage: image-lifecycle "+cmd) || errOut != "" {
				t.Errorf("%s %s: exit %d, stdout %q, stderr %q; want exit 0 and the help on stdout", cmd, h, code, out, errOut)
			}
		}
	}
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}} {
		if code, out, _ := runCmd(t, "", args...); code != exitOK || !strings.HasPrefix(out, "usage: image-lifecycle COMMAND") {
			t.Errorf("%q: exit %d, output %q", args, code, out)
		}
	}
}

// version and --version print the module version and the VCS revision.
func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, out, _ := runCmd(t, "", args...)
		if code != exitOK || !strings.HasPrefix(out, "image-lifecycle ") || !strings.Contains(out, "revision") {
			t.Errorf("%q: exit %d, output %q", args, code, out)
		}
	}
	info := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/x/image-lifecycle", Version: "v1.2.3"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.time", Value: "2026-11-27T10:00:00Z"},
			{Key: "vcs.modified", Value: "true"}}}
	if got, want := versionLine(info, true), "image-lifecycle v1.2.3, revision 0123456789ab (modified), committed 2026-11-27T10:00:00Z, go1.26.8\n"; got != want {
		t.Errorf("versionLine = %q, want %q", got, want)
	}
	info.Settings = nil
	if got := versionLine(info, true); !strings.Contains(got, "v1.2.3") || !strings.Contains(got, "revision unknown") {
		t.Errorf("without VCS information: %q", got)
	}
}

// A usage error says what was wrong, on stderr, with exit 2.
func TestUsageErrorsSayWhatWasWrong(t *testing.T) {
	cliEnv(t)
	notJSON := filepath.Join(t.TempDir(), "intents.yaml")
	if err := os.WriteFile(notJSON, []byte("action: rotate\nimageFamily: web\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{nil, []string{"usage: image-lifecycle COMMAND"}},
		{[]string{"frobnicate"}, []string{`unknown command "frobnicate"`}},
		{[]string{"apply"}, []string{"apply: missing FILE"}},
		{[]string{"plan", "a.json", "b.json"}, []string{"one FILE", "a.json b.json"}},
		{[]string{"plan", "--output", "yaml", "x.json"}, []string{`"yaml"`, "table", "json"}},
		{[]string{"apply", "--no-such-flag", "x.json"}, []string{"no-such-flag", "image-lifecycle apply -h"}},
		{[]string{"apply", "--max-wait", "0s", "x.json"}, []string{"--max-wait"}},
		{[]string{"plan", notJSON}, []string{notJSON, "is not JSON", "line 1"}},
		{[]string{"version", "extra"}, []string{"version takes no arguments"}},
	} {
		code, out, errOut := runCmd(t, "", tc.args...)
		if code != exitUsage {
			t.Errorf("%q: exit %d, want %d", tc.args, code, exitUsage)
		}
		for _, w := range tc.want {
			if !strings.Contains(errOut, w) {
				t.Errorf("%q: stderr %q does not say %q", tc.args, errOut, w)
			}
		}
		if out != "" {
			t.Errorf("%q: stdout %q, want nothing", tc.args, out)
		}
	}
}

// Flags may come after the file, as with most CLIs.
func TestFlagsAfterTheFile(t *testing.T) {
	cliEnv(t)
	emu := testenv.StartDemoEmulator(t)
	code, out, errOut := runCmd(t, "", "plan", filepath.Join("..", "events", "01-modify.json"), "--endpoint", emu.URL(), "--output", "json")
	if code != exitOK {
		t.Fatalf("exit %d; stderr %s", code, errOut)
	}
	var rep report.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil || rep.Counts[report.Planned] != 1 {
		t.Fatalf("output %q (%v), want a JSON report with one planned message", out, err)
	}
}

// The table says it all: by default no log line repeats it on stderr;
// --verbose (or LOG_LEVEL) brings the JSON log lines back.
func TestLogLinesOnlyWhenAskedFor(t *testing.T) {
	cliEnv(t)
	emu := testenv.StartDemoEmulator(t)
	rejected := filepath.Join("..", "events", "07-rejected.json")
	code, out, errOut := runCmd(t, "", "apply", "--endpoint", emu.URL(), rejected)
	if code != exitMessages || !strings.Contains(out, "outcome=rejected") {
		t.Fatalf("exit %d, output %q", code, out)
	}
	if errOut != "" {
		t.Errorf("stderr repeats the table:\n%s", errOut)
	}
	_, _, errOut = runCmd(t, "", "apply", "--verbose", "--endpoint", emu.URL(), rejected)
	if !strings.Contains(errOut, `"msg":"message settled"`) {
		t.Errorf("--verbose: stderr %q, want the log lines", errOut)
	}
	t.Setenv("LOG_LEVEL", "debug")
	_, _, errOut = runCmd(t, "", "apply", "--endpoint", emu.URL(), rejected)
	if !strings.Contains(errOut, `"msg":"message settled"`) {
		t.Errorf("LOG_LEVEL=debug: stderr %q, want the log lines", errOut)
	}
}

// While a promote waits for a Creating image, stderr shows the image, its
// progress, the next check and when the wait gives up; --max-wait bounds it.
func TestPromoteWaitShowsProgressAndMaxWaitBoundsIt(t *testing.T) {
	cliEnv(t)
	const build = "m-bp1web0a1b2c3d4e5f6g" // Creating at 40% in the seed
	promote := `{"action":"promote","imageId":"` + build + `","attributes":{"imageFamily":"web"}}`

	emu := testenv.StartDemoEmulator(t) // the build stays Creating
	code, out, errOut := runCmd(t, promote, "apply", "--endpoint", emu.URL(), "--max-wait", "1s", "-")
	if code != exitMessages || !strings.Contains(out, "InvalidStatus.ImageIsCreating") {
		t.Fatalf("exit %d, output %q; want the message failed, still Creating", code, out)
	}
	for _, w := range []string{build, "Creating 40%", "giving up", "--max-wait 1s"} {
		if !strings.Contains(errOut, w) {
			t.Errorf("stderr %q does not say %q", errOut, w)
		}
	}
	if img, _ := emu.Image(build); img.Name == "web-2026-11-27" || img.Status != ecsapi.StatusCreating {
		t.Errorf("the image changed: %+v", img)
	}

	// At 95% the next check is 2 s away; the emulator then finishes the build.
	seed := testenv.DemoSeed(t)
	for i := range seed.Images {
		if seed.Images[i].ImageID == build {
			seed.Images[i].Progress = 95
		}
	}
	emu2 := testenv.StartEmulator(t, emulator.Options{Seed: seed, CreatingCalls: 2})
	code, out, errOut = runCmd(t, promote, "apply", "--endpoint", emu2.URL(), "-")
	if code != exitOK || !strings.Contains(out, "outcome=applied") {
		t.Fatalf("exit %d, output %q, stderr %q", code, out, errOut)
	}
	for _, w := range []string{"waiting for " + build, "Creating 95%", "next check in 2s", "gives up at"} {
		if !strings.Contains(errOut, w) {
			t.Errorf("stderr %q does not say %q", errOut, w)
		}
	}
}
