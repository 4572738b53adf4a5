package emulator

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
)

func TestDescribeImagesPaging(t *testing.T) {
	t.Parallel()
	seed := seedOf()
	for i := range 150 {
		seed.Images = append(seed.Images, img(fmt.Sprintf("m-bp1p%03d", i), fmt.Sprintf("p-%03d", i), "p", "Available", day0.Add(time.Duration(i)*time.Hour)))
	}
	s := start(t, Options{Seed: seed})
	c := defaultClient(t, s)
	var ids []string
	for pageNo := 1; pageNo <= 3; pageNo++ {
		r := ecs.CreateDescribeImagesRequest()
		r.ImageOwnerAlias, r.PageSize, r.PageNumber = "self", requests.NewInteger(100), requests.NewInteger(pageNo)
		resp, err := c.DescribeImages(r)
		if err != nil {
			t.Fatal(err)
		}
		if resp.TotalCount != 150 || resp.PageNumber != pageNo || resp.PageSize != 100 || resp.RegionId != testRegion {
			t.Fatalf("page %d: total %d number %d size %d region %s", pageNo, resp.TotalCount, resp.PageNumber, resp.PageSize, resp.RegionId)
		}
		if want := []int{100, 50, 0}[pageNo-1]; len(resp.Images.Image) != want {
			t.Fatalf("page %d has %d images, want %d", pageNo, len(resp.Images.Image), want)
		}
		for _, im := range resp.Images.Image {
			ids = append(ids, im.ImageId)
		}
	}
	if ids[0] != "m-bp1p149" || ids[149] != "m-bp1p000" {
		t.Fatalf("not newest first: first %s last %s", ids[0], ids[149])
	}
	// Default page size is 10.
	resp, err := c.DescribeImages(ecs.CreateDescribeImagesRequest())
	if err != nil || len(resp.Images.Image) != 10 || resp.PageSize != 10 || resp.PageNumber != 1 {
		t.Fatalf("default paging: %v %+v", err, resp)
	}
	for _, bad := range []struct{ number, size string }{{"0", "10"}, {"1", "101"}, {"1", "0"}, {"x", "10"}} {
		r := ecs.CreateDescribeImagesRequest()
		r.PageNumber, r.PageSize = requests.Integer(bad.number), requests.Integer(bad.size)
		_, err := c.DescribeImages(r)
		serverError(t, err, "InvalidParameter", 400)
	}
}

func TestDescribeImagesFilters(t *testing.T) {
	t.Parallel()
	keep := img("m-bp1keep", "web-3", "web", "Available", day0.Add(3*time.Hour))
	keep.Tags = map[string]string{"lifecycle:keep": "true", "team": "web"}
	keep.NvmeSupport, keep.ImdsSupport, keep.BootMode = "supported", "v2", "UEFI"
	sys := img("m-bp1sys", "aliyun_3", "", "Available", day0)
	sys.OwnerAlias = "system"
	other := img("m-bp1bj", "web-bj", "web", "Available", day0)
	other.RegionID = "cn-beijing"
	seed := seedOf(img("m-bp1one", "web-1", "web", "Available", day0.Add(time.Hour)),
		img("m-bp1dep", "web-0", "web", "Deprecated", day0), keep, sys, other,
		img("m-bp1new", "web-4", "web", "Creating", day0.Add(4*time.Hour)),
		img("m-bp1api", "api-1", "api", "Available", day0.Add(2*time.Hour)))
	seed.Instances = []SeedInstance{{InstanceID: "i-1", ImageID: "m-bp1one"}}
	s := start(t, Options{Seed: seed})
	c := defaultClient(t, s)
	list := func(set func(r *ecs.DescribeImagesRequest)) []ecs.Image {
		t.Helper()
		r := ecs.CreateDescribeImagesRequest()
		set(r)
		resp, err := c.DescribeImages(r)
		if err != nil {
			t.Fatal(err)
		}
		if resp.TotalCount != len(resp.Images.Image) {
			t.Fatalf("TotalCount %d for %d images", resp.TotalCount, len(resp.Images.Image))
		}
		return resp.Images.Image
	}
	idsOf := func(images []ecs.Image) string {
		var ids []string
		for _, im := range images {
			ids = append(ids, im.ImageId)
		}
		return strings.Join(ids, ",")
	}
	cases := []struct {
		name string
		set  func(r *ecs.DescribeImagesRequest)
		want string
	}{
		{"default: Available, all owners, this region", func(r *ecs.DescribeImagesRequest) {}, "m-bp1keep,m-bp1api,m-bp1one,m-bp1sys"},
		{"self", func(r *ecs.DescribeImagesRequest) { r.ImageOwnerAlias = "self" }, "m-bp1keep,m-bp1api,m-bp1one"},
		{"system", func(r *ecs.DescribeImagesRequest) { r.ImageOwnerAlias = "system" }, "m-bp1sys"},
		{"family and statuses", func(r *ecs.DescribeImagesRequest) {
			r.ImageFamily, r.Status = "web", "Available,Deprecated,Creating"
		}, "m-bp1new,m-bp1keep,m-bp1one,m-bp1dep"},
		{"id list", func(r *ecs.DescribeImagesRequest) { r.ImageId = "m-bp1one,m-bp1dep,m-bp1api" }, "m-bp1api,m-bp1one"},
		{"name", func(r *ecs.DescribeImagesRequest) { r.ImageName = "api-1" }, "m-bp1api"},
		{"tag key and value", func(r *ecs.DescribeImagesRequest) {
			r.Tag = &[]ecs.DescribeImagesTag{{Key: "lifecycle:keep", Value: "true"}}
		}, "m-bp1keep"},
		{"tag key only", func(r *ecs.DescribeImagesRequest) { r.Tag = &[]ecs.DescribeImagesTag{{Key: "team"}} }, "m-bp1keep"},
		{"tag mismatch", func(r *ecs.DescribeImagesRequest) {
			r.Tag = &[]ecs.DescribeImagesTag{{Key: "lifecycle:keep", Value: "false"}}
		}, ""},
		{"other region", func(r *ecs.DescribeImagesRequest) { r.RegionId = "cn-beijing" }, "m-bp1bj"},
	}
	for _, tc := range cases {
		if got := idsOf(list(tc.set)); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.name, got, tc.want)
		}
	}
	// The wire shape decodes into every field the project reads.
	got := list(func(r *ecs.DescribeImagesRequest) { r.ImageId = "m-bp1keep" })[0]
	if got.ImageName != "web-3" || got.ImageFamily != "web" || got.Progress != "100%" || got.CreationTime != "2026-10-01T11:00:00Z" ||
		got.ImageOwnerAlias != "self" || got.Usage != "none" || got.BootMode != "UEFI" || got.Features.NvmeSupport != "supported" ||
		got.Features.ImdsSupport != "v2" || len(got.Tags.Tag) != 2 || got.Tags.Tag[0].TagKey != "lifecycle:keep" ||
		got.Tags.Tag[0].TagValue != "true" || got.ImageOwnerId != 1234567890123456 || got.IsPublic {
		t.Fatalf("decoded image: %+v", got)
	}
	if u := list(func(r *ecs.DescribeImagesRequest) { r.ImageId = "m-bp1one" })[0].Usage; u != "instance" {
		t.Fatalf("Usage of an image in use = %q", u)
	}
	for _, bad := range []func(r *ecs.DescribeImagesRequest){
		func(r *ecs.DescribeImagesRequest) { r.Status = "Available,Gone" },
		func(r *ecs.DescribeImagesRequest) {
			ids := make([]string, 101)
			for i := range ids {
				ids[i] = fmt.Sprintf("m-%d", i)
			}
			r.ImageId = strings.Join(ids, ",")
		},
	} {
		r := ecs.CreateDescribeImagesRequest()
		bad(r)
		_, err := c.DescribeImages(r)
		serverError(t, err, "InvalidParameter", 400)
	}
	r := ecs.CreateDescribeImagesRequest()
	r.ImageOwnerAlias = "mine"
	_, err := c.DescribeImages(r)
	serverError(t, err, "InvalidImageOwnerAlias.ValueNotSupported", 400)
}

func TestDescribeImageFromFamily(t *testing.T) {
	t.Parallel()
	shared := img("m-bp1others", "web-x", "web", "Available", day0.Add(9*time.Hour))
	shared.OwnerAlias = "others"
	s := start(t, Options{Seed: seedOf(
		img("m-bp1old", "web-1", "web", "Available", day0),
		img("m-bp1mid", "web-2", "web", "Available", day0.Add(time.Hour)),
		img("m-bp1dep", "web-3", "web", "Deprecated", day0.Add(2*time.Hour)),
		img("m-bp1new", "web-4", "web", "Creating", day0.Add(3*time.Hour)), shared,
		img("m-bp1base", "base-1", "base", "Deprecated", day0))})
	c := defaultClient(t, s)
	for family, want := range map[string]string{"web": "m-bp1mid", "base": "", "none": ""} {
		r := ecs.CreateDescribeImageFromFamilyRequest()
		r.ImageFamily = family
		resp, err := c.DescribeImageFromFamily(r)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Image.ImageId != want || resp.RequestId == "" {
			t.Errorf("family %s: got %q, want %q", family, resp.Image.ImageId, want)
		}
	}
	_, err := c.DescribeImageFromFamily(ecs.CreateDescribeImageFromFamilyRequest())
	serverError(t, err, "MissingParameter", 400)
}

func TestSharePermissions(t *testing.T) {
	t.Parallel()
	api := img("m-bp1api", "api-1", "api", "Available", day0)
	api.SharedWith = []string{"1111000011110000"}
	s := start(t, Options{Seed: seedOf(api, img("m-bp1dep", "api-0", "api", "Deprecated", day0)), Now: func() time.Time { return time.Now() }})
	c := defaultClient(t, s)
	describe := func(pageNo, size int) *ecs.DescribeImageSharePermissionResponse {
		t.Helper()
		r := ecs.CreateDescribeImageSharePermissionRequest()
		r.ImageId, r.PageNumber, r.PageSize = "m-bp1api", requests.NewInteger(pageNo), requests.NewInteger(size)
		resp, err := c.DescribeImageSharePermission(r)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	if resp := describe(1, 10); resp.TotalCount != 1 || resp.Accounts.Account[0].AliyunId != "1111000011110000" ||
		resp.Accounts.Account[0].SharedTime != "2026-10-01T08:00:00Z" || len(resp.ShareGroups.ShareGroup) != 0 || resp.ImageId != "m-bp1api" {
		t.Fatalf("initial shares: %+v", resp)
	}
	modify := func(set func(r *ecs.ModifyImageSharePermissionRequest)) error {
		r := ecs.CreateModifyImageSharePermissionRequest()
		r.ImageId = "m-bp1api"
		set(r)
		_, err := c.ModifyImageSharePermission(r)
		return err
	}
	add := []string{"2222000022220001", "2222000022220002", "2222000022220003"}
	if err := modify(func(r *ecs.ModifyImageSharePermissionRequest) {
		r.AddAccount = &add
		r.IsPublic = requests.NewBoolean(true)
	}); err != nil {
		t.Fatal(err)
	}
	if resp := describe(2, 3); resp.TotalCount != 4 || len(resp.Accounts.Account) != 1 || resp.ShareGroups.ShareGroup[0].Group != "all" {
		t.Fatalf("after adding: %+v", resp)
	}
	// A shared image cannot be deprecated until every share is removed.
	dep := ecs.CreateModifyImageAttributeRequest()
	dep.ImageId, dep.Status = "m-bp1api", "Deprecated"
	_, err := c.ModifyImageAttribute(dep)
	serverError(t, err, "ImageUseShared", 403)
	remove := append([]string{"1111000011110000"}, add...)
	if err := modify(func(r *ecs.ModifyImageSharePermissionRequest) {
		r.RemoveAccount = &remove
		r.IsPublic = requests.NewBoolean(false)
	}); err != nil {
		t.Fatal(err)
	}
	if resp := describe(1, 10); resp.TotalCount != 0 || len(resp.Accounts.Account) != 0 {
		t.Fatalf("after removing: %+v", resp)
	}
	dep = ecs.CreateModifyImageAttributeRequest()
	dep.ImageId, dep.Status = "m-bp1api", "Deprecated"
	if _, err := c.ModifyImageAttribute(dep); err != nil {
		t.Fatalf("deprecate after unsharing: %v", err)
	}
	self := []string{"1234567890123456"}
	serverError(t, modify(func(r *ecs.ModifyImageSharePermissionRequest) { r.ImageId = "m-bp1nope"; r.AddAccount = &add }), "InvalidImageId.NotFound", 404)
	serverError(t, modify(func(r *ecs.ModifyImageSharePermissionRequest) { r.ImageId = "m-bp1dep"; r.AddAccount = &add }), "ImageStatus.NotAvailable", 403)
	api2 := img("m-bp1api2", "api-2", "api", "Available", day0)
	s.PutImage(api2)
	serverError(t, modify(func(r *ecs.ModifyImageSharePermissionRequest) { r.ImageId = "m-bp1api2"; r.AddAccount = &self }), "InvalidAccount.Forbbiden", 404)
	r := ecs.CreateDescribeImageSharePermissionRequest()
	r.ImageId = "m-bp1nope"
	_, err = c.DescribeImageSharePermission(r)
	serverError(t, err, "InvalidImageId.NotFound", 404)
}

func TestDescribeInstances(t *testing.T) {
	t.Parallel()
	seed := seedOf(img("m-bp1used", "api-1", "api", "Available", day0))
	for i := range 25 {
		seed.Instances = append(seed.Instances, SeedInstance{InstanceID: fmt.Sprintf("i-bp1%03d", i), ImageID: "m-bp1used"})
	}
	seed.Instances = append(seed.Instances, SeedInstance{InstanceID: "i-other", ImageID: "m-bp1other"},
		SeedInstance{InstanceID: "i-bj", ImageID: "m-bp1used", RegionID: "cn-beijing"})
	s := start(t, Options{Seed: seed})
	c := defaultClient(t, s)
	r := ecs.CreateDescribeInstancesRequest()
	r.ImageId, r.PageSize, r.PageNumber = "m-bp1used", requests.NewInteger(10), requests.NewInteger(3)
	resp, err := c.DescribeInstances(r)
	if err != nil {
		t.Fatal(err)
	}
	if resp.TotalCount != 25 || len(resp.Instances.Instance) != 5 || resp.Instances.Instance[0].InstanceId != "i-bp1020" ||
		resp.Instances.Instance[0].ImageId != "m-bp1used" || resp.Instances.Instance[0].Status != "Running" {
		t.Fatalf("page 3: %+v", resp)
	}
	// NextToken paging walks the same set.
	n, token := 0, ""
	for {
		r := ecs.CreateDescribeInstancesRequest()
		r.ImageId, r.MaxResults, r.NextToken = "m-bp1used", requests.NewInteger(7), token
		resp, err := c.DescribeInstances(r)
		if err != nil {
			t.Fatal(err)
		}
		n += len(resp.Instances.Instance)
		if token = resp.NextToken; token == "" {
			break
		}
	}
	if n != 25 {
		t.Fatalf("NextToken paging saw %d instances, want 25", n)
	}
}

func TestUnknownActionThroughSDK(t *testing.T) {
	t.Parallel()
	s := start(t, Options{})
	r := ecs.CreateDeleteImageRequest()
	r.ImageId = "m-bp1x"
	_, err := defaultClient(t, s).DeleteImage(r)
	serverError(t, err, "InvalidAction", 404)
	if s.Calls("DeleteImage") != 1 {
		t.Fatalf("Calls(DeleteImage) = %d", s.Calls("DeleteImage"))
	}
}

func TestShareLimits(t *testing.T) {
	t.Parallel()
	s := start(t, Options{Seed: seedOf(img("m-bp1api", "api-1", "api", "Available", day0))})
	c := defaultClient(t, s)
	share := func(from, n int) error {
		accounts := make([]string, n)
		for i := range accounts {
			accounts[i] = fmt.Sprintf("20000000000%05d", from+i)
		}
		r := ecs.CreateModifyImageSharePermissionRequest()
		r.ImageId, r.AddAccount = "m-bp1api", &accounts
		_, err := c.ModifyImageSharePermission(r)
		return err
	}
	// AddAccount.11 and above are ignored, as the service documents.
	if err := share(0, 12); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < 5; i++ {
		if err := share(100*i, 10); err != nil {
			t.Fatal(err)
		}
	}
	r := ecs.CreateDescribeImageSharePermissionRequest()
	r.ImageId = "m-bp1api"
	resp, err := c.DescribeImageSharePermission(r)
	if err != nil || resp.TotalCount != 50 {
		t.Fatalf("shares: %v %d, want 50", err, resp.TotalCount)
	}
	serverError(t, share(900, 1), "QuotaExceed.ShareImageUser", 403)
	bad := []string{"not-an-account"}
	m := ecs.CreateModifyImageSharePermissionRequest()
	m.ImageId, m.AddAccount = "m-bp1api", &bad
	_, err = c.ModifyImageSharePermission(m)
	serverError(t, err, "InvalidAccount.NotFound", 404)
}
