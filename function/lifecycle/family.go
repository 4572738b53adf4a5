package lifecycle

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/intent"
)

// selection is one family's images as they will be after the plan's own
// non-deprecating changes, and the rule for what to keep.
type selection struct {
	family   string
	images   []ecsapi.Image // oldest first
	keep     int
	promoted string        // kept whatever keep says, with everything newer
	minAge   time.Duration // only deprecate images older than this
	now      time.Time     // what minAge counts from (selectFamily sets it)
}

// selectFamily decides, image by image, what stays Available and what is
// deprecated. It returns one step per image, oldest first; the promoted image,
// if any, gets a step without changes here (planPromote fills it in).
//
// Kept: the newest `keep` Available images, and with a promote also the
// promoted image and everything newer than it. Everything else that is
// Available is a candidate; candidates are looked at newest first and each is
// deprecated only when at least max(keep, floor) Available images newer than
// it remain. Requiring newer images, not just a count, is what makes two
// overlapping runs safe (see deprecationCheck) and means Apply never
// deprecates an image newer than one it keeps.
func (e *Engine) selectFamily(ctx context.Context, region string, sel selection) ([]Step, error) {
	sel.now = e.now()
	avail := sel.available()
	firstKept := sel.firstKept(avail)
	steps := sel.steps()
	for j, i := range avail[firstKept:] {
		steps[i].Reason = sel.keptReason(avail[firstKept:firstKept+j], i)
	}
	need := max(sel.keep, e.Guards.FamilyFloor)
	newer := len(avail) - firstKept
	for j := firstKept - 1; j >= 0; j-- { // candidates, newest first
		s := &steps[avail[j]]
		if err := e.judgeCandidate(ctx, region, sel, s, sel.images[avail[j]], newer, need); err != nil {
			return nil, err
		}
		if !s.deprecates() {
			newer++ // it stays Available, newer than every older candidate
		}
	}
	return steps, nil
}

// available lists the indexes of the Available images, oldest first.
func (sel selection) available() []int {
	var avail []int
	for i, img := range sel.images {
		if img.Status == ecsapi.StatusAvailable {
			avail = append(avail, i)
		}
	}
	return avail
}

// firstKept is the index into avail of the oldest image kept: the newest
// `keep` are, and with a promote the promoted image and all newer.
func (sel selection) firstKept(avail []int) int {
	first := max(len(avail)-sel.keep, 0)
	if sel.promoted != "" {
		for j, i := range avail {
			if sel.images[i].ImageID == sel.promoted {
				first = min(first, j)
			}
		}
	}
	return first
}

// steps are the family's steps before selection: the images that are not
// Available say why they are not candidates.
func (sel selection) steps() []Step {
	steps := make([]Step, len(sel.images))
	for i, img := range sel.images {
		steps[i] = stepFor(img)
		switch img.Status {
		case ecsapi.StatusDeprecated:
			steps[i].Reason = "already Deprecated"
		case ecsapi.StatusCreating:
			steps[i].Reason = "still Creating, not touched"
		}
	}
	return steps
}

// keptReason says why image i, kept, stays Available; olderKept are the kept
// images older than it.
func (sel selection) keptReason(olderKept []int, i int) string {
	switch {
	case sel.images[i].ImageID == sel.promoted:
		return "promoted image"
	case sel.promoted != "" && slices.ContainsFunc(olderKept, func(k int) bool { return sel.images[k].ImageID == sel.promoted }):
		return "newer than the promoted image, kept"
	default:
		return fmt.Sprintf("newest Available, kept (keep %d)", sel.keep)
	}
}

// judgeCandidate decides whether img, an Available image beyond keep with
// newer Available images newer than it, is deprecated, and says why.
func (e *Engine) judgeCandidate(ctx context.Context, region string, sel selection, s *Step, img ecsapi.Image, newer, need int) error {
	switch {
	case e.Guards.excluded(img):
		s.Reason, s.Skipped = "excluded: tag "+e.Guards.ExcludeTag, true
	case sel.minAge > 0 && sel.now.Sub(img.CreationTime) < sel.minAge:
		s.Reason = "younger than minAge " + sel.minAge.String()
	case newer < need:
		s.Reason, s.Skipped = e.floorReason(sel.family), true
	default:
		s.Changes = []FieldChange{{Field: FieldStatus, From: ecsapi.StatusAvailable, To: ecsapi.StatusDeprecated}}
		s.Reason = fmt.Sprintf("beyond keep %d (%d newer stay Available), deprecated", sel.keep, newer)
		if sel.promoted != "" {
			s.Reason = fmt.Sprintf("older than the promoted image, beyond keep %d, deprecated", sel.keep)
		}
		s.check = deprecationCheck{newer: need, others: e.Guards.FamilyFloor, requireAvailable: sel.promoted}
		return e.guardShared(ctx, region, s)
	}
	return nil
}

// planRotate keeps the newest `keep` Available images of each family and
// deprecates the rest that are older than minAge.
func (e *Engine) planRotate(ctx context.Context, p *Plan, in intent.Intent) error {
	in, err := e.rotationFamilies(in)
	if err != nil {
		return err
	}
	families, err := e.rotateFamilies(ctx, p.RegionID, in)
	if err != nil {
		return err
	}
	p.Families = families
	for _, fam := range families {
		imgs, err := e.read().family(ctx, p.RegionID, fam, false)
		if err != nil {
			return err
		}
		keep, minAge := e.settings(in, fam)
		steps, err := e.selectFamily(ctx, p.RegionID, selection{family: fam, images: imgs, keep: keep, minAge: minAge})
		if err != nil {
			return err
		}
		p.Steps = append(p.Steps, steps...)
		p.note(e.ruleNote(in, fam))
	}
	return nil
}

// rotateFamilies resolves imageFamily / imageFamilies to family names. Plain
// names are read directly; a glob lists the region once (paged) and matches
// the families found there. Explicit names outside ALLOWED_FAMILIES are an
// error; glob matches outside it are simply not selected.
func (e *Engine) rotateFamilies(ctx context.Context, region string, in intent.Intent) ([]string, error) {
	var out, globs []string
	for _, n := range in.Families() {
		if strings.ContainsAny(n, `*?[\`) {
			globs = append(globs, n)
			continue
		}
		if err := e.Guards.checkFamily(n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	if len(globs) > 0 {
		byFamily, err := e.read().region(ctx, region)
		if err != nil {
			return nil, err
		}
		for fam := range byFamily {
			for _, g := range globs {
				if ok, _ := path.Match(g, fam); ok && e.Guards.familyAllowed(fam) {
					out = append(out, fam)
					break
				}
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// planPromote waits for the image, plans its attributes and its activation,
// then plans the deprecation of the older images of its family beyond keep.
func (e *Engine) planPromote(ctx context.Context, p *Plan, in intent.Intent) error {
	img, err := e.waitAvailable(ctx, p.RegionID, p.ImageID)
	if err != nil {
		return err
	}
	family := img.Family
	if in.Attributes != nil && in.Attributes.ImageFamily != "" {
		family = in.Attributes.ImageFamily
	}
	a := e.promoteAttributes(in, family)
	// A promote always ends with the image Available, whatever else it sets.
	a.Status = ecsapi.StatusAvailable
	if err := e.checkImage(img, a); err != nil {
		return err
	}
	changes, err := e.diff(ctx, p.RegionID, img, a)
	if err != nil {
		return err
	}
	ps := stepFor(img)
	ps.Changes = changes
	ps.Reason = "promoted image: " + changeReason(changes, ecsapi.StatusAvailable)
	ps.Family = family
	if family == "" {
		ps.Reason += "; no image family, nothing else to deprecate"
		p.Steps = []Step{ps}
		return nil
	}
	p.Families = []string{family}
	imgs, err := e.read().family(ctx, p.RegionID, family, false)
	if err != nil {
		return err
	}
	// The family as it will be once the promoted image has its attributes.
	after := img
	after.Family, after.Status = family, ecsapi.StatusAvailable
	imgs = slices.DeleteFunc(slices.Clone(imgs), func(o ecsapi.Image) bool { return o.ImageID == img.ImageID })
	imgs = append(imgs, after)
	sortImages(imgs)
	keep, _ := e.settings(in, family)
	steps, err := e.selectFamily(ctx, p.RegionID, selection{family: family, images: imgs, keep: keep, promoted: img.ImageID})
	if err != nil {
		return err
	}
	p.note(e.ruleNote(in, family))
	p.Steps = append(p.Steps, ps)
	for _, s := range steps {
		if s.ImageID != img.ImageID {
			p.Steps = append(p.Steps, s)
		}
	}
	return nil
}
