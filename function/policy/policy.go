// Package policy is the per-family lifecycle policy: declared once, versioned
// with the deployment, read and validated at start (POLICY_FILE or POLICY),
// and consulted by the function whenever a message does not say everything
// itself: how many images a family keeps, how old an image must be before a
// rotation deprecates it, which attributes a new image of the family gets,
// which family an image without one joins (copies and imports never carry a
// family on Alibaba Cloud), and how many deprecations one run may make.
//
// A policy (version 1) is JSON, read as strictly as an intent:
//
//	{
//	  "version": 1,
//	  "families": [
//	    {"match": "web", "keep": 3, "minAge": "7d",
//	     "attributes": {"features": {"nvmeSupport": "supported", "imdsSupport": "v2"}},
//	     "maxDeprecations": 2, "maxDeprecationShare": 0.5}
//	  ],
//	  "names": [
//	    {"match": "web-*", "family": "web"}
//	  ]
//	}
//
// families[] (at least one rule):
//   - match: a family name, or a path.Match glob such as "web-*" or "*";
//     the characters other than the wildcards follow the family name rule.
//   - keep: newest Available images kept (1 to 100; default 2, as an intent).
//   - minAge: a rotation deprecates only images older than this ("168h",
//     "7d" or a number of days; default 0).
//   - attributes: what a new image of the family gets when it is promoted:
//     description, bootMode, licenseType, features {nvmeSupport,
//     imdsSupport}, checked with the intent's rules and codes. imageName,
//     imageFamily and status are refused: a name is unique in a region, the
//     family comes from the event or names[], and a promote makes the image
//     Available.
//   - maxDeprecations, maxDeprecationShare: the blast radius (see Limits).
//
// names[] (optional):
//   - match: an image name, or a glob.
//   - family: the family an image of that name joins when it has none. It
//     must be a family some families[] rule covers.
//
// In both lists the first matching rule wins, so a rule that an earlier one
// always shadows (a repeated match, or a name that an earlier glob matches)
// is refused. "$comment" (a string) may stand in the policy and in any rule,
// for people; the function ignores it. Every other unknown member is refused
// with a hint, as in an intent.
package policy

import (
	"path"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/intent"
)

// Version is the policy format this function reads.
const Version = 1

// Policy is a validated policy. The zero value and nil cover nothing.
type Policy struct {
	families []FamilyRule
	names    []NameRule
}

// FamilyRule is one families[] rule, with every default filled in.
type FamilyRule struct {
	// Index is the rule's position in families[], for messages ("families[2]").
	Index int
	// Match is the family name or glob the rule covers.
	Match string
	// Keep is the number of newest Available images kept (1 to 100).
	Keep int
	// MinAge: a rotation deprecates only images older than this.
	MinAge intent.Duration
	// Attributes are set on a new image of the family when it is promoted;
	// nil when the rule sets none. ImageName, ImageFamily and Status are
	// always empty (see PromoteAttributes for the family).
	Attributes *intent.Attributes
	// Limits is the blast radius of one run on the family.
	Limits Limits
}

// NameRule is one names[] rule.
type NameRule struct {
	// Index is the rule's position in names[].
	Index int
	// Match is the image name or glob the rule covers.
	Match string
	// Family is the family an image of a matching name joins.
	Family string
}

// Family returns the first families[] rule that covers family. An empty
// family is covered by no rule ("*" matches only a family that exists).
func (p *Policy) Family(family string) (FamilyRule, bool) {
	if p == nil || family == "" {
		return FamilyRule{}, false
	}
	for _, r := range p.families {
		if matches(r.Match, family) {
			return r, true
		}
	}
	return FamilyRule{}, false
}

// FamilyForImageName returns the family that names[] gives an image called
// name: the family of the first rule whose match covers the name.
func (p *Policy) FamilyForImageName(name string) (string, bool) {
	r, ok := p.NameRuleFor(name)
	return r.Family, ok
}

// NameRuleFor returns the first names[] rule whose match covers the image
// name, for a caller that says which rule decided.
func (p *Policy) NameRuleFor(name string) (NameRule, bool) {
	if p == nil || name == "" {
		return NameRule{}, false
	}
	for _, r := range p.names {
		if matches(r.Match, name) {
			return r, true
		}
	}
	return NameRule{}, false
}

// Families returns the families[] rules in order (a copy).
func (p *Policy) Families() []FamilyRule {
	if p == nil {
		return nil
	}
	return append([]FamilyRule(nil), p.families...)
}

// Names returns the names[] rules in order (a copy).
func (p *Policy) Names() []NameRule {
	if p == nil {
		return nil
	}
	return append([]NameRule(nil), p.names...)
}

// Patterns returns the match of every families[] rule, in order: the
// imageFamilies of a rotation of every family the policy covers (a bare
// {"action":"rotate"}). The patterns are distinct and valid imageFamilies
// entries, since the policy was validated with the same rules.
func (p *Policy) Patterns() []string {
	if p == nil {
		return nil
	}
	out := make([]string, len(p.families))
	for i, r := range p.families {
		out[i] = r.Match
	}
	return out
}

// Settings returns the keep and minAge a message on the rule's family works
// with: the intent's own values where it gives them, the rule's otherwise.
// An intent's minAge of 0 cannot be told from an absent one, so the rule's
// then applies.
func (r FamilyRule) Settings(in intent.Intent) (keep int, minAge time.Duration) {
	keep, minAge = r.Keep, r.MinAge.Std()
	if in.Keep != nil {
		keep = *in.Keep
	}
	if in.MinAge != 0 {
		minAge = in.MinAge.Std()
	}
	return keep, minAge
}

// PromoteAttributes returns the attributes a promote of a new image of
// family sets: a copy of the rule's attributes with ImageFamily = family, so
// that a copy or an import, which carries no family, joins it.
func (r FamilyRule) PromoteAttributes(family string) *intent.Attributes {
	a := intent.Attributes{}
	if r.Attributes != nil {
		a = *r.Attributes
		if f := r.Attributes.Features; f != nil {
			copied := *f
			a.Features = &copied
		}
	}
	a.ImageFamily = family
	return &a
}

// matches reports whether name matches pattern (path.Match syntax). Patterns
// are validated when the policy is read, so an error cannot occur here; it
// counts as no match.
func matches(pattern, name string) bool {
	ok, err := path.Match(pattern, name)
	return err == nil && ok
}
