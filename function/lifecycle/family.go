package lifecycle

import (
	"context"
	"fmt"
	"net/http"
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
	var avail []int // indexes into sel.images, oldest first
	for i, img := range sel.images {
		if img.Status == ecsapi.StatusAvailable {
			avail = append(avail, i)
		}
	}
	firstKept := max(len(avail)-sel.keep, 0)
	if sel.promoted != "" {
		for j, i := range avail {
			if sel.images[i].ImageID == sel.promoted {
				firstKept = min(firstKept, j)
			}
		}
	}
	need := max(sel.keep, e.Guards.FamilyFloor)
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
	for j, i := range avail[firstKept:] {
		s := &steps[i]
		switch {
		case sel.images[i].ImageID == sel.promoted:
			s.Reason = "promoted image"
		case sel.promoted != "" && j > 0 && slices.ContainsFunc(avail[firstKept:firstKept+j], func(k int) bool {
			return sel.images[k].ImageID == sel.promoted
		}):
			s.Reason = "newer than the promoted image, kept"
		default:
			s.Reason = fmt.Sprintf("newest Available, kept (keep %d)", sel.keep)
		}
	}
	newer := len(avail) - firstKept
	now := e.now()
	for j := firstKept - 1; j >= 0; j-- {
		i := avail[j]
		img, s := sel.images[i], &steps[i]
		switch {
		case e.Guards.excluded(img):
			s.Reason, s.Skipped = "excluded: tag "+e.Guards.ExcludeTag, true
		case sel.minAge > 0 && now.Sub(img.CreationTime) < sel.minAge:
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
			if err := e.guardShared(ctx, region, s); err != nil {
				return nil, err
			}
		}
		if !s.deprecates() {
			newer++ // it stays Available, newer than every older candidate
		}
	}
	return steps, nil
}

// planRotate keeps the newest `keep` Available images of each family and
// deprecates the rest that are older than minAge.
func (e *Engine) planRotate(ctx context.Context, p *Plan, in intent.Intent) error {
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
		steps, err := e.selectFamily(ctx, p.RegionID, selection{family: fam, images: imgs, keep: max(in.KeepOrDefault(), 0), minAge: in.MinAge.Std()})
		if err != nil {
			return err
		}
		p.Steps = append(p.Steps, steps...)
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
	var a intent.Attributes
	if in.Attributes != nil {
		a = *in.Attributes
	}
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
	family := img.Family
	if a.ImageFamily != "" {
		family = a.ImageFamily
	}
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
	steps, err := e.selectFamily(ctx, p.RegionID, selection{family: family, images: imgs, keep: max(in.KeepOrDefault(), 0), promoted: img.ImageID})
	if err != nil {
		return err
	}
	p.Steps = append(p.Steps, ps)
	for _, s := range steps {
		if s.ImageID != img.ImageID {
			p.Steps = append(p.Steps, s)
		}
	}
	return nil
}

// planRollback plans a rollback from one image F: in the end F is
// Deprecated and at least one Available image older than F stays in its
// family. Only when none older is Available is P, the newest Deprecated image
// older than F, re-activated, and always before F is deprecated, so the
// family is never empty.
//
// F is the intent's imageId: then the rollback is level-based, and a
// redelivered message finds it done and changes nothing. Without imageId, F
// is the family's newest Available image as read now; the plan names it, and
// a redelivery would roll back one image further, which the reason says.
//
// The exclusion tag protects F only when F was resolved here (a bulk
// selection); naming F with imageId is the operator's explicit choice, as
// with an explicit deprecate. The floor and the shared guard apply either way.
func (e *Engine) planRollback(ctx context.Context, p *Plan, in intent.Intent) error {
	family, err := e.rollbackFamily(ctx, p.RegionID, in)
	if err != nil {
		return err
	}
	p.Families = []string{family}
	imgs, err := e.read().family(ctx, p.RegionID, family, false)
	if err != nil {
		return err
	}
	from := -1
	if in.ImageID != "" {
		byID := func(img ecsapi.Image) bool { return img.ImageID == in.ImageID }
		if from = slices.IndexFunc(imgs, byID); from < 0 {
			// The listing predates the image joining the family: read it again.
			if imgs, err = e.read().family(ctx, p.RegionID, family, true); err != nil {
				return err
			}
			if from = slices.IndexFunc(imgs, byID); from < 0 {
				return guardError("OperationConflict", http.StatusConflict,
					"image %s is no longer listed in image family %s; another change is under way", in.ImageID, family)
			}
		}
	} else {
		for i, img := range imgs { // oldest first
			if img.Status == ecsapi.StatusAvailable {
				from = i
			}
		}
	}
	steps := make([]Step, len(imgs))
	for i, img := range imgs {
		steps[i] = stepFor(img)
		steps[i].Reason = "not part of the rollback"
	}
	if from < 0 {
		for i := range steps {
			steps[i].Reason = "no Available image in family " + family + ", nothing to roll back"
		}
		p.Steps = steps
		return nil
	}
	f := imgs[from]
	if f.Status == ecsapi.StatusCreating {
		// Deprecating it would be refused; the message waits as a promote does.
		return guardError(codeImageIsCreating, http.StatusForbidden,
			"image %s is still Creating (%d%%); it can be rolled back from once it is created", f.ImageID, f.Progress)
	}
	resolved := in.ImageID == ""
	note := "" // said wherever F's step is reported
	if resolved {
		p.ImageID = f.ImageID
		note = " (" + f.ImageID + " resolved now as the newest Available image: a redelivery would roll back one image further;" +
			" only a rollback with imageId is safe to redeliver)"
	}
	olderAvail, prev := -1, -1 // the newest of each kind older than F
	avail := 0
	for i, img := range imgs {
		switch {
		case img.Status == ecsapi.StatusAvailable:
			avail++
			if i < from {
				olderAvail = i
			}
		case img.Status == ecsapi.StatusDeprecated && i < from:
			prev = i
		}
	}
	fs := &steps[from]
	var ps *Step
	// P is re-activated only when no image older than F is Available: the
	// state asked for then holds without it. One rule for both forms, so a
	// rollback writes no more than it must, with imageId or without.
	if prev >= 0 && olderAvail < 0 {
		ps = &steps[prev]
		ps.Changes = []FieldChange{{Field: FieldStatus, From: ecsapi.StatusDeprecated, To: ecsapi.StatusAvailable}}
		ps.Reason = "rollback: re-activate the newest Deprecated image older than " + f.ImageID + " (none older is Available)"
	}
	switch {
	case f.Status == ecsapi.StatusDeprecated:
		fs.Reason = "rollback from " + f.ImageID + ": already Deprecated"
		switch {
		case ps != nil:
			fs.Reason += "; " + ps.ImageID + " re-activated so that an older image is Available"
		case olderAvail >= 0:
			fs.Reason += " and " + imgs[olderAvail].ImageID + ", older, is Available: nothing to change"
		default:
			fs.Reason += "; no image older than it to re-activate"
		}
	case ps == nil && olderAvail < 0:
		fs.Skipped = true
		fs.Reason = "rollback from " + f.ImageID + ": kept Available, no image older than it to roll back to"
	default:
		fs.Changes = []FieldChange{{Field: FieldStatus, From: ecsapi.StatusAvailable, To: ecsapi.StatusDeprecated}}
		fs.Reason = "rollback: deprecate " + f.ImageID
		if ps != nil {
			fs.Reason += ", after " + ps.ImageID + " is Available"
		} else {
			fs.Reason += "; " + imgs[olderAvail].ImageID + ", older, stays Available"
		}
		// Re-checked on a fresh read just before the write: the family keeps
		// its floor and an Available image older than F, whatever other runs
		// did since (a re-activated P counts only if it is still Available).
		fs.check = deprecationCheck{others: e.Guards.FamilyFloor, older: 1}
		if resolved && ps != nil {
			fs.check.requireAvailable = ps.ImageID // the rollback goes back to P
		}
		after := avail - 1
		if ps != nil {
			after++
		}
		hold := ""
		switch {
		case resolved && e.Guards.excluded(f):
			hold = "excluded: tag " + e.Guards.ExcludeTag
		case after < e.Guards.FamilyFloor:
			hold = e.floorReason(family)
		default:
			if err := e.guardShared(ctx, p.RegionID, fs); err != nil {
				return err
			}
			if fs.Skipped {
				hold = fs.Reason
			}
		}
		if hold != "" {
			// Activating P alone would not roll anything back: hold both.
			for _, s := range []*Step{ps, fs} {
				if s != nil {
					s.Changes, s.Unshare, s.Skipped = nil, nil, true
					s.Reason = hold + "; rollback not done"
				}
			}
		}
	}
	fs.Reason += note
	// P first, then F, then everything else oldest first.
	var order []Step
	if ps != nil {
		order = append(order, *ps)
	}
	order = append(order, *fs)
	for i, s := range steps {
		if i != from && (ps == nil || i != prev) {
			order = append(order, s)
		}
	}
	p.Steps = order
	return nil
}

// rollbackFamily returns the family a rollback works on: imageFamily, or the
// family of imageId, which must be imageFamily when both are given.
func (e *Engine) rollbackFamily(ctx context.Context, region string, in intent.Intent) (string, error) {
	if in.ImageFamily != "" {
		if err := e.Guards.checkFamily(in.ImageFamily); err != nil {
			return "", err
		}
	}
	if in.ImageID == "" {
		return in.ImageFamily, nil
	}
	img, err := e.read().image(ctx, region, in.ImageID, false)
	if err != nil {
		return "", err
	}
	if err := checkOwned(img); err != nil {
		return "", err
	}
	switch {
	case img.Family == "":
		return "", guardError("InvalidParameter", http.StatusBadRequest,
			"image %s has no image family; rollback works within a family", img.ImageID)
	case in.ImageFamily != "" && img.Family != in.ImageFamily:
		return "", guardError("InvalidParameter", http.StatusBadRequest,
			"image %s is in image family %s, not in imageFamily %s; nothing changed", img.ImageID, img.Family, in.ImageFamily)
	}
	return img.Family, e.Guards.checkFamily(img.Family)
}
