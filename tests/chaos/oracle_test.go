package chaos

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/emulator"
)

// The oracle: what the images must be once every intent has been applied,
// computed from the seed and the intents alone, by the rules the README states
// for each action - not from the engine's code, which it is meant to check.
// It applies intents one after another, as if nothing ever failed, and knows
// nothing of faults, batches or retries.
//
// Why one sequential pass gives the answer for any delivery order: the
// generator (scenario_test.go) only mixes intents that commute, and
// checkOrderFree re-runs the oracle over other orders, with duplicates, to
// make sure of it. Per family kind:
//   - attributes (name, description, boot mode, licence, NVMe, IMDS): every
//     intent that names an image sets a field to the same target, so the last
//     write equals the first;
//   - flip: each image has at most one target status and the anchor stays
//     Available, so every deprecate passes the floor whatever ran before it
//     (a shared image is never deprecated, whenever it is asked);
//   - rotate: the only changes are "deprecate what is beyond the newest keep
//     Available" and "a build becomes Available"; builds are newer than every
//     other image and keep >= builds, so the builds are always among the
//     newest keep, nothing is ever re-activated, and every rotate or promote
//     leaves exactly the newest keep of (seeded Available + builds so far)
//     Available, plus the protected ones (excluded by tag, or shared), which
//     nothing here deprecates. The last one applied decides, and they all
//     agree. (A build may turn Available in the emulator before its promote
//     runs; it is then among the newest keep anyway.) A glob rotate covers
//     only families with its keep (the keep is in the family's name).
//   - rollback: one bad image per family; a rollback that names its image is
//     level-based, so the second finds the first's work done;
//   - floor: only the last Available image is deprecated, and never is.
//
// Partly applied intents (a promote whose third deprecation failed) leave a
// state some sequential prefix reaches too, and the redelivery completes it.
type oracle struct {
	floor  int
	now    time.Time
	images map[string]*oimage
}

// oimage is an image as the oracle tracks it.
type oimage struct {
	id, family, status                                   string
	created                                              time.Time
	name, description, bootMode, license, nvme, imdsMode string
	// excluded (the lifecycle:keep=true tag) keeps it from promote, rotate and
	// rollback; shared keeps it from every deprecation.
	excluded, shared bool
}

func newOracle(seed *emulator.Seed, floor int, now time.Time) *oracle {
	o := &oracle{floor: floor, now: now, images: map[string]*oimage{}}
	for _, img := range seed.Images {
		o.images[img.ImageID] = &oimage{id: img.ImageID, family: img.Family, status: img.Status, created: img.CreationTime,
			name: img.Name, description: img.Description, bootMode: img.BootMode, license: img.LicenseType,
			nvme: img.NvmeSupport, imdsMode: img.ImdsSupport,
			excluded: img.Tags["lifecycle:keep"] == "true", shared: len(img.SharedWith) > 0}
	}
	return o
}

// expectation is how a message must end, from the intent alone: "planned"
// for a dry run, "dead-lettered" when it can never succeed (an image that
// does not exist, a malformed name), else "settled" (applied or unchanged).
func (o *oracle) expectation(in intentBody) string {
	switch {
	case in.DryRun:
		return "planned"
	case in.ImageID != "" && o.images[in.ImageID] == nil,
		in.Attributes != nil && in.Attributes.ImageName != "" && !validName(in.Attributes.ImageName):
		return "dead-lettered"
	}
	return "settled"
}

// The README's name rule: 2-128 characters, a letter (or Chinese) first, then
// letters, digits, '.', ':', '_', '-'.
var nameRule = regexp.MustCompile(`^[A-Za-z\p{Han}][A-Za-z0-9\p{Han}.:_-]{1,127}$`)

func validName(s string) bool {
	return nameRule.MatchString(s) && !strings.HasPrefix(s, "aliyun") && !strings.HasPrefix(s, "acs:")
}

func (o *oracle) apply(in intentBody) {
	if o.expectation(in) != "settled" {
		return
	}
	img := o.images[in.ImageID]
	switch in.Action {
	case "modify":
		o.set(img, in.Attributes)
		switch in.Attributes.Status {
		case "Deprecated":
			o.deprecate(img)
		case "Available":
			img.status = "Available" // "activate"
		}
	case "deprecate":
		o.deprecate(img)
	case "activate":
		if img.status == "Deprecated" {
			img.status = "Available"
		}
	case "promote":
		// The attributes, then Available, then the older Available images
		// beyond keep are deprecated; the promoted one and newer ones stay.
		o.set(img, in.Attributes)
		img.status = "Available"
		o.trim(img.family, keepOf(in), img.created, 0)
	case "rotate":
		for _, fam := range o.families(in) {
			o.trim(fam, keepOf(in), time.Time{}, minAgeOf(in))
		}
	case "rollback":
		o.rollback(img)
	}
}

func (o *oracle) set(img *oimage, a *attributes) {
	if a == nil {
		return
	}
	for dst, v := range map[*string]string{&img.name: a.ImageName, &img.description: a.Description,
		&img.bootMode: a.BootMode, &img.license: a.LicenseType} {
		if v != "" {
			*dst = v
		}
	}
	if f := a.Features; f != nil {
		img.nvme = cmp.Or(f.NvmeSupport, img.nvme)
		img.imdsMode = cmp.Or(f.ImdsSupport, img.imdsMode)
	}
}

// deprecate obeys the floor (the family keeps at least floor Available
// images) and skips a shared image.
func (o *oracle) deprecate(img *oimage) {
	if img.status != "Available" || img.shared {
		return
	}
	if img.family != "" && o.available(img.family) <= o.floor {
		return
	}
	img.status = "Deprecated"
}

// trim keeps the newest max(keep, floor) Available images of a family (and,
// with a promote, every image not older than the promoted one) and deprecates
// the other Available ones older than minAge.
func (o *oracle) trim(family string, keep int, promoted time.Time, minAge time.Duration) {
	avail := o.family(family, "Available")
	for j := len(avail) - 1 - max(keep, o.floor); j >= 0; j-- { // oldest first, beyond the kept ones
		img := avail[j]
		if img.excluded || img.shared || (!promoted.IsZero() && !img.created.Before(promoted)) {
			continue
		}
		if o.now.Sub(img.created) < minAge {
			continue
		}
		img.status = "Deprecated"
	}
}

// rollback from bad: it ends Deprecated and an older image stays Available;
// when none older is Available, the newest older Deprecated one is
// re-activated first; with nothing older at all, nothing changes.
func (o *oracle) rollback(bad *oimage) {
	var olderAvailable bool
	var previous *oimage // the newest Deprecated image older than bad
	for _, img := range o.family(bad.family, "") {
		if !img.created.Before(bad.created) {
			continue
		}
		switch img.status {
		case "Available":
			olderAvailable = true
		case "Deprecated":
			previous = img
		}
	}
	switch {
	case bad.status == "Available" && bad.shared:
		return // the shared guard holds the rollback back, re-activation and all
	case olderAvailable:
	case previous != nil:
		previous.status = "Available"
	default:
		return
	}
	bad.status = "Deprecated"
}

// family returns the family's images with the status ("" = all), oldest first.
func (o *oracle) family(name, status string) []*oimage {
	var out []*oimage
	for _, img := range o.images {
		if img.family == name && (status == "" || img.status == status) {
			out = append(out, img)
		}
	}
	slices.SortFunc(out, func(a, b *oimage) int {
		return cmp.Or(a.created.Compare(b.created), strings.Compare(a.id, b.id))
	})
	return out
}

// families are the families a rotate names: imageFamily, and every family
// matching one of the imageFamilies globs.
func (o *oracle) families(in intentBody) []string {
	var out []string
	for _, img := range o.images {
		match := img.family == in.ImageFamily
		for _, g := range in.ImageFamilies {
			if ok, _ := path.Match(g, img.family); ok {
				match = true
			}
		}
		if match && img.family != "" && !slices.Contains(out, img.family) {
			out = append(out, img.family)
		}
	}
	return out
}

func (o *oracle) available(family string) int { return len(o.family(family, "Available")) }

func keepOf(in intentBody) int {
	if in.Keep != nil {
		return *in.Keep
	}
	return 2 // the README's default
}

// minAgeOf reads minAge as the README has it: a Go duration, "Nd", or a number of days.
func minAgeOf(in intentBody) time.Duration {
	switch v := in.MinAge.(type) {
	case string:
		if days, ok := strings.CutSuffix(v, "d"); ok {
			n, _ := strconv.Atoi(days)
			return time.Duration(n) * 24 * time.Hour
		}
		d, _ := time.ParseDuration(v)
		return d
	case int:
		return time.Duration(v) * 24 * time.Hour
	case float64: // as JSON decodes a number
		return time.Duration(v * float64(24*time.Hour))
	}
	return 0
}

// finalState applies the intents in the given order.
func finalState(sc *scenario, floor int, now time.Time, order []int) map[string]oimage {
	o := newOracle(sc.seed, floor, now)
	for _, i := range order {
		o.apply(sc.messages[i].intent)
	}
	out := map[string]oimage{}
	for id, img := range o.images {
		out[id] = *img
	}
	return out
}

// checkOrderFree computes the end state in publication order, reversed, and
// in shuffled orders with duplicates, and returns it if they all agree: the
// claim the whole test rests on. An error here is a bug of the generator.
func checkOrderFree(sc *scenario, floor int, now time.Time, seed uint64) (map[string]oimage, error) {
	n := len(sc.messages)
	inOrder := make([]int, n)
	for i := range inOrder {
		inOrder[i] = i
	}
	want := finalState(sc, floor, now, inOrder)
	rng := rand.New(rand.NewPCG(seed, 0x0ac1e))
	for try := range 4 {
		order := slices.Clone(inOrder)
		if try == 0 {
			slices.Reverse(order)
		} else {
			for range n / 10 {
				order = append(order, rng.IntN(n)) // duplicates
			}
			rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		}
		got := finalState(sc, floor, now, order)
		for id, w := range want {
			if got[id] != w {
				return nil, fmt.Errorf("generator bug: the intents do not commute: image %s ends %+v in publication order, %+v in order %d", id, w, got[id], try)
			}
		}
	}
	return want, nil
}

func (i oimage) String() string {
	s := fmt.Sprintf("%s %s, family %s, created %s, name %q, description %q, bootMode %q, licenseType %q, nvme %q, imds %q",
		i.id, i.status, i.family, i.created.Format(time.RFC3339), i.name, i.description, i.bootMode, i.license, i.nvme, i.imdsMode)
	if i.excluded {
		s += ", excluded by tag"
	}
	if i.shared {
		s += ", shared"
	}
	return s
}
