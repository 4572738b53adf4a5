package e2e

import (
	"encoding/json"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/report"
)

// want is what one message of a sample must end as.
type want struct {
	id      string // "" = not checked (a generated sha256 id)
	outcome report.Outcome
	code    string
}

// sampleRun is one file of events/ and its messages, in order.
type sampleRun struct {
	file     string
	messages []want
}

// demoSamples are events/*.json in name order, each with the outcomes its
// text asks for against events/seed/demo.json, worked out by hand:
//
// The function runs with deploy/lifecycle-policy.json, as s.yaml deploys it.
//
//	01 modify m-bp1api8c9d0e1f2g3h4i: new description, NVMe supported, IMDSv2 -> applied.
//	02 ActionTrail CreateImage of the web build (Creating): it joins web with
//	   the policy's attributes (NVMe supported, IMDSv2; UEFI already) and keep
//	   3: the build, web-2026-11-20 and web-2026-11-13 stay, web-2026-11-06
//	   and web-2026-10-30 are deprecated (2 of 5: web's blast radius allows
//	   2) -> applied.
//	02 promote the same build from the pipeline: name and description; its
//	   own keep 2 finds nothing more to deprecate (web-2026-11-13 is tagged
//	   lifecycle:keep=true) -> applied.
//	03 rotate api and batch, keep 1, minAge 168h: api keeps api-2026-11-24,
//	   skips api-2026-11-12 (shared), deprecates api-2026-11-02; batch has one
//	   image -> applied.
//	04 rollback base: base-2026-09-15 Available again, then base-2026-10-15
//	   Deprecated -> applied.
//	05 deprecate the only Available batch image: the family floor refuses -> unchanged.
//	06 activate web-2026-10-30 (deprecated by 02) -> applied.
//	07 three bad intents -> dead-lettered with the API's codes (imageName
//	   starting with "aliyun"; an unknown field; IMDS v2 back to v1).
var demoSamples = []sampleRun{
	{"01-modify.json", []want{{"ops-1187-api-metadata", report.Applied, ""}}},
	{"02-actiontrail-createimage.json", []want{{"2f8c6a14-9b3e-4d07-a5c1-7e2d9f4b8a63", report.Applied, ""}}},
	{"02-promote-post-build.json", []want{{"C6DB60D1574661357FA2272774451A02", report.Applied, ""}}},
	{"03-rotate-timer.json", []want{{"timer:nightly-rotation:2026-11-27T03:00:00Z:0", report.Applied, ""}}},
	{"04-rollback.json", []want{{"4d9c1a7e-2b3f-4e5a-9c8d-7e6f5a4b3c2d", report.Applied, ""}}},
	{"05-deprecate.json", []want{{"ops-1190-retire-batch", report.Unchanged, ""}}},
	{"06-activate.json", []want{{"ops-1191-restore-web-1030", report.Applied, ""}}},
	{"07-rejected.json", []want{
		{"", report.DeadLettered, "InvalidImageName.Malformed"},
		{"", report.DeadLettered, "InvalidParameter.UnknownField"},
		{"", report.DeadLettered, "InvalidOperation.FeaturesImdsSupportNotMatch"},
	}},
}

// imageWant is the part of an image's final state the samples decide.
type imageWant struct {
	status, name, family, description, nvme, imds string
}

// demoFinal is every image after all samples, from the same reasoning.
var demoFinal = map[string]imageWant{
	"m-bp1a2b3c4d5e6f7g8h9i":                {"Available", "web-2026-10-30", "web", "web server, nginx 1.26, weekly build", "supported", "v2"},
	"m-bp1web6h7i8j9k0l1m2n":                {"Deprecated", "web-2026-11-06", "web", "web server, nginx 1.26, weekly build", "supported", "v2"},
	"m-bp1web3o4p5q6r7s8t9u":                {"Available", "web-2026-11-13", "web", "web server, pinned for the November release audit", "supported", "v2"},
	"m-bp1web9v0w1x2y3z4a5b":                {"Available", "web-2026-11-20", "web", "web server, nginx 1.27, weekly build", "supported", "v2"},
	buildImage:                              {"Available", "web-2026-11-27", "web", "web tier, packer build 412 of commit 9f3c2e1", "supported", "v2"},
	"m-bp1api8c9d0e1f2g3h4i":                {"Deprecated", "api-2026-11-02", "api", "API server base, Nov 2 build; NVMe and IMDSv2 verified by ops-1187", "supported", "v2"},
	"m-bp1api2j3k4l5m6n7o8p":                {"Available", "api-2026-11-12", "api", "api server, shared with the partner account for testing", "supported", "v2"},
	"m-bp1api5d6e7f8g9h0i1":                 {"Available", "api-2026-11-24", "api", "api server, go 1.26 runtime", "supported", "v2"},
	"m-bp1base7h8i9j0k1l2m":                 {"Available", "base-2026-09-15", "base", "hardened Alibaba Cloud Linux 3 base", "supported", "v2"},
	"m-bp1base1a2b3c4d5e6f":                 {"Deprecated", "base-2026-10-15", "base", "hardened Alibaba Cloud Linux 3 base", "supported", "v2"},
	"m-bp1batch3c4d5e6f7g8":                 {"Available", "batch-2026-11-10", "batch", "batch worker, spark 3.5", "supported", "v1"},
	"aliyun_3_x64_20G_alibase_20261020.vhd": {"Available", "aliyun_3_x64_20G_alibase_20261020.vhd", "", "Alibaba Cloud Linux 3.2104 LTS 64 bit", "supported", "v2"},
	// Untouched: no sample names them (the ActionTrail samples of triggers/ do).
	"m-bp1base9z8y7x6w5v4u3": {"Available", "base-import-ubuntu-2404", "", "Ubuntu 24.04 base, imported from OSS", "", ""},
	"m-uf6web2c3d4e5f6g7h8i": {"Creating", "web-2026-11-20-sh", "", "copy of web-2026-11-20 for the Shanghai pool", "supported", "v2"},
}

// TestSamplesGo1 feeds every sample to the binary under the go1 runtime.
func TestSamplesGo1(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{creatingCalls: 1, policy: true})
	runSamples(t, w, startGo1(t, w))
}

// TestSamplesServe feeds every sample to the binary as a custom runtime.
func TestSamplesServe(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{creatingCalls: 1, policy: true})
	addr := freeAddr(t)
	runSamples(t, w, startServe(t, serveCommand(w, addr), addr))
}

// TestSamplesServeListenPort: without --listen, serve listens on
// $FC_CUSTOM_LISTEN_PORT (on every interface, as FC requires).
func TestSamplesServeListenPort(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{creatingCalls: 1, policy: true})
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	runSamples(t, w, startServe(t, serveCommand(w, "", "FC_CUSTOM_LISTEN_PORT="+port), addr))
}

// TestSamplesBootstrap starts the function through the repository's
// bootstrap script, as the custom runtime does.
func TestSamplesBootstrap(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{creatingCalls: 1, policy: true})
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	runSamples(t, w, startServe(t, bootstrapCommand(t, w, port), addr))
}

func runSamples(t *testing.T, w *world, door frontDoor) {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(repoRoot, "events", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	var files []string
	for _, n := range names {
		files = append(files, filepath.Base(n))
	}
	var listed []string
	for _, s := range demoSamples {
		listed = append(listed, s.file)
	}
	if !slices.Equal(files, listed) {
		t.Fatalf("events/*.json is %v, the test knows %v: add the new sample's expectations", files, listed)
	}

	// Dead letters the reports announce, by their DLQ message id.
	announced := map[string]report.Message{}
	for _, s := range demoSamples {
		start := time.Now()
		r := door.invoke(t, call{payload: sample(t, s.file)})
		if r.isError {
			t.Fatalf("%s: invocation error %s: %s", s.file, r.errorType, r.errorMessage)
		}
		t.Logf("%s: %v", s.file, time.Since(start).Round(time.Millisecond))
		checkReport(t, s.file, r, s.messages)
		noSecrets(t, s.file+" report", string(r.raw))
		for _, m := range r.report.Messages {
			if m.Outcome == report.DeadLettered {
				announced[m.DeadLetterID] = m
			}
		}
	}
	checkImages(t, w, demoFinal)

	// Every dead-lettered message is in the DLQ, under the id its report
	// gives, with its own id, code and body; nothing was deferred.
	checkLetters(t, w, announced)
	if n := len(w.mns.Messages(retryQueue)); n != 0 {
		t.Errorf("%d messages in the retry queue, want none", n)
	}
	// The credential scan at the end of the test must read the real logs:
	// one line per settled message, at debug level everything there is.
	// The process has written them before answering, but the pipe into the
	// test may lag behind, hence the (bounded) wait.
	want := 0
	for _, s := range demoSamples {
		want += len(s.messages)
	}
	if !waitOutput(door, `"msg":"message settled"`, want, 5*time.Second) {
		t.Errorf("the process output has fewer than %d \"message settled\" lines:\n%s", want, door.output())
	}
}

// waitOutput reports whether door's output holds n times substr within limit.
func waitOutput(door frontDoor, substr string, n int, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for strings.Count(door.output(), substr) < n {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// checkLetters matches the DLQ's messages one to one with the dead-lettered
// messages of the reports (by DLQ message id).
func checkLetters(t *testing.T, w *world, announced map[string]report.Message) {
	t.Helper()
	letters := w.letters(t)
	if len(letters) != len(announced) {
		t.Errorf("%d dead letters in %s, the reports announced %d", len(letters), deadLetterQueue, len(announced))
	}
	for _, l := range letters {
		m, ok := announced[l.mnsID]
		if !ok {
			t.Errorf("dead letter %s (%s) is in no report", l.mnsID, l.Code)
			continue
		}
		if l.MessageID != m.ID || l.Code != m.Code || !json.Valid(l.OriginalBody) || len(l.OriginalBody) == 0 {
			t.Errorf("dead letter %s: message %q code %q body %s; the report says message %q code %q",
				l.mnsID, l.MessageID, l.Code, l.OriginalBody, m.ID, m.Code)
		}
	}
}

// checkReport checks the counts add up and each message's outcome, in order.
func checkReport(t *testing.T, name string, r result, wants []want) {
	t.Helper()
	rep := r.report
	if rep == nil {
		t.Fatalf("%s: no report", name)
	}
	sum := 0
	for _, n := range rep.Counts {
		sum += n
	}
	if rep.Received != sum || rep.Received != len(rep.Messages) {
		t.Errorf("%s: received %d, counts sum to %d, %d messages listed", name, rep.Received, sum, len(rep.Messages))
	}
	if rep.Received != len(wants) {
		t.Fatalf("%s: received %d messages, want %d\n%s", name, rep.Received, len(wants), r.raw)
	}
	if rep.RequestID != r.requestID {
		t.Errorf("%s: report request id %q, want the invocation's %q", name, rep.RequestID, r.requestID)
	}
	for i, wm := range wants {
		m := rep.Messages[i]
		if (wm.id != "" && m.ID != wm.id) || m.Outcome != wm.outcome || m.Code != wm.code {
			defer t.Logf("%s report:\n%s", name, r.raw)
			t.Errorf("%s message %d: id %q outcome %s code %q (%s), want id %q outcome %s code %q",
				name, i, m.ID, m.Outcome, m.Code, m.Error, wm.id, wm.outcome, wm.code)
		}
		if m.Outcome == report.DeadLettered && m.DeadLetterID == "" {
			t.Errorf("%s message %d: dead-lettered without the DLQ message id", name, i)
		}
	}
}

func checkImages(t *testing.T, w *world, wants map[string]imageWant) {
	t.Helper()
	images := w.emu.Images()
	if len(images) != len(wants) {
		t.Errorf("%d images in the emulator, want %d", len(images), len(wants))
	}
	for _, img := range images {
		wi, ok := wants[img.ImageID]
		if !ok {
			t.Errorf("unexpected image %s", img.ImageID)
			continue
		}
		if got := stateOf(img); got != wi {
			t.Errorf("image %s:\n got %+v\nwant %+v", img.ImageID, got, wi)
		}
	}
}

func stateOf(img ecsapi.Image) imageWant {
	return imageWant{img.Status, img.Name, img.Family, img.Description, img.NvmeSupport, img.ImdsSupport}
}
