package emulator

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
)

// Limits from the image family docs: 100 images per family, 100 families per region.
const (
	maxImagesPerFamily   = 100
	maxFamiliesPerRegion = 100
)

// nameRule is the ImageName/ImageFamily rule of the current Chinese doc: 2-128
// characters, first a letter or Chinese character, then letters, Chinese,
// digits, . : _ -. The aliyun/acs: prefix and http(s):// checks come on top.
// It is compiled on first use, not at package init: the function binary
// links the emulator (for its demo) and starts far more often than it
// serves one.
var nameRule = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[A-Za-z\p{Han}][A-Za-z0-9\p{Han}.:_-]{1,127}$`)
})

func validName(v string) bool {
	return nameRule().MatchString(v) && !strings.HasPrefix(v, "aliyun") && !strings.HasPrefix(v, "acs:") &&
		!strings.Contains(v, "http://") && !strings.Contains(v, "https://")
}

func validDescription(v string) bool {
	n := utf8.RuneCountInString(v)
	return n >= 2 && n <= 256 && !strings.HasPrefix(v, "http://") && !strings.HasPrefix(v, "https://")
}

// modifyImageAttribute validates like the service: parameters first, then
// existence, then the image's state; a dry run stops after every check.
//
// Reading of the doc's status codes (the doc gives no conditions):
//   - Status=Deprecated on an image that is not Available (Deprecated
//     already, or Creating/failed) -> 403 ImageStatus.NotAvailable;
//   - Status=Available on an image that is not Deprecated (Available already)
//     -> 403 ImageStatus.NotDeprecated;
//   - Status=Deprecated on an image shared with accounts or public -> 403 ImageUseShared.
//
// So a repeated transition is answered with an error, not silently accepted;
// callers that want idempotence must treat those two codes as "already done".
func (s *Server) modifyImageAttribute(f url.Values) (map[string]any, *apiError) {
	if err := required(f, "RegionId", "ImageId"); err != nil {
		return nil, err
	}
	c := changesOf(f)
	if err := checkChanges(c); err != nil {
		return nil, err
	}
	dryRun, perr := boolParam(f, "DryRun")
	if perr != nil {
		return nil, perr
	}

	defer s.lockCurrent()()
	img, err := s.lookup(f.Get("RegionId"), f.Get("ImageId"))
	if err != nil {
		return nil, err
	}
	if img.OwnerAlias != "self" {
		return nil, errorf(http.StatusForbidden, "InvalidOperation.PublicImageUnsupported",
			"The community image's publisher is not the current account. Modification is not permitted.")
	}
	defer s.touch(img)
	if err := s.checkModify(img, c); err != nil {
		return nil, err
	}
	if dryRun {
		return nil, errorf(http.StatusBadRequest, "DryRunOperation", "Request validation has been passed with DryRun flag set.")
	}
	before := s.snapshot(img)
	apply(img, c)
	s.dirty = true
	if s.afterWrite != nil {
		var region []ecsapi.Image
		for _, o := range s.images {
			if o.RegionID == img.RegionID {
				region = append(region, s.snapshot(o))
			}
		}
		s.afterWrite(before, s.snapshot(img), region)
	}
	return map[string]any{}, nil
}

// changesOf reads the attributes a request sets.
func changesOf(f url.Values) ecsapi.Changes {
	return ecsapi.Changes{
		Name:        f.Get("ImageName"),
		Description: f.Get("Description"),
		Family:      f.Get("ImageFamily"),
		BootMode:    f.Get("BootMode"),
		LicenseType: f.Get("LicenseType"),
		Status:      f.Get("Status"),
		NvmeSupport: f.Get("Features.NvmeSupport"),
		ImdsSupport: f.Get("Features.ImdsSupport"),
	}
}

// paramRule is one parameter check of ModifyImageAttribute: bad says whether
// the value given (never "") is refused, and err is the refusal.
type paramRule struct {
	value func(ecsapi.Changes) string
	bad   func(string) bool
	err   func(string) *apiError
}

// paramRules are the parameter checks, in the order the service makes them.
var paramRules = []paramRule{
	{func(c ecsapi.Changes) string { return c.Name }, not(validName), fixed(http.StatusBadRequest, "InvalidImageName.Malformed",
		"Image names must be between 2 and 128 characters long, using either English or Chinese characters. The name must start with a letter or a Chinese character, and can include numbers, colons, underscores and hyphens.")},
	{func(c ecsapi.Changes) string { return c.Description }, not(validDescription), fixed(http.StatusBadRequest, "InvalidDescription.Malformed",
		"The specified description is wrongly formed. The description must be 2 to 256 characters in length and cannot start with http:// or https://.")},
	{func(c ecsapi.Changes) string { return c.Family }, not(validName), fixed(http.StatusBadRequest, "InvalidImageFamily.Malformed",
		`The specified parameter "ImageFamily" is malformed.`)},
	{func(c ecsapi.Changes) string { return c.BootMode }, notIn("BIOS", "UEFI", "UEFI-Preferred"), fixed(http.StatusBadRequest, "InvalidBootMode.NotSupport",
		"The specified parameter BootMode is not supported.")},
	{func(c ecsapi.Changes) string { return c.LicenseType }, notIn("BYOL"), fixed(http.StatusBadRequest, "InvalidLicenseType.NotSupported",
		"The specified parameter LicenseType is not supported.")},
	{func(c ecsapi.Changes) string { return c.ImdsSupport }, notIn("v1", "v2"), fixed(http.StatusBadRequest, "InvalidParameter.FeaturesImdsSupport",
		"The specified parameter Features.ImdsSupport is not supported.")},
	// The doc lists no code for a bad NvmeSupport; the service's family of
	// codes makes InvalidParameter.FeaturesNvmeSupport the nearest.
	{func(c ecsapi.Changes) string { return c.NvmeSupport }, notIn("supported", "unsupported"), fixed(http.StatusBadRequest, "InvalidParameter.FeaturesNvmeSupport",
		"The specified parameter Features.NvmeSupport is not supported.")},
	{func(c ecsapi.Changes) string { return c.Status }, notIn(ecsapi.StatusAvailable, ecsapi.StatusDeprecated),
		func(v string) *apiError { return invalidParam("Status", v) }},
}

// checkChanges makes the parameter checks: the first refusal is the answer.
func checkChanges(c ecsapi.Changes) *apiError {
	for _, r := range paramRules {
		if v := r.value(c); v != "" && r.bad(v) {
			return r.err(v)
		}
	}
	return nil
}

func not(ok func(string) bool) func(string) bool { return func(v string) bool { return !ok(v) } }

func notIn(allowed ...string) func(string) bool {
	return func(v string) bool { return !slices.Contains(allowed, v) }
}

func fixed(status int, code, message string) func(string) *apiError {
	return func(string) *apiError { return errorf(status, code, "%s", message) }
}

// checkModify makes the state checks of ModifyImageAttribute, in the order a
// caller would want to learn about them: creating, uniqueness and quotas, status, use.
func (s *Server) checkModify(img *image, c ecsapi.Changes) *apiError {
	if c.IsZero() {
		return nil
	}
	for _, check := range []func(*image, ecsapi.Changes) *apiError{
		checkNotCreating, s.checkNameUnique, s.checkFamilyQuota, checkStatusChange, s.checkInUse, checkImdsDowngrade,
	} {
		if err := check(img, c); err != nil {
			return err
		}
	}
	return nil
}

func checkNotCreating(img *image, _ ecsapi.Changes) *apiError {
	if img.Status == ecsapi.StatusCreating {
		return errorf(http.StatusForbidden, "InvalidStatus.ImageIsCreating", "%s", messageOf("InvalidStatus.ImageIsCreating"))
	}
	return nil
}

// checkNameUnique refuses a name another own image of the region has.
func (s *Server) checkNameUnique(img *image, c ecsapi.Changes) *apiError {
	if c.Name == "" || c.Name == img.Name {
		return nil
	}
	for _, o := range s.images {
		if o != img && o.OwnerAlias == "self" && o.RegionID == img.RegionID && o.Name == c.Name {
			return errorf(http.StatusBadRequest, "InvalidImageName.Duplicated", "The specified Image name has already bean used.")
		}
	}
	return nil
}

// checkFamilyQuota refuses a move into a full family, or into a new family
// in a region that has all the families it may have.
func (s *Server) checkFamilyQuota(img *image, c ecsapi.Changes) *apiError {
	if c.Family == "" || c.Family == img.Family {
		return nil
	}
	inFamily, families := 0, map[string]bool{}
	for _, o := range s.images {
		if o.OwnerAlias != "self" || o.RegionID != img.RegionID || o.Family == "" {
			continue
		}
		families[o.Family] = true
		if o.Family == c.Family {
			inFamily++
		}
	}
	if inFamily >= maxImagesPerFamily {
		return errorf(http.StatusBadRequest, "ImageQuotaFull.ImageFamily",
			"The specified image family has exceeded max number of images for one image family.")
	}
	if !families[c.Family] && len(families) >= maxFamiliesPerRegion {
		return errorf(http.StatusBadRequest, "ImageFamilyQuotaFull", "The specified region has exceeded max number of image family.")
	}
	return nil
}

// checkStatusChange refuses a transition from the wrong status, and the
// deprecation of a shared or public image.
func checkStatusChange(img *image, c ecsapi.Changes) *apiError {
	switch c.Status {
	case ecsapi.StatusDeprecated:
		if img.Status != ecsapi.StatusAvailable {
			return errorf(http.StatusForbidden, "ImageStatus.NotAvailable", "The specified image status is not available.")
		}
		if len(img.sharedWith) > 0 || img.IsPublic {
			return errorf(http.StatusForbidden, "ImageUseShared", "%s", messageOf("ImageUseShared"))
		}
	case ecsapi.StatusAvailable:
		if img.Status != ecsapi.StatusDeprecated {
			return errorf(http.StatusForbidden, "ImageStatus.NotDeprecated", "The specified image status is not deprecated.")
		}
	}
	return nil
}

// checkInUse refuses a boot mode change while instances use the image.
func (s *Server) checkInUse(img *image, c ecsapi.Changes) *apiError {
	if c.BootMode != "" && c.BootMode != img.BootMode && s.instancesUsing(img.ImageID) > 0 {
		return errorf(http.StatusForbidden, "OperationDeined.ImageUsingByInstance",
			"The boot mode of the image cannot be modified because it has associated instances.")
	}
	return nil
}

func checkImdsDowngrade(img *image, c ecsapi.Changes) *apiError {
	if c.ImdsSupport == "v1" && img.ImdsSupport == "v2" {
		return errorf(http.StatusForbidden, "InvalidOperation.FeaturesImdsSupportNotMatch",
			"The specified parameter Features.ImdsSupport can not be set to v1 from v2.")
	}
	return nil
}

func apply(img *image, c ecsapi.Changes) {
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&img.Name, c.Name)
	set(&img.Description, c.Description)
	set(&img.Family, c.Family)
	set(&img.BootMode, c.BootMode)
	set(&img.licenseType, c.LicenseType)
	set(&img.Status, c.Status)
	set(&img.NvmeSupport, c.NvmeSupport)
	set(&img.ImdsSupport, c.ImdsSupport)
}
