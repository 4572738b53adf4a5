package intent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-json-experiment/json/jsontext"

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
	r := newReader(body)
	defer r.Release()
	in, errs := &r.in, &r.errs
	tok, err := r.ReadToken()
	switch {
	case err == io.EOF:
		errs.add(CodeMalformed, "", "the body is empty; an intent is a JSON object")
		return *in, *errs
	case err != nil:
		errs.refused(err, "an intent is a JSON object, got invalid JSON")
		return *in, *errs
	case tok.Kind() == '[':
		errs.add(CodeMalformed, "", "a JSON array is not an intent: one intent per message (the trigger layer splits arrays)")
		return *in, *errs
	case tok.Kind() != '{':
		errs.add(CodeMalformed, "", "an intent is a JSON object, got %s", strictjson.KindName(tok.Kind()))
		return *in, *errs
	}
	if !decodeMembers(r, "", in, &decodeTables().intent) {
		return *in, *errs
	}
	at := r.Offset()
	if err := r.End(); err != nil {
		at += int64(len(body[at:]) - len(bytes.TrimLeft(body[at:], jsonSpace)))
		var e *strictjson.Error
		if errors.As(err, &e) && e.Code == strictjson.CodeMalformed {
			errs.add(CodeMalformed, "", "unexpected data after the intent object at offset %d: one intent per message", at)
		} else {
			errs.refused(err, "")
		}
		return *in, *errs
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
	return *in, errs.err()
}

// jsonSpace is the whitespace JSON allows between tokens.
const jsonSpace = " \t\r\n"

// field is one known member of a JSON object of type T: its exact name and
// how to decode its value from d into the object, reporting problems under
// path (the member's path in the intent, as "attributes.imageName"). decode
// returns false when the text itself was refused: decoding stops there.
type field[T any] struct {
	name, path string
	decode     func(obj *T, r *reader, path string) bool
}

// table is how an object type is decoded: its members, their names (for the
// message on an unknown one), and where misplaced names belong (hints).
type table[T any] struct {
	fields    []field[T]
	known     []string
	elsewhere map[string]string
}

// tables are the decoding tables of every object of an intent, each at its
// one place in the document.
type tables struct {
	intent     table[Intent]
	attributes table[Attributes]
	features   table[Features]
	confirm    table[Confirm]
	retry      table[Retry]
	// event is what an ActionTrail event's top level may carry for the
	// function (see FromEvent): other members are the record's.
	event table[Intent]
}

// decodeTables are built once per process, on the first Decode: what a
// message costs is reading it, not describing the format again.
var decodeTables = sync.OnceValue(func() *tables {
	t := &tables{}
	t.features = newTable("attributes.features", nil,
		member("nvmeSupport", text(func(f *Features) *string { return &f.NvmeSupport }, nvmeSupports...)),
		member("imdsSupport", text(func(f *Features) *string { return &f.ImdsSupport }, imdsSupports...)))
	t.attributes = newTable("attributes", elsewhere("features.", &t.features),
		member("imageName", text(func(a *Attributes) *string { return &a.ImageName })),
		member("description", text(func(a *Attributes) *string { return &a.Description })),
		member("imageFamily", text(func(a *Attributes) *string { return &a.ImageFamily })),
		member("bootMode", text(func(a *Attributes) *string { return &a.BootMode }, bootModes...)),
		member("licenseType", text(func(a *Attributes) *string { return &a.LicenseType }, licenseTypes...)),
		member("status", text(func(a *Attributes) *string { return &a.Status }, statuses...)),
		member("features", object(func(a *Attributes) **Features { return &a.Features }, &t.features)))
	t.retry = newTable("retry", nil,
		member("attempt", value(func(r *Retry) *int { return &r.Attempt }, "an integer", "a number")),
		member("firstSeen", value(func(r *Retry) *time.Time { return &r.FirstSeen }, `an RFC 3339 time such as "2026-11-27T10:00:00Z"`, "a string")),
		member("lastError", text(func(r *Retry) *string { return &r.LastError })),
		member("messageId", text(func(r *Retry) *string { return &r.MessageID })))
	t.confirm = newTable("confirm", nil,
		member("deprecate", value(func(c *Confirm) *[]string { return &c.Deprecate }, "an array of strings", "an array")))
	top := elsewhere("attributes.", &t.attributes)
	maps.Copy(top, elsewhere("attributes.features.", &t.features))
	maps.Copy(top, elsewhere("retry.", &t.retry))
	maps.Copy(top, elsewhere("confirm.", &t.confirm))
	t.intent = newTable("", top,
		member("action", text(func(in *Intent) *string { return &in.Action }, actions...)),
		member("id", text(func(in *Intent) *string { return &in.ID })),
		member("regionId", text(func(in *Intent) *string { return &in.RegionID })),
		member("imageId", text(func(in *Intent) *string { return &in.ImageID })),
		member("imageFamily", text(func(in *Intent) *string { return &in.ImageFamily })),
		member("imageFamilies", value(func(in *Intent) *[]string { return &in.ImageFamilies }, "an array of strings", "an array")),
		member("attributes", object(func(in *Intent) **Attributes { return &in.Attributes }, &t.attributes)),
		member("keep", value(func(in *Intent) **int { return &in.Keep }, "an integer", "a number")),
		member("minAge", value(func(in *Intent) *Duration { return &in.MinAge }, `a duration such as "168h" or "7d", or a number of days`, "a string", "a number")),
		member("dryRun", boolean(func(in *Intent) *bool { return &in.DryRun })),
		member("confirm", object(func(in *Intent) **Confirm { return &in.Confirm }, &t.confirm)),
		member("retry", object(func(in *Intent) **Retry { return &in.Retry }, &t.retry)))
	t.event = newTable("", nil,
		member("confirm", object(func(in *Intent) **Confirm { return &in.Confirm }, &t.confirm)),
		member("retry", object(func(in *Intent) **Retry { return &in.Retry }, &t.retry)))
	return t
})

// member is a field without its path: newTable sets it.
func member[T any](name string, decode func(*T, *reader, string) bool) field[T] {
	return field[T]{name: name, decode: decode}
}

// newTable is the table of an object at path.
func newTable[T any](path string, elsewhere map[string]string, fields ...field[T]) table[T] {
	t := table[T]{fields: fields, elsewhere: elsewhere}
	for i := range t.fields {
		t.fields[i].path = join(path, t.fields[i].name)
		t.known = append(t.known, t.fields[i].name)
	}
	return t
}

// elsewhere maps the lower-cased names of t's fields to their path from a
// level where they do not belong (prefix: from there to t).
func elsewhere[T any](prefix string, t *table[T]) map[string]string {
	m := map[string]string{}
	for _, name := range t.known {
		m[strings.ToLower(name)] = prefix + name
	}
	return m
}

// text decodes a string field. A value of enum, when given, is taken as the
// package's own constant (the enumerated fields: action, bootMode, status,
// ...); any other string is a slice of the body's (see reader.str).
func text[T any](get func(*T) *string, enum ...string) func(*T, *reader, string) bool {
	return func(obj *T, r *reader, path string) bool {
		raw, err := r.ReadValue()
		if err != nil {
			return r.errs.refused(err, "")
		}
		switch raw.Kind() {
		case '"':
			*get(obj) = r.str(raw, enum)
		case 'n': // null: absent
		default:
			r.errs.add(CodeWrongType, path, "must be a string, got %s", jsonKind(raw))
		}
		return true
	}
}

// reader is the reading of one body: its strict decoder, the problems found
// so far, and the intent read (for Decode), together so that they cost one
// allocation.
type reader struct {
	*strictjson.Decoder
	errs Errors
	in   Intent
	body []byte
	// text is body as a string, made when the first string field is read:
	// every string read from the body is a slice of it, so that an intent
	// costs one allocation for all its strings rather than one for each.
	text string
}

func newReader(body []byte) *reader {
	return &reader{Decoder: strictjson.NewDecoder(body), body: body}
}

// str is the text of raw, a JSON string just read strictly by r: one of
// enum when it is one of them, written as it is.
func (r *reader) str(raw jsontext.Value, enum []string) string {
	s := raw[1 : len(raw)-1]
	if bytes.IndexByte(s, '\\') >= 0 {
		b, _ := jsontext.AppendUnquote(nil, raw) // raw has been read strictly
		return string(b)
	}
	for _, e := range enum {
		if string(s) == e {
			return e
		}
	}
	if len(s) == 0 {
		return ""
	}
	if r.text == "" {
		r.text = string(r.body)
	}
	// raw was the last value read: it ends where r is, with its quote.
	end := int(r.Offset()) - 1
	return r.text[end-len(s) : end]
}

// boolean decodes a boolean field from its token, as text does a string.
func boolean[T any](get func(*T) *bool) func(*T, *reader, string) bool {
	return func(obj *T, r *reader, path string) bool {
		raw, err := r.ReadValue()
		if err != nil {
			return r.errs.refused(err, "")
		}
		switch raw.Kind() {
		case 't', 'f':
			*get(obj) = raw.Kind() == 't'
		case 'n': // null: absent
		default:
			r.errs.add(CodeWrongType, path, "must be a boolean, got %s", jsonKind(raw))
		}
		return true
	}
}

// value decodes a leaf, naming the field and the expected type when the
// value does not fit. kinds are the JSON kinds (as jsonKind names them) the
// field reads; null is always accepted and means absent. The leaf has been
// read strictly by d; encoding/json only turns it into its Go type (through
// the UnmarshalJSON methods of Duration and time.Time), which is what the
// type messages below are written against.
func value[T, V any](get func(*T) *V, want string, kinds ...string) func(*T, *reader, string) bool {
	return func(obj *T, r *reader, path string) bool {
		raw, err := r.ReadValue()
		if err != nil {
			r.errs.refused(err, "")
			return false
		}
		if k := jsonKind(raw); k != "null" && !slices.Contains(kinds, k) {
			// Checked first so that the message names the JSON kind rather
			// than quoting a decoder's internals.
			r.errs.add(CodeWrongType, path, "must be %s, got %s", want, k)
			return true
		}
		if err := json.Unmarshal(raw, get(obj)); err != nil {
			r.errs.add(CodeWrongType, path, "%s", typeMessage(json.RawMessage(raw), want, err))
		}
		return true
	}
}

// object decodes a nested object strictly, like the top level; null leaves
// the pointer nil (absent).
func object[T, V any](get func(*T) **V, t *table[V]) func(*T, *reader, string) bool {
	return func(obj *T, r *reader, path string) bool {
		dst := get(obj)
		switch r.PeekKind() {
		case 'n':
			*dst = nil
			_, err := r.ReadValue()
			return r.errs.refused(err, "")
		case '{':
		default:
			raw, err := r.ReadValue()
			if err != nil {
				return r.errs.refused(err, "")
			}
			r.errs.add(CodeWrongType, path, "must be an object, got %s", jsonKind(raw))
			return true
		}
		if _, err := r.ReadToken(); err != nil {
			return r.errs.refused(err, "")
		}
		v := new(V)
		*dst = v
		return decodeMembers(r, path, v, t)
	}
}

// decodeMembers reads the members of the object whose opening brace d has
// just read, in document order, and hands each to its field. Unknown names
// are reported with their path; a repeated name is refused by d itself
// (strictjson), and ends the decoding, like any problem with the text.
func decodeMembers[T any](r *reader, path string, obj *T, t *table[T]) bool {
	for r.PeekKind() != '}' {
		tok, err := r.ReadToken()
		if err != nil {
			return r.errs.refused(err, "")
		}
		if tok.Kind() != '"' {
			// Only reachable at the end of a truncated text: let d say so.
			_, err := r.ReadToken()
			return r.errs.refused(err, "the body ends before the object is complete")
		}
		if i := lookup(t.fields, tok.String()); i >= 0 {
			f := &t.fields[i]
			if !f.decode(obj, r, f.path) {
				return false
			}
			continue
		}
		if !unknownMember(r, path, tok.String(), t) {
			return false
		}
	}
	_, err := r.ReadToken() // the closing brace
	return r.errs.refused(err, "")
}

// unknownMember reports a member no field knows, with a hint, and reads its
// value (strictly) to leave it aside.
func unknownMember[T any](r *reader, path, name string, t *table[T]) bool {
	clipped := redact.Clip(name, redact.EchoLimit)
	msg := fmt.Sprintf("unknown field %q", clipped)
	if hint := suggest(name, t.known, t.elsewhere); hint != "" {
		msg += fmt.Sprintf("; did you mean %q?", hint)
	} else {
		msg += "; known fields: " + strings.Join(t.known, ", ")
	}
	r.errs.add(CodeUnknownField, join(path, clipped), "%s", msg)
	if _, err := r.ReadValue(); err != nil {
		return r.errs.refused(err, "")
	}
	return true
}

// lookup is the index of the field named name, or -1. name does not escape:
// the token's text is compared, not kept.
func lookup[T any](fields []field[T], name string) int {
	for i := range fields {
		if fields[i].name == name {
			return i
		}
	}
	return -1
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
