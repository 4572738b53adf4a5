package emulator

import (
	"bufio"
	"context"
	"io"
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
	for _, want := range []string{"demo-ak", "demo-sk", "cn-hangzhou", "12 images"} {
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
		"":      "Available",
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
