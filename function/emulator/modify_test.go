package emulator

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
)

// modifySeed holds one image for each state the error table needs.
func modifySeed() *Seed {
	a := img("m-bp1aaaa", "web-a", "web", "Available", day0)
	a.ImdsSupport, a.BootMode = "v2", "BIOS"
	shared := img("m-bp1shared", "api-shared", "api", "Available", day0.Add(time.Hour))
	shared.SharedWith = []string{"1111222233334444"}
	used := img("m-bp1used", "api-used", "api", "Available", day0.Add(2*time.Hour))
	used.BootMode = "BIOS"
	creating := img("m-bp1creating", "web-new", "web", "Creating", day0.Add(3*time.Hour))
	creating.Progress = 40
	sys := img("m-bp1system", "aliyun_3_x64", "", "Available", day0)
	sys.OwnerAlias = "system"
	seed := seedOf(a, img("m-bp1bbbb", "web-b", "web", "Available", day0.Add(time.Minute)),
		img("m-bp1dep", "base-old", "base", "Deprecated", day0), shared, used, creating, sys)
	for i := range maxImagesPerFamily {
		seed.Images = append(seed.Images, img(fmt.Sprintf("m-bp1full%03d", i), fmt.Sprintf("full-%03d", i), "full", "Available", day0))
	}
	seed.Instances = []SeedInstance{{InstanceID: "i-bp1used", ImageID: "m-bp1used"}}
	return seed
}

// familiesSeed fills the region with the maximum number of families.
func familiesSeed() *Seed {
	seed := seedOf(img("m-bp1loner", "loner", "", "Available", day0))
	for i := range maxFamiliesPerRegion {
		seed.Images = append(seed.Images, img(fmt.Sprintf("m-bp1fam%03d", i), fmt.Sprintf("fam-%03d", i), fmt.Sprintf("fam%03d", i), "Available", day0))
	}
	return seed
}

func TestModifyImageAttributeErrorTable(t *testing.T) {
	t.Parallel()
	type req = ecs.ModifyImageAttributeRequest
	cases := []struct {
		name   string
		seed   func() *Seed
		region string // client region; "" leaves RegionId out
		set    func(r *req)
		status int
		code   string
	}{
		{"no image id", nil, testRegion, func(r *req) { r.ImageId = "" }, 400, "MissingParameter"},
		{"name starts with digit", nil, testRegion, func(r *req) { r.ImageName = "1web" }, 400, "InvalidImageName.Malformed"},
		{"name too short", nil, testRegion, func(r *req) { r.ImageName = "w" }, 400, "InvalidImageName.Malformed"},
		{"name too long", nil, testRegion, func(r *req) { r.ImageName = "w" + strings.Repeat("x", 128) }, 400, "InvalidImageName.Malformed"},
		{"name aliyun prefix", nil, testRegion, func(r *req) { r.ImageName = "aliyun-web" }, 400, "InvalidImageName.Malformed"},
		{"name acs prefix", nil, testRegion, func(r *req) { r.ImageName = "acs:web" }, 400, "InvalidImageName.Malformed"},
		{"name with url", nil, testRegion, func(r *req) { r.ImageName = "web-http://x" }, 400, "InvalidImageName.Malformed"},
		{"name with space", nil, testRegion, func(r *req) { r.ImageName = "web 1" }, 400, "InvalidImageName.Malformed"},
		{"name duplicated", nil, testRegion, func(r *req) { r.ImageName = "web-b" }, 400, "InvalidImageName.Duplicated"},
		{"description short", nil, testRegion, func(r *req) { r.Description = "x" }, 400, "InvalidDescription.Malformed"},
		{"description url", nil, testRegion, func(r *req) { r.Description = "https://example.com" }, 400, "InvalidDescription.Malformed"},
		{"description long", nil, testRegion, func(r *req) { r.Description = strings.Repeat("d", 257) }, 400, "InvalidDescription.Malformed"},
		{"family malformed", nil, testRegion, func(r *req) { r.ImageFamily = "-web" }, 400, "InvalidImageFamily.Malformed"},
		{"family full", nil, testRegion, func(r *req) { r.ImageFamily = "full" }, 400, "ImageQuotaFull.ImageFamily"},
		{"too many families", familiesSeed, testRegion, func(r *req) { r.ImageId, r.ImageFamily = "m-bp1loner", "fam-new" }, 400, "ImageFamilyQuotaFull"},
		{"boot mode", nil, testRegion, func(r *req) { r.BootMode = "Legacy" }, 400, "InvalidBootMode.NotSupport"},
		{"license type", nil, testRegion, func(r *req) { r.LicenseType = "Auto" }, 400, "InvalidLicenseType.NotSupported"},
		{"imds value", nil, testRegion, func(r *req) { r.Features.ImdsSupport = "v3" }, 400, "InvalidParameter.FeaturesImdsSupport"},
		{"nvme value", nil, testRegion, func(r *req) { r.Features.NvmeSupport = "yes" }, 400, "InvalidParameter.FeaturesNvmeSupport"},
		{"status value", nil, testRegion, func(r *req) { r.Status = "Gone" }, 400, "InvalidParameter"},
		{"deprecate deprecated", nil, testRegion, func(r *req) { r.ImageId, r.Status = "m-bp1dep", "Deprecated" }, 403, "ImageStatus.NotAvailable"},
		{"restore available", nil, testRegion, func(r *req) { r.Status = "Available" }, 403, "ImageStatus.NotDeprecated"},
		{"deprecate shared", nil, testRegion, func(r *req) { r.ImageId, r.Status = "m-bp1shared", "Deprecated" }, 403, "ImageUseShared"},
		{"boot mode in use", nil, testRegion, func(r *req) { r.ImageId, r.BootMode = "m-bp1used", "UEFI" }, 403, "OperationDeined.ImageUsingByInstance"},
		{"imds v2 to v1", nil, testRegion, func(r *req) { r.Features.ImdsSupport = "v1" }, 403, "InvalidOperation.FeaturesImdsSupportNotMatch"},
		{"creating", nil, testRegion, func(r *req) { r.ImageId, r.Status = "m-bp1creating", "Deprecated" }, 403, "InvalidStatus.ImageIsCreating"},
		{"system image", nil, testRegion, func(r *req) { r.ImageId, r.ImageName = "m-bp1system", "mine" }, 403, "InvalidOperation.PublicImageUnsupported"},
		{"not found", nil, testRegion, func(r *req) { r.ImageId, r.Status = "m-bp1nope", "Deprecated" }, 404, "InvalidImageId.NotFound"},
		{"other region", nil, "cn-beijing", func(r *req) { r.Status = "Deprecated" }, 404, "InvalidImageId.NotFound"},
		{"parameters before existence", nil, testRegion, func(r *req) { r.ImageId, r.ImageName = "m-bp1nope", "1bad" }, 400, "InvalidImageName.Malformed"},
		{"dry run", nil, testRegion, func(r *req) { r.Status = "Deprecated"; r.QueryParams["DryRun"] = "true" }, 400, "DryRunOperation"},
		{"dry run still checks", nil, testRegion, func(r *req) { r.Status = "Available"; r.QueryParams["DryRun"] = "true" }, 403, "ImageStatus.NotDeprecated"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			seed := modifySeed
			if tc.seed != nil {
				seed = tc.seed
			}
			s := start(t, Options{Seed: seed()})
			before := s.Images()
			c, err := ecs.NewClientWithAccessKey(tc.region, DefaultKey, DefaultKey)
			if err != nil {
				t.Fatal(err)
			}
			point(t, c, s)
			r := ecs.CreateModifyImageAttributeRequest()
			r.ImageId = "m-bp1aaaa"
			tc.set(r)
			_, err = c.ModifyImageAttribute(r)
			serverError(t, err, tc.code, tc.status)
			after := s.Images()
			for i := range before {
				if fmt.Sprint(before[i]) != fmt.Sprint(after[i]) && before[i].Status != ecsapi.StatusCreating {
					t.Fatalf("failed call changed %s: %+v -> %+v", before[i].ImageID, before[i], after[i])
				}
			}
		})
	}
}

func TestModifyImageAttributeMissingRegion(t *testing.T) {
	t.Parallel()
	s := start(t, Options{Seed: modifySeed()})
	u := signedURL(s.URL(), map[string]string{"Action": "ModifyImageAttribute", "ImageId": "m-bp1aaaa", "RegionId": ""}, "n1", time.Now())
	st, _, body := post(t, u)
	if st != 400 || body["Code"] != "MissingParameter" || !strings.Contains(body["Message"].(string), "RegionId") {
		t.Fatalf("got %d %v", st, body)
	}
}

func TestModifyImageAttributeApplies(t *testing.T) {
	t.Parallel()
	s := start(t, Options{Seed: modifySeed()})
	c := defaultClient(t, s)
	r := ecs.CreateModifyImageAttributeRequest()
	r.ImageId, r.ImageName, r.Description, r.ImageFamily = "m-bp1bbbb", "web-b2", "second web image", "web2"
	r.BootMode, r.LicenseType, r.Features.NvmeSupport, r.Features.ImdsSupport = "UEFI", "BYOL", "supported", "v2"
	if _, err := c.ModifyImageAttribute(r); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Image("m-bp1bbbb")
	want := ecsapi.Image{ImageID: "m-bp1bbbb", RegionID: testRegion, Name: "web-b2", Description: "second web image",
		Family: "web2", Status: "Available", Progress: 100, CreationTime: day0.Add(time.Minute), OwnerAlias: "self",
		BootMode: "UEFI", NvmeSupport: "supported", ImdsSupport: "v2", Usage: "none"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	// Deprecate and restore: the two directions of Status.
	for _, status := range []string{"Deprecated", "Available"} {
		r := ecs.CreateModifyImageAttributeRequest()
		r.ImageId, r.Status = "m-bp1aaaa", status
		resp, err := c.ModifyImageAttribute(r)
		if err != nil {
			t.Fatalf("%s: %v", status, err)
		}
		if resp.RequestId == "" {
			t.Fatal("no RequestId")
		}
		if got, _ := s.Image("m-bp1aaaa"); got.Status != status {
			t.Fatalf("status %s, want %s", got.Status, status)
		}
	}
	// Same boot mode on an image in use is no change, so it passes.
	r = ecs.CreateModifyImageAttributeRequest()
	r.ImageId, r.BootMode = "m-bp1used", "BIOS"
	if _, err := c.ModifyImageAttribute(r); err != nil {
		t.Fatalf("unchanged boot mode: %v", err)
	}
	// Moving into a family that exists does not need a new family slot.
	s2 := start(t, Options{Seed: familiesSeed()})
	r = ecs.CreateModifyImageAttributeRequest()
	r.ImageId, r.ImageFamily = "m-bp1loner", "fam007"
	if _, err := defaultClient(t, s2).ModifyImageAttribute(r); err != nil {
		t.Fatalf("existing family: %v", err)
	}
	if n := s.Calls("ModifyImageAttribute"); n != 4 {
		t.Fatalf("Calls = %d, want 4", n)
	}
}

func TestNameRule(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		"web-2026-11-01": true, "Web.v1:blue_x": true, "镜像-1": true, "ab": true, "a": false,
		"_web": false, "aliyunx": false, "Aliyun-x": true, "acs:x": false, "a/b": false,
		strings.Repeat("a", 128): true, strings.Repeat("a", 129): false, "镜" + strings.Repeat("像", 127): true,
	} {
		if got := validName(name); got != want {
			t.Errorf("validName(%q) = %v, want %v", name, got, want)
		}
	}
}
