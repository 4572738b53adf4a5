package lifecycle

import (
	"fmt"
	"strings"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/intent"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/policy"
)

// What the lifecycle policy decides for a plan where the intent does not
// say: every decision of the policy is taken here (and for events in
// event.go, for the blast radius in blastradius.go), so the planning itself
// reads a keep, a minAge and attributes without knowing where they came from.
// Without a policy, or for a family no rule covers, each answer is what it
// was before policies: the intent's values and their defaults.

// rule returns the policy's first rule covering family.
func (e *Engine) rule(family string) (policy.FamilyRule, bool) {
	return e.Policy.Family(family) // nil-safe: no policy covers nothing
}

// settings are the keep and minAge a promote or rotate of family works with:
// the intent's own values where it gives them, else the family's rule, else
// the intent's defaults.
func (e *Engine) settings(in intent.Intent, family string) (keep int, minAge time.Duration) {
	if r, ok := e.rule(family); ok {
		keep, minAge = r.Settings(in)
	} else {
		keep, minAge = in.KeepOrDefault(), in.MinAge.Std()
	}
	return max(keep, 0), minAge
}

// promoteAttributes are the attributes a promote sets on an image that joins
// (or is in) family: the intent's own, with what the family's rule gives a
// new image filled in where the intent leaves a value empty. The rule's
// imageFamily is family itself, so an image without a family (a copy, an
// import) joins it.
func (e *Engine) promoteAttributes(in intent.Intent, family string) intent.Attributes {
	var a intent.Attributes
	if in.Attributes != nil {
		a = *in.Attributes
	}
	r, ok := e.rule(family)
	if !ok {
		return a
	}
	fill := r.PromoteAttributes(family)
	a.Description = first(a.Description, fill.Description)
	a.ImageFamily = first(a.ImageFamily, fill.ImageFamily)
	a.BootMode = first(a.BootMode, fill.BootMode)
	a.LicenseType = first(a.LicenseType, fill.LicenseType)
	if !fill.Features.Empty() {
		var f intent.Features
		if a.Features != nil {
			f = *a.Features
		}
		f.NvmeSupport = first(f.NvmeSupport, fill.Features.NvmeSupport)
		f.ImdsSupport = first(f.ImdsSupport, fill.Features.ImdsSupport)
		a.Features = &f
	}
	return a
}

// ruleNote says, for a plan's notes, which rule set what for family.
func (e *Engine) ruleNote(in intent.Intent, family string) string {
	r, ok := e.rule(family)
	if !ok {
		return ""
	}
	keep, minAge := e.settings(in, family)
	what := []string{fmt.Sprintf("keep %d", keep)}
	if in.Keep != nil {
		what[0] += " (the intent's)"
	}
	if in.Action == intent.ActionRotate && minAge > 0 {
		what = append(what, "minAge "+minAge.String())
		if in.MinAge != 0 {
			what[len(what)-1] += " (the intent's)"
		}
	}
	if in.Action == intent.ActionPromote && !r.Attributes.Empty() {
		what = append(what, "attributes "+strings.Join(attributeNames(*r.Attributes), ", ")+" where the message sets none")
	}
	return fmt.Sprintf("policy families[%d] (%s) covers family %s: %s", r.Index, r.Match, family, strings.Join(what, ", "))
}

// attributeNames lists the attributes a set, as the intent spells them.
func attributeNames(a intent.Attributes) []string {
	var out []string
	for _, f := range []struct{ name, v string }{
		{FieldDescription, a.Description}, {FieldBootMode, a.BootMode}, {FieldLicenseType, a.LicenseType},
	} {
		if f.v != "" {
			out = append(out, f.name)
		}
	}
	if a.Features != nil {
		if a.Features.NvmeSupport != "" {
			out = append(out, FieldNvmeSupport)
		}
		if a.Features.ImdsSupport != "" {
			out = append(out, FieldImdsSupport)
		}
	}
	return out
}

// rotationFamilies are the families a rotate works on: those it names, or,
// when it names none, every family the policy covers (its families[]
// matches). A plain name the scope guard would refuse is left out rather
// than refused, as a glob's matches are, since the message did not name it.
// Without a policy, a rotate that names no family has nothing to work on.
func (e *Engine) rotationFamilies(in intent.Intent) (intent.Intent, error) {
	if len(in.Families()) > 0 {
		return in, nil
	}
	if e.Policy == nil {
		return in, refuse(intent.CodeMissingParameter, "a rotate without imageFamily or imageFamilies rotates every family "+
			"the lifecycle policy covers, and no policy is configured: set %s (or %s), or name the families", policy.EnvFile, policy.EnvInline)
	}
	for _, p := range e.Policy.Patterns() {
		if strings.ContainsAny(p, `*?[\`) || e.Guards.familyAllowed(p) {
			in.ImageFamilies = append(in.ImageFamilies, p)
		}
	}
	return in, nil
}

// first returns the first of its arguments that is not empty.
func first(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
