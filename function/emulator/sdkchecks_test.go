package emulator_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/emulator"
	"github.com/ecs-image-lifecycle/image-lifecycle/internal/testenv"
)

// describeSeed has one image for each filter of DescribeImages.
func describeSeed() *emulator.Seed {
	d0 := emulator.Day0
	keep := emulator.Img("m-bp1keep", "web-3", "web", "Available", d0.Add(3*time.Hour))
	keep.Tags = map[string]string{"lifecycle:keep": "true", "team": "web"}
	keep.NvmeSupport, keep.ImdsSupport, keep.BootMode, keep.Description = "supported", "v2", "UEFI", "web three"
	sys := emulator.Img("m-bp1sys", "aliyun_3", "", "Available", d0)
	sys.OwnerAlias = "system"
	bj := emulator.Img("m-bp1bj", "web-bj", "web", "Available", d0)
	bj.RegionID = "cn-beijing"
	api := emulator.Img("m-bp1api", "api-1", "api", "Available", d0.Add(2*time.Hour))
	api.SharedWith = []string{"1111000011110000"}
	arm := emulator.Img("m-bp1arm", "arm-1", "arm", "Available", d0.Add(5*time.Hour))
	arm.Architecture = "arm64"
	win := emulator.Img("m-bp1win", "win-1", "win", "Available", d0.Add(6*time.Hour))
	win.OSType = "windows"
	seed := emulator.SeedOf(emulator.Img("m-bp1one", "web-1", "web", "Available", d0.Add(time.Hour)),
		emulator.Img("m-bp1dep", "web-0", "web", "Deprecated", d0), keep, sys, bj, api, arm, win,
		emulator.Img("m-bp1new", "web-4", "web", "Creating", d0.Add(4*time.Hour)))
	seed.Instances = []emulator.SeedInstance{{InstanceID: "i-1", ImageID: "m-bp1one"}}
	return seed
}

func TestSDKsDescribeImages(t *testing.T) {
	t.Parallel()
	yes := true
	forEachSDK(t, func(t *testing.T, d sdk) {
		s := testenv.StartEmulator(t, emulator.Options{Seed: describeSeed()})
		c := d.dial(t, s.URL(), defaultCreds)
		list := func(q imagesQuery) imagesPage {
			t.Helper()
			page, err := c.DescribeImages(q)
			if err != nil {
				t.Fatalf("%+v: %v", q, err)
			}
			return page
		}
		for _, tc := range []struct {
			name string
			q    imagesQuery
			want string
		}{
			{"default: Available, all owners, this region", imagesQuery{}, "m-bp1win,m-bp1arm,m-bp1keep,m-bp1api,m-bp1one,m-bp1sys"},
			{"self", imagesQuery{Alias: "self"}, "m-bp1win,m-bp1arm,m-bp1keep,m-bp1api,m-bp1one"},
			{"family, statuses as a comma list", imagesQuery{Family: "web", Status: "Available,Deprecated,Creating"}, "m-bp1new,m-bp1keep,m-bp1one,m-bp1dep"},
			{"id list", imagesQuery{ImageID: "m-bp1one,m-bp1dep,m-bp1api"}, "m-bp1api,m-bp1one"},
			{"name is fuzzy", imagesQuery{Name: "WEB-"}, "m-bp1keep,m-bp1one"},
			{"usage instance", imagesQuery{Usage: "instance"}, "m-bp1one"},
			{"usage none", imagesQuery{Usage: "none", Family: "web"}, "m-bp1keep"},
			{"OS type", imagesQuery{OSType: "windows"}, "m-bp1win"},
			{"architecture", imagesQuery{Arch: "arm64"}, "m-bp1arm"},
			{"creation window, both ends inclusive", imagesQuery{Filters: [][2]string{
				{"CreationStartTime", "2026-10-01T10:00Z"}, {"CreationEndTime", "2026-10-01T13:00Z"}}}, "m-bp1arm,m-bp1keep,m-bp1api"},
			{"tag key and value", imagesQuery{Tags: [][2]string{{"lifecycle:keep", "true"}}}, "m-bp1keep"},
			{"tag key only", imagesQuery{Tags: [][2]string{{"team", ""}}}, "m-bp1keep"},
			{"ShowExpired changes nothing here", imagesQuery{Alias: "self", ShowExpired: &yes}, "m-bp1win,m-bp1arm,m-bp1keep,m-bp1api,m-bp1one"},
			{"other region", imagesQuery{Region: "cn-beijing"}, "m-bp1bj"},
		} {
			page := list(tc.q)
			if got := ids(page.Images.Image); got != tc.want || page.TotalCount != len(page.Images.Image) {
				t.Errorf("%s: got %s (TotalCount %d), want %s", tc.name, got, page.TotalCount, tc.want)
			}
		}
		page := list(imagesQuery{Alias: "self", Page: 2, Size: 2})
		if ids(page.Images.Image) != "m-bp1keep,m-bp1api" || page.TotalCount != 5 || page.PageNumber != 2 ||
			page.PageSize != 2 || page.RegionId != region || page.RequestId == "" {
			t.Errorf("page 2 of 2: %+v", page)
		}
		// What each SDK decodes from one image.
		byID := map[string]imageView{}
		for _, im := range list(imagesQuery{ImageID: "m-bp1keep,m-bp1api,m-bp1sys,m-bp1one,m-bp1win"}).Images.Image {
			byID[im.ImageId] = im
		}
		keep := byID["m-bp1keep"]
		if keep.ImageName != "web-3" || keep.ImageFamily != "web" || keep.Description != "web three" || keep.Progress != "100%" ||
			keep.CreationTime != "2026-10-01T11:00:00Z" || keep.ImageOwnerAlias != "self" || keep.Usage != "none" ||
			keep.BootMode != "UEFI" || keep.Features.NvmeSupport != "supported" || keep.Features.ImdsSupport != "v2" ||
			len(keep.Tags.Tag) != 2 || keep.Tags.Tag[0].TagKey != "lifecycle:keep" || keep.Tags.Tag[0].TagValue != "true" ||
			keep.ImageOwnerId != 1234567890123456 || keep.IsPublic || keep.OSType != "linux" || keep.Architecture != "x86_64" {
			t.Errorf("decoded image: %+v", keep)
		}
		for id, want := range map[string]string{"m-bp1keep": "False", "m-bp1api": "True", "m-bp1sys": ""} {
			if got := byID[id].IsSelfShared; got != want {
				t.Errorf("%s IsSelfShared = %q, want %q", id, got, want)
			}
		}
		if byID["m-bp1one"].Usage != "instance" || byID["m-bp1win"].OSType != "windows" {
			t.Errorf("Usage %q, OSType %q", byID["m-bp1one"].Usage, byID["m-bp1win"].OSType)
		}
		for _, tc := range []struct {
			q      imagesQuery
			code   string
			status int
		}{
			{imagesQuery{Status: "Available,Gone"}, "InvalidParameter", 400},
			{imagesQuery{Usage: "busy"}, "InvalidUsage", 404},
			{imagesQuery{OSType: "macos"}, "InvalidOSType", 404},
			{imagesQuery{Arch: "mips"}, "InvalidArchitecture", 404},
			{imagesQuery{Filters: [][2]string{{"Color", "blue"}}}, "InvalidFilterKey.NotFound", 404},
			{imagesQuery{Filters: [][2]string{{"CreationStartTime", "2026-10-01"}}}, "InvalidParameter", 400},
			{imagesQuery{Alias: "mine"}, "InvalidImageOwnerAlias.ValueNotSupported", 400},
			{imagesQuery{SnapshotID: "s-bp1x"}, "UnsupportedParameter", 400},
			{imagesQuery{Size: 101}, "InvalidParameter", 400},
		} {
			_, err := c.DescribeImages(tc.q)
			wantError(t, err, tc.code, tc.status)
		}
	})
}

// modifyErrors are the rows of the ModifyImageAttribute error table (and
// the parameter checks before it), on emulator.ModifySeed.
var modifyErrors = []struct {
	name   string
	seed   func() *emulator.Seed
	m      modification
	status int
	code   string
}{
	{"no image id", nil, modification{ImageID: "", Name: "x-1"}, 400, "MissingParameter"},
	{"name starts with digit", nil, modification{Name: "1web"}, 400, "InvalidImageName.Malformed"},
	{"name with acs prefix", nil, modification{Name: "acs:web"}, 400, "InvalidImageName.Malformed"},
	{"name with space", nil, modification{Name: "web 1"}, 400, "InvalidImageName.Malformed"},
	{"name duplicated", nil, modification{Name: "web-b"}, 400, "InvalidImageName.Duplicated"},
	{"description short", nil, modification{Description: "x"}, 400, "InvalidDescription.Malformed"},
	{"description url", nil, modification{Description: "https://example.com"}, 400, "InvalidDescription.Malformed"},
	{"family malformed", nil, modification{Family: "-web"}, 400, "InvalidImageFamily.Malformed"},
	{"family full", nil, modification{Family: "full"}, 400, "ImageQuotaFull.ImageFamily"},
	{"too many families", emulator.FamiliesSeed, modification{ImageID: "m-bp1loner", Family: "fam-new"}, 400, "ImageFamilyQuotaFull"},
	{"boot mode", nil, modification{BootMode: "Legacy"}, 400, "InvalidBootMode.NotSupport"},
	{"license type", nil, modification{LicenseType: "Auto"}, 400, "InvalidLicenseType.NotSupported"},
	{"imds value", nil, modification{Imds: "v3"}, 400, "InvalidParameter.FeaturesImdsSupport"},
	{"deprecate deprecated", nil, modification{ImageID: "m-bp1dep", Status: "Deprecated"}, 403, "ImageStatus.NotAvailable"},
	{"restore available", nil, modification{Status: "Available"}, 403, "ImageStatus.NotDeprecated"},
	{"deprecate shared", nil, modification{ImageID: "m-bp1shared", Status: "Deprecated"}, 403, "ImageUseShared"},
	{"boot mode in use", nil, modification{ImageID: "m-bp1used", BootMode: "UEFI"}, 403, "OperationDeined.ImageUsingByInstance"},
	{"imds v2 to v1", nil, modification{Imds: "v1"}, 403, "InvalidOperation.FeaturesImdsSupportNotMatch"},
	{"creating", nil, modification{ImageID: "m-bp1creating", Status: "Deprecated"}, 403, "InvalidStatus.ImageIsCreating"},
	{"system image", nil, modification{ImageID: "m-bp1system", Name: "mine"}, 403, "InvalidOperation.PublicImageUnsupported"},
	{"not found", nil, modification{ImageID: "m-bp1nope", Status: "Deprecated"}, 404, "InvalidImageId.NotFound"},
	{"other region", nil, modification{Region: "cn-beijing", Status: "Deprecated"}, 404, "InvalidImageId.NotFound"},
	{"dry run", nil, modification{Status: "Deprecated", DryRun: true}, 400, "DryRunOperation"},
}

func TestSDKsModifyImageAttributeErrors(t *testing.T) {
	t.Parallel()
	forEachSDK(t, func(t *testing.T, d sdk) {
		for _, tc := range modifyErrors {
			seed := emulator.ModifySeed
			if tc.seed != nil {
				seed = tc.seed
			}
			s := testenv.StartEmulator(t, emulator.Options{Seed: seed()})
			before := fmt.Sprint(s.Images())
			m := tc.m
			if m.ImageID == "" && tc.code != "MissingParameter" {
				m.ImageID = "m-bp1aaaa"
			}
			err := d.dial(t, s.URL(), defaultCreds).ModifyImageAttribute(m)
			t.Run(tc.name, func(t *testing.T) { wantError(t, err, tc.code, tc.status) })
			if tc.code != "InvalidStatus.ImageIsCreating" && fmt.Sprint(s.Images()) != before {
				t.Errorf("%s: the failed call changed the images", tc.name)
			}
		}
	})
}

func TestSDKsModifyImageAttributeApplies(t *testing.T) {
	t.Parallel()
	forEachSDK(t, func(t *testing.T, d sdk) {
		s := testenv.StartEmulator(t, emulator.Options{Seed: emulator.ModifySeed()})
		c := d.dial(t, s.URL(), defaultCreds)
		if err := c.ModifyImageAttribute(modification{ImageID: "m-bp1bbbb", Name: "web-b2", Description: "a b*c~d!'()&e=f/+:ü",
			Family: "web2", BootMode: "UEFI", LicenseType: "BYOL", Nvme: "supported", Imds: "v2"}); err != nil {
			t.Fatal(err)
		}
		got, _ := s.Image("m-bp1bbbb")
		if got.Name != "web-b2" || got.Description != "a b*c~d!'()&e=f/+:ü" || got.Family != "web2" || got.BootMode != "UEFI" ||
			got.NvmeSupport != "supported" || got.ImdsSupport != "v2" {
			t.Fatalf("after modify: %+v", got)
		}
		for _, status := range []string{"Deprecated", "Available"} {
			if err := c.ModifyImageAttribute(modification{ImageID: "m-bp1aaaa", Status: status}); err != nil {
				t.Fatalf("%s: %v", status, err)
			}
			if got, _ := s.Image("m-bp1aaaa"); got.Status != status {
				t.Fatalf("status %s, want %s", got.Status, status)
			}
		}
		if n := s.Calls("ModifyImageAttribute"); n != 3 {
			t.Fatalf("Calls = %d, want 3", n)
		}
	})
}

func TestSDKsImageFromFamily(t *testing.T) {
	t.Parallel()
	d0 := emulator.Day0
	forEachSDK(t, func(t *testing.T, d sdk) {
		s := testenv.StartEmulator(t, emulator.Options{Seed: emulator.SeedOf(
			emulator.Img("m-bp1old", "web-1", "web", "Available", d0),
			emulator.Img("m-bp1mid", "web-2", "web", "Available", d0.Add(time.Hour)),
			emulator.Img("m-bp1dep", "web-3", "web", "Deprecated", d0.Add(2*time.Hour)),
			emulator.Img("m-bp1new", "web-4", "web", "Creating", d0.Add(3*time.Hour)))})
		c := d.dial(t, s.URL(), defaultCreds)
		for family, want := range map[string]string{"web": "m-bp1mid", "none": ""} {
			got, err := c.DescribeImageFromFamily(family)
			if err != nil || got.Image.ImageId != want || got.RequestId == "" {
				t.Errorf("family %s: %v %+v, want %q", family, err, got, want)
			}
		}
		_, err := c.DescribeImageFromFamily("")
		wantError(t, err, "MissingParameter", 400)
	})
}

func TestSDKsSharePermissions(t *testing.T) {
	t.Parallel()
	forEachSDK(t, func(t *testing.T, d sdk) {
		api := emulator.Img("m-bp1api", "api-1", "api", "Available", emulator.Day0)
		api.SharedWith = []string{"1111000011110000"}
		s := testenv.StartEmulator(t, emulator.Options{Seed: emulator.SeedOf(api, emulator.Img("m-bp1dep", "api-0", "api", "Deprecated", emulator.Day0))})
		c := d.dial(t, s.URL(), defaultCreds)
		shares := func(page, size int) sharesPage {
			t.Helper()
			p, err := c.DescribeImageSharePermission("m-bp1api", page, size)
			if err != nil {
				t.Fatal(err)
			}
			return p
		}
		selfShared := func() string {
			t.Helper()
			p, err := c.DescribeImages(imagesQuery{ImageID: "m-bp1api"})
			if err != nil || len(p.Images.Image) != 1 {
				t.Fatalf("%v %+v", err, p)
			}
			return p.Images.Image[0].IsSelfShared
		}
		if p := shares(1, 10); p.TotalCount != 1 || p.Accounts.Account[0].AliyunId != "1111000011110000" ||
			p.Accounts.Account[0].SharedTime != "2026-10-01T08:00:00Z" || len(p.ShareGroups.ShareGroup) != 0 || p.ImageId != "m-bp1api" {
			t.Fatalf("initial shares: %+v", p)
		}
		yes, no := true, false
		if err := c.ModifyImageSharePermission("m-bp1api", []string{"2222000022220001", "2222000022220002"}, nil, &yes); err != nil {
			t.Fatal(err)
		}
		if p := shares(2, 2); p.TotalCount != 3 || len(p.Accounts.Account) != 1 || p.ShareGroups.ShareGroup[0].Group != "all" {
			t.Fatalf("after sharing: %+v", p)
		}
		wantError(t, c.ModifyImageAttribute(modification{ImageID: "m-bp1api", Status: "Deprecated"}), "ImageUseShared", 403)
		if err := c.ModifyImageSharePermission("m-bp1api", nil, []string{"1111000011110000", "2222000022220001", "2222000022220002"}, &no); err != nil {
			t.Fatal(err)
		}
		if p := shares(1, 10); p.TotalCount != 0 || selfShared() != "False" {
			t.Fatalf("after unsharing: %+v, IsSelfShared %q", p, selfShared())
		}
		if err := c.ModifyImageSharePermission("m-bp1api", []string{"3333000033330000"}, nil, nil); err != nil || selfShared() != "True" {
			t.Fatalf("share again: %v, IsSelfShared %q", err, selfShared())
		}
		wantError(t, c.ModifyImageSharePermission("m-bp1nope", []string{"3333000033330000"}, nil, nil), "InvalidImageId.NotFound", 404)
		wantError(t, c.ModifyImageSharePermission("m-bp1dep", []string{"3333000033330000"}, nil, nil), "ImageStatus.NotAvailable", 403)
		wantError(t, c.ModifyImageSharePermission("m-bp1api", []string{"1234567890123456"}, nil, nil), "InvalidAccount.Forbbiden", 404)
		wantError(t, c.ModifyImageSharePermission("m-bp1api", []string{"not-an-account"}, nil, nil), "InvalidAccount.NotFound", 404)
		_, err := c.DescribeImageSharePermission("m-bp1nope", 0, 0)
		wantError(t, err, "InvalidImageId.NotFound", 404)
	})
}

func TestSDKsDescribeInstances(t *testing.T) {
	t.Parallel()
	forEachSDK(t, func(t *testing.T, d sdk) {
		seed := emulator.SeedOf(emulator.Img("m-bp1used", "api-1", "api", "Available", emulator.Day0))
		for i := range 25 {
			seed.Instances = append(seed.Instances, emulator.SeedInstance{InstanceID: fmt.Sprintf("i-bp1%03d", i), ImageID: "m-bp1used"})
		}
		seed.Instances = append(seed.Instances, emulator.SeedInstance{InstanceID: "i-other", ImageID: "m-bp1other"})
		s := testenv.StartEmulator(t, emulator.Options{Seed: seed})
		c := d.dial(t, s.URL(), defaultCreds)
		p, err := c.DescribeInstances(instancesQuery{ImageID: "m-bp1used", Page: 3, Size: 10})
		if err != nil || p.TotalCount != 25 || len(p.Instances.Instance) != 5 || p.Instances.Instance[0].InstanceId != "i-bp1020" ||
			p.Instances.Instance[0].Status != "Running" {
			t.Fatalf("page 3: %v %+v", err, p)
		}
		n, token := 0, ""
		for {
			p, err := c.DescribeInstances(instancesQuery{ImageID: "m-bp1used", Max: 7, NextToken: token})
			if err != nil {
				t.Fatal(err)
			}
			n += len(p.Instances.Instance)
			if token = p.NextToken; token == "" {
				break
			}
		}
		if n != 25 {
			t.Fatalf("NextToken paging saw %d instances, want 25", n)
		}
		_, err = c.DescribeInstances(instancesQuery{Max: 101})
		wantError(t, err, "InvalidParameter", 400)
	})
}

func TestSDKsUnknownAction(t *testing.T) {
	t.Parallel()
	forEachSDK(t, func(t *testing.T, d sdk) {
		s := testenv.StartEmulator(t, emulator.Options{})
		wantError(t, d.dial(t, s.URL(), defaultCreds).DeleteImage("m-bp1x"), "InvalidAction", 404)
	})
}

func TestSDKsAuthentication(t *testing.T) {
	t.Parallel()
	forEachSDK(t, func(t *testing.T, d sdk) {
		s := testenv.StartEmulator(t, emulator.Options{Keys: map[string]string{"ak": "right"}})
		_, err := d.dial(t, s.URL(), creds{"ak", "wrong", ""}).DescribeImages(imagesQuery{})
		wantError(t, err, "SignatureDoesNotMatch", 400)
		_, err = d.dial(t, s.URL(), creds{"nobody", "right", ""}).DescribeImages(imagesQuery{})
		wantError(t, err, "InvalidAccessKeyId.NotFound", 404)
		if _, err := d.dial(t, s.URL(), creds{"ak", "right", ""}).DescribeImages(imagesQuery{}); err != nil {
			t.Fatalf("right key: %v", err)
		}
		if got := s.CallView(); got.Calls["DescribeImages"] != 1 || got.Rejected["SignatureDoesNotMatch"] != 1 ||
			got.Rejected["InvalidAccessKeyId.NotFound"] != 1 {
			t.Fatalf("call view: %+v", got)
		}

		sts := testenv.StartEmulator(t, emulator.Options{SecurityToken: "CAIS+tok/en=="})
		if _, err := d.dial(t, sts.URL(), creds{emulator.DefaultKey, emulator.DefaultKey, "CAIS+tok/en=="}).DescribeImages(imagesQuery{}); err != nil {
			t.Fatalf("right token: %v", err)
		}
		_, err = d.dial(t, sts.URL(), creds{emulator.DefaultKey, emulator.DefaultKey, "other"}).DescribeImages(imagesQuery{})
		wantError(t, err, "InvalidSecurityToken.MismatchWithAccessKey", 400)
		_, err = d.dial(t, sts.URL(), defaultCreds).DescribeImages(imagesQuery{})
		wantError(t, err, "InvalidSecurityToken.Malformed", 400)

		for _, shift := range []time.Duration{-20 * time.Minute, 20 * time.Minute} {
			skewed := testenv.StartEmulator(t, emulator.Options{Now: func() time.Time { return time.Now().Add(shift) }})
			_, err := d.dial(t, skewed.URL(), defaultCreds).DescribeImages(imagesQuery{})
			wantError(t, err, "IllegalTimestamp", 400)
		}
	})
}

// capture serves the emulator and keeps a copy of the last request, so a
// test can replay exactly what an SDK sent.
type capture struct {
	mu     sync.Mutex
	method string
	url    string
	header http.Header
	body   []byte
}

func (c *capture) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		c.mu.Lock()
		c.method, c.url, c.header, c.body = r.Method, r.URL.String(), r.Header.Clone(), b
		c.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(b))
		h.ServeHTTP(w, r)
	})
}

func (c *capture) replay(t *testing.T, base string) error {
	t.Helper()
	c.mu.Lock()
	req, err := http.NewRequest(c.method, base+c.url, bytes.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = c.header.Clone()
	c.mu.Unlock()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), `"Code":"SignatureNonceUsed"`) {
		return fmt.Errorf("replay answered %d %s", resp.StatusCode, b)
	}
	return nil
}

func TestSDKsReplayIsRefused(t *testing.T) {
	t.Parallel()
	forEachSDK(t, func(t *testing.T, d sdk) {
		emu, err := emulator.New(emulator.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var rec capture
		hs := httptest.NewServer(rec.wrap(emu))
		defer hs.Close()
		if _, err := d.dial(t, hs.URL, defaultCreds).DescribeImages(imagesQuery{}); err != nil {
			t.Fatal(err)
		}
		if err := rec.replay(t, hs.URL); err != nil {
			t.Fatal(err)
		}
	})
}

// TestCallViewNamesTheSignature: the ModifyImageAttribute log tells which
// signature each call used, and the endpoint serves the same view.
func TestCallViewNamesTheSignature(t *testing.T) {
	t.Parallel()
	s := testenv.StartEmulator(t, emulator.Options{Seed: emulator.ModifySeed()})
	for i, d := range sdks {
		_ = d.dial(t, s.URL(), defaultCreds).ModifyImageAttribute(modification{ImageID: "m-bp1bbbb", Description: fmt.Sprintf("call %d", i)})
	}
	_ = sdks[1].dial(t, s.URL(), defaultCreds).ModifyImageAttribute(modification{ImageID: "m-bp1dep", Status: "Deprecated"})
	view := s.CallView()
	var got []string
	for _, r := range view.ModifyImageAttribute {
		got = append(got, r.Signature+":"+r.ImageID+":"+r.Params["Description"]+r.Params["Status"]+":"+r.Code)
	}
	want := "v1:m-bp1bbbb:call 0:,v3:m-bp1bbbb:call 1:,v1:m-bp1bbbb:call 2:,v3:m-bp1dep:Deprecated:ImageStatus.NotAvailable"
	if strings.Join(got, ",") != want {
		t.Fatalf("log %s\nwant %s", strings.Join(got, ","), want)
	}
	if view.Calls["ModifyImageAttribute"] != 4 || view.Total != 4 {
		t.Fatalf("counts %+v", view.Calls)
	}
}
