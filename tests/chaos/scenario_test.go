package chaos

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/emulator"
)

// A family's kind says which intents it gets. Each kind admits only intents
// whose joint effect does not depend on the order they are applied in (why is
// argued in oracle_test.go), so the oracle's answer is the one right answer
// whatever order, duplicates and redeliveries the trigger produced.
type kind int

const (
	// kindFlip: deprecate, activate and modify (attributes, status) of single
	// images; each image has at most one target status, and one Available
	// image, the anchor, is never deprecated, so the floor never binds.
	kindFlip kind = iota
	// kindRotate: rotate, and promote of images still Creating, all with the
	// family's one keep, at least the number of its builds.
	kindRotate
	// kindRollback: rollbacks from one named bad image.
	kindRollback
	// kindFloor: deprecates of the family's only Available image, which the
	// floor must always hold back.
	kindFloor
)

func (k kind) String() string {
	return [...]string{"flip", "rotate", "rollback", "floor"}[k]
}

// family is one generated image family.
type family struct {
	name   string
	kind   kind
	images []string // oldest first, builds included
	anchor string   // flip: never deprecated
	keep   int      // rotate: the keep of every rotate and promote
	builds []string // rotate: Creating at the start, each promoted at least once
	bad    string   // rollback: the image rolled back from
	last   string   // floor: the only Available image
}

// intentBody is an intent as published, in the README's JSON form.
type intentBody struct {
	Action        string      `json:"action"`
	ID            string      `json:"id,omitempty"`
	ImageID       string      `json:"imageId,omitempty"`
	ImageFamily   string      `json:"imageFamily,omitempty"`
	ImageFamilies []string    `json:"imageFamilies,omitempty"`
	Attributes    *attributes `json:"attributes,omitempty"`
	Keep          *int        `json:"keep,omitempty"`
	MinAge        any         `json:"minAge,omitempty"` // "24h", "1d" or a number of days
	DryRun        bool        `json:"dryRun,omitempty"`
}

type attributes struct {
	ImageName   string    `json:"imageName,omitempty"`
	Description string    `json:"description,omitempty"`
	BootMode    string    `json:"bootMode,omitempty"`
	LicenseType string    `json:"licenseType,omitempty"`
	Status      string    `json:"status,omitempty"`
	Features    *features `json:"features,omitempty"`
}

type features struct {
	NvmeSupport string `json:"nvmeSupport,omitempty"`
	ImdsSupport string `json:"imdsSupport,omitempty"`
}

// published is one message put on the intent queue.
type published struct {
	id     string // the MNS message id
	body   string // the intent's JSON
	intent intentBody
	base64 bool // the trigger hands this one over base64-encoded
}

// scenario is the generated world: the emulator's seed and the messages.
type scenario struct {
	seed     *emulator.Seed
	families []family
	messages []published
}

// Shares of the generated messages.
const (
	shareInvalid = 0.01 // permanent failures: an unknown image, a malformed name
	shareDryRun  = 0.03
	shareBase64  = 0.10
)

// epoch is when the oldest generated image was created: months before any
// run, so that every image is older than a rotate's minAge.
var epoch = time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)

// targets are the attribute values an image converges to: every modify and
// promote of the image carries some of them and never anything else.
type targets struct {
	name, description, bootMode, nvme string
	status                            string // flip images only: "", Available or Deprecated
}

// generate builds n messages over a seed of families, all from one seed.
func generate(seed uint64, n int) *scenario {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	sc := &scenario{seed: &emulator.Seed{Region: "cn-hangzhou", AccountID: "1234567890123456"}}
	want := map[string]targets{}
	pick := func(vs ...string) string { return vs[rng.IntN(len(vs))] }

	order := []kind{kindFlip, kindRotate, kindFlip, kindRollback, kindRotate, kindFlip, kindFloor, kindRotate, kindFlip, kindRollback}
	for f := range 8 + n/100 {
		fam := family{kind: order[f%len(order)]}
		fam.name = fmt.Sprintf("chaos-%s-%02d", fam.kind, f)
		size := 3 + rng.IntN(4)
		builds := 0
		if fam.kind == kindRotate {
			builds = rng.IntN(3)
			if f == slices.Index(order, kindRotate) { // every run promotes a Creating build
				builds = max(builds, 1)
			}
			fam.keep = max(builds, 1+rng.IntN(3))
			// The keep is in the name, so that a glob rotate with that keep
			// (chaos-rotate-k2-*) covers only families that use it.
			fam.name = fmt.Sprintf("chaos-rotate-k%d-%02d", fam.keep, f)
		}
		for i := range size + builds {
			id := fmt.Sprintf("m-chaos%02dimage%02d", f, i)
			img := emulator.SeedImage{Image: ecsapi.Image{
				ImageID: id, Name: fmt.Sprintf("%s-%d", fam.name, i), Family: fam.name,
				Description:  fmt.Sprintf("image %d of %s as seeded", i, fam.name),
				Status:       pick(ecsapi.StatusAvailable, ecsapi.StatusDeprecated),
				CreationTime: epoch.Add(time.Duration(f)*24*time.Hour + time.Duration(i)*time.Hour),
				BootMode:     pick("", "BIOS", "UEFI"), NvmeSupport: pick("", "supported", "unsupported"),
				ImdsSupport: pick("", "v1", "v2"), Progress: 100,
			}}
			if i >= size { // a build: newer than every other image of its family
				img.Status, img.Progress = ecsapi.StatusCreating, 90
				fam.builds = append(fam.builds, id)
			}
			sc.seed.Images = append(sc.seed.Images, img)
			fam.images = append(fam.images, id)
			want[id] = targets{
				name:        fmt.Sprintf("%s-%d-r%d", fam.name, i, rng.IntN(1000)),
				description: fmt.Sprintf("image %d of %s, chaos target %d", i, fam.name, rng.IntN(1000)),
				bootMode:    pick("BIOS", "UEFI", "UEFI-Preferred"),
				nvme:        pick("supported", "unsupported"),
			}
		}
		byID := func(id string) *emulator.SeedImage {
			for i := range sc.seed.Images {
				if sc.seed.Images[i].ImageID == id {
					return &sc.seed.Images[i]
				}
			}
			panic("no image " + id)
		}
		// protect keeps an Available image out of bulk deprecations, in a
		// third of the families: by the exclusion tag, which an explicit
		// deprecate ignores, or by sharing it, which nothing deprecates.
		protect := func(img *emulator.SeedImage) {
			if img.Status != ecsapi.StatusAvailable || rng.IntN(3) > 0 {
				return
			}
			if rng.IntN(2) == 0 {
				img.Tags = map[string]string{"lifecycle:keep": "true"}
			} else {
				img.SharedWith = []string{"1111222233334444"}
			}
		}
		switch fam.kind {
		case kindFlip:
			fam.anchor = fam.images[rng.IntN(size)]
			byID(fam.anchor).Status = ecsapi.StatusAvailable
			if other := fam.images[rng.IntN(size)]; other != fam.anchor {
				protect(byID(other))
			}
			for _, id := range fam.images {
				t := want[id]
				t.status = pick("", ecsapi.StatusAvailable, ecsapi.StatusDeprecated)
				if id == fam.anchor {
					t.status = pick("", ecsapi.StatusAvailable)
				}
				want[id] = t
			}
		case kindRotate:
			protect(byID(fam.images[rng.IntN(size)]))
		case kindRollback:
			fam.bad = fam.images[rng.IntN(size)]
		case kindFloor:
			fam.last = fam.images[rng.IntN(size)]
			for _, id := range fam.images {
				byID(id).Status = ecsapi.StatusDeprecated
			}
			byID(fam.last).Status = ecsapi.StatusAvailable
		}
		sc.families = append(sc.families, fam)
	}

	var intents []intentBody
	// someAttributes is a random non-empty part of the image's targets.
	someAttributes := func(id string) *attributes {
		t := want[id]
		for {
			a := &attributes{}
			if rng.IntN(2) == 0 {
				a.ImageName = t.name
			}
			if rng.IntN(2) == 0 {
				a.Description = t.description
			}
			if rng.IntN(3) == 0 {
				a.BootMode = t.bootMode
			}
			if rng.IntN(4) == 0 {
				a.LicenseType = "BYOL"
			}
			if rng.IntN(3) == 0 {
				a.Features = &features{NvmeSupport: t.nvme}
			}
			if rng.IntN(3) == 0 {
				if a.Features == nil {
					a.Features = &features{}
				}
				a.Features.ImdsSupport = "v2" // never back to v1: the API refuses v2 -> v1
			}
			if *a != (attributes{}) {
				return a
			}
		}
	}
	keep := func(k int) *int { return &k }
	minAge := func() any { return []any{"24h", "1d", 2}[rng.IntN(3)] }
	settled := func(fam family) []string { // images a modify may name: not Creating
		return fam.images[:len(fam.images)-len(fam.builds)]
	}
	promote := func(fam family, id string) intentBody {
		in := intentBody{Action: "promote", ImageID: id, Keep: keep(fam.keep)}
		if rng.IntN(4) > 0 {
			in.Attributes = someAttributes(id)
		}
		return in
	}
	statusIntent := func(id, status string) intentBody {
		switch rng.IntN(3) {
		case 0:
			a := someAttributes(id)
			a.Status = status
			return intentBody{Action: "modify", ImageID: id, Attributes: a}
		case 1:
			return intentBody{Action: "modify", ImageID: id, Attributes: &attributes{Status: status}}
		}
		if status == ecsapi.StatusDeprecated {
			return intentBody{Action: "deprecate", ImageID: id}
		}
		return intentBody{Action: "activate", ImageID: id}
	}
	// Every family gets what makes its end state interesting at least once;
	// every build is promoted at least once (a build nobody promotes would
	// turn Available whenever the emulator lets it, and rotations would see
	// it at a time no oracle can know), early, as a pipeline publishes its
	// promote when the build starts.
	var early []intentBody
	for _, fam := range sc.families {
		switch fam.kind {
		case kindRotate:
			intents = append(intents, intentBody{Action: "rotate", ImageFamily: fam.name, Keep: keep(fam.keep), MinAge: minAge()})
			for _, b := range fam.builds {
				early = append(early, promote(fam, b))
			}
		case kindRollback:
			intents = append(intents, intentBody{Action: "rollback", ImageFamily: fam.name, ImageID: fam.bad})
		case kindFloor:
			intents = append(intents, intentBody{Action: "deprecate", ImageID: fam.last})
		}
	}
	for len(intents)+len(early) < n {
		fam := sc.families[rng.IntN(len(sc.families))]
		images := settled(fam)
		img := images[rng.IntN(len(images))]
		r := rng.Float64()
		var in intentBody
		switch {
		case r < shareInvalid:
			if rng.IntN(2) == 0 {
				in = intentBody{Action: "modify", ImageID: fmt.Sprintf("m-chaosmissing%05d", len(intents)),
					Attributes: &attributes{Description: "for an image that does not exist"}}
			} else {
				in = intentBody{Action: "modify", ImageID: img, Attributes: &attributes{ImageName: "9-starts-with-a-digit"}}
			}
		case r < shareInvalid+shareDryRun:
			// What would change the state if it were not a dry run.
			switch rng.IntN(4) {
			case 0:
				in = intentBody{Action: "deprecate", ImageID: img}
			case 1:
				in = intentBody{Action: "activate", ImageID: img}
			case 2:
				in = intentBody{Action: "rotate", ImageFamily: fam.name, Keep: keep(1)}
			default:
				in = intentBody{Action: "modify", ImageID: img, Attributes: &attributes{
					ImageName: fmt.Sprintf("dry-run-%05d", len(intents)), Description: "a dry run, never written"}}
			}
			in.DryRun = true
		case rng.IntN(5) < 2: // attributes only, in every kind of family
			in = intentBody{Action: "modify", ImageID: img, Attributes: someAttributes(img)}
		default:
			switch fam.kind {
			case kindFlip:
				var targeted []string
				for _, id := range fam.images {
					if want[id].status != "" {
						targeted = append(targeted, id)
					}
				}
				if len(targeted) == 0 {
					in = intentBody{Action: "modify", ImageID: img, Attributes: someAttributes(img)}
					break
				}
				id := targeted[rng.IntN(len(targeted))]
				in = statusIntent(id, want[id].status)
			case kindRotate:
				if len(fam.builds) > 0 && rng.IntN(2) == 0 {
					in = promote(fam, fam.builds[rng.IntN(len(fam.builds))])
				} else {
					in = intentBody{Action: "rotate", ImageFamily: fam.name, Keep: keep(fam.keep), MinAge: minAge()}
				}
				if in.Action == "rotate" && rng.IntN(4) == 0 {
					in.ImageFamily, in.ImageFamilies = "", []string{fmt.Sprintf("chaos-rotate-k%d-*", fam.keep)}
				}
			case kindRollback:
				in = intentBody{Action: "rollback", ImageFamily: fam.name, ImageID: fam.bad}
			case kindFloor:
				in = statusIntent(fam.last, ecsapi.StatusDeprecated)
			}
		}
		intents = append(intents, in)
	}
	rng.Shuffle(len(intents), func(i, j int) { intents[i], intents[j] = intents[j], intents[i] })
	for _, in := range early { // among the first twentieth
		i := rng.IntN(min(len(intents), max(10, n/20)) + 1)
		intents = slices.Insert(intents, i, in)
	}
	for i, in := range intents {
		in.ID = fmt.Sprintf("chaos-%05d", i)
		body, err := json.Marshal(in)
		if err != nil {
			panic(err) // plain structs of strings
		}
		sc.messages = append(sc.messages, published{
			id:     fmt.Sprintf("%016X%016X", rng.Uint64(), rng.Uint64()),
			body:   string(body),
			intent: in,
			base64: rng.Float64() < shareBase64,
		})
	}
	return sc
}
