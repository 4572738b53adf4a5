package emulator

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
)

func TestStateFileSurvivesRestart(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state.json")
	seed := modifySeed()
	seed.Images[0].LicenseType, seed.Images[0].Architecture = "BYOL", "arm64"
	s := start(t, Options{Seed: seed, StateFile: path})
	if _, err := LoadSeed(path); err != nil {
		t.Fatalf("the state file is not written at start: %v", err)
	}
	c := defaultClient(t, s)
	r := ecs.CreateModifyImageAttributeRequest()
	r.ImageId, r.Status = "m-bp1bbbb", "Deprecated"
	if _, err := c.ModifyImageAttribute(r); err != nil {
		t.Fatal(err)
	}
	add := []string{"2222000022220001"}
	share := ecs.CreateModifyImageSharePermissionRequest()
	share.ImageId, share.AddAccount = "m-bp1aaaa", &add
	if _, err := c.ModifyImageSharePermission(share); err != nil {
		t.Fatal(err)
	}
	want := s.Images()
	_ = s.Close()

	// Restarted with another seed: the saved state wins.
	again := start(t, Options{Seed: seedOf(img("m-bp1other", "other", "", "Available", day0)), StateFile: path})
	if got := again.Images(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after restart:\n got %+v\nwant %+v", got, want)
	}
	if st := again.State(); st.AccountID != seed.AccountID || len(st.Instances) != 1 {
		t.Fatalf("account or instances lost: %+v", st)
	}
	for _, im := range again.State().Images {
		if im.ImageID == "m-bp1aaaa" && (im.LicenseType != "BYOL" || im.Architecture != "arm64" || len(im.SharedWith) != 1) {
			t.Fatalf("state beside the image lost: %+v", im)
		}
	}
	// Shared now, so it cannot be deprecated: the state
	// is the emulator's, not just a list of images.
	r = ecs.CreateModifyImageAttributeRequest()
	r.ImageId, r.Status = "m-bp1aaaa", "Deprecated"
	_, err := defaultClient(t, again).ModifyImageAttribute(r)
	serverError(t, err, "ImageUseShared", 403)
}

func TestStateFileKeepsTheLastWrite(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	seed := seedOf()
	for i := range 20 {
		seed.Images = append(seed.Images, img(fmt.Sprintf("m-bp1s%02d", i), fmt.Sprintf("s-%02d", i), "s", "Available", day0))
	}
	s := start(t, Options{Seed: seed, StateFile: path})
	var wg sync.WaitGroup
	for i := range 20 {
		c := defaultClient(t, s) // one each: the SDK's client is not safe for concurrent calls
		wg.Go(func() {
			r := ecs.CreateModifyImageAttributeRequest()
			r.ImageId, r.Description = fmt.Sprintf("m-bp1s%02d", i), fmt.Sprintf("written %02d", i)
			if _, err := c.ModifyImageAttribute(r); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	saved, err := LoadSeed(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, im := range saved.Images {
		if want := "written " + im.ImageID[len(im.ImageID)-2:]; im.Description != want {
			t.Errorf("%s: saved %q, want %q", im.ImageID, im.Description, want)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temporary files left: %v", entries)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
		t.Fatalf("mode %v", fi.Mode())
	}
}

func TestStateFileSavesProgress(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state.json")
	creating := img("m-bp1new", "web-new", "web", "Creating", day0)
	creating.Progress = 40
	s := start(t, Options{Seed: seedOf(creating), StateFile: path, CreatingCalls: 1})
	r := ecs.CreateDescribeImagesRequest()
	r.Status = "Creating,Available"
	if _, err := defaultClient(t, s).DescribeImages(r); err != nil { // this call finishes the build
		t.Fatal(err)
	}
	saved, err := LoadSeed(path)
	if err != nil || saved.Images[0].Status != "Available" || saved.Images[0].Progress != 100 {
		t.Fatalf("saved %v %+v", err, saved)
	}
}

func TestStateFileProblems(t *testing.T) {
	t.Parallel()
	if _, err := New(Options{StateFile: filepath.Join(t.TempDir(), "no-such-dir", "state.json")}); err == nil {
		t.Error("a state file that cannot be written was accepted")
	}
	bad := filepath.Join(t.TempDir(), "state.json")
	if err := os.WriteFile(bad, []byte(`{"images":[{"imageId":"m-1","bogus":1}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Options{StateFile: bad}); err == nil {
		t.Error("a malformed state file was accepted")
	}
	// A write that fails later is answered, not swallowed: here the path
	// became a directory, which a rename cannot replace (whoever runs it).
	path := filepath.Join(t.TempDir(), "state.json")
	s := start(t, Options{Seed: modifySeed(), StateFile: path})
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(path, "in-the-way"), 0o755); err != nil {
		t.Fatal(err)
	}
	r := ecs.CreateModifyImageAttributeRequest()
	r.ImageId, r.Description = "m-bp1aaaa", "cannot be saved"
	_, err := defaultClient(t, s).ModifyImageAttribute(r)
	if se := serverError(t, err, "InternalError", 500); !strings.Contains(se.Message(), "could not save its state") {
		t.Fatalf("message %q", se.Message())
	}
}
