package intent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Decode reads body as one intent, strictly: it must be a single JSON object
// with nothing after it; every member name must match a field exactly
// (encoding/json alone would accept "ImageName" for "imageName", and would
// silently keep the last of two duplicates); every value must have the
// field's type. It checks no rule: see Validate, or Parse for both.
//
// On error it returns Errors, one per problem found (all unknown fields and
// type errors, not just the first), and the intent as far as it decoded.
func Decode(body []byte) (Intent, error) {
	var in Intent
	var errs Errors
	start := bytes.TrimLeft(body, jsonSpace)
	switch {
	case len(start) == 0:
		errs.add(CodeMalformed, "", "the body is empty; an intent is a JSON object")
		return in, errs
	case start[0] == '[':
		errs.add(CodeMalformed, "", "a JSON array is not an intent: one intent per message (the trigger layer splits arrays)")
		return in, errs
	case start[0] != '{':
		errs.add(CodeMalformed, "", "an intent is a JSON object, got %s", jsonKind(start))
		return in, errs
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		errs.add(CodeMalformed, "", "not valid JSON: %s", syntaxMessage(err))
		return in, errs
	}
	if rest := bytes.TrimLeft(body[dec.InputOffset():], jsonSpace); len(rest) > 0 {
		errs.add(CodeMalformed, "", "unexpected data after the intent object at offset %d: one intent per message", len(body)-len(rest))
		return in, errs
	}
	decodeObject(raw, "", intentFields(&in), topLevelElsewhere(), &errs)
	if len(in.ImageFamilies) == 0 {
		// [] and absent mean the same; keeping nil makes re-marshalling exact.
		in.ImageFamilies = nil
	}
	if in.Retry != nil {
		// One location for every time read, so that a re-marshalled intent
		// reads back to the same value whatever offset the sender used.
		in.Retry.FirstSeen = in.Retry.FirstSeen.UTC()
	}
	return in, errs.err()
}

// jsonSpace is the whitespace JSON allows between tokens.
const jsonSpace = " \t\r\n"

// field is one known member of a JSON object: its exact name and how to
// decode its value, reporting problems under path.
type field struct {
	name   string
	decode func(raw json.RawMessage, path string, errs *Errors)
}

// topLevelElsewhere points misplaced attribute names at where they belong.
func topLevelElsewhere() map[string]string {
	m := map[string]string{}
	for _, f := range attributeFields(new(Attributes)) {
		m[strings.ToLower(f.name)] = "attributes." + f.name
	}
	for _, f := range featureFields(new(Features)) {
		m[strings.ToLower(f.name)] = "attributes.features." + f.name
	}
	for _, f := range retryFields(new(Retry)) {
		m[strings.ToLower(f.name)] = "retry." + f.name
	}
	return m
}

// attributesElsewhere points feature names given directly in attributes at
// attributes.features.
func attributesElsewhere() map[string]string {
	m := map[string]string{}
	for _, f := range featureFields(new(Features)) {
		m[strings.ToLower(f.name)] = "features." + f.name
	}
	return m
}

func intentFields(in *Intent) []field {
	return []field{
		{"action", text(&in.Action)},
		{"id", text(&in.ID)},
		{"regionId", text(&in.RegionID)},
		{"imageId", text(&in.ImageID)},
		{"imageFamily", text(&in.ImageFamily)},
		{"imageFamilies", texts(&in.ImageFamilies)},
		{"attributes", object(&in.Attributes, attributeFields, attributesElsewhere())},
		{"keep", value(&in.Keep, "an integer", "a number")},
		{"minAge", value(&in.MinAge, `a duration such as "168h" or "7d", or a number of days`, "a string", "a number")},
		{"dryRun", value(&in.DryRun, "a boolean", "a boolean")},
		{"retry", object(&in.Retry, retryFields, nil)},
	}
}

func attributeFields(a *Attributes) []field {
	return []field{
		{"imageName", text(&a.ImageName)},
		{"description", text(&a.Description)},
		{"imageFamily", text(&a.ImageFamily)},
		{"bootMode", text(&a.BootMode)},
		{"licenseType", text(&a.LicenseType)},
		{"status", text(&a.Status)},
		{"features", object(&a.Features, featureFields, nil)},
	}
}

func featureFields(f *Features) []field {
	return []field{
		{"nvmeSupport", text(&f.NvmeSupport)},
		{"imdsSupport", text(&f.ImdsSupport)},
	}
}

func retryFields(r *Retry) []field {
	return []field{
		{"attempt", value(&r.Attempt, "an integer", "a number")},
		{"firstSeen", value(&r.FirstSeen, `an RFC 3339 time such as "2026-11-27T10:00:00Z"`, "a string")},
		{"lastError", text(&r.LastError)},
		{"messageId", text(&r.MessageID)},
	}
}

// text decodes a string field.
func text(dst *string) func(json.RawMessage, string, *Errors) {
	return value(dst, "a string", "a string")
}

// texts decodes an array of strings.
func texts(dst *[]string) func(json.RawMessage, string, *Errors) {
	return value(dst, "an array of strings", "an array")
}

// value decodes a leaf with encoding/json, naming the field and the expected
// type when the value does not fit. kinds are the JSON kinds (as jsonKind
// names them) the field reads; null is always accepted and means absent.
func value[T any](dst *T, want string, kinds ...string) func(json.RawMessage, string, *Errors) {
	return func(raw json.RawMessage, path string, errs *Errors) {
		if k := jsonKind(raw); k != "null" && !slices.Contains(kinds, k) {
			// Checked first so that the message names the JSON kind rather
			// than quoting a decoder's internals.
			errs.add(CodeWrongType, path, "must be %s, got %s", want, k)
			return
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			errs.add(CodeWrongType, path, "%s", typeMessage(raw, want, err))
		}
	}
}

// object decodes a nested object strictly, like the top level; null leaves
// the pointer nil (absent).
func object[T any](dst **T, fields func(*T) []field, elsewhere map[string]string) func(json.RawMessage, string, *Errors) {
	return func(raw json.RawMessage, path string, errs *Errors) {
		switch jsonKind(raw) {
		case "null":
			*dst = nil
			return
		case "an object":
		default:
			errs.add(CodeWrongType, path, "must be an object, got %s", jsonKind(raw))
			return
		}
		v := new(T)
		decodeObject(raw, path, fields(v), elsewhere, errs)
		*dst = v
	}
}

// decodeObject walks the members of the JSON object raw (already known to be
// valid JSON) in document order and hands each to its field. Unknown and
// repeated names are reported with their path.
func decodeObject(raw json.RawMessage, path string, fields []field, elsewhere map[string]string, errs *Errors) {
	known := make([]string, len(fields))
	for i, f := range fields {
		known[i] = f.name
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil { // the opening brace
		errs.add(CodeMalformed, path, "not valid JSON: %s", syntaxMessage(err))
		return
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			errs.add(CodeMalformed, path, "not valid JSON: %s", syntaxMessage(err))
			return
		}
		name, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			errs.add(CodeMalformed, path, "not valid JSON: %s", syntaxMessage(err))
			return
		}
		at := join(path, name)
		if seen[name] {
			errs.add(CodeDuplicateField, at, "field %q is given more than once", name)
			continue
		}
		seen[name] = true
		f, ok := lookup(fields, name)
		if !ok {
			msg := fmt.Sprintf("unknown field %q", name)
			if hint := suggest(name, known, elsewhere); hint != "" {
				msg += fmt.Sprintf("; did you mean %q?", hint)
			} else {
				msg += "; known fields: " + strings.Join(known, ", ")
			}
			errs.add(CodeUnknownField, at, "%s", msg)
			continue
		}
		f.decode(v, at, errs)
	}
}

func lookup(fields []field, name string) (field, bool) {
	for _, f := range fields {
		if f.name == name {
			return f, true
		}
	}
	return field{}, false
}

// join builds a JSON path such as "attributes.features".
func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// jsonKind names the kind of a JSON value from its first byte, for messages.
func jsonKind(raw []byte) string {
	raw = bytes.TrimLeft(raw, jsonSpace)
	if len(raw) == 0 {
		return "nothing"
	}
	switch c := raw[0]; {
	case c == '{':
		return "an object"
	case c == '[':
		return "an array"
	case c == '"':
		return "a string"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	case c == '-' || (c >= '0' && c <= '9'):
		return "a number"
	default:
		return "invalid JSON"
	}
}

// typeMessage explains why a value of the right JSON kind still does not fit
// its field: a number that is no integer or too large, an array element of
// the wrong kind, a time or duration that does not parse.
func typeMessage(raw json.RawMessage, want string, err error) string {
	var te *json.UnmarshalTypeError
	var pe *time.ParseError
	switch {
	case errors.As(err, &te) && jsonKind(raw) == "an array":
		return fmt.Sprintf("must be %s, got an array holding a %s", want, te.Value)
	case errors.As(err, &te):
		return fmt.Sprintf("must be %s, got %s", want, te.Value) // e.g. "number 1.5"
	case errors.As(err, &pe):
		return fmt.Sprintf("must be %s, got %s", want, string(raw))
	default:
		return fmt.Sprintf("must be %s: %v", want, err)
	}
}

// syntaxMessage turns a JSON syntax error into a short message with its
// offset.
func syntaxMessage(err error) string {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("%v (at offset %d)", se, se.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "the body ends before the object is complete"
	default:
		return err.Error()
	}
}
