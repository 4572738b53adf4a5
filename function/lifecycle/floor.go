package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
)

// RestoreFloors is the read after the writes for the given results (one run
// each, of this engine's invocation): for every family they deprecated
// images in, it reads the family's state and, when the family is below
// FamilyFloor, re-activates those runs' own deprecations in it, newest first,
// until the floor holds again. It returns one error per result: a failure in
// a family goes to every result that deprecated there.
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
// The read is as small as that argument allows. A family whose cached state
// comes from a listing sent after the last write to it (a settle pass that
// wrote nothing) needs none. Otherwise the images the cache holds as live
// (Available or Creating) in those families are read by id, 100 a call for
// every family of the region at once: what counts against the floor is an
// image that stopped being Available, moved away or was deleted, and each of
// those is one of them; an image that became Available or joined the family
// since can only add to it. Only a family found below its floor is listed
// whole, to judge what to undo on a complete listing read now. An invocation
// that defers its runs' floors (DeferFloor) thus reads once for its whole
// batch where each run would read once per family.
func (e *Engine) RestoreFloors(ctx context.Context, results []*Result) []error {
	errs := make([]error, len(results))
	if e.Guards.FamilyFloor <= 0 {
		return errs
	}
	read := e.read()
	checks := floorChecks(results)
	e.readLive(ctx, read, checks)
	for _, c := range checks {
		err := c.err
		if err == nil {
			err = e.restoreFamilyFloor(ctx, read, results, c)
		}
		if err != nil {
			for _, i := range c.results {
				errs[i] = errors.Join(errs[i], err)
			}
		}
	}
	return errs
}

// floorCheck is one family the results deprecated images in.
type floorCheck struct {
	region, family string
	owner          map[string]int // an image deprecated there -> the result that did
	results        []int          // the results that deprecated there, in order
	err            error          // reading the family's live images failed
}

// floorChecks lists the families the results deprecated images in, in the
// order of their writes, each with the images deprecated there and by whom:
// only those may be re-activated, since another run's deprecation is its to
// undo.
func floorChecks(results []*Result) []*floorCheck {
	var checks []*floorCheck
	byKey := map[familyKey]*floorCheck{}
	for i, res := range results {
		if res == nil || res.Plan == nil {
			continue
		}
		for _, a := range res.Applied {
			if !slices.ContainsFunc(a.Changes, isDeprecation) {
				continue
			}
			j := slices.IndexFunc(res.Plan.Steps, func(s Step) bool { return s.ImageID == a.ImageID && s.Family != "" })
			if j < 0 {
				continue
			}
			k := familyKey{res.Plan.RegionID, res.Plan.Steps[j].Family}
			c := byKey[k]
			if c == nil {
				c = &floorCheck{region: k.region, family: k.family, owner: map[string]int{}}
				byKey[k] = c
				checks = append(checks, c)
			}
			c.owner[a.ImageID] = i
			if !slices.Contains(c.results, i) {
				c.results = append(c.results, i)
			}
		}
	}
	return checks
}

// readLive brings the cached state of the checks' families up to now: by id
// for the images the cache holds as live there, 100 a call per region, or
// with a listing of the family's live images when the cache has no listing
// of it. A family listed after its last write is left as cached. A failed
// read is recorded on the checks it was for.
func (e *Engine) readLive(ctx context.Context, read reader, checks []*floorCheck) {
	byID := map[string][]*floorCheck{} // region -> checks verified by id
	ids := map[string][]string{}       // region -> the ids to read
	var regions []string
	for _, c := range checks {
		if read.cache.listedAfterWrites(c.region, c.family) {
			continue
		}
		imgs, _, listed := read.cache.family(c.region, c.family)
		if !listed {
			c.err = read.liveFamily(ctx, c.region, c.family)
			continue
		}
		if _, seen := ids[c.region]; !seen {
			regions = append(regions, c.region)
		}
		ids[c.region] = append(ids[c.region], liveIDs(imgs)...)
		byID[c.region] = append(byID[c.region], c)
	}
	for _, region := range regions {
		for chunk := range slices.Chunk(ids[region], pageSize) {
			imgs, err := read.pages(ctx, ecsapi.DescribeImagesInput{RegionID: region, ImageIDs: chunk})
			if err != nil {
				for _, c := range byID[region] {
					c.err = err
				}
				break
			}
			read.cache.setImages(region, chunk, imgs)
		}
	}
}

// liveIDs lists the images of imgs that are not Deprecated.
func liveIDs(imgs []ecsapi.Image) []string {
	var ids []string
	for _, img := range imgs {
		if img.Status != ecsapi.StatusDeprecated {
			ids = append(ids, img.ImageID)
		}
	}
	return ids
}

// restoreFamilyFloor judges check c's family on the cache readLive brought up
// to now and, when it is below FamilyFloor, reads the whole family and
// re-activates the results' own deprecations there that are still
// Deprecated, newest first (the newest are the ones a rotation would keep),
// until the floor holds: what to undo is judged on a complete listing read
// now, not on what the runs knew of the Deprecated images.
func (e *Engine) restoreFamilyFloor(ctx context.Context, read reader, results []*Result, c *floorCheck) error {
	imgs, err := read.family(ctx, c.region, c.family, false)
	if err != nil {
		return err
	}
	if countAvailable(imgs) >= e.Guards.FamilyFloor {
		return nil
	}
	if imgs, err = read.family(ctx, c.region, c.family, true); err != nil {
		return err
	}
	avail := countAvailable(imgs)
	for i := len(imgs) - 1; i >= 0 && avail < e.Guards.FamilyFloor; i-- { // newest first
		img := imgs[i]
		owner, own := c.owner[img.ImageID]
		if img.Status != ecsapi.StatusDeprecated || !own {
			continue
		}
		if err := e.undoDeprecation(ctx, results[owner], c.family, img, avail); err != nil {
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
