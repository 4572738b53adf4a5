// Package lifecycle plans and applies image lifecycle intents: it reads the
// images an intent is about, applies the guards, computes a Plan (per image,
// the attribute changes from -> to and why), and then applies only that
// difference through ModifyImageAttribute. Every invocation re-reads the state
// it acts on (level-based; reads are shared within one invocation through a
// Cache), re-checks each deprecation on a read of its family made less than
// freshFor before it, and re-reads the family after its own writes (once
// for a whole batch: RestoreFloors), so duplicate, late or overlapping runs
// are harmless. Should two runs both pass their checks and together take a
// family below its floor (ECS has no conditional write), the read after the
// writes sees it and the run undoes its own deprecation: a family can dip
// below its floor for a moment, but does not stay there.
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/intent"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/policy"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/retry"
)

// Engine plans and applies intents against one ECS API. One Engine serves one
// invocation (its Cache must not outlive it) and is safe for concurrent use.
type Engine struct {
	API    ecsapi.API
	Guards Guards
	// Region is used when an intent names none.
	Region string
	// Now tells the time for minAge; time.Now when nil.
	Now func() time.Time
	// Cache holds what this invocation has read; NewEngine makes a fresh one.
	Cache *Cache
	// CreatingBackoff is how long a promote waits before re-reading an image
	// that is still Creating, from its progress in percent. Nil: the default,
	// short near 100% and long near 0%.
	CreatingBackoff func(progress int) time.Duration
	// Budget is the invocation's time as retry.Shares.Split divided it: a
	// promote does not wait for a Creating image past its Creating line
	// (which keeps the promote's writes and the settling their time), and
	// sleeps on its clock. A zero Budget waits until the context's deadline
	// at most, on the real clock.
	Budget retry.Budget
	// MaxCreatingWait bounds the wait; the budget bounds it further. Zero:
	// only the budget does.
	MaxCreatingWait time.Duration
	// OnCreatingWait, when set, is told each time a promote finds its image
	// still Creating (the CLI shows it as progress). It must not block.
	OnCreatingWait func(CreatingWait)
	// Policy is the lifecycle policy (POLICY_FILE), nil for none: what a
	// family keeps and its new images get where an intent does not say, the
	// families a rotation that names none works on, what an ActionTrail
	// event becomes, and the blast radius of a plan (policy.go, event.go,
	// blastradius.go).
	Policy *policy.Policy
	// DeferFloor leaves the read after a run's writes, which restores the
	// family floor, to the caller: an invocation runs RestoreFloors once for
	// its whole batch, after every run's writes, where each run would read
	// its families itself.
	DeferFloor bool
}

// NewEngine returns an engine with a fresh read cache and default timings.
func NewEngine(api ecsapi.API, g Guards, region string) *Engine {
	return &Engine{
		API:             api,
		Guards:          g,
		Region:          region,
		Now:             time.Now,
		Cache:           NewCache(),
		MaxCreatingWait: 10 * time.Minute,
	}
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func (e *Engine) read() reader {
	if e.Cache == nil {
		// A literal Engine without a cache still works; it just reads more.
		return reader{api: e.API, cache: NewCache(), clock: e.Budget}
	}
	return reader{api: e.API, cache: e.Cache, clock: e.Budget}
}

func (e *Engine) region(in intent.Intent) string {
	if in.RegionID != "" {
		return in.RegionID
	}
	return e.Region
}

// Run plans the intent and, unless it is a dry run, applies the plan. The
// Result carries the plan even when an error is returned after planning.
func (e *Engine) Run(ctx context.Context, in intent.Intent) (*Result, error) {
	p, err := e.Plan(ctx, in)
	if err == nil {
		// A plan refused whole, before any write and for a dry run too, so
		// that plan shows what apply would do.
		err = e.checkBlastRadius(in, p)
		in = resolvedEvent(in, p)
	}
	if err != nil {
		if p == nil {
			return nil, err
		}
		return &Result{Plan: p}, err
	}
	if in.DryRun {
		return &Result{Plan: p}, nil
	}
	res, err := e.Apply(ctx, p)
	if err == nil && (res.Changed || res.diverged) && (in.Action == intent.ActionPromote || in.Action == intent.ActionRotate) {
		res, err = e.settle(ctx, in, res)
	}
	if e.DeferFloor {
		return res, err
	}
	// Also after an error: what was deprecated before it stays deprecated.
	if ferr := e.RestoreFloors(ctx, []*Result{res})[0]; ferr != nil {
		// The first error decides how the message is settled.
		err = errors.Join(err, ferr)
	}
	return res, err
}

// settle re-reads the families a promote or rotate has just written to and
// applies what a plan on that fresh state still finds to do. A run that
// planned on a state other runs were changing at the same time (a promote
// landing during a rotate, two promotes together) thereby ends with the same
// images Available as a single run would, or at most one extra while another
// run is still writing, which that run's own settle pass then sees. A run
// that changed nothing, and found nothing changed under it, skips the pass.
func (e *Engine) settle(ctx context.Context, in intent.Intent, res *Result) (*Result, error) {
	if err := e.rereadAfterWrites(ctx, res.Plan); err != nil {
		return res, err
	}
	p, err := e.Plan(ctx, in)
	if err != nil {
		return res, err
	}
	// Only the deprecations: when another run has since deprecated or
	// changed the promoted image (a newer promote won), this run does not
	// undo that; a redelivered message would, being an explicit request.
	for i := range p.Steps {
		s := &p.Steps[i]
		if !s.deprecates() {
			s.Changes, s.Unshare = nil, nil
		} else {
			s.Changes = slices.DeleteFunc(s.Changes, func(c FieldChange) bool { return !isDeprecation(c) })
		}
	}
	if !p.HasChanges() {
		return res, nil
	}
	e.holdBeyondBlastRadius(in, res, p)
	again, err := e.Apply(ctx, p)
	merged := *res.Plan
	merged.Steps = slices.Clone(merged.Steps)
	for _, s := range again.Plan.Steps {
		if len(s.Changes) > 0 || len(s.Held) > 0 {
			s.Reason = "settle (fresh read after own writes): " + s.Reason
			merged.Steps = append(merged.Steps, s)
		}
	}
	res.Plan = &merged
	res.Applied = append(res.Applied, again.Applied...)
	res.Held = append(res.Held, again.Held...)
	res.Changed = res.Changed || again.Changed
	return res, err
}

// rereadAfterWrites makes the settle pass plan on reads made after the run's
// writes. When the region's listing is cached (a rotate by glob listed it),
// the pass lists the region again, and may find families new in it;
// otherwise it reads the families' live images (liveFamily), among which are
// the deprecations a pass can still make.
func (e *Engine) rereadAfterWrites(ctx context.Context, p *Plan) error {
	switch {
	case e.Cache == nil:
		return nil
	case e.Cache.regionListed(p.RegionID):
		e.Cache.forget(p.RegionID, p.Families)
		return nil
	}
	for _, fam := range p.Families {
		if err := e.read().liveFamily(ctx, p.RegionID, fam); err != nil {
			return err
		}
	}
	return nil
}

// Prefetch reads the images named by a batch of intents, up to 100 ids per
// DescribeImages, so that planning each intent then reads nothing by id.
func (e *Engine) Prefetch(ctx context.Context, ins []intent.Intent) error {
	byRegion := map[string][]string{}
	var regions []string
	for _, in := range ins {
		if in.ImageID == "" {
			continue
		}
		r := e.region(in)
		if _, ok := byRegion[r]; !ok {
			regions = append(regions, r)
		}
		byRegion[r] = append(byRegion[r], in.ImageID)
	}
	for _, r := range regions {
		if e.Guards.checkRegion(r) != nil {
			continue // Plan reports it; nothing to read there
		}
		if err := e.read().images(ctx, r, byRegion[r]); err != nil {
			return err
		}
	}
	return nil
}

// Plan reads the current state and computes the changes the intent asks for.
// It makes no writes. A guard that stops the whole intent is returned as a
// *Refusal, an intent that must wait (an image still Creating) as a *NotYet;
// API errors are wrapped with %w.
func (e *Engine) Plan(ctx context.Context, in intent.Intent) (*Plan, error) {
	if in.Event != nil {
		return e.planEvent(ctx, in)
	}
	region := e.region(in)
	if err := e.Guards.checkRegion(region); err != nil {
		return nil, err
	}
	p := &Plan{Action: in.Action, RegionID: region, ImageID: in.ImageID, DryRun: in.DryRun}
	var err error
	switch in.Action {
	case intent.ActionModify:
		var a intent.Attributes
		if in.Attributes != nil {
			a = *in.Attributes
		}
		err = e.planImage(ctx, p, a)
	case intent.ActionDeprecate:
		err = e.planImage(ctx, p, intent.Attributes{Status: ecsapi.StatusDeprecated})
	case intent.ActionActivate:
		err = e.planImage(ctx, p, intent.Attributes{Status: ecsapi.StatusAvailable})
	case intent.ActionPromote:
		err = e.planPromote(ctx, p, in)
	case intent.ActionRotate:
		err = e.planRotate(ctx, p, in)
	case intent.ActionRollback:
		err = e.planRollback(ctx, p, in)
	default:
		err = refuse(codeInvalid, "unknown action %q", in.Action)
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

func stepFor(img ecsapi.Image) Step {
	return Step{ImageID: img.ImageID, ImageName: img.Name, Family: img.Family, Status: img.Status, CreationTime: img.CreationTime,
		unshared: img.SelfShared == ecsapi.SharingNone && !img.IsPublic}
}

// planImage plans modify, deprecate and activate on one image.
//
// An explicit deprecate (or a modify to Deprecated) of one named image obeys
// the floor and the shared guard, which protect the family and other
// accounts whoever asks; it ignores the exclusion tag, which only keeps an
// image out of bulk selections (promote, rotate, rollback): naming the image
// is the operator's explicit choice.
//
// A modify that moves an Available image to another family
// (attributes.imageFamily) takes it from its old family just as a
// deprecation does, so the old family's floor guards it too. When the floor
// stops a deprecation or a move, that change is skipped with a reason and the
// rest of the modify (name, description, ...) still goes ahead; as with every
// guard, this is not an error (the message ends applied or unchanged, with the
// reason in the plan). Apply re-checks the floor on a fresh read before the
// write.
func (e *Engine) planImage(ctx context.Context, p *Plan, a intent.Attributes) error {
	img, err := e.read().image(ctx, p.RegionID, p.ImageID, false)
	if err != nil {
		return err
	}
	if err := e.checkImage(img, a); err != nil {
		return err
	}
	changes, err := e.diff(ctx, p.RegionID, img, a)
	if err != nil {
		return err
	}
	s := stepFor(img)
	s.Changes = changes
	if img.Family != "" {
		p.Families = []string{img.Family}
	}
	s.Reason = changeReason(changes, img.Status)
	if s.leavesFamily() {
		// Apply re-checks the floor before the write, should the image have
		// become Available since.
		s.check = deprecationCheck{others: e.Guards.FamilyFloor}
	}
	if err := e.guardFloor(ctx, p.RegionID, img, a.ImageFamily, &s); err != nil {
		return err
	}
	if s.deprecates() {
		if err := e.guardShared(ctx, p.RegionID, &s); err != nil {
			return err
		}
	}
	p.Steps = []Step{s}
	return nil
}

// guardFloor holds back the part of step s that would take img out of its
// family (an explicit deprecate, a move to another family) when the family
// would then have fewer Available images than FamilyFloor; the rest of the
// step stays, and its reason says what was refused and why. A move of an
// image that is not Available takes nothing from the family, so it is not
// checked.
func (e *Engine) guardFloor(ctx context.Context, region string, img ecsapi.Image, toFamily string, s *Step) error {
	if !s.leavesFamily() || !(s.deprecates() || img.Status == ecsapi.StatusAvailable) {
		return nil
	}
	fam, err := e.read().family(ctx, region, img.Family, false)
	if err != nil {
		return err
	}
	others := 0
	for _, o := range fam {
		if o.ImageID != img.ImageID && o.Status == ecsapi.StatusAvailable {
			others++
		}
	}
	if others >= e.Guards.FamilyFloor {
		return nil
	}
	var refused []string
	if s.deprecates() {
		refused = append(refused, "explicit deprecate refused")
	}
	if s.movesOut() {
		refused = append(refused, "move to family "+toFamily+" refused")
	}
	s.Changes = withoutLeaving(s.Changes, img.Family)
	s.Skipped = true
	s.Reason = e.floorReason(img.Family) + "; " + strings.Join(refused, ", ")
	if len(s.Changes) > 0 {
		s.Reason += "; " + changeReason(s.Changes, img.Status)
	}
	return nil
}

// checkImage applies the ownership and scope guards to one image and the
// family it is about to get.
func (e *Engine) checkImage(img ecsapi.Image, a intent.Attributes) error {
	if err := checkOwned(img); err != nil {
		return err
	}
	if err := e.Guards.checkFamily(img.Family); err != nil {
		return err
	}
	if a.ImageFamily != "" && a.ImageFamily != img.Family {
		return e.Guards.checkFamily(a.ImageFamily)
	}
	return nil
}

func changeReason(changes []FieldChange, status string) string {
	if len(changes) == 0 {
		if status == ecsapi.StatusDeprecated {
			return "already Deprecated, nothing to change"
		}
		return "already as asked, nothing to change"
	}
	var b strings.Builder
	b.Grow(len("set ") + 24*len(changes) + len(licenseNote))
	b.WriteString("set ")
	note := false
	for i, c := range changes {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c.Field)
		// DescribeImages does not return LicenseType, so it cannot be
		// compared: it is sent whenever the intent asks for it.
		note = note || c.Field == FieldLicenseType
	}
	if note {
		b.WriteString(licenseNote)
	}
	return b.String()
}

// licenseNote ends the reason of a change that sets licenseType.
const licenseNote = "; licenseType is always sent (DescribeImages does not return it)"

func withoutStatus(changes []FieldChange) []FieldChange {
	return slices.DeleteFunc(slices.Clone(changes), func(c FieldChange) bool { return c.Field == FieldStatus })
}

func (e *Engine) floorReason(family string) string {
	if e.Guards.FamilyFloor <= 1 {
		return "floor: last Available image of family " + family
	}
	return fmt.Sprintf("floor: family %s keeps %d Available images (FAMILY_FLOOR)", family, e.Guards.FamilyFloor)
}

// diff compares the image with the wanted attributes field by field and
// applies the guards that reject a change outright.
func (e *Engine) diff(ctx context.Context, region string, img ecsapi.Image, a intent.Attributes) ([]FieldChange, error) {
	out := make([]FieldChange, 0, fieldCount)
	add := func(field, from, to string) {
		if to != "" && to != from {
			out = append(out, FieldChange{Field: field, From: from, To: to})
		}
	}
	add(FieldImageName, img.Name, a.ImageName)
	add(FieldDescription, img.Description, a.Description)
	add(FieldImageFamily, img.Family, a.ImageFamily)
	add(FieldBootMode, img.BootMode, a.BootMode)
	add(FieldLicenseType, "", a.LicenseType)
	add(FieldStatus, img.Status, a.Status)
	var f intent.Features
	if a.Features != nil {
		f = *a.Features
	}
	add(FieldNvmeSupport, img.NvmeSupport, f.NvmeSupport)
	add(FieldImdsSupport, img.ImdsSupport, f.ImdsSupport)

	for _, c := range out {
		switch c.Field {
		case FieldImdsSupport:
			if c.From == "v2" && c.To == "v1" {
				return nil, refuse(codeImdsDowngrade, "image %s: features.imdsSupport cannot go from v2 to v1", img.ImageID)
			}
		case FieldBootMode:
			if !e.Guards.ProtectInUseBootMode {
				continue
			}
			inUse, err := e.inUse(ctx, region, img)
			if err != nil {
				return nil, err
			}
			if inUse {
				return nil, refuse(codeBootModeInUse, "image %s: bootMode cannot change while instances use the image", img.ImageID)
			}
		}
	}
	return out, nil
}

// inUse trusts DescribeImages' Usage when it says something and asks
// DescribeInstances only when it does not.
func (e *Engine) inUse(ctx context.Context, region string, img ecsapi.Image) (bool, error) {
	switch img.Usage {
	case "instance":
		return true, nil
	case "none":
		return false, nil
	}
	n, err := e.API.CountInstancesUsingImage(ctx, region, img.ImageID)
	if err != nil {
		return false, fmt.Errorf("lifecycle: count instances using %s: %w", img.ImageID, err)
	}
	return n > 0, nil
}

// guardShared reads the shares of an image about to be deprecated (and only
// then), and either plans the unshare or drops the deprecation with a reason.
//
// It reads nothing when the DescribeImages answer the step was planned on
// said the image is shared with no account (IsSelfShared "False") and is not
// public: that answer is as fresh as a share read made now would be, and a
// share added after either is caught by neither. "True" needs the accounts
// (to unshare them or to name them in the reason), and an IsSelfShared that
// is missing or not understood, or a public image (whether IsSelfShared
// covers public and community sharing is not documented), is read as before:
// the fallback costs a call, never a guard.
func (e *Engine) guardShared(ctx context.Context, region string, s *Step) error {
	if s.unshared {
		return nil
	}
	accounts, err := e.API.DescribeImageSharePermission(ctx, region, s.ImageID)
	if err != nil {
		return fmt.Errorf("lifecycle: read shares of %s: %w", s.ImageID, err)
	}
	if len(accounts) == 0 {
		return nil
	}
	switch {
	case slices.Contains(accounts, "all"):
		// Removing accounts cannot make a public image private.
		s.Reason = "skipped: shared with all accounts (public)"
	case e.Guards.UnshareBeforeDeprecate:
		s.Unshare = accounts
		s.Reason += "; unshare from " + countAccounts(len(accounts)) + " first (UNSHARE_BEFORE_DEPRECATE)"
		return nil
	default:
		s.Reason = "skipped: shared with " + countAccounts(len(accounts))
	}
	s.Changes = withoutStatus(s.Changes)
	s.Skipped = true
	return nil
}

// countAccounts says "1 account" or "n accounts".
func countAccounts(n int) string {
	if n == 1 {
		return "1 account"
	}
	return fmt.Sprintf("%d accounts", n)
}

// FamilyOf returns the family of an image this engine has already read (for
// example by Prefetch), with no API call; ok is false when it is not known.
// The handler uses it to keep intents about one family in arrival order.
func (e *Engine) FamilyOf(in intent.Intent) (family string, ok bool) {
	if e.Cache == nil || in.ImageID == "" {
		return "", false
	}
	img, found, _ := e.Cache.image(e.region(in), in.ImageID)
	if !found || img.Family == "" {
		return "", false
	}
	return img.Family, true
}
