package lifecycle

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
)

const testRegion = "cn-hangzhou"

// t0 is the creation time of image 0 in the tests; image i is i hours later.
var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// fakeImage is an image of the fake, with the state ECS keeps beside it.
type fakeImage struct {
	ecsapi.Image
	readyAt   time.Time // a Creating image becomes Available then
	shares    []string
	instances int
}

// fakeECS is an in-memory ecsapi.API with the rules the engine relies on:
// the status filter and its Available default, owner filter, families,
// paging at most 100, at most 100 ImageIds, status transitions and their
// error codes, shares, instances. Each call is serialised; with interleave
// set, goroutines are let in between calls. Every write checks that no family
// goes below floor.
type fakeECS struct {
	mu         sync.Mutex
	images     map[string]*fakeImage
	calls      map[string]int
	describes  []ecsapi.DescribeImagesInput // every DescribeImages asked, in order
	writes     []string                     // "m-1 Status=Deprecated", in order
	floor      int
	violations []string
	interleave bool
	now        func() time.Time
	// afterWrite, when set, runs after each ModifyImageAttribute with the
	// fake locked: a test plays another run writing in between two steps.
	afterWrite func(f *fakeECS, id string)
	// beforeWrite, when set, runs before each ModifyImageAttribute with the
	// fake locked: another run's write lands between a check and this write.
	beforeWrite func(f *fakeECS, id string)
	// unknownSharing leaves DescribeImages' IsSelfShared out (as for images
	// of others): the engine must then ask DescribeImageSharePermission.
	unknownSharing bool
}

func newFake(imgs ...*fakeImage) *fakeECS {
	f := &fakeECS{images: map[string]*fakeImage{}, calls: map[string]int{}, floor: 1, now: time.Now}
	for _, img := range imgs {
		f.images[img.ImageID] = img
	}
	return f
}

// img makes an own image of family created `hour` hours after t0.
func img(id, family, status string, hour int) *fakeImage {
	return &fakeImage{Image: ecsapi.Image{
		ImageID: id, RegionID: testRegion, Name: "name-" + id, Family: family, Status: status, Progress: 100,
		CreationTime: t0.Add(time.Duration(hour) * time.Hour), OwnerAlias: "self", ImdsSupport: "v1",
		BootMode: "BIOS", NvmeSupport: "unsupported", Usage: "none",
	}}
}

func (f *fakeECS) enter(action string) func() {
	if f.interleave {
		runtime.Gosched()
		time.Sleep(time.Duration(rand.IntN(200)) * time.Microsecond)
	}
	f.mu.Lock()
	f.calls[action]++
	return f.mu.Unlock
}

func (f *fakeECS) count(action string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[action]
}

func (f *fakeECS) writeLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.writes)
}

func (f *fakeECS) status(id string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.settle(f.images[id])
	return f.images[id].Status
}

// available lists a family's Available images, oldest first.
func (f *fakeECS) available(family string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.availableLocked(family)
}

func (f *fakeECS) availableLocked(family string) []string {
	var imgs []ecsapi.Image
	for _, im := range f.images {
		f.settle(im)
		if im.Family == family && im.Status == ecsapi.StatusAvailable {
			imgs = append(imgs, im.Image)
		}
	}
	sortImages(imgs)
	ids := make([]string, len(imgs))
	for i, im := range imgs {
		ids[i] = im.ImageID
	}
	return ids
}

// settle finishes a Creating image whose time has come; progress grows with time.
func (f *fakeECS) settle(im *fakeImage) {
	if im == nil || im.Status != ecsapi.StatusCreating || im.readyAt.IsZero() {
		return
	}
	left := im.readyAt.Sub(f.now())
	if left <= 0 {
		im.Status, im.Progress = ecsapi.StatusAvailable, 100
		return
	}
	im.Progress = max(0, 100-int(left/(10*time.Millisecond)))
}

func apiErr(action, code string, status int) error {
	return &ecsapi.Error{Action: action, Code: code, HTTPStatus: status, RequestID: "fake", Message: code}
}

func (f *fakeECS) DescribeImages(_ context.Context, in ecsapi.DescribeImagesInput) (ecsapi.ImagePage, error) {
	defer f.enter("DescribeImages")()
	f.describes = append(f.describes, in)
	if len(in.ImageIDs) > 100 || in.PageSize > 100 {
		return ecsapi.ImagePage{}, apiErr("DescribeImages", "InvalidParameter", http.StatusBadRequest)
	}
	statuses := in.Statuses
	if len(statuses) == 0 {
		statuses = []string{ecsapi.StatusAvailable}
	}
	var match []ecsapi.Image
	for _, im := range f.images {
		f.settle(im)
		switch {
		case im.RegionID != in.RegionID,
			len(in.ImageIDs) > 0 && !slices.Contains(in.ImageIDs, im.ImageID),
			in.Family != "" && im.Family != in.Family,
			!slices.Contains(statuses, im.Status),
			in.OwnerAlias != "" && im.OwnerAlias != in.OwnerAlias:
			continue
		}
		c := im.Image
		c.Tags = maps.Clone(im.Tags)
		c.SelfShared, c.IsPublic = f.sharing(im)
		match = append(match, c)
	}
	// The API lists newest first.
	slices.SortFunc(match, func(a, b ecsapi.Image) int { return compareImages(b, a) })
	size, page := in.PageSize, max(in.PageNumber, 1)
	if size == 0 {
		size = 10
	}
	lo, hi := min((page-1)*size, len(match)), min(page*size, len(match))
	return ecsapi.ImagePage{Images: match[lo:hi], TotalCount: len(match), PageNumber: page, PageSize: size, RequestID: "fake"}, nil
}

// sharing is what DescribeImages says of im's shares, as ECS does: IsSelfShared
// for accounts, IsPublic for "all".
func (f *fakeECS) sharing(im *fakeImage) (ecsapi.Sharing, bool) {
	public := im.IsPublic || slices.Contains(im.shares, "all")
	switch {
	case f.unknownSharing:
		return ecsapi.SharingUnknown, public
	case slices.ContainsFunc(im.shares, func(a string) bool { return a != "all" }):
		return ecsapi.SharingAccounts, public
	}
	return ecsapi.SharingNone, public
}

func (f *fakeECS) ModifyImageAttribute(_ context.Context, in ecsapi.ModifyInput) (string, error) {
	defer f.enter("ModifyImageAttribute")()
	const a = "ModifyImageAttribute"
	if f.beforeWrite != nil {
		f.beforeWrite(f, in.ImageID)
	}
	im := f.images[in.ImageID]
	if im == nil || im.RegionID != in.RegionID {
		return "", apiErr(a, "InvalidImageId.NotFound", http.StatusNotFound)
	}
	f.settle(im)
	c := in.Changes
	switch {
	case im.OwnerAlias != "self":
		return "", apiErr(a, "InvalidOperation.PublicImageUnsupported", http.StatusForbidden)
	case im.Status == ecsapi.StatusCreating:
		return "", apiErr(a, "InvalidStatus.ImageIsCreating", http.StatusForbidden)
	case c.Status == ecsapi.StatusDeprecated && len(im.shares) > 0:
		return "", apiErr(a, "ImageUseShared", http.StatusForbidden)
	case c.Status == ecsapi.StatusAvailable && im.Status != ecsapi.StatusDeprecated:
		return "", apiErr(a, "ImageStatus.NotDeprecated", http.StatusForbidden)
	case c.ImdsSupport == "v1" && im.ImdsSupport == "v2":
		return "", apiErr(a, "InvalidOperation.FeaturesImdsSupportNotMatch", http.StatusForbidden)
	case c.BootMode != "" && c.BootMode != im.BootMode && im.instances > 0:
		return "", apiErr(a, "OperationDeined.ImageUsingByInstance", http.StatusForbidden)
	}
	if in.DryRun {
		return "", apiErr(a, "DryRunOperation", http.StatusBadRequest)
	}
	families := []string{im.Family, c.Family}
	before := map[string]int{}
	for _, fam := range families {
		before[fam] = len(f.availableLocked(fam))
	}
	var log []string
	set := func(field string, dst *string, v string) {
		if v != "" {
			*dst = v
			log = append(log, field+"="+v)
		}
	}
	set("ImageName", &im.Name, c.Name)
	set("Description", &im.Description, c.Description)
	set("ImageFamily", &im.Family, c.Family)
	set("BootMode", &im.BootMode, c.BootMode)
	var license string
	set("LicenseType", &license, c.LicenseType)
	set("Status", &im.Status, c.Status)
	set("NvmeSupport", &im.NvmeSupport, c.NvmeSupport)
	set("ImdsSupport", &im.ImdsSupport, c.ImdsSupport)
	f.writes = append(f.writes, in.ImageID+" "+strings.Join(log, " "))
	for _, fam := range families {
		if n := len(f.availableLocked(fam)); fam != "" && n < f.floor && n < before[fam] {
			f.violations = append(f.violations, fmt.Sprintf("family %s went to %d Available (floor %d) on %s", fam, n, f.floor, in.ImageID))
		}
	}
	if f.afterWrite != nil {
		f.afterWrite(f, in.ImageID)
	}
	return fmt.Sprintf("req-%d", len(f.writes)), nil
}

func (f *fakeECS) DescribeImageSharePermission(_ context.Context, region, id string) ([]string, error) {
	defer f.enter("DescribeImageSharePermission")()
	im := f.images[id]
	if im == nil || im.RegionID != region {
		return nil, apiErr("DescribeImageSharePermission", "InvalidImageId.NotFound", http.StatusNotFound)
	}
	return slices.Clone(im.shares), nil
}

func (f *fakeECS) RemoveImageShares(_ context.Context, region, id string, accounts []string) error {
	defer f.enter("RemoveImageShares")()
	im := f.images[id]
	if im == nil || im.RegionID != region {
		return apiErr("ModifyImageSharePermission", "InvalidImageId.NotFound", http.StatusNotFound)
	}
	if len(accounts) > 10 {
		return apiErr("ModifyImageSharePermission", "InvalidParameter", http.StatusBadRequest)
	}
	im.shares = slices.DeleteFunc(im.shares, func(a string) bool { return slices.Contains(accounts, a) })
	f.writes = append(f.writes, id+" Unshare="+strings.Join(accounts, ","))
	return nil
}

func (f *fakeECS) CountInstancesUsingImage(_ context.Context, region, id string) (int, error) {
	defer f.enter("CountInstancesUsingImage")()
	im := f.images[id]
	if im == nil || im.RegionID != region {
		return 0, nil
	}
	return im.instances, nil
}

var _ ecsapi.API = (*fakeECS)(nil)
