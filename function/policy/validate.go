package policy

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/intent"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/redact"
)

// placeholderImage stands for "the image being promoted" when a rule's values
// are checked as the promote intent they become.
const placeholderImage = "m-policy"

// validate checks every rule and returns the policy with its defaults filled
// in, or every violation in field order.
func (d draft) validate() (*Policy, intent.Errors) {
	var v violations
	if d.version == nil { // another version was refused by decode
		v.missing("version")
	}

	p := &Policy{}
	switch {
	case !d.familiesGiven:
		v.missing("families")
	case len(d.families) == 0:
		v.add(intent.CodeInvalidParameter, "families", "must hold at least one rule: a policy that covers no family does nothing")
	}
	for i, f := range d.families {
		p.families = append(p.families, d.familyRule(&v, i, f))
	}
	// After every family rule: a name rule must point at a family one covers.
	for i, n := range d.names {
		p.names = append(p.names, d.nameRule(&v, p, i, n))
	}

	if len(v.errs) > 0 {
		return nil, v.errs
	}
	return p, nil
}

// violations collects every rule a draft breaks, in field order, so that its
// author sees them all at once rather than one per load.
type violations struct {
	errs intent.Errors
}

func (v *violations) add(code, field, format string, args ...any) {
	v.errs = append(v.errs, &intent.Error{Code: code, Field: field, Message: fmt.Sprintf(format, args...)})
}

func (v *violations) missing(field string) {
	v.add(intent.CodeMissingParameter, field, "The input parameter %q that is mandatory for processing this request is not supplied.", field)
}

func (v *violations) addAll(errs intent.Errors) {
	v.errs = append(v.errs, errs...)
}

// familyRule checks families[i] and returns it as a rule, defaults filled in.
func (d draft) familyRule(v *violations, i int, f draftFamily) FamilyRule {
	at := fmt.Sprintf("families[%d]", i)
	rule := FamilyRule{Index: i, Match: f.match, Keep: intent.DefaultKeep, MinAge: f.minAge, Limits: DefaultLimits()}
	d.checkFamilyMatch(v, i, f.match, at+".match")
	if f.keep != nil {
		// keep is a promote's keep (and a rotation's): the promote rule,
		// 1 to 100, is the stricter of the two.
		v.addAll(asIntent(intent.Intent{Action: intent.ActionPromote, ImageID: placeholderImage, Keep: f.keep},
			"keep", at+".keep"))
		rule.Keep = *f.keep
	}
	if f.minAge != 0 {
		v.addAll(asIntent(intent.Intent{Action: intent.ActionRotate, ImageFamily: "policy", MinAge: f.minAge},
			"minAge", at+".minAge"))
	}
	if f.attributes != nil {
		rule.Attributes = familyAttributes(v, f.attributes, at+".attributes")
	}
	checkLimits(v, f, at, &rule.Limits)
	return rule
}

// checkFamilyMatch checks families[i].match, at field: present, a valid
// imageFamilies entry, and not shadowed by an earlier rule.
func (d draft) checkFamilyMatch(v *violations, i int, match, field string) {
	if match == "" {
		v.missing(field)
		return
	}
	// The match is an imageFamilies entry of the rotation the policy turns
	// into, so it is checked as one.
	v.addAll(asIntent(intent.Intent{Action: intent.ActionRotate, ImageFamilies: []string{match}},
		"imageFamilies[0]", field))
	if j, shadow := shadowed(match, d.families[:i], func(o draftFamily) string { return o.match }); j >= 0 {
		v.add(intent.CodeInvalidParameter, field, "%s", shadowMessage(match, "families", j, shadow))
	}
}

// familyAttributes checks a family rule's attributes, at field, and returns
// the ones a promote sets (nil when none). A policy cannot set an image's
// name, family or status: those belong to the pipeline, the match and the
// promote.
func familyAttributes(v *violations, a *intent.Attributes, field string) *intent.Attributes {
	if a.ImageName != "" {
		v.add(intent.CodeInvalidParameter, field+".imageName", "a policy cannot name images: an image name is unique in its region, so every image of the family would need its own; the pipeline names them")
	}
	if a.ImageFamily != "" {
		v.add(intent.CodeInvalidParameter, field+".imageFamily", "the family is the one the rule matched (from the event's ImageFamily or from names[]); a rule cannot move images to another family")
	}
	if a.Status != "" {
		v.add(intent.CodeInvalidParameter, field+".status", "a promote makes the new image Available; the status is not the policy's to set")
	}
	kept := &intent.Attributes{Description: a.Description, BootMode: a.BootMode, LicenseType: a.LicenseType, Features: a.Features}
	// The attributes are those of the promote the policy turns
	// into, so they are checked by the promote's own rules.
	v.addAll(asIntent(intent.Intent{Action: intent.ActionPromote, ImageID: placeholderImage, Attributes: kept},
		"attributes", field))
	if kept.Empty() {
		return nil
	}
	return kept
}

// checkLimits checks a family rule's blast-radius limits (under at) and sets
// the given ones in limits; the rest keep their defaults.
func checkLimits(v *violations, f draftFamily, at string, limits *Limits) {
	if n := f.maxDeprecations; n != nil {
		if *n < 1 || *n > MaxDeprecationsLimit {
			v.add(CodeInvalidMaxDeprecations, at+".maxDeprecations", "must be 1 to %d, got %d (a family holds at most %d images; to stop deprecations, leave the family out of the policy)",
				MaxDeprecationsLimit, *n, MaxDeprecationsLimit)
		}
		limits.MaxDeprecations = *n
	}
	if s := f.maxShare; s != nil {
		if !(*s > 0 && *s <= 1) {
			v.add(CodeInvalidMaxDeprecationShare, at+".maxDeprecationShare", "must be above 0 and at most 1 (a share of the family's Available images), got %g", *s)
		}
		limits.MaxDeprecationShare = *s
	}
}

// nameRule checks names[i] and returns it as a rule. Its family must be one a
// families[] rule of p covers, or its images would join a family nothing keeps.
func (d draft) nameRule(v *violations, p *Policy, i int, n draftName) NameRule {
	at := fmt.Sprintf("names[%d]", i)
	if n.match == "" {
		v.missing(at + ".match")
	} else {
		v.addAll(namePattern(n.match, at+".match"))
		if j, shadow := shadowed(n.match, d.names[:i], func(o draftName) string { return o.match }); j >= 0 {
			v.add(intent.CodeInvalidParameter, at+".match", "%s", shadowMessage(n.match, "names", j, shadow))
		}
	}
	switch {
	case n.family == "":
		v.missing(at + ".family")
	case strings.ContainsAny(n.family, "*?["):
		v.add(intent.CodeInvalidImageFamily, at+".family", "must be a family name, not a pattern: an image joins one family")
	default:
		if e := intent.ValidateName("imageFamily", n.family); e != nil {
			e.Field = at + ".family"
			v.addAll(intent.Errors{e})
		} else if _, ok := p.Family(n.family); !ok {
			v.add(intent.CodeInvalidParameter, at+".family", "no families[] rule covers %q: its images would join a family that nothing keeps; add a rule for it",
				redact.Clip(n.family, redact.EchoLimit))
		}
	}
	return NameRule{Index: i, Match: n.match, Family: n.family}
}

// asIntent checks in with the intent's own rules and returns the violations
// about field (or inside it), renamed to as. Checking a policy's values as
// the intent they become means a policy that loads can only produce intents
// that validate, and there is one place for each rule.
func asIntent(in intent.Intent, field, as string) intent.Errors {
	var found intent.Errors
	if !errors.As(in.Validate(), &found) {
		return nil
	}
	var out intent.Errors
	for _, e := range found {
		rest, ok := strings.CutPrefix(e.Field, field)
		if !ok || (rest != "" && rest[0] != '.' && rest[0] != '[') {
			continue
		}
		copied := *e
		copied.Field = as + rest
		out = append(out, &copied)
	}
	return out
}

// namePattern checks an image name, or a glob of image names. The API states
// one rule for image names and family names, so the family pattern check of
// imageFamilies applies as it is; only the code is the image name's.
func namePattern(p, field string) intent.Errors {
	if !strings.ContainsAny(p, "*?[") {
		if e := intent.ValidateName("imageName", p); e != nil {
			e.Field = field
			return intent.Errors{e}
		}
		return nil
	}
	errs := asIntent(intent.Intent{Action: intent.ActionRotate, ImageFamilies: []string{p}}, "imageFamilies[0]", field)
	for _, e := range errs {
		if e.Code == intent.CodeInvalidImageFamily {
			e.Code = intent.CodeInvalidImageName
		}
	}
	return errs
}

// shadowed finds the first earlier rule that makes a rule with this match
// unreachable: the same match, or a glob that covers a literal match. A glob
// after a glob is not judged (whether one covers the other is not worth a
// decision procedure); index -1 means none.
func shadowed[R any](match string, earlier []R, matchOf func(R) string) (index int, by string) {
	for j, o := range earlier {
		m := matchOf(o)
		if m == "" {
			continue
		}
		if m == match || (!strings.ContainsAny(match, "*?[") && matches(m, match)) {
			return j, m
		}
	}
	return -1, ""
}

func shadowMessage(match, list string, j int, by string) string {
	if by == match {
		return fmt.Sprintf("%q repeats %s[%d].match: the first matching rule wins, so this rule would never apply", redact.Clip(match, redact.EchoLimit), list, j)
	}
	return fmt.Sprintf("%s[%d] (match %q) already covers %q: the first matching rule wins, so this rule would never apply; put it first",
		list, j, redact.Clip(by, redact.EchoLimit), redact.Clip(match, redact.EchoLimit))
}
