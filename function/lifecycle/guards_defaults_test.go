package lifecycle

import "github.com/ecs-image-lifecycle/image-lifecycle/function/config"

// DefaultGuards are the guards of the default configuration, as
// function/wire.go builds them (its test checks that mapping), for the tests
// of this package. Production has no such function: config is the one place
// that defaults a guard.
func DefaultGuards() Guards {
	d := config.Defaults()
	return Guards{
		FamilyFloor:            d.FamilyFloor,
		ExcludeTag:             d.ExcludeTag,
		UnshareBeforeDeprecate: d.UnshareBeforeDeprecate,
		AllowedRegions:         d.AllowedRegions,
		AllowedFamilies:        d.AllowedFamilies,
		ProtectInUseBootMode:   true,
	}
}
