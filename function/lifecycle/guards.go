package lifecycle

import (
	"path"
	"slices"
	"strings"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
)

// Guards are the safety rules the engine applies on top of what the API itself
// enforces. They come from configuration, never from a message: the values
// are config.FromEnv's, already checked and defaulted there, and
// function/wire.go turns them into Guards. The zero value guards nothing.
type Guards struct {
	// FamilyFloor is the number of Available images a family never goes below
	// (FAMILY_FLOOR).
	FamilyFloor int
	// UnshareBeforeDeprecate removes an image's shares before deprecating it
	// (UNSHARE_BEFORE_DEPRECATE); by default a shared image is skipped with a reason.
	UnshareBeforeDeprecate bool
	// ExcludeTag is "key=value"; images carrying it are never deprecated by a
	// bulk selection (promote, rotate, rollback). "" turns the guard off.
	ExcludeTag string
	// AllowedRegions limits the regions the engine acts in (ALLOWED_REGIONS); empty = all.
	AllowedRegions []string
	// AllowedFamilies limits the families the engine acts on, as path.Match
	// globs (ALLOWED_FAMILIES); empty = all.
	AllowedFamilies []string
	// ProtectInUseBootMode rejects a BootMode change while instances use the image.
	ProtectInUseBootMode bool
}

// Codes of the engine's Refusals and NotYets. Where the API has a code for
// the same refusal, the engine uses the API's code, so that an operator reads
// a dead letter as if the API had answered.
const (
	// CodeScope is returned for a region or family outside the allow-lists.
	// ECS has no code for a restriction of our own making; "Forbidden.*" codes
	// are the API's family for "you may not".
	CodeScope           = "Forbidden.Scope"
	codeNotFound        = "InvalidImageId.NotFound"
	codePublic          = "InvalidOperation.PublicImageUnsupported"
	codeImdsDowngrade   = "InvalidOperation.FeaturesImdsSupportNotMatch"
	codeBootModeInUse   = "OperationDeined.ImageUsingByInstance"
	codeImageIsCreating = "InvalidStatus.ImageIsCreating"
	codeConflict        = "OperationConflict"
	codeInvalid         = "InvalidParameter"
)

func (g Guards) checkRegion(region string) error {
	if len(g.AllowedRegions) == 0 || slices.Contains(g.AllowedRegions, region) {
		return nil
	}
	return refuse(CodeScope, "region %s is not in ALLOWED_REGIONS %v", region, g.AllowedRegions)
}

// familyAllowed reports whether the family matches the allow-list. An image
// without a family matches no pattern, so a non-empty allow-list excludes it.
func (g Guards) familyAllowed(family string) bool {
	if len(g.AllowedFamilies) == 0 {
		return true
	}
	for _, p := range g.AllowedFamilies {
		if ok, err := path.Match(p, family); err == nil && ok {
			return true
		}
	}
	return false
}

func (g Guards) checkFamily(family string) error {
	if g.familyAllowed(family) {
		return nil
	}
	shown := family
	if shown == "" {
		shown = "(none)"
	}
	return refuse(CodeScope, "image family %s is not in ALLOWED_FAMILIES %v", shown, g.AllowedFamilies)
}

// excluded reports whether the image carries the exclusion tag.
func (g Guards) excluded(img ecsapi.Image) bool {
	if g.ExcludeTag == "" {
		return false
	}
	k, v, _ := strings.Cut(g.ExcludeTag, "=")
	got, ok := img.Tags[k]
	return ok && got == v
}

// checkOwned refuses images the account does not own, and public images.
func checkOwned(img ecsapi.Image) error {
	if (img.OwnerAlias != "" && img.OwnerAlias != "self") || img.IsPublic {
		return refuse(codePublic,
			"image %s is not a private image of this account (owner %q, public %t)", img.ImageID, img.OwnerAlias, img.IsPublic)
	}
	return nil
}

func notFound(id string) error {
	return refuse(codeNotFound, "image %s does not exist in this account (own images, Available, Deprecated or Creating)", id)
}
