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

	"github.com/ecs-image-lifecycle/image-lifecycle/function/redact"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/strictjson"
)

// Decode reads body as one intent, strictly, the way strictjson reads every
// JSON this function takes: it must be a single JSON object with nothing but
// JSON whitespace around it, valid UTF-8, no name given twice at any depth;
// every member name must match a field exactly (case and all: "ImageName" is
// not "imageName"); every value must have the field's type. It checks no
// rule: see Validate, or Parse for both.
//
// On error it returns Errors, one per problem found in document order (all
// unknown fields and type errors, not just the first; decoding stops at a
// problem with the text itself, such as a repeated name), and the intent as
// far as it decoded.
func Decode(body []byte) (Intent, error) {
	var in Intent
	var errs Errors
	d := strictjson.NewDecoder(body)
	tok, err := d.ReadToken()
	switch {
	case err == io.EOF:
		errs.add(CodeMalformed, "", "the body is empty; an intent is a JSON object")
		return in, errs
	case err != nil:
		errs.refused(err, "an intent is a JSON object, got invalid JSON")
		return in, errs
	case tok.Kind() == '[':
		errs.add(CodeMalformed, "", "a JSON array is not an intent: one intent per message (the trigger layer splits arrays)")
		return in, errs
	case tok.Kind() != '{':
		errs.add(CodeMalformed, "", "an intent is a JSON object, got %s", strictjson.KindName(tok.Kind()))
		return in, errs
	}
	if !decodeMembers(d, "", intentFields(&in), topLevelElsewhere(), &errs) {
		return in, errs
	}
	at := d.Offset()
	if err := d.End(); err != nil {
		at += int64(len(body[at:]) - len(bytes.TrimLeft(body[at:], jsonSpace)))
		var e *strictjson.Error
		if errors.As(err, &e) && e.Code == strictjson.CodeMalformed {
			errs.add(CodeMalformed, "", "unexpected data after the intent object at offset %d: one intent per message", at)
		} else {
			errs.refused(err, "")
		}
		return in, errs
	}
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
// decode its value from d, reporting problems under path. decode returns
// false when the text itself was refused: decoding stops there.
type field struct {
	name   string
	decode func(d *strictjson.Decoder, path string, errs *Errors) bool
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
	for _, f := range confirmFields(new(Confirm)) {
		m[strings.ToLower(f.name)] = "confirm." + f.name
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
		{"confirm", object(&in.Confirm, confirmFields, nil)},
		{"retry", object(&in.Retry, retryFields, nil)},
	}
}

func confirmFields(c *Confirm) []field {
	return []field{
		{"deprecate", texts(&c.Deprecate)},
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
func text(dst *string) func(*strictjson.Decoder, string, *Errors) bool {
	return value(dst, "a string", "a string")
}

// texts decodes an array of strings.
func texts(dst *[]string) func(*strictjson.Decoder, string, *Errors) bool {
	return value(dst, "an array of strings", "an array")
}

// value decodes a leaf, naming the field and the expected type when the
// value does not fit. kinds are the JSON kinds (as jsonKind names them) the
// field reads; null is always accepted and means absent. The leaf has been
// read strictly by d; encoding/json only turns it into its Go type (through
// the UnmarshalJSON methods of Duration and time.Time), which is what the
// type messages below are written against.
func value[T any](dst *T, want string, kinds ...string) func(*strictjson.Decoder, string, *Errors) bool {
	return func(d *strictjson.Decoder, path string, errs *Errors) bool {
		raw, err := d.ReadValue()
		if err != nil {
			errs.refused(err, "")
			return false
		}
		if k := jsonKind(raw); k != "null" && !slices.Contains(kinds, k) {
			// Checked first so that the message names the JSON kind rather
			// than quoting a decoder's internals.
			errs.add(CodeWrongType, path, "must be %s, got %s", want, k)
			return true
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			errs.add(CodeWrongType, path, "%s", typeMessage(json.RawMessage(raw), want, err))
		}
		return true
	}
}

// object decodes a nested object strictly, like the top level; null leaves
// the pointer nil (absent).
func object[T any](dst **T, fields func(*T) []field, elsewhere map[string]string) func(*strictjson.Decoder, string, *Errors) bool {
	return func(d *strictjson.Decoder, path string, errs *Errors) bool {
		switch d.PeekKind() {
		case 'n':
			*dst = nil
			_, err := d.ReadValue()
			return errs.refused(err, "")
		case '{':
		default:
			raw, err := d.ReadValue()
			if err != nil {
				return errs.refused(err, "")
			}
			errs.add(CodeWrongType, path, "must be an object, got %s", jsonKind(raw))
			return true
		}
		if _, err := d.ReadToken(); err != nil {
			return errs.refused(err, "")
		}
		v := new(T)
		*dst = v
		return decodeMembers(d, path, fields(v), elsewhere, errs)
	}
}

// decodeMembers reads the members of the object whose opening brace d has
// just read, in document order, and hands each to its field. Unknown names
// are reported with their path; a repeated name is refused by d itself
// (strictjson), and ends the decoding, like any problem with the text.
func decodeMembers(d *strictjson.Decoder, path string, fields []field, elsewhere map[string]string, errs *Errors) bool {
	known := make([]string, len(fields))
	for i, f := range fields {
		known[i] = f.name
	}
	for d.PeekKind() != '}' {
		tok, err := d.ReadToken()
		if err != nil {
			return errs.refused(err, "")
		}
		if tok.Kind() != '"' {
			// Only reachable at the end of a truncated text: let d say so.
			_, err := d.ReadToken()
			return errs.refused(err, "the body ends before the object is complete")
		}
		name := tok.String()
		at := join(path, redact.Clip(name, redact.EchoLimit))
		f, ok := lookup(fields, name)
		if ok {
			if !f.decode(d, at, errs) {
				return false
			}
			continue
		}
		msg := fmt.Sprintf("unknown field %q", redact.Clip(name, redact.EchoLimit))
		if hint := suggest(name, known, elsewhere); hint != "" {
			msg += fmt.Sprintf("; did you mean %q?", hint)
		} else {
			msg += "; known fields: " + strings.Join(known, ", ")
		}
		errs.add(CodeUnknownField, at, "%s", msg)
		if _, err := d.ReadValue(); err != nil { // read, strictly, and left aside
			return errs.refused(err, "")
		}
	}
	_, err := d.ReadToken() // the closing brace
	return errs.refused(err, "")
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
		return fmt.Sprintf("must be %s, got %s", want, echo(te.Value)) // e.g. "number 1.5"
	case errors.As(err, &pe):
		return fmt.Sprintf("must be %s, got %s", want, echo(string(raw)))
	default:
		return fmt.Sprintf("must be %s: %s", want, redact.Clip(err.Error(), redact.TextLimit))
	}
}
