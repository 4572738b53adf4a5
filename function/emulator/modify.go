package emulator

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
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
var nameRule = regexp.MustCompile(`^[A-Za-z\p{Han}][A-Za-z0-9\p{Han}.:_-]{1,127}$`)

func validName(v string) bool {
	return nameRule.MatchString(v) && !strings.HasPrefix(v, "aliyun") && !strings.HasPrefix(v, "acs:") &&
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
	c := ecsapi.Changes{
		Name:        f.Get("ImageName"),
		Description: f.Get("Description"),
		Family:      f.Get("ImageFamily"),
		BootMode:    f.Get("BootMode"),
		LicenseType: f.Get("LicenseType"),
		Status:      f.Get("Status"),
		NvmeSupport: f.Get("Features.NvmeSupport"),
		ImdsSupport: f.Get("Features.ImdsSupport"),
	}
	if c.Name != "" && !validName(c.Name) {
		return nil, errorf(http.StatusBadRequest, "InvalidImageName.Malformed",
			"Image names must be between 2 and 128 characters long, using either English or Chinese characters. The name must start with a letter or a Chinese character, and can include numbers, colons, underscores and hyphens.")
	}
	if c.Description != "" && !validDescription(c.Description) {
		return nil, errorf(http.StatusBadRequest, "InvalidDescription.Malformed",
			"The specified description is wrongly formed. The description must be 2 to 256 characters in length and cannot start with http:// or https://.")
	}
	if c.Family != "" && !validName(c.Family) {
		return nil, errorf(http.StatusBadRequest, "InvalidImageFamily.Malformed", `The specified parameter "ImageFamily" is malformed.`)
	}
	switch c.BootMode {
	case "", "BIOS", "UEFI", "UEFI-Preferred":
	default:
		return nil, errorf(http.StatusBadRequest, "InvalidBootMode.NotSupport", "The specified parameter BootMode is not supported.")
	}
	if c.LicenseType != "" && c.LicenseType != "BYOL" {
		return nil, errorf(http.StatusBadRequest, "InvalidLicenseType.NotSupported", "The specified parameter LicenseType is not supported.")
	}
	if c.ImdsSupport != "" && c.ImdsSupport != "v1" && c.ImdsSupport != "v2" {
		return nil, errorf(http.StatusBadRequest, "InvalidParameter.FeaturesImdsSupport", "The specified parameter Features.ImdsSupport is not supported.")
	}
	// The doc lists no code for a bad NvmeSupport; the service's family of
	// codes makes InvalidParameter.FeaturesNvmeSupport the nearest.
	if c.NvmeSupport != "" && c.NvmeSupport != "supported" && c.NvmeSupport != "unsupported" {
		return nil, errorf(http.StatusBadRequest, "InvalidParameter.FeaturesNvmeSupport", "The specified parameter Features.NvmeSupport is not supported.")
	}
	if c.Status != "" && c.Status != ecsapi.StatusAvailable && c.Status != ecsapi.StatusDeprecated {
		return nil, invalidParam("Status", c.Status)
	}
	dryRun, perr := boolParam(f, "DryRun")
	if perr != nil {
		return nil, perr
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceAll()
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

// checkModify makes the state checks of ModifyImageAttribute, in the order a
// caller would want to learn about them: creating, uniqueness and quotas, status, use.
func (s *Server) checkModify(img *image, c ecsapi.Changes) *apiError {
	if c.IsZero() {
		return nil
	}
	if img.Status == ecsapi.StatusCreating {
		return errorf(http.StatusForbidden, "InvalidStatus.ImageIsCreating", "%s", messageOf("InvalidStatus.ImageIsCreating"))
	}
	if c.Name != "" && c.Name != img.Name {
		for _, o := range s.images {
			if o != img && o.OwnerAlias == "self" && o.RegionID == img.RegionID && o.Name == c.Name {
				return errorf(http.StatusBadRequest, "InvalidImageName.Duplicated", "The specified Image name has already bean used.")
			}
		}
	}
	if c.Family != "" && c.Family != img.Family {
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
	}
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
	if c.BootMode != "" && c.BootMode != img.BootMode && s.instancesUsing(img.ImageID) > 0 {
		return errorf(http.StatusForbidden, "OperationDeined.ImageUsingByInstance",
			"The boot mode of the image cannot be modified because it has associated instances.")
	}
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
