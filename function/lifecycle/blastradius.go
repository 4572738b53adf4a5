package lifecycle

import (
	"slices"
	"strings"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/intent"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/policy"
)

// The blast radius: a plan that would deprecate more of a family than its
// policy rule allows (policy.Limits, a count per run and a share of the
// family's Available images) is refused whole, before any write, and its
// message dead-lettered with the plan and the ids to confirm.
//
// It is checked only on families a policy rule covers, with that rule's
// limits (policy.DefaultLimits for a rule that sets none). A deployment
// without a policy, and a family no rule covers, keep the behaviour they had
// before policies existed: the guards (floor, exclusion tag, shared images,
// keep) are what bound a run there. Defaults that applied without a policy
// would refuse plans that work today (a rotation catching up on six weekly
// builds), with nothing in the deployment to say why or to set the limits.
//
// Only the actions that select the images they deprecate are checked
// (promote, rotate, rollback: the ones that take "confirm"); an explicit
// deprecate names its one image, which is its own confirmation.

// checkedActions are the actions whose plans the blast radius checks.
var checkedActions = []string{intent.ActionPromote, intent.ActionRotate, intent.ActionRollback}

// checkBlastRadius refuses p when it deprecates more of some family than the
// family's rule allows, counting only the images the intent does not
// confirm by id. The refusal lists every id to confirm, over every family it
// refuses; a plan within the limits gets a note per checked family saying so.
func (e *Engine) checkBlastRadius(in intent.Intent, p *Plan) error {
	if p == nil || !slices.Contains(checkedActions, in.Action) {
		return nil
	}
	var refused []policy.Decision
	for _, fam := range planFamilies(p.Steps) {
		rule, ok := e.rule(fam)
		if !ok {
			continue
		}
		d := policy.Check(rule.Limits, familyPlan(p.Steps, fam, nil), in.Confirmed())
		if !d.Allowed {
			refused = append(refused, d)
			continue
		}
		if d.Deprecations > 0 {
			p.note(d.Reason)
		}
	}
	return blastRadiusRefusal(refused)
}

// blastRadiusRefusal joins the refused decisions of one plan: one family's
// reason as it is, or every family's with one list to confirm them all.
func blastRadiusRefusal(refused []policy.Decision) error {
	switch len(refused) {
	case 0:
		return nil
	case 1:
		return &Refusal{Code: refused[0].Code, Reason: refused[0].Reason, Confirm: refused[0].Confirm}
	}
	var reasons, ids []string
	for _, d := range refused {
		reasons = append(reasons, d.Reason)
		ids = append(ids, d.Confirm...)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	quoted := make([]string, len(ids))
	for i, id := range ids {
		quoted[i] = `"` + id + `"`
	}
	return &Refusal{Code: policy.CodeBlastRadius, Confirm: ids,
		Reason: strings.Join(reasons, " | ") + ` | to approve every family at once, re-send the message with "confirm": {"deprecate": [` +
			strings.Join(quoted, ", ") + `]}`}
}

// holdBeyondBlastRadius holds back the deprecations of a settle pass (p)
// that, with those the run has already made (res), would go beyond the
// limits of their family: the settle pass is part of the same run, so it
// is held to the same limits, but it never refuses what is already done.
// What it holds is reported as held, with the reason; the next run plans it
// again, and is checked on its own.
func (e *Engine) holdBeyondBlastRadius(in intent.Intent, res *Result, p *Plan) {
	if !slices.Contains(checkedActions, in.Action) {
		return
	}
	for _, fam := range planFamilies(p.Steps) {
		rule, ok := e.rule(fam)
		if !ok {
			continue
		}
		done := deprecatedBy(res.Applied, p.Steps, fam)
		d := policy.Check(rule.Limits, familyPlan(p.Steps, fam, done), in.Confirmed())
		if d.Allowed {
			continue
		}
		for i := range p.Steps {
			s := &p.Steps[i]
			if s.Family != fam || !s.deprecates() {
				continue
			}
			s.Held, s.HeldReason = slices.Clone(s.Changes), "blast radius of the run, with what it already deprecated: "+d.Reason
			s.Changes = nil
			res.Held = append(res.Held, HeldStep{ImageID: s.ImageID, Changes: s.Held, Reason: s.HeldReason})
		}
	}
}

// planFamilies are the families the steps are in, in order of first step.
func planFamilies(steps []Step) []string {
	var out []string
	for _, s := range steps {
		if s.Family != "" && !slices.Contains(out, s.Family) {
			out = append(out, s.Family)
		}
	}
	return out
}

// familyPlan is what policy.Check needs of the steps on family: its
// Available images before the deprecations (counting an image a step makes
// Available, and those done, which were deprecated earlier in the run) and
// the images deprecated, done ones first.
func familyPlan(steps []Step, family string, done []string) policy.Plan {
	fp := policy.Plan{Family: family, Available: len(done), Deprecate: slices.Clone(done)}
	for _, s := range steps {
		if s.Family != family || slices.Contains(done, s.ImageID) {
			continue
		}
		if s.Status == ecsapi.StatusAvailable || slices.ContainsFunc(s.Changes, isActivation) {
			fp.Available++
		}
		if s.deprecates() {
			fp.Deprecate = append(fp.Deprecate, s.ImageID)
		}
	}
	return fp
}

// deprecatedBy lists the images of family that the applied writes deprecated.
func deprecatedBy(applied []AppliedStep, steps []Step, family string) []string {
	inFamily := map[string]bool{}
	for _, s := range steps {
		inFamily[s.ImageID] = s.Family == family
	}
	var out []string
	for _, a := range applied {
		if inFamily[a.ImageID] && slices.ContainsFunc(a.Changes, isDeprecation) {
			out = append(out, a.ImageID)
		}
	}
	return out
}

func isActivation(c FieldChange) bool {
	return c.Field == FieldStatus && c.To == ecsapi.StatusAvailable
}
