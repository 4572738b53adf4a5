package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/intent"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/redact"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/strictjson"
)

// Codes of our own for a policy; the rest are the intent's (and so the API's).
const (
	CodeInvalidVersion             = "InvalidParameter.Version"
	CodeInvalidMaxDeprecations     = "InvalidParameter.MaxDeprecations"
	CodeInvalidMaxDeprecationShare = "InvalidParameter.MaxDeprecationShare"
	// CodeConflict is for a policy given twice (POLICY_FILE and POLICY).
	CodeConflict = "InvalidParameter.PolicyConflict"
	// CodeUnreadable is for a POLICY_FILE that cannot be read.
	CodeUnreadable = "InvalidParameter.PolicyFile"
)

// Parse reads text as a policy, strictly, and validates it. A problem comes
// back as intent.Errors, one *intent.Error per violation with the field's
// path in the policy ("families[2].keep") and a code: strictjson's for the
// text itself (a repeated name, invalid UTF-8), InvalidParameter.UnknownField
// (with a hint) and InvalidParameter.Type for the shape, the intent's codes
// for the values an intent also has, and this package's for the rest.
func Parse(text []byte) (*Policy, error) {
	d, errs := decode(text)
	if len(errs) > 0 {
		// Rule checks on a half-read policy would only add noise.
		return nil, errs
	}
	p, errs := d.validate()
	if len(errs) > 0 {
		return nil, errs
	}
	return p, nil
}

// draft is a policy as read, before its rules are checked. A pointer is nil
// when the member was absent (or null).
type draft struct {
	version  *int
	families []draftFamily
	names    []draftName
	// familiesGiven tells an absent families[] from an empty one.
	familiesGiven bool
}

type draftFamily struct {
	match           string
	keep            *int
	minAge          intent.Duration
	attributes      *intent.Attributes
	maxDeprecations *int
	maxShare        *float64
}

type draftName struct {
	match, family string
}

// Member names, as the policy spells them. "$comment" is allowed everywhere
// and ignored.
const comment = "$comment"

var (
	policyMembers     = []string{comment, "version", "families", "names"}
	familyMembers     = []string{comment, "match", "keep", "minAge", "attributes", "maxDeprecations", "maxDeprecationShare"}
	attributesMembers = []string{"imageName", "description", "imageFamily", "bootMode", "licenseType", "status", "features"}
	featuresMembers   = []string{"nvmeSupport", "imdsSupport"}
	nameMembers       = []string{comment, "match", "family"}
)

// Hints for a member given at the wrong level.
var (
	policyElsewhere = elsewhere("families[].", familyMembers, map[string]string{"family": "names[].family"})
	familyElsewhere = elsewhere("attributes.", attributesMembers, elsewhere("attributes.features.", featuresMembers, map[string]string{"family": "match"}))
	attrsElsewhere  = elsewhere("features.", featuresMembers, nil)
)

func elsewhere(prefix string, names []string, more map[string]string) map[string]string {
	m := map[string]string{}
	for k, v := range more {
		m[k] = v
	}
	for _, n := range names {
		if n != comment {
			m[strings.ToLower(n)] = prefix + n
		}
	}
	return m
}

// decode reads the text into a draft. Every problem of shape is reported
// (unknown members, values of the wrong kind), in document order within an
// object; a problem with the text itself stops the reading.
func decode(text []byte) (draft, intent.Errors) {
	var d draft
	var r reader
	if err := strictjson.Check(text); err != nil {
		var se *strictjson.Error
		if errors.As(err, &se) {
			field := se.Path()
			if se.Code == strictjson.CodeMalformed || se.Code == strictjson.CodeTooDeep {
				field = ""
			}
			r.add(se.Code, field, "%s", se.Message)
		} else {
			r.add(intent.CodeMalformed, "", "not valid JSON: %s", redact.Clip(err.Error(), redact.TextLimit))
		}
		return d, r.errs
	}
	root := jsontext.Value(text)
	if root.Kind() != '{' {
		r.add(intent.CodeMalformed, "", "a policy is a JSON object, got %s", strictjson.KindName(root.Kind()))
		return d, r.errs
	}
	m := r.members(root, "", policyMembers, policyElsewhere)
	r.text(m[comment], comment)
	d.version = r.integer(m["version"], "version")
	if d.version != nil && *d.version != Version {
		// Another version may give the same names other meanings: what
		// this one would say of them (unknown, wrong type) is noise.
		r.errs = nil
		r.add(CodeInvalidVersion, "version", "%d is not supported: this function reads policy version %d", *d.version, Version)
		return d, r.errs
	}
	if fams, ok := r.array(m["families"], "families"); ok {
		d.familiesGiven = true
		for i, raw := range fams {
			d.families = append(d.families, r.family(raw, fmt.Sprintf("families[%d]", i)))
		}
	}
	if names, ok := r.array(m["names"], "names"); ok {
		for i, raw := range names {
			d.names = append(d.names, r.name(raw, fmt.Sprintf("names[%d]", i)))
		}
	}
	return d, r.errs
}

func (r *reader) family(raw jsontext.Value, path string) draftFamily {
	var f draftFamily
	m, ok := r.object(raw, path, familyMembers, familyElsewhere)
	if !ok {
		return f
	}
	r.text(m[comment], join(path, comment))
	f.match = r.text(m["match"], join(path, "match"))
	f.keep = r.integer(m["keep"], join(path, "keep"))
	f.minAge = r.duration(m["minAge"], join(path, "minAge"))
	f.maxDeprecations = r.integer(m["maxDeprecations"], join(path, "maxDeprecations"))
	f.maxShare = r.number(m["maxDeprecationShare"], join(path, "maxDeprecationShare"))
	at := join(path, "attributes")
	if am, ok := r.object(m["attributes"], at, attributesMembers, attrsElsewhere); ok {
		a := &intent.Attributes{
			ImageName:   r.text(am["imageName"], join(at, "imageName")),
			Description: r.text(am["description"], join(at, "description")),
			ImageFamily: r.text(am["imageFamily"], join(at, "imageFamily")),
			BootMode:    r.text(am["bootMode"], join(at, "bootMode")),
			LicenseType: r.text(am["licenseType"], join(at, "licenseType")),
			Status:      r.text(am["status"], join(at, "status")),
		}
		ft := join(at, "features")
		if fm, ok := r.object(am["features"], ft, featuresMembers, nil); ok {
			a.Features = &intent.Features{
				NvmeSupport: r.text(fm["nvmeSupport"], join(ft, "nvmeSupport")),
				ImdsSupport: r.text(fm["imdsSupport"], join(ft, "imdsSupport")),
			}
		}
		f.attributes = a
	}
	return f
}

func (r *reader) name(raw jsontext.Value, path string) draftName {
	var n draftName
	m, ok := r.object(raw, path, nameMembers, map[string]string{"keep": "families[].keep"})
	if !ok {
		return n
	}
	r.text(m[comment], join(path, comment))
	n.match = r.text(m["match"], join(path, "match"))
	n.family = r.text(m["family"], join(path, "family"))
	return n
}

// reader turns raw values into Go values, collecting every problem.
type reader struct{ errs intent.Errors }

func (r *reader) add(code, field, format string, args ...any) {
	r.errs = append(r.errs, &intent.Error{Code: code, Field: field, Message: fmt.Sprintf(format, args...)})
}

// absent reports a member that was not given, or given as null: both mean
// "not given", as in an intent.
func absent(raw jsontext.Value) bool { return len(raw) == 0 || raw.Kind() == 'n' }

// object reads an object's members (absent or null: ok is false), reporting
// those not in known with a hint. The text was checked strictly before, so
// no name repeats.
func (r *reader) object(raw jsontext.Value, path string, known []string, elsewhere map[string]string) (map[string]jsontext.Value, bool) {
	if absent(raw) {
		return nil, false
	}
	if raw.Kind() != '{' {
		r.add(intent.CodeWrongType, path, "must be an object, got %s", strictjson.KindName(raw.Kind()))
		return nil, false
	}
	return r.members(raw, path, known, elsewhere), true
}

// members reads the members of the object raw in document order.
func (r *reader) members(raw jsontext.Value, path string, known []string, elsewhere map[string]string) map[string]jsontext.Value {
	m := map[string]jsontext.Value{}
	dec := jsontext.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.ReadToken(); err != nil { // {
		return m
	}
	for dec.PeekKind() != '}' {
		tok, err := dec.ReadToken()
		if err != nil {
			return m
		}
		name := tok.String()
		v, err := dec.ReadValue()
		if err != nil && err != io.EOF {
			return m
		}
		if slices.Contains(known, name) {
			m[name] = v.Clone()
			continue
		}
		shown := redact.Clip(name, redact.EchoLimit)
		msg := fmt.Sprintf("unknown field %q", shown)
		if hint := intent.Suggest(name, known, elsewhere); hint != "" {
			msg += fmt.Sprintf("; did you mean %q?", hint)
		} else {
			msg += "; known fields: " + strings.Join(known, ", ")
		}
		r.add(intent.CodeUnknownField, join(path, shown), "%s", msg)
	}
	return m
}

func (r *reader) text(raw jsontext.Value, path string) string {
	var s string
	if absent(raw) {
		return s
	}
	if raw.Kind() != '"' {
		r.add(intent.CodeWrongType, path, "must be a string, got %s", strictjson.KindName(raw.Kind()))
		return s
	}
	_ = json.Unmarshal(raw, &s) // a valid string, checked strictly before
	return s
}

func (r *reader) integer(raw jsontext.Value, path string) *int {
	if absent(raw) {
		return nil
	}
	if raw.Kind() != '0' {
		r.add(intent.CodeWrongType, path, "must be an integer, got %s", strictjson.KindName(raw.Kind()))
		return nil
	}
	var n int
	if err := json.Unmarshal(raw, &n); err != nil {
		r.add(intent.CodeWrongType, path, "must be an integer, got %s", redact.Clip(string(raw), redact.EchoLimit))
		return nil
	}
	return &n
}

func (r *reader) number(raw jsontext.Value, path string) *float64 {
	if absent(raw) {
		return nil
	}
	if raw.Kind() != '0' {
		r.add(intent.CodeWrongType, path, "must be a number, got %s", strictjson.KindName(raw.Kind()))
		return nil
	}
	var f float64
	if err := json.Unmarshal(raw, &f); err != nil {
		r.add(intent.CodeWrongType, path, "must be a number, got %s", redact.Clip(string(raw), redact.EchoLimit))
		return nil
	}
	return &f
}

// duration reads minAge exactly as an intent's minAge is read.
func (r *reader) duration(raw jsontext.Value, path string) intent.Duration {
	var d intent.Duration
	if absent(raw) {
		return d
	}
	const want = `a duration such as "168h" or "7d", or a number of days`
	if k := raw.Kind(); k != '"' && k != '0' {
		r.add(intent.CodeWrongType, path, "must be %s, got %s", want, strictjson.KindName(raw.Kind()))
		return d
	}
	if err := d.UnmarshalJSON(raw); err != nil {
		r.add(intent.CodeWrongType, path, "must be %s: %s", want, redact.Clip(err.Error(), redact.TextLimit))
	}
	return d
}

// array reads an array's elements; ok is false when it is absent or null.
func (r *reader) array(raw jsontext.Value, path string) ([]jsontext.Value, bool) {
	if absent(raw) {
		return nil, false
	}
	if raw.Kind() != '[' {
		r.add(intent.CodeWrongType, path, "must be an array, got %s", strictjson.KindName(raw.Kind()))
		return nil, false
	}
	var elems []jsontext.Value
	_ = json.Unmarshal(raw, &elems) // a valid array, checked strictly before
	return elems, true
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}
