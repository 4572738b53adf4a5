package emulator

import (
	"slices"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
)

// TestAfterWrite: the hook sees every write that changed state, with the image
// before and after and its whole region as written; refused calls and dry runs
// never reach it.
func TestAfterWrite(t *testing.T) {
	t.Parallel()
	type write struct {
		before, after ecsapi.Image
		region        []ecsapi.Image
	}
	var writes []write // the hook runs under the emulator's lock, one call at a time
	seed := modifySeed()
	s := start(t, Options{Seed: seed, AfterWrite: func(before, after ecsapi.Image, region []ecsapi.Image) {
		writes = append(writes, write{before, after, region})
	}})
	c := defaultClient(t, s)
	modify := func(id, status string, dryRun bool) error {
		r := ecs.CreateModifyImageAttributeRequest()
		r.ImageId, r.Status = id, status
		if dryRun {
			r.QueryParams["DryRun"] = "true"
		}
		_, err := c.ModifyImageAttribute(r)
		return err
	}
	if err := modify("m-bp1aaaa", "Deprecated", false); err != nil {
		t.Fatal(err)
	}
	if err := modify("m-bp1shared", "Deprecated", false); err == nil {
		t.Fatal("deprecating a shared image passed")
	}
	if err := modify("m-bp1bbbb", "Deprecated", true); err == nil {
		t.Fatal("a dry run passed")
	}
	s.mu.Lock() // the hook's writes happened before the answer; the lock orders them for -race
	got := slices.Clone(writes)
	s.mu.Unlock()
	if len(got) != 1 {
		t.Fatalf("the hook ran %d times, want once (the refused call and the dry run wrote nothing)", len(got))
	}
	w := got[0]
	if w.before.ImageID != "m-bp1aaaa" || w.before.Status != "Available" || w.after.Status != "Deprecated" {
		t.Errorf("before %s %s, after %s %s; want m-bp1aaaa Available -> Deprecated", w.before.ImageID, w.before.Status, w.after.ImageID, w.after.Status)
	}
	if len(w.region) != len(seed.Images) {
		t.Errorf("the region holds %d images, want the seed's %d", len(w.region), len(seed.Images))
	}
	i := slices.IndexFunc(w.region, func(img ecsapi.Image) bool { return img.ImageID == "m-bp1aaaa" })
	if i < 0 || w.region[i].Status != "Deprecated" {
		t.Errorf("the region does not show m-bp1aaaa Deprecated: %+v", w.region)
	}
}
