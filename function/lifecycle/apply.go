package lifecycle

import (
	"context"
	"fmt"
	"slices"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/retry"
)

// maxAccountsPerUnshare is ModifyImageSharePermission's limit on RemoveAccount.N.
const maxAccountsPerUnshare = 10

// Apply makes the writes the plan lists, in order, and nothing else: one
// ModifyImageAttribute per image that changes. Before its first deprecation in
// a family it re-reads that family, unless the listing it has was read less
// than freshFor ago (by the plan, or by the read after the previous message's
// writes), and before each one it re-checks the floor and the keep rule
// against that read as updated by its own writes, so that a run overlapping
// with another cannot take the family below its floor; a deprecation that no
// longer holds is reported in Result.Held. One fresh read per family, not per
// image, keeps a rotation close to one call per changed image; what another
// run writes between two of our steps is caught by the re-read after the
// writes (RestoreFloors). A dry-run plan is not applied.
// Result.Plan is a copy of p whose steps list as Changes only what was sent
// and as Held what was held back. Apply stops at the first API error and
// returns it wrapped (steps after it keep their planned changes).
func (e *Engine) Apply(ctx context.Context, p *Plan) (*Result, error) {
	res := &Result{Plan: p}
	if p == nil || p.DryRun {
		return res, nil
	}
	// The result's plan is a copy whose steps say what happened: Changes
	// keeps only what was sent, Held what a fresh read held back. The plan
	// given stays as it was planned.
	done := *p
	done.Steps = slices.Clone(p.Steps)
	res.Plan = &done
	listings := map[string]listing{} // per family, what a re-check may judge by
	for i := range done.Steps {
		if err := e.applyStep(ctx, p.RegionID, &done.Steps[i], res, listings); err != nil {
			return res, err
		}
	}
	return res, nil
}

// listing says which read of a family Apply's re-check may judge by.
type listing int

const (
	// listingPlanned: nothing written to the family or re-read yet in this
	// Apply; a listing read less than freshFor ago will do.
	listingPlanned listing = iota
	// listingWritten: this Apply has made an image Available in the family,
	// or moved one into it (a promoted or re-activated image that the
	// deprecations count on), and only a read made after that write shows
	// that ECS holds it.
	listingWritten
	// listingReread: read afresh (or found recent) in this Apply; the cache,
	// as updated by the Apply's own writes, will do.
	listingReread
)

// applyStep makes one step's writes and records in s and res what was sent
// and what was held. A step that takes its image out of its family is first
// re-checked (recheckStep), so only what still holds is sent.
func (e *Engine) applyStep(ctx context.Context, region string, s *Step, res *Result, listings map[string]listing) error {
	if len(s.Changes) == 0 {
		return nil
	}
	changes := s.Changes
	if s.leavesFamily() {
		var err error
		if changes, err = e.recheckStep(ctx, region, s, res, listings); err != nil {
			return err
		}
	}
	s.Changes = changes
	if len(changes) == 0 {
		return nil
	}
	if err := e.unshareBeforeDeprecation(ctx, region, *s, changes); err != nil {
		return err
	}
	reqID, wrote, err := e.modify(ctx, ecsapi.ModifyInput{RegionID: region, ImageID: s.ImageID, Changes: toAPI(changes)})
	if err != nil {
		return fmt.Errorf("lifecycle: modify %s: %w", s.ImageID, err)
	}
	if e.Cache != nil {
		e.Cache.applied(region, s.ImageID, changes)
	}
	if listings[s.Family] == listingPlanned && slices.ContainsFunc(changes, s.joins) {
		listings[s.Family] = listingWritten
	}
	if !wrote {
		// Another run got there first (rollback, promote, a duplicate):
		// the target state holds, nothing was written, and the plan goes on.
		s.Changes = nil
		s.Reason += "; the API answered that the state already held (another run), nothing written"
		return nil
	}
	res.Applied = append(res.Applied, AppliedStep{ImageID: s.ImageID, Changes: changes, RequestID: reqID})
	res.Changed = true
	return nil
}

// recheckStep re-checks a step that takes its image out of its family against
// the family as read now (per listings: fresh the first time in this Apply),
// and returns the changes still to send. What it holds back goes to s.Held and
// res.Held with the reason, so the report says why the image was not changed.
func (e *Engine) recheckStep(ctx context.Context, region string, s *Step, res *Result, listings map[string]listing) ([]FieldChange, error) {
	changes := s.Changes
	v, reason, err := e.recheck(ctx, region, *s, listings[s.Family])
	listings[s.Family] = listingReread
	if err != nil {
		return nil, err
	}
	switch v {
	case recheckDone:
		// Already Deprecated: the deprecation holds; a move no longer
		// takes an Available image from the family and goes ahead.
		res.diverged = res.diverged || s.deprecates()
		changes = slices.DeleteFunc(slices.Clone(changes), isDeprecation)
		if len(changes) < len(s.Changes) {
			s.Reason += "; fresh read: already Deprecated (another run), not sent"
		}
	case recheckHold:
		res.diverged = true
		kept := withoutLeaving(changes, s.Family)
		held := slices.DeleteFunc(slices.Clone(changes), func(c FieldChange) bool { return slices.Contains(kept, c) })
		s.Held, s.HeldReason, s.Unshare = held, reason, nil
		res.Held = append(res.Held, HeldStep{ImageID: s.ImageID, Changes: held, Reason: reason})
		changes = kept
	}
	return changes, nil
}

// unshareBeforeDeprecation removes the step's share accounts before its
// deprecation is written, in chunks of the API's limit, so that no account
// keeps a deprecated image; a step that deprecates nothing unshares nothing.
func (e *Engine) unshareBeforeDeprecation(ctx context.Context, region string, s Step, changes []FieldChange) error {
	if len(s.Unshare) == 0 || !slices.ContainsFunc(changes, isDeprecation) {
		return nil
	}
	for chunk := range slices.Chunk(s.Unshare, maxAccountsPerUnshare) {
		if err := e.API.RemoveImageShares(ctx, region, s.ImageID, chunk); err != nil {
			return fmt.Errorf("lifecycle: unshare %s: %w", s.ImageID, err)
		}
	}
	return nil
}

// writeReporter is an ecsapi.API that can tell a write from an answer that
// the target state already held, which it counts as success (the retry layer).
type writeReporter interface {
	ModifyImageAttributeWrote(ctx context.Context, in ecsapi.ModifyInput) (requestID string, wrote bool, err error)
}

// modify sends one ModifyImageAttribute and says whether it wrote anything,
// so that a run reports applied only when it changed an image. An answer that
// the target state already held is no error and no write: the retry layer
// says so itself; from any other API, retry.ClassifyModify decides.
func (e *Engine) modify(ctx context.Context, in ecsapi.ModifyInput) (requestID string, wrote bool, err error) {
	if w, ok := e.API.(writeReporter); ok {
		return w.ModifyImageAttributeWrote(ctx, in)
	}
	requestID, err = e.API.ModifyImageAttribute(ctx, in)
	if err != nil && retry.ClassifyModify(err, in) == retry.AlreadyDone {
		return requestID, false, nil
	}
	return requestID, err == nil, err
}

// joins says whether c adds the step's image to the Available images of its
// family: it makes the image Available, or moves it into the family.
func (s Step) joins(c FieldChange) bool {
	return (c.Field == FieldStatus && c.To == ecsapi.StatusAvailable) || (c.Field == FieldImageFamily && c.To == s.Family)
}

func isDeprecation(c FieldChange) bool {
	return c.Field == FieldStatus && c.To == ecsapi.StatusDeprecated
}

// recheckVerdict is what a fresh read says about a step that takes an image
// out of its family's Available set.
type recheckVerdict int

const (
	recheckProceed recheckVerdict = iota // the step still holds
	recheckDone                          // the image is already Deprecated
	recheckHold                          // the family would lose too much: hold the step
)

// recheck reads the step's family as l allows (recheckListing) and says
// whether its deprecation or its move out of the family still holds; with
// recheckHold, reason says why.
func (e *Engine) recheck(ctx context.Context, region string, s Step, l listing) (v recheckVerdict, reason string, err error) {
	fam, err := e.recheckListing(ctx, region, s.Family, l)
	if err != nil {
		return recheckHold, "", err
	}
	i := slices.IndexFunc(fam, func(img ecsapi.Image) bool { return img.ImageID == s.ImageID })
	if i < 0 {
		return recheckHold, "fresh read: image is no longer in family " + s.Family, nil
	}
	target := fam[i]
	switch target.Status {
	case ecsapi.StatusDeprecated:
		return recheckDone, "", nil
	case ecsapi.StatusCreating:
		// Let the API answer; the retry layer waits for Creating images.
		return recheckProceed, "", nil
	}
	if r := s.check.requireAvailable; r != "" {
		j := slices.IndexFunc(fam, func(img ecsapi.Image) bool { return img.ImageID == r })
		if j < 0 || fam[j].Status != ecsapi.StatusAvailable {
			return recheckHold, fmt.Sprintf("fresh read: %s is not Available in family %s, nothing deprecated", r, s.Family), nil
		}
	}
	newer, older, others := 0, 0, 0
	for j, img := range fam {
		if j == i || img.Status != ecsapi.StatusAvailable {
			continue
		}
		others++
		if compareImages(img, target) > 0 {
			newer++
		} else {
			older++
		}
	}
	if newer < s.check.newer {
		return recheckHold, fmt.Sprintf("fresh read: only %d Available images newer than it in family %s (need %d)", newer, s.Family, s.check.newer), nil
	}
	if older < s.check.older {
		return recheckHold, fmt.Sprintf("fresh read: no Available image older than it in family %s to roll back to, nothing deprecated", s.Family), nil
	}
	if others < s.check.others {
		return recheckHold, fmt.Sprintf("fresh read: %s", e.floorReason(s.Family)), nil
	}
	return recheckProceed, "", nil
}

// recheckListing is the family as a re-check judges it: a listing read less
// than freshFor ago when the Apply has neither written to the family nor
// re-read it, one read now after its own writes there, and the cache (that
// read, as updated by the writes since) once it has re-read it.
func (e *Engine) recheckListing(ctx context.Context, region, family string, l listing) ([]ecsapi.Image, error) {
	read := e.read()
	switch l {
	case listingPlanned:
		return read.recentFamily(ctx, region, family)
	case listingWritten:
		return read.family(ctx, region, family, true)
	}
	return read.family(ctx, region, family, false)
}

func toAPI(changes []FieldChange) ecsapi.Changes {
	var c ecsapi.Changes
	for _, ch := range changes {
		switch ch.Field {
		case FieldImageName:
			c.Name = ch.To
		case FieldDescription:
			c.Description = ch.To
		case FieldImageFamily:
			c.Family = ch.To
		case FieldBootMode:
			c.BootMode = ch.To
		case FieldLicenseType:
			c.LicenseType = ch.To
		case FieldStatus:
			c.Status = ch.To
		case FieldNvmeSupport:
			c.NvmeSupport = ch.To
		case FieldImdsSupport:
			c.ImdsSupport = ch.To
		}
	}
	return c
}
