package lifecycle

import (
	"context"
	"fmt"
	"slices"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/intent"
)

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
	imgs, from, err := e.rollbackImages(ctx, p.RegionID, family, in.ImageID)
	if err != nil {
		return err
	}
	r := newRollback(family, imgs, from, in.ImageID == "")
	if from < 0 {
		p.Steps = r.nothingToRollBack()
		return nil
	}
	f := imgs[from]
	if f.Status == ecsapi.StatusCreating {
		// Deprecating it would be refused; the message waits as a promote does.
		return &NotYet{Code: codeImageIsCreating, After: DefaultCreatingBackoff(f.Progress), Reason: fmt.Sprintf(
			"image %s is still Creating (%d%%); it can be rolled back from once it is created", f.ImageID, f.Progress)}
	}
	if r.resolved {
		p.ImageID = f.ImageID
	}
	ps := r.reactivation()
	fs := &r.steps[from]
	switch {
	case f.Status == ecsapi.StatusDeprecated:
		r.alreadyDeprecated(fs, ps)
	case ps == nil && r.olderAvail < 0:
		fs.Skipped = true
		fs.Reason = "rollback from " + f.ImageID + ": kept Available, no image older than it to roll back to"
	default:
		if err := e.deprecateRolledBack(ctx, p.RegionID, r, fs, ps); err != nil {
			return err
		}
	}
	fs.Reason += r.note()
	p.Steps = r.ordered(ps)
	return nil
}

// rollback is one rollback being planned: the family's images, oldest first,
// a step for each, and where F and the images that matter to it are.
type rollback struct {
	family   string
	imgs     []ecsapi.Image
	steps    []Step
	from     int  // F; -1 when there is nothing to roll back from
	resolved bool // F was resolved here, not named by imageId
	// olderAvail and prev are the newest Available and the newest
	// Deprecated image older than F; -1 when there is none.
	olderAvail, prev int
	avail            int // Available images in the family
}

func newRollback(family string, imgs []ecsapi.Image, from int, resolved bool) *rollback {
	r := &rollback{family: family, imgs: imgs, steps: make([]Step, len(imgs)), from: from, resolved: resolved, olderAvail: -1, prev: -1}
	for i, img := range imgs {
		r.steps[i] = stepFor(img)
		r.steps[i].Reason = "not part of the rollback"
		switch {
		case img.Status == ecsapi.StatusAvailable:
			r.avail++
			if i < from {
				r.olderAvail = i
			}
		case img.Status == ecsapi.StatusDeprecated && i < from:
			r.prev = i
		}
	}
	return r
}

// rollbackImages reads the family and finds F in it: the image named by
// imageID, else the newest Available image (from is -1 when there is none).
func (e *Engine) rollbackImages(ctx context.Context, region, family, imageID string) (imgs []ecsapi.Image, from int, err error) {
	if imgs, err = e.read().family(ctx, region, family, false); err != nil {
		return nil, -1, err
	}
	if imageID == "" {
		return imgs, newestAvailable(imgs), nil
	}
	byID := func(img ecsapi.Image) bool { return img.ImageID == imageID }
	if from = slices.IndexFunc(imgs, byID); from >= 0 {
		return imgs, from, nil
	}
	// The listing predates the image joining the family: read it again.
	if imgs, err = e.read().family(ctx, region, family, true); err != nil {
		return nil, -1, err
	}
	if from = slices.IndexFunc(imgs, byID); from < 0 {
		return nil, -1, &NotYet{Code: codeConflict, Reason: fmt.Sprintf(
			"image %s is no longer listed in image family %s; another change is under way", imageID, family)}
	}
	return imgs, from, nil
}

// newestAvailable is the index of the newest Available image of imgs (oldest
// first), or -1.
func newestAvailable(imgs []ecsapi.Image) int {
	for i := len(imgs) - 1; i >= 0; i-- {
		if imgs[i].Status == ecsapi.StatusAvailable {
			return i
		}
	}
	return -1
}

// nothingToRollBack is the plan of a family without an Available image.
func (r *rollback) nothingToRollBack() []Step {
	for i := range r.steps {
		r.steps[i].Reason = "no Available image in family " + r.family + ", nothing to roll back"
	}
	return r.steps
}

// reactivation plans P's re-activation, and returns its step, or nil when P
// stays as it is. P is re-activated only when no image older than F is
// Available: the state asked for then holds without it. One rule for both
// forms, so a rollback writes no more than it must, with imageId or without.
func (r *rollback) reactivation() *Step {
	if r.prev < 0 || r.olderAvail >= 0 {
		return nil
	}
	ps := &r.steps[r.prev]
	ps.Changes = []FieldChange{{Field: FieldStatus, From: ecsapi.StatusDeprecated, To: ecsapi.StatusAvailable}}
	ps.Reason = "rollback: re-activate the newest Deprecated image older than " + r.imgs[r.from].ImageID + " (none older is Available)"
	return ps
}

// alreadyDeprecated says why F, Deprecated already, needs nothing more.
func (r *rollback) alreadyDeprecated(fs, ps *Step) {
	fs.Reason = "rollback from " + fs.ImageID + ": already Deprecated"
	switch {
	case ps != nil:
		fs.Reason += "; " + ps.ImageID + " re-activated so that an older image is Available"
	case r.olderAvail >= 0:
		fs.Reason += " and " + r.imgs[r.olderAvail].ImageID + ", older, is Available: nothing to change"
	default:
		fs.Reason += "; no image older than it to re-activate"
	}
}

// deprecateRolledBack plans F's deprecation, after P's re-activation when
// there is one, or holds both when a guard stops F's.
func (e *Engine) deprecateRolledBack(ctx context.Context, region string, r *rollback, fs, ps *Step) error {
	fs.Changes = []FieldChange{{Field: FieldStatus, From: ecsapi.StatusAvailable, To: ecsapi.StatusDeprecated}}
	fs.Reason = "rollback: deprecate " + fs.ImageID
	if ps != nil {
		fs.Reason += ", after " + ps.ImageID + " is Available"
	} else {
		fs.Reason += "; " + r.imgs[r.olderAvail].ImageID + ", older, stays Available"
	}
	// Re-checked on a fresh read just before the write: the family keeps
	// its floor and an Available image older than F, whatever other runs
	// did since (a re-activated P counts only if it is still Available).
	fs.check = deprecationCheck{others: e.Guards.FamilyFloor, older: 1}
	if r.resolved && ps != nil {
		fs.check.requireAvailable = ps.ImageID // the rollback goes back to P
	}
	hold, err := e.rollbackHold(ctx, region, r, fs, ps)
	if err != nil || hold == "" {
		return err
	}
	// Activating P alone would not roll anything back: hold both.
	for _, s := range []*Step{ps, fs} {
		if s != nil {
			s.Changes, s.Unshare, s.Skipped = nil, nil, true
			s.Reason = hold + "; rollback not done"
		}
	}
	return nil
}

// rollbackHold says which guard, if any, stops F's deprecation: the
// exclusion tag (for an F resolved here), the floor, or F's shares.
func (e *Engine) rollbackHold(ctx context.Context, region string, r *rollback, fs, ps *Step) (string, error) {
	after := r.avail - 1
	if ps != nil {
		after++
	}
	switch {
	case r.resolved && e.Guards.excluded(r.imgs[r.from]):
		return "excluded: tag " + e.Guards.ExcludeTag, nil
	case after < e.Guards.FamilyFloor:
		return e.floorReason(r.family), nil
	}
	if err := e.guardShared(ctx, region, fs); err != nil {
		return "", err
	}
	if fs.Skipped {
		return fs.Reason, nil
	}
	return "", nil
}

// note is said wherever F's step is reported, when F was resolved here.
func (r *rollback) note() string {
	if !r.resolved {
		return ""
	}
	return " (" + r.imgs[r.from].ImageID + " resolved now as the newest Available image: a redelivery would roll back one image further;" +
		" only a rollback with imageId is safe to redeliver)"
}

// ordered lists P's step first, then F's, then everything else oldest first.
func (r *rollback) ordered(ps *Step) []Step {
	var order []Step
	if ps != nil {
		order = append(order, *ps)
	}
	order = append(order, r.steps[r.from])
	for i, s := range r.steps {
		if i != r.from && (ps == nil || i != r.prev) {
			order = append(order, s)
		}
	}
	return order
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
		return "", refuse(codeInvalid,
			"image %s has no image family; rollback works within a family", img.ImageID)
	case in.ImageFamily != "" && img.Family != in.ImageFamily:
		return "", refuse(codeInvalid,
			"image %s is in image family %s, not in imageFamily %s; nothing changed", img.ImageID, img.Family, in.ImageFamily)
	}
	return img.Family, e.Guards.checkFamily(img.Family)
}
