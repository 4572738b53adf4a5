package policy

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// CodeBlastRadius is the code of a plan refused because it would deprecate
// more images than the limits allow. ECS has no code for a refusal of our own
// making; "Forbidden.*" is the API's family for "you may not" (the engine's
// Forbidden.Scope is the precedent), and every classifier of this function
// treats it as permanent, so the message is dead-lettered with its plan for a
// person to confirm, never retried.
const CodeBlastRadius = "Forbidden.BlastRadius"

// Defaults of the blast radius, used for a family rule that does not set its
// own (and meant for a message on a family no policy covers).
//
// Steady state never comes near them: a promote deprecates one image (the
// one that falls beyond keep), and so does a daily rotation of a family that
// gets a build a day; that one image is at most half the family's Available
// images whenever keep is 1 or more, since the family then holds at least
// the kept image and the one deprecated. What they stop is the run that is
// not the steady state: a glob that matched a family it was not meant for, a
// keep that went from 10 to 1, a rotation that finds a month of builds. With
// keep k, a run that catches up may deprecate min(5, k) images unconfirmed
// (the share rule allows as many as are kept), enough for a few missed runs;
// a wrong run leaves at least half of the family launchable and never more
// than five images to re-activate. A person confirms anything larger (see Check).
const (
	DefaultMaxDeprecations     = 5
	DefaultMaxDeprecationShare = 0.5
)

// MaxDeprecationsLimit bounds maxDeprecations: ECS holds at most 100 images
// in one family (intent.MaxKeep), so a larger limit would mean nothing.
const MaxDeprecationsLimit = 100

// Limits is the blast radius of one run (one message's plan) on one family.
type Limits struct {
	// MaxDeprecations is the most images one plan may deprecate (1 to 100).
	MaxDeprecations int
	// MaxDeprecationShare is the largest share, above 0 and at most 1, of the
	// family's Available images one plan may deprecate; the count it allows
	// is rounded down (0.5 of 5 Available images allows 2).
	MaxDeprecationShare float64
}

// DefaultLimits returns the limits with their documented defaults.
func DefaultLimits() Limits {
	return Limits{MaxDeprecations: DefaultMaxDeprecations, MaxDeprecationShare: DefaultMaxDeprecationShare}
}

// withDefaults fills a field left at 0 with its default, so that Limits{}
// means the defaults rather than "nothing may be deprecated".
func (l Limits) withDefaults() Limits {
	if l.MaxDeprecations <= 0 {
		l.MaxDeprecations = DefaultMaxDeprecations
	}
	if l.MaxDeprecationShare <= 0 {
		l.MaxDeprecationShare = DefaultMaxDeprecationShare
	}
	return l
}

// Plan is what Check needs to know of a plan on one family.
type Plan struct {
	// Family is the family the plan works on, for the reason.
	Family string
	// Available is the number of the family's Available images before the
	// plan's deprecations, counting an image the plan itself makes Available
	// (a promoted one). A value below len(Deprecate) is read as
	// len(Deprecate): a plan deprecates only Available images.
	Available int
	// Deprecate are the ids of the images the plan would deprecate.
	Deprecate []string
}

// Decision is Check's answer.
type Decision struct {
	// Allowed is true when the plan may be applied.
	Allowed bool
	// Code is CodeBlastRadius when the plan is refused, "" otherwise.
	Code string
	// Reason says why, with the numbers, in a sentence for the plan and the
	// report; for a refusal it ends with how to confirm.
	Reason string
	// Deprecations is the number of images the plan would deprecate, and
	// Confirmed how many of them the message confirmed by id.
	Deprecations, Confirmed int
	// Confirm is set when the plan is refused: the ids, sorted, that a person
	// puts in the intent's "confirm": {"deprecate": [...]} to approve exactly
	// this plan.
	Confirm []string
}

// Check decides whether a plan stays within the limits.
//
// confirmed is the list of image ids the message's "confirm" object names
// ({"confirm": {"deprecate": ["m-…", …]}}). An image named there does not
// count against the limits; every other image the plan would deprecate does.
// A person confirms a refused plan by re-sending the message with the ids
// the refusal reported (Decision.Confirm, carried with the dead letter).
//
// Why a confirmation cannot be abused by a redelivery or a replay: it names
// images, not a number. A second delivery of the confirmed message plans
// again on the family as it is then: the confirmed images are already
// Deprecated, so the plan no longer holds them, and whatever else it would
// deprecate counts against the limits as for any message. If the family
// changed between the refusal and the confirmation (a new build, another
// run), the images beyond the confirmation count too, so the plan is refused
// again with a new list to confirm. A partly applied run that is retried
// needs no new confirmation: what is left of the plan is a subset of the
// confirmed ids. The confirmation relaxes nothing else: the family floor,
// the exclusion tag, shared images and keep still apply.
func Check(limits Limits, plan Plan, confirmed []string) Decision {
	l := limits.withDefaults()
	d := Decision{Allowed: true, Deprecations: len(plan.Deprecate)}
	var counted int
	for _, id := range plan.Deprecate {
		if slices.Contains(confirmed, id) {
			d.Confirmed++
		} else {
			counted++
		}
	}
	available := max(plan.Available, len(plan.Deprecate))
	byShare := shareAllows(l.MaxDeprecationShare, available)
	family := plan.Family
	if family == "" {
		family = "(none)"
	}

	var over []string
	if counted > l.MaxDeprecations {
		over = append(over, fmt.Sprintf("maxDeprecations %d", l.MaxDeprecations))
	}
	if counted > byShare {
		over = append(over, fmt.Sprintf("maxDeprecationShare %s (%d of %d Available)", formatShare(l.MaxDeprecationShare), byShare, available))
	}
	what := fmt.Sprintf("the plan deprecates %d of the %d Available images of family %s", d.Deprecations, available, family)
	if d.Confirmed > 0 {
		what += fmt.Sprintf(", %d of them confirmed by id", d.Confirmed)
	}
	if len(over) == 0 {
		switch {
		case d.Deprecations == 0:
			d.Reason = fmt.Sprintf("blast radius: the plan deprecates no image of family %s", family)
		case d.Confirmed > 0:
			d.Reason = fmt.Sprintf("blast radius: %s; the %d others are within maxDeprecations %d and maxDeprecationShare %s",
				what, counted, l.MaxDeprecations, formatShare(l.MaxDeprecationShare))
		default:
			d.Reason = fmt.Sprintf("blast radius: %s, within maxDeprecations %d and maxDeprecationShare %s",
				what, l.MaxDeprecations, formatShare(l.MaxDeprecationShare))
		}
		return d
	}

	d.Allowed = false
	d.Code = CodeBlastRadius
	d.Confirm = slices.Sorted(slices.Values(plan.Deprecate))
	d.Confirm = slices.Compact(d.Confirm)
	counting := ""
	if d.Confirmed > 0 {
		counting = fmt.Sprintf(" (%d not confirmed)", counted)
	}
	d.Reason = fmt.Sprintf("blast radius: %s%s, more than %s; nothing was changed. To go ahead, re-send the message with "+
		`"confirm": {"deprecate": [%s]}`,
		what, counting, strings.Join(over, " and "), quoteAll(d.Confirm))
	return d
}

// shareAllows is the number of deprecations share allows out of available,
// rounded down. The small epsilon keeps a share that float64 cannot hold
// exactly (0.3 of 10) from losing one image to rounding.
func shareAllows(share float64, available int) int {
	return int(math.Floor(share*float64(available) + 1e-9))
}

// formatShare writes a share as the policy would ("0.5", "1").
func formatShare(s float64) string {
	return fmt.Sprintf("%g", s)
}

func quoteAll(ids []string) string {
	q := make([]string, len(ids))
	for i, id := range ids {
		q[i] = fmt.Sprintf("%q", id)
	}
	return strings.Join(q, ", ")
}
