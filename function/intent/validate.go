package intent

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/redact"
)

// MaxKeep bounds keep: ECS holds at most 100 images in one family.
const MaxKeep = 100

// Allowed values, in the API's own spelling (the API matches them exactly).
// Read-only tables.
var (
	actions      = []string{ActionModify, ActionDeprecate, ActionActivate, ActionPromote, ActionRotate, ActionRollback}
	bootModes    = []string{"BIOS", "UEFI", "UEFI-Preferred"}
	licenseTypes = []string{"BYOL"}
	statuses     = []string{"Deprecated", "Available"}
	nvmeSupports = []string{"supported", "unsupported"}
	imdsSupports = []string{"v1", "v2"}
)

// A region id is lower-case words joined by hyphens: cn-hangzhou,
// ap-southeast-1, cn-shanghai-finance-1.
var regionIDPattern = regexp.MustCompile(`^[a-z]{2}(-[a-z0-9]+)+$`)

// Parse decodes body strictly (see Decode) and checks every rule (see
// Validate). Any problem comes back as Errors. The intent is returned as far
// as it decoded, even with an error, so that a caller can still report its id.
func Parse(body []byte) (Intent, error) {
	in, err := Decode(body)
	if err != nil {
		// Rule checks on a half-decoded intent would only add noise, such as
		// "imageId is missing" next to "unknown field ImageId".
		return in, err
	}
	return in, in.Validate()
}

// Validate checks every rule of the intent against its action and the
// ModifyImageAttribute documentation, before any API call. It returns nil or
// Errors holding every violation, in field order. An unknown action still
// gets its other fields checked; only the per-action rules are skipped.
func (in Intent) Validate() error {
	var errs Errors
	for _, rule := range rules {
		rule(in, &errs)
	}
	return errs.err()
}

// rules check one field each (attributes: all of it), in field order, so
// that the violations come out in that order.
var rules = []func(Intent, *Errors){
	checkAction,
	checkID,
	checkRegionID,
	checkImageID,
	checkImageFamily,
	checkImageFamilies,
	checkAttributes,
	checkKeep,
	checkMinAge,
	checkConfirm,
	checkRetry,
}

// knownAction reports whether the action is one of actions.
func (in Intent) knownAction() bool { return slices.Contains(actions, in.Action) }

// onImage reports whether the action works on one image, named by imageId.
func (in Intent) onImage() bool {
	return slices.Contains([]string{ActionModify, ActionDeprecate, ActionActivate, ActionPromote}, in.Action)
}

func checkAction(in Intent, errs *Errors) {
	switch {
	case in.Action == "":
		errs.missing("action")
	case !in.knownAction():
		errs.add(CodeInvalidAction, "action", "%s", enumMessage(in.Action, actions))
	}
}

func checkID(in Intent, errs *Errors) {
	if n := utf8.RuneCountInString(in.ID); n > 128 {
		errs.add(CodeInvalidID, "id", "must be at most 128 characters, got %d", n)
	} else if i := strings.IndexFunc(in.ID, func(r rune) bool { return !unicode.IsPrint(r) }); i >= 0 {
		r, _ := utf8.DecodeRuneInString(in.ID[i:])
		errs.add(CodeInvalidID, "id", "must be printable; found %q at byte %d", r, i)
	}
}

func checkRegionID(in Intent, errs *Errors) {
	if in.RegionID != "" && !regionIDPattern.MatchString(in.RegionID) {
		errs.add(CodeInvalidRegionID, "regionId", "%q is not a region id such as cn-hangzhou", echo(in.RegionID))
	}
}

func checkImageID(in Intent, errs *Errors) {
	switch {
	case in.ImageID == "" && in.onImage():
		errs.missing("imageId")
	case in.ImageID != "" && in.Action == ActionRotate:
		errs.add(CodeInvalidParameter, "imageId", "does not apply to %s, which works on imageFamily", in.Action)
	case in.ImageID != "" && !validImageID(in.ImageID):
		errs.add(CodeInvalidImageID, "imageId", "%q is not an image id: \"m-\" followed by letters and digits", echo(in.ImageID))
	}
}

func checkImageFamily(in Intent, errs *Errors) {
	switch {
	case in.ImageFamily == "" && in.needsFamily():
		errs.missing("imageFamily")
	case in.ImageFamily != "" && in.onImage():
		errs.add(CodeInvalidParameter, "imageFamily", "applies only to rotate and rollback; to set the image's family use attributes.imageFamily")
	case in.ImageFamily != "":
		errs.addErr(ValidateName("imageFamily", in.ImageFamily))
	}
}

// needsFamily reports whether the action has nothing to work on without
// imageFamily: a rollback names its family, its image (whose family the
// engine reads), or both. A rotate may name none: it then rotates every
// family the policy covers, and the engine refuses it when there is no
// policy (MissingParameter, naming POLICY_FILE), since only the deployment
// knows whether one is configured.
func (in Intent) needsFamily() bool {
	return in.Action == ActionRollback && in.ImageID == ""
}

func checkImageFamilies(in Intent, errs *Errors) {
	if len(in.ImageFamilies) == 0 {
		return
	}
	switch {
	case in.knownAction() && in.Action != ActionRotate:
		errs.add(CodeInvalidParameter, "imageFamilies", "applies only to rotate; %s takes imageFamily", in.Action)
	case in.ImageFamily != "":
		errs.add(CodeInvalidParameter, "imageFamilies", "give imageFamily or imageFamilies, not both")
	}
	for i, p := range in.ImageFamilies {
		f := fmt.Sprintf("imageFamilies[%d]", i)
		if j := slices.Index(in.ImageFamilies[:i], p); j >= 0 {
			errs.add(CodeInvalidParameter, f, "%q repeats imageFamilies[%d]", echo(p), j)
			continue
		}
		errs.addErr(validateFamilyPattern(f, p))
	}
}

func checkKeep(in Intent, errs *Errors) {
	if in.Keep == nil {
		return
	}
	switch k := *in.Keep; {
	case in.knownAction() && in.Action != ActionPromote && in.Action != ActionRotate:
		errs.add(CodeInvalidKeep, "keep", "applies only to promote and rotate")
	case in.Action == ActionPromote && (k < 1 || k > MaxKeep):
		// promote has just made its image Available and keeps it.
		errs.add(CodeInvalidKeep, "keep", "must be 1 to %d for promote, which keeps the promoted image; got %d", MaxKeep, k)
	case k < 0 || k > MaxKeep:
		errs.add(CodeInvalidKeep, "keep", "must be 0 to %d, got %d", MaxKeep, k)
	}
}

func checkMinAge(in Intent, errs *Errors) {
	switch {
	case in.MinAge == 0:
	case in.knownAction() && in.Action != ActionRotate:
		errs.add(CodeInvalidMinAge, "minAge", "applies only to rotate")
	case in.MinAge < 0:
		errs.add(CodeInvalidMinAge, "minAge", "must not be negative, got %s", in.MinAge)
	}
}

// confirmActions are the actions whose plans the blast-radius limits check:
// the ones that deprecate images a message does not name one by one.
var confirmActions = []string{ActionPromote, ActionRotate, ActionRollback}

// checkConfirm: confirm applies to the actions whose plans the blast radius
// checks, and names 1 to MaxConfirm distinct image ids.
func checkConfirm(in Intent, errs *Errors) {
	c := in.Confirm
	switch {
	case c == nil:
		return
	case in.knownAction() && !slices.Contains(confirmActions, in.Action):
		errs.add(CodeInvalidParameter, "confirm", "applies only to promote, rotate and rollback, whose plans the blast-radius limits check; %s names its image itself", in.Action)
		return
	case len(c.Deprecate) == 0:
		errs.missing("confirm.deprecate")
		return
	case len(c.Deprecate) > MaxConfirm:
		errs.add(CodeInvalidConfirm, "confirm.deprecate", "must list at most %d image ids, got %d", MaxConfirm, len(c.Deprecate))
		return
	}
	for i, id := range c.Deprecate {
		f := fmt.Sprintf("confirm.deprecate[%d]", i)
		if j := slices.Index(c.Deprecate[:i], id); j >= 0 {
			errs.add(CodeInvalidConfirm, f, "%q repeats confirm.deprecate[%d]", echo(id), j)
		} else if !validImageID(id) {
			errs.add(CodeInvalidImageID, f, "%q is not an image id: \"m-\" followed by letters and digits", echo(id))
		}
	}
}

// validImageID reports whether id has the form of a custom image id: "m-"
// and letters and digits (ASCII), e.g. m-bp18ygjuqnwhechc1234, at most 128
// bytes. It is checked by hand, not with a regular expression: nearly every
// message has an image id, and the regexp engine costs ten times this loop.
func validImageID(id string) bool {
	rest, ok := strings.CutPrefix(id, "m-")
	if !ok || rest == "" || len(id) > 128 {
		return false
	}
	for i := range len(rest) {
		if c := rest[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

func checkRetry(in Intent, errs *Errors) {
	r := in.Retry
	if r == nil {
		return
	}
	switch {
	case r.Attempt == 0:
		errs.missing("retry.attempt")
	case r.Attempt < 0:
		errs.add(CodeInvalidRetry, "retry.attempt", "must be 1 or more, got %d", r.Attempt)
	}
	switch u := r.FirstSeen.UTC(); {
	case r.FirstSeen.IsZero():
		errs.missing("retry.firstSeen")
	case u.Year() < 2000 || u.Year() > 9999:
		// Outside these years the time cannot be a message's first
		// delivery, and past 9999 it cannot be written back as RFC 3339.
		errs.add(CodeInvalidRetry, "retry.firstSeen", "must be a time between the years 2000 and 9999, got %s", u.Format(time.RFC3339))
	}
}

// checkAttributes checks that attributes fit the action, then each value
// against the API's rules.
func checkAttributes(in Intent, errs *Errors) {
	if attributesFit(in, errs) && in.Attributes != nil {
		checkAttributeValues(in.Action, *in.Attributes, errs)
	}
}

// attributesFit reports whether the action takes the attributes given (or
// none), and records why not.
func attributesFit(in Intent, errs *Errors) bool {
	a := in.Attributes
	switch in.Action {
	case ActionModify:
		switch {
		case a == nil:
			errs.missing("attributes")
			return false
		case a.Empty():
			errs.add(CodeInvalidParameter, "attributes", "must set at least one of imageName, description, imageFamily, bootMode, licenseType, status, features")
		}
	case ActionDeprecate, ActionActivate:
		if a != nil {
			errs.add(CodeInvalidParameter, "attributes", "do not apply to %s, which sets the status itself; use modify or promote", in.Action)
		}
		return false
	case ActionRotate, ActionRollback:
		if a != nil {
			errs.add(CodeInvalidParameter, "attributes", "do not apply to %s, which only changes the status of a family's images", in.Action)
		}
		return false
	}
	return true
}

// checkAttributeValues checks each attribute given against the API's rules.
func checkAttributeValues(action string, a Attributes, errs *Errors) {
	if a.ImageName != "" {
		errs.addErr(ValidateName("attributes.imageName", a.ImageName))
	}
	if a.Description != "" {
		if e := ValidateDescription(a.Description); e != nil {
			e.Field = "attributes.description"
			errs.addErr(e)
		}
	}
	if a.ImageFamily != "" {
		errs.addErr(ValidateName("attributes.imageFamily", a.ImageFamily))
	}
	checkEnum(errs, CodeInvalidBootMode, "attributes.bootMode", a.BootMode, bootModes)
	checkEnum(errs, CodeInvalidLicenseType, "attributes.licenseType", a.LicenseType, licenseTypes)
	if action == ActionPromote && a.Status == "Deprecated" {
		errs.add(CodeInvalidStatus, "attributes.status", "promote makes the image Available; Deprecated contradicts it (use deprecate)")
	} else {
		checkEnum(errs, CodeInvalidStatus, "attributes.status", a.Status, statuses)
	}
	if f := a.Features; f != nil {
		// nvmeSupport has no code of its own in the API doc; its sibling
		// ImdsSupport's code, by analogy, is the nearest.
		checkEnum(errs, CodeInvalidNvmeSupport, "attributes.features.nvmeSupport", f.NvmeSupport, nvmeSupports)
		checkEnum(errs, CodeInvalidImdsSupport, "attributes.features.imdsSupport", f.ImdsSupport, imdsSupports)
	}
}

// echo is what an error message shows of a value the sender gave: at most
// redact.EchoLimit bytes of it, so that a 1 MB image id costs a report a few
// hundred bytes.
func echo(v string) string { return redact.Clip(v, redact.EchoLimit) }

// checkEnum reports v unless it is empty (not given) or one of allowed.
func checkEnum(errs *Errors, code, field, v string, allowed []string) {
	if v != "" && !slices.Contains(allowed, v) {
		errs.add(code, field, "%s", enumMessage(v, allowed))
	}
}

// enumMessage says which values are allowed and, when v differs from one
// only in letter case, which one was meant: the API compares exactly.
func enumMessage(v string, allowed []string) string {
	msg := fmt.Sprintf("%q is not supported; use one of %s", echo(v), strings.Join(allowed, ", "))
	for _, a := range allowed {
		if strings.EqualFold(a, v) {
			return msg + fmt.Sprintf(" (values are case-sensitive: did you mean %q?)", a)
		}
	}
	return msg
}

// ValidateName checks an image name or image family name against the rule
// the API documents for both (the Chinese doc's version, the most complete):
// 2 to 128 characters; first a letter (A-Z, a-z) or a Chinese character; then
// letters, Chinese characters, digits, ".", ":", "_" and "-"; not starting
// with "aliyun" or "acs:"; not containing "http://" or "https://".
//
// The prefixes and schemes are matched in any letter case. The doc does not
// say whether the API does; refusing "Aliyun-x" here costs nothing, while a
// name the API might refuse would fail a whole promote after its wait.
//
// The code is InvalidImageFamily.Malformed when field names a family (its last
// element starts with "imageFamil", e.g. "attributes.imageFamily" or
// "imageFamilies[0]"), InvalidImageName.Malformed otherwise. An empty s is a
// violation: callers treat "" as "not given" before calling.
func ValidateName(field, s string) *Error {
	code := CodeInvalidImageName
	// Compared folded in place: ToLower would copy the name on every call.
	const family = "imagefamil"
	if last := field[strings.LastIndex(field, ".")+1:]; len(last) >= len(family) && strings.EqualFold(last[:len(family)], family) {
		code = CodeInvalidImageFamily
	}
	if msg := nameProblem(s, false); msg != "" {
		return &Error{Code: code, Field: field, Message: msg}
	}
	return nil
}

// nameProblem returns what is wrong with a name, or "". With glob set, "*"
// and "?" are allowed anywhere and the minimum length does not apply (a
// pattern such as "*" is shorter than the names it matches).
func nameProblem(s string, glob bool) string {
	for _, problem := range []func(string, bool) string{nameLengthProblem, reservedNameProblem, nameCharProblem} {
		if msg := problem(s, glob); msg != "" {
			return msg
		}
	}
	return ""
}

func nameLengthProblem(s string, glob bool) string {
	n := utf8.RuneCountInString(s)
	switch {
	case n > 128:
		return fmt.Sprintf("must be at most 128 characters, got %d", n)
	case n < 2 && !glob:
		return fmt.Sprintf("must be 2 to 128 characters, got %d", n)
	case n == 0:
		return "must not be empty"
	}
	return ""
}

// reservedNameProblem refuses the prefixes and the schemes the API reserves.
func reservedNameProblem(s string, glob bool) string {
	literal := strings.ToLower(s)
	if glob {
		// Only the part before the first wildcard is certainly a prefix.
		literal = literal[:strings.IndexAny(literal+"*", "*?")]
	}
	for _, p := range []string{"aliyun", "acs:"} {
		if strings.HasPrefix(literal, p) {
			return fmt.Sprintf("must not start with %q (in any letter case)", p)
		}
	}
	for _, p := range []string{"http://", "https://"} {
		if strings.Contains(strings.ToLower(s), p) {
			return fmt.Sprintf("must not contain %q", p)
		}
	}
	return ""
}

// nameCharProblem checks the first character and the others.
func nameCharProblem(s string, glob bool) string {
	isWild := func(r rune) bool { return glob && (r == '*' || r == '?') }
	for i, r := range s {
		switch {
		case i == 0 && !isLetter(r) && !isWild(r):
			return fmt.Sprintf("must start with a letter or a Chinese character, not %q", r)
		case isLetter(r) || isWild(r) || (r >= '0' && r <= '9') || strings.ContainsRune(".:_-", r):
		default:
			return fmt.Sprintf("must not contain %q: allowed are letters, Chinese characters, digits and . : _ -", r)
		}
	}
	return ""
}

// isLetter is the rule's notion of a letter: ASCII letters and Chinese
// characters only (not every Unicode letter).
func isLetter(r rune) bool {
	return (r >= 'A' && r <= 'Z') || (r >= 'a' && r <= 'z') || unicode.Is(unicode.Han, r)
}

// validateFamilyPattern checks one imageFamilies entry: a family name, or a
// pattern whose literal characters follow the family rule and whose wildcards
// are "*" and "?" in path.Match syntax.
func validateFamilyPattern(field, p string) *Error {
	if !strings.ContainsAny(p, "*?") {
		return ValidateName(field, p)
	}
	if msg := nameProblem(p, true); msg != "" {
		return &Error{Code: CodeInvalidImageFamily, Field: field, Message: msg}
	}
	if _, err := path.Match(p, ""); err != nil {
		return &Error{Code: CodeInvalidImageFamily, Field: field, Message: fmt.Sprintf("%q is not a valid pattern: %v", p, err)}
	}
	return nil
}

// ValidateDescription checks an image description: 2 to 256 characters, not
// starting with "http://" or "https://" (in any letter case). The returned
// Error's Field is "description"; callers with a longer path set their own.
func ValidateDescription(s string) *Error {
	n := utf8.RuneCountInString(s)
	if n < 2 || n > 256 {
		return &Error{Code: CodeInvalidDescription, Field: "description", Message: fmt.Sprintf("must be 2 to 256 characters, got %d", n)}
	}
	lower := strings.ToLower(s)
	for _, p := range []string{"http://", "https://"} {
		if strings.HasPrefix(lower, p) {
			return &Error{Code: CodeInvalidDescription, Field: "description", Message: fmt.Sprintf("must not start with %q", p)}
		}
	}
	return nil
}
