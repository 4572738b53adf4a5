package emulator

// Seeds of the package's own tests, for the cross-SDK suite in package
// emulator_test.
var (
	ModifySeed   = modifySeed
	FamiliesSeed = familiesSeed
	SeedOf       = seedOf
	Img          = img
	Day0         = day0
)
