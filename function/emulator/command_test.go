package emulator

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
)

const demoSeed = "../../events/seed/demo.json"

func TestMainServesSeedUntilCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- Main(ctx, []string{"--listen", "127.0.0.1:0", "--seed", demoSeed,
			"--access-key-id", "demo-ak", "--access-key-secret", "demo-sk", "--creating-calls", "2"}, pw)
		_ = pw.Close()
	}()
	var endpoint string
	var printed []string
	sc := bufio.NewScanner(pr)
	for endpoint == "" && sc.Scan() {
		printed = append(printed, sc.Text())
		if v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "ECS_ENDPOINT="); ok {
			endpoint = v
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	out := strings.Join(printed, "\n")
	for _, want := range []string{"demo-ak", "demo-sk", "cn-hangzhou", "14 images"} {
		if !strings.Contains(out, want) {
			t.Fatalf("banner lacks %q:\n%s", want, out)
		}
	}
	c, err := ecs.NewClientWithAccessKey("cn-hangzhou", "demo-ak", "demo-sk")
	if err != nil {
		t.Fatal(err)
	}
	c.Domain = strings.TrimPrefix(endpoint, "http://")
	r := ecs.CreateDescribeImagesRequest()
	r.ImageFamily, r.ImageOwnerAlias, r.Status = "web", "self", "Creating,Available,Deprecated"
	r.PageSize = requests.NewInteger(100)
	resp, err := c.DescribeImages(r)
	if err != nil {
		t.Fatal(err)
	}
	if resp.TotalCount != 5 || resp.Images.Image[0].ImageId != "m-bp1web0a1b2c3d4e5f6g" || resp.Images.Image[0].Progress != "40%" {
		t.Fatalf("web family: %+v", resp.Images.Image)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Main: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Main did not return after cancel")
	}
}

func TestMainRejectsBadFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"--listen", "127.0.0.1:0", "--seed", "no-such-file.json"},
		{"--listen", "127.0.0.1:0", "--bogus"},
		{"--listen", "127.0.0.1:0", "extra"},
		{"--listen", "127.0.0.1:0", "--access-key-id", ""},
	} {
		if err := Main(context.Background(), args, io.Discard); err == nil {
			t.Errorf("Main(%q) succeeded", args)
		}
	}
}

func TestDemoSeed(t *testing.T) {
	t.Parallel()
	seed, err := LoadSeed(demoSeed)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	families := map[string][]string{}
	for _, im := range s.Images() {
		families[im.Family] = append(families[im.Family], im.Status)
	}
	want := map[string]string{
		"web":   "Available,Available,Available,Available,Creating",
		"api":   "Available,Available,Available",
		"base":  "Deprecated,Available",
		"batch": "Available",
		"":      "Available,Creating,Available", // the system image, the copy in cn-shanghai, the import
	}
	for fam, statuses := range want {
		if got := strings.Join(families[fam], ","); got != statuses {
			t.Errorf("family %q: %s, want %s", fam, got, statuses)
		}
	}
	web, _ := s.Image("m-bp1web0a1b2c3d4e5f6g")
	api, _ := s.Image("m-bp1api5d6e7f8g9h0i1")
	keep, _ := s.Image("m-bp1web3o4p5q6r7s8t9u")
	if web.Progress != 40 || api.Usage != "instance" || keep.Tags["lifecycle:keep"] != "true" || web.RegionID != "cn-hangzhou" {
		t.Fatalf("demo seed details: %+v %+v %+v", web, api, keep)
	}
}

func TestParseSeedRejects(t *testing.T) {
	t.Parallel()
	for name, doc := range map[string]string{
		"unknown field": `{"regionId":"cn-hangzhou","images":[{"imageId":"m-1","imageNmae":"x"}]}`,
		"no image id":   `{"images":[{"imageName":"x"}]}`,
		"duplicate id":  `{"images":[{"imageId":"m-1"},{"imageId":"m-1"}]}`,
		"bad instance":  `{"instances":[{"instanceId":"i-1"}]}`,
		"not json":      `{`,
	} {
		if _, err := ParseSeed([]byte(doc)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	s, err := ParseSeed([]byte(`{"regionId":"cn-shanghai","images":[{"imageId":"m-1","status":"Creating"}]}`))
	if err != nil || s.Region != "cn-shanghai" || s.Images[0].Status != "Creating" {
		t.Fatalf("valid seed: %v %+v", err, s)
	}
}

// runMain starts Main with args and returns the endpoint it prints, the
// lines it printed so far, and a stop function that returns Main's error.
func runMain(t *testing.T, args ...string) (endpoint string, out *syncBuffer, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	out = &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- Main(ctx, append([]string{"--listen", "127.0.0.1:0"}, args...), pw)
		_ = pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	for endpoint == "" && sc.Scan() {
		_, _ = out.Write([]byte(sc.Text() + "\n"))
		if v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "ECS_ENDPOINT="); ok {
			endpoint = v
		}
	}
	copied := make(chan struct{})
	go func() { _, _ = io.Copy(out, pr); close(copied) }()
	stopped := false
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			<-copied
			return err
		case <-time.After(5 * time.Second):
			return errors.New("Main did not return after cancel")
		}
	}
	t.Cleanup(func() { _ = stop() })
	if endpoint == "" {
		t.Fatalf("no endpoint printed:\n%s (error %v)", out.String(), stop())
	}
	return endpoint, out, stop
}

func TestMainLogStateAndFaults(t *testing.T) {
	t.Parallel()
	state := filepath.Join(t.TempDir(), "state.json")
	endpoint, out, stop := runMain(t, "--seed", demoSeed, "--state", state, "--log",
		"--faults", "DescribeImages:fail-next=Throttling.User")
	c, err := ecs.NewClientWithAccessKey("cn-hangzhou", DefaultKey, DefaultKey)
	if err != nil {
		t.Fatal(err)
	}
	c.Domain = strings.TrimPrefix(endpoint, "http://")
	_, err = c.DescribeImages(ecs.CreateDescribeImagesRequest())
	serverError(t, err, "Throttling.User", 400)
	r := ecs.CreateModifyImageAttributeRequest()
	r.ImageId, r.Status = "m-bp1a2b3c4d5e6f7g8h9i", "Deprecated"
	if _, err := c.ModifyImageAttribute(r); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(endpoint + "/_emulator/calls")
	if err != nil {
		t.Fatal(err)
	}
	var view CallView
	_ = json.NewDecoder(resp.Body).Decode(&view)
	resp.Body.Close()
	if view.Calls["DescribeImages"] != 1 || len(view.ModifyImageAttribute) != 1 {
		t.Fatalf("calls view: %+v", view)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"state saved to", "faults             DescribeImages:fail-next=Throttling.User", "/_emulator/calls",
		"v1 DescribeImages -> 400 Throttling.User", "v1 ModifyImageAttribute ImageId=m-bp1a2b3c4d5e6f7g8h9i Status=Deprecated -> 200 OK"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	// A second session starts from the saved state, not from the seed.
	endpoint, out, _ = runMain(t, "--seed", demoSeed, "--state", state)
	if !strings.Contains(out.String(), "(saved state)") {
		t.Errorf("banner:\n%s", out.String())
	}
	c.Domain = strings.TrimPrefix(endpoint, "http://")
	r = ecs.CreateModifyImageAttributeRequest()
	r.ImageId, r.Status = "m-bp1a2b3c4d5e6f7g8h9i", "Deprecated"
	_, err = c.ModifyImageAttribute(r)
	serverError(t, err, "ImageStatus.NotAvailable", 403) // already Deprecated in the first session
}

func TestMainHelp(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := Main(context.Background(), []string{"-h"}, &out); err != nil {
		t.Fatalf("-h: %v", err)
	}
	for _, want := range []string{"ACS3-HMAC-SHA256", "HMAC-SHA1", "x-acs-security-token", "UnsupportedParameter",
		"--faults", "fail-next", "--log", "GET /_emulator/calls", "--state FILE", "-listen"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %q", want)
		}
	}
}

func TestParseFaults(t *testing.T) {
	t.Parallel()
	var f Faults
	action, err := ParseFaults("ModifyImageAttribute:rate-limit=5,fail-next=Throttling.User+reset+slow,unavailable=0.1,internal=0.05,bad-gateway=0.01,reset=0.02,slow=0.03,seed=7", &f)
	want := Faults{RateLimit: 5, FailNext: []string{"Throttling.User", "reset", "slow"}, Unavailable: 0.1, Internal: 0.05,
		BadGateway: 0.01, Reset: 0.02, Slow: 0.03, SlowDelay: defaultSlowDelay, RandSeed: 7}
	if err != nil || action != "ModifyImageAttribute" || fmt.Sprint(f) != fmt.Sprint(want) {
		t.Fatalf("got %q %+v %v", action, f, err)
	}
	f = Faults{}
	if action, err := ParseFaults("slow=1,slow-delay=2s", &f); err != nil || action != "" || f.SlowDelay != 2*time.Second {
		t.Fatalf("every action: %q %+v %v", action, f, err)
	}
	for _, bad := range []string{"unavailable=2", "reset=0.6,slow=0.6", "rate-limit=-1", "colour=red", "slow", "slow-delay=soon", "X:"} {
		if _, err := ParseFaults(bad, &Faults{}); err == nil {
			t.Errorf("ParseFaults(%q) accepted", bad)
		}
	}
	if err := Main(context.Background(), []string{"--faults", "reset=0.1", "--faults", "reset=0.2"}, io.Discard); err == nil {
		t.Error("two --faults for every action accepted")
	}
}
