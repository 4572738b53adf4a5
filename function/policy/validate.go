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
	var errs intent.Errors
	add := func(code, field, format string, args ...any) {
		errs = append(errs, &intent.Error{Code: code, Field: field, Message: fmt.Sprintf(format, args...)})
	}
	missing := func(field string) {
		add(intent.CodeMissingParameter, field, "The input parameter %q that is mandatory for processing this request is not supplied.", field)
	}

	if d.version == nil { // another version was refused by decode
		missing("version")
	}

	p := &Policy{}
	switch {
	case !d.familiesGiven:
		missing("families")
	case len(d.families) == 0:
		add(intent.CodeInvalidParameter, "families", "must hold at least one rule: a policy that covers no family does nothing")
	}
	for i, f := range d.families {
		at := fmt.Sprintf("families[%d]", i)
		rule := FamilyRule{Index: i, Match: f.match, Keep: intent.DefaultKeep, MinAge: f.minAge, Limits: DefaultLimits()}

		if f.match == "" {
			missing(at + ".match")
		} else {
			// The match is an imageFamilies entry of the rotation the policy
			// turns into, so it is checked as one.
			errs = append(errs, asIntent(intent.Intent{Action: intent.ActionRotate, ImageFamilies: []string{f.match}},
				"imageFamilies[0]", at+".match")...)
			if j, shadow := shadowed(f.match, d.families[:i], func(o draftFamily) string { return o.match }); j >= 0 {
				add(intent.CodeInvalidParameter, at+".match", "%s", shadowMessage(f.match, "families", j, shadow))
			}
		}

		if f.keep != nil {
			// keep is a promote's keep (and a rotation's): the promote rule,
			// 1 to 100, is the stricter of the two.
			errs = append(errs, asIntent(intent.Intent{Action: intent.ActionPromote, ImageID: placeholderImage, Keep: f.keep},
				"keep", at+".keep")...)
			rule.Keep = *f.keep
		}
		if f.minAge != 0 {
			errs = append(errs, asIntent(intent.Intent{Action: intent.ActionRotate, ImageFamily: "policy", MinAge: f.minAge},
				"minAge", at+".minAge")...)
		}

		if a := f.attributes; a != nil {
			aat := at + ".attributes"
			if a.ImageName != "" {
				add(intent.CodeInvalidParameter, aat+".imageName", "a policy cannot name images: an image name is unique in its region, so every image of the family would need its own; the pipeline names them")
			}
			if a.ImageFamily != "" {
				add(intent.CodeInvalidParameter, aat+".imageFamily", "the family is the one the rule matched (from the event's ImageFamily or from names[]); a rule cannot move images to another family")
			}
			if a.Status != "" {
				add(intent.CodeInvalidParameter, aat+".status", "a promote makes the new image Available; the status is not the policy's to set")
			}
			kept := &intent.Attributes{Description: a.Description, BootMode: a.BootMode, LicenseType: a.LicenseType, Features: a.Features}
			// The attributes are those of the promote the policy turns
			// into, so they are checked by the promote's own rules.
			errs = append(errs, asIntent(intent.Intent{Action: intent.ActionPromote, ImageID: placeholderImage, Attributes: kept},
				"attributes", aat)...)
			if !kept.Empty() {
				rule.Attributes = kept
			}
		}

		if n := f.maxDeprecations; n != nil {
			if *n < 1 || *n > MaxDeprecationsLimit {
				add(CodeInvalidMaxDeprecations, at+".maxDeprecations", "must be 1 to %d, got %d (a family holds at most %d images; to stop deprecations, leave the family out of the policy)",
					MaxDeprecationsLimit, *n, MaxDeprecationsLimit)
			}
			rule.Limits.MaxDeprecations = *n
		}
		if s := f.maxShare; s != nil {
			if !(*s > 0 && *s <= 1) {
				add(CodeInvalidMaxDeprecationShare, at+".maxDeprecationShare", "must be above 0 and at most 1 (a share of the family's Available images), got %g", *s)
			}
			rule.Limits.MaxDeprecationShare = *s
		}
		p.families = append(p.families, rule)
	}

	for i, n := range d.names {
		at := fmt.Sprintf("names[%d]", i)
		if n.match == "" {
			missing(at + ".match")
		} else {
			errs = append(errs, namePattern(n.match, at+".match")...)
			if j, shadow := shadowed(n.match, d.names[:i], func(o draftName) string { return o.match }); j >= 0 {
				add(intent.CodeInvalidParameter, at+".match", "%s", shadowMessage(n.match, "names", j, shadow))
			}
		}
		switch {
		case n.family == "":
			missing(at + ".family")
		case strings.ContainsAny(n.family, "*?["):
			add(intent.CodeInvalidImageFamily, at+".family", "must be a family name, not a pattern: an image joins one family")
		default:
			if e := intent.ValidateName("imageFamily", n.family); e != nil {
				e.Field = at + ".family"
				errs = append(errs, e)
			} else if _, ok := p.Family(n.family); !ok {
				add(intent.CodeInvalidParameter, at+".family", "no families[] rule covers %q: its images would join a family that nothing keeps; add a rule for it",
					redact.Clip(n.family, redact.EchoLimit))
			}
		}
		p.names = append(p.names, NameRule{Index: i, Match: n.match, Family: n.family})
	}

	if len(errs) > 0 {
		return nil, errs
	}
	return p, nil
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
