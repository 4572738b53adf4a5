package lifecycle

import (
	"context"
	"fmt"
	"slices"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
)

// restoreFloor re-reads every family this run deprecated images in and, when
// a family is below FamilyFloor, re-activates the run's own deprecations in
// it, newest first, until the floor holds again.
//
// Why: Apply re-checks each deprecation on a fresh read just before its write,
// but ECS has no conditional write, so two runs can each pass their check and
// then both write. Rotate and promote alone cannot go below the floor that way
// (each keeps images newer than what it deprecates, and nobody deprecates
// those), but a rollback, an explicit deprecate or a modify keeps images
// older than, or beside, the one it deprecates, and together with a rotate or
// another rollback can take a family below its floor for a moment. Every run
// that deprecated reads the family after its own last write; the last such
// write is therefore seen by its own run, which undoes it (and, when needed,
// its other deprecations there), so a family does not stay below its floor.
//
// current says that the cache already holds a read made after every write of
// this run (a settle pass that wrote nothing); otherwise the family is read
// afresh. A run that deprecated nothing reads nothing here.
func (e *Engine) restoreFloor(ctx context.Context, res *Result, current bool) error {
	if res == nil || res.Plan == nil || e.Guards.FamilyFloor <= 0 {
		return nil
	}
	families, own := ownDeprecations(res)
	for _, fam := range families {
		if err := e.restoreFamilyFloor(ctx, res, fam, own[fam], current); err != nil {
			return err
		}
	}
	return nil
}

// ownDeprecations lists the families this run deprecated images in, in the
// order of its writes, and for each the images it deprecated there: only
// those may be re-activated, since another run's deprecation is its to undo.
func ownDeprecations(res *Result) (families []string, own map[string][]string) {
	own = map[string][]string{} // family -> images this run deprecated
	for _, a := range res.Applied {
		if !slices.ContainsFunc(a.Changes, isDeprecation) {
			continue
		}
		i := slices.IndexFunc(res.Plan.Steps, func(s Step) bool { return s.ImageID == a.ImageID && s.Family != "" })
		if i < 0 {
			continue
		}
		fam := res.Plan.Steps[i].Family
		if _, seen := own[fam]; !seen {
			families = append(families, fam)
		}
		own[fam] = append(own[fam], a.ImageID)
	}
	return families, own
}

// restoreFamilyFloor reads family fam's live images (afresh unless current)
// and, when it is below FamilyFloor, reads the whole family and re-activates
// the images of own (this run's deprecations there) that are still
// Deprecated, newest first (the newest are the ones a rotation would keep),
// until the floor holds: what to undo is judged on a complete listing read
// now, not on what the run knew of the Deprecated images.
func (e *Engine) restoreFamilyFloor(ctx context.Context, res *Result, fam string, own []string, current bool) error {
	region := res.Plan.RegionID
	read := e.read()
	if !current {
		if err := read.liveFamily(ctx, region, fam); err != nil {
			return err
		}
	}
	imgs, err := read.family(ctx, region, fam, false)
	if err != nil {
		return err
	}
	if countAvailable(imgs) >= e.Guards.FamilyFloor {
		return nil
	}
	if imgs, err = read.family(ctx, region, fam, true); err != nil {
		return err
	}
	avail := countAvailable(imgs)
	for i := len(imgs) - 1; i >= 0 && avail < e.Guards.FamilyFloor; i-- { // newest first
		img := imgs[i]
		if img.Status != ecsapi.StatusDeprecated || !slices.Contains(own, img.ImageID) {
			continue
		}
		if err := e.undoDeprecation(ctx, res, fam, img, avail); err != nil {
			return err
		}
		avail++
	}
	return nil
}

// countAvailable counts the Available images of imgs.
func countAvailable(imgs []ecsapi.Image) int {
	n := 0
	for _, img := range imgs {
		if img.Status == ecsapi.StatusAvailable {
			n++
		}
	}
	return n
}

// undoDeprecation re-activates img, which this run deprecated in family fam
// (found with avail Available images, below the floor), and records it in
// res three ways: the write as applied, the deprecation as held with the
// reason, and a plan step, so the report shows what was undone and why.
func (e *Engine) undoDeprecation(ctx context.Context, res *Result, fam string, img ecsapi.Image, avail int) error {
	region := res.Plan.RegionID
	activate := []FieldChange{{Field: FieldStatus, From: ecsapi.StatusDeprecated, To: ecsapi.StatusAvailable}}
	reqID, wrote, err := e.modify(ctx, ecsapi.ModifyInput{RegionID: region, ImageID: img.ImageID, Changes: toAPI(activate)})
	if err != nil {
		return fmt.Errorf("lifecycle: re-activate %s to restore the floor of family %s: %w", img.ImageID, fam, err)
	}
	reason := fmt.Sprintf("fresh read after own writes: family %s had %d Available images, below its floor %d "+
		"(another run deprecated at the same time); deprecation undone", fam, avail, e.Guards.FamilyFloor)
	if e.Cache != nil {
		e.Cache.applied(region, img.ImageID, activate)
	}
	if wrote {
		res.Applied = append(res.Applied, AppliedStep{ImageID: img.ImageID, Changes: activate, RequestID: reqID})
	}
	undone := []FieldChange{{Field: FieldStatus, From: ecsapi.StatusAvailable, To: ecsapi.StatusDeprecated}}
	res.Held = append(res.Held, HeldStep{ImageID: img.ImageID, Changes: undone, Reason: reason})
	s := stepFor(img)
	s.Changes, s.Reason = activate, reason
	merged := *res.Plan
	merged.Steps = append(slices.Clone(merged.Steps), s)
	res.Plan = &merged
	return nil
}
