// Package strictjson is the one way this function reads JSON: the way
// github.com/go-json-experiment/json (encoding/json/v2) reads it by default.
// A duplicate member name, invalid UTF-8, whitespace that JSON does not allow
// (\f, \v, U+00A0, a byte order mark), nesting deeper than 10,000 levels and
// anything after the value are refused, at every level, instead of being
// resolved to the last name, replaced by U+FFFD or trimmed away as
// encoding/json and bytes.TrimSpace would. Every refusal carries a code of
// its own, so that a report says what was wrong.
//
// The checks are the library's; this package only names its refusals.
package strictjson

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/redact"
)

// Codes of the refusals, in the InvalidParameter.* family the intent codes use.
const (
	CodeMalformed      = "InvalidParameter.Malformed"      // not JSON: a syntax error, truncated, empty, data after the value
	CodeDuplicateField = "InvalidParameter.DuplicateField" // an object names a member twice
	CodeInvalidUTF8    = "InvalidParameter.InvalidUTF8"    // bytes that are not UTF-8
	CodeWhitespace     = "InvalidParameter.Whitespace"     // whitespace JSON does not allow (only space, tab, CR, LF are)
	CodeTooDeep        = "InvalidParameter.TooDeep"        // nesting beyond the library's 10,000 levels
)

// MaxDepth is how deeply objects and arrays may nest: jsontext's limit.
const MaxDepth = 10000

// Error is one refusal.
type Error struct {
	Code string
	// Pointer is the RFC 6901 JSON Pointer of the value at fault ("" = the
	// whole text); for a duplicate name, of the repeated member.
	Pointer jsontext.Pointer
	// Offset is the byte offset in the text where the problem was seen.
	Offset int64
	// Message explains it, with values clipped to redact.EchoLimit.
	Message string
}

func (e *Error) Error() string { return e.Message }

// Path renders Pointer the way the intent's own errors name fields:
// "attributes.features.nvmeSupport", "imageFamilies[2]".
func (e *Error) Path() string {
	var b strings.Builder
	for tok := range e.Pointer.Tokens() {
		if isIndex(tok) {
			b.WriteString("[" + tok + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	return redact.Clip(b.String(), redact.EchoLimit)
}

func isIndex(tok string) bool {
	if tok == "" {
		return false
	}
	for _, c := range tok {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Check returns nil when b is exactly one JSON value, read strictly, with
// nothing but JSON whitespace around it; otherwise an *Error.
func Check(b []byte) error {
	d := NewDecoder(b)
	defer d.Release()
	if _, err := d.ReadValue(); err != nil {
		if err == io.EOF {
			return errEmpty()
		}
		return err
	}
	return d.End()
}

func errEmpty() *Error {
	return &Error{Code: CodeMalformed, Message: "the text is empty: no JSON value"}
}

// Decoder reads tokens and values from one text, strictly, and names what
// it refuses. It reads in place: values it returns alias the text.
type Decoder struct {
	text []byte
	buf  bytes.Buffer // the text, for jsontext to read where it is
	dec  *jsontext.Decoder
}

// decoders are kept for the next text (Release): a jsontext.Decoder keeps
// the names of every object it reads to refuse a repeated one, and a fresh
// one allocates that memory anew for each object of each message.
var decoders = sync.Pool{New: func() any { return new(Decoder) }}

// NewDecoder reads b. Options relax the defaults; only Split uses them.
// Release gives the decoder back when the caller is done with it.
func NewDecoder(b []byte, opts ...jsontext.Options) *Decoder {
	d := decoders.Get().(*Decoder)
	d.text = b
	// A bytes.Buffer makes jsontext read the text where it is, without a copy.
	d.buf = *bytes.NewBuffer(b)
	if d.dec == nil {
		d.dec = jsontext.NewDecoder(&d.buf, opts...)
	} else {
		d.dec.Reset(&d.buf, opts...)
	}
	return d
}

// Release hands the decoder back for another text. Neither it nor a token
// it returned may be used afterwards; the values it returned alias the text,
// not the decoder, and stay valid.
func (d *Decoder) Release() {
	d.text, d.buf = nil, bytes.Buffer{}
	d.dec.Reset(&d.buf)
	decoders.Put(d)
}

// ReadToken reads the next token. At the end of the text it returns io.EOF.
func (d *Decoder) ReadToken() (jsontext.Token, error) {
	tok, err := d.dec.ReadToken()
	if err != nil {
		return tok, d.refusal(err)
	}
	return tok, nil
}

// ReadValue reads the next whole value (strictly, at every depth); it
// aliases the text. At the end of the text it returns io.EOF.
func (d *Decoder) ReadValue() (jsontext.Value, error) {
	v, err := d.dec.ReadValue()
	if err != nil {
		return nil, d.refusal(err)
	}
	return v, nil
}

// PeekKind is the kind of the next token, 0 when there is none or it is invalid.
func (d *Decoder) PeekKind() jsontext.Kind { return d.dec.PeekKind() }

// Offset is the offset just after the last token or value read.
func (d *Decoder) Offset() int64 { return d.dec.InputOffset() }

// End returns nil when nothing but JSON whitespace is left.
func (d *Decoder) End() error {
	at := d.dec.InputOffset()
	_, err := d.dec.ReadToken()
	switch {
	case err == io.EOF:
		return nil
	case err == nil:
		return &Error{Code: CodeMalformed, Offset: at,
			Message: fmt.Sprintf("unexpected data after the JSON value at offset %d: one value only", at)}
	}
	e := d.refusal(err).(*Error)
	if e.Code == CodeMalformed {
		e.Message = fmt.Sprintf("unexpected data after the JSON value at offset %d: one value only", at)
	}
	return e
}

// refusal names a jsontext error. io.EOF stays io.EOF, so that callers can
// tell "no more" from "wrong".
func (d *Decoder) refusal(err error) error {
	if err == io.EOF {
		return err
	}
	var se *jsontext.SyntacticError
	if !errors.As(err, &se) {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return &Error{Code: CodeMalformed, Offset: int64(len(d.text)), Message: "the JSON text ends before its value is complete"}
		}
		return &Error{Code: CodeMalformed, Message: trimPrefix(err.Error())}
	}
	e := &Error{Pointer: se.JSONPointer, Offset: se.ByteOffset}
	where := ""
	if p := e.Path(); p != "" {
		where = " in " + p
	}
	r, size := rune(0), 0
	if se.ByteOffset >= 0 && se.ByteOffset < int64(len(d.text)) {
		r, size = utf8.DecodeRune(d.text[se.ByteOffset:])
	}
	switch {
	case errors.Is(se.Err, jsontext.ErrDuplicateName):
		e.Code = CodeDuplicateField
		name := redact.Clip(se.JSONPointer.LastToken(), redact.EchoLimit)
		parent := (&Error{Pointer: se.JSONPointer.Parent()}).Path()
		if parent == "" {
			parent = "the top-level object"
		}
		e.Message = fmt.Sprintf("member %q is given more than once in %s: JSON names must be unique, and which one was meant cannot be known", name, parent)
	case errors.Is(se.Err, io.ErrUnexpectedEOF):
		e.Code = CodeMalformed
		e.Message = fmt.Sprintf("the JSON text ends before its value is complete%s (at offset %d)", where, se.ByteOffset)
	case strings.Contains(se.Err.Error(), "max depth"):
		// jsontext's error for this is unexported; its text is pinned by a test.
		e.Code = CodeTooDeep
		e.Message = fmt.Sprintf("objects and arrays nest more than %d levels deep (at offset %d)", MaxDepth, se.ByteOffset)
	case r == utf8.RuneError && size <= 1:
		e.Code = CodeInvalidUTF8
		e.Message = fmt.Sprintf("invalid UTF-8 at offset %d%s: JSON text is UTF-8", se.ByteOffset, where)
	case notJSONSpace(r) && !strings.Contains(se.Err.Error(), "in string"):
		// Outside a string (inside one, a raw \f is a control character).
		e.Code = CodeWhitespace
		e.Message = fmt.Sprintf("%U %s at offset %d%s is not JSON whitespace: JSON allows only space, tab, CR and LF between tokens",
			r, spaceName(r), se.ByteOffset, where)
	default:
		e.Code = CodeMalformed
		e.Message = redact.Clip(trimPrefix(se.Error()), redact.TextLimit)
	}
	return e
}

// notJSONSpace reports runes that look like whitespace but that JSON does not
// accept as such (the four it does accept never cause an error).
func notJSONSpace(r rune) bool {
	return unicode.IsSpace(r) || r == '\uFEFF' || r == '\u200B'
}

func spaceName(r rune) string {
	switch r {
	case '\f':
		return "(form feed)"
	case '\v':
		return "(vertical tab)"
	case '\u00A0':
		return "(no-break space)"
	case '\u0085':
		return "(next line)"
	case '\uFEFF':
		return "(byte order mark)"
	case '\u200B':
		return "(zero width space)"
	}
	return "(a Unicode space)"
}

func trimPrefix(s string) string { return strings.TrimPrefix(s, "jsontext: ") }

// Syntactic reports whether b is JSON text at all, before the strict rules:
// duplicate names and invalid UTF-8 are let through. It is for deciding how
// to carry a refused text on (as it is, or quoted), never for accepting one.
func Syntactic(b []byte) bool {
	return jsontext.Value(b).IsValid(jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
}

// Element is one value of a split text, with its own strict verdict.
type Element struct {
	// Raw is the value's bytes, aliasing the text.
	Raw []byte
	// Err is nil, or the *Error that a strict read of Raw alone gives.
	Err error
}

// Split reads b as one JSON value. An array gives its elements, a value of
// any other kind gives itself as the only element. The text's structure is
// read strictly (whitespace, completeness, depth, nothing after); names and
// UTF-8 inside each element are judged per element, in Element.Err, so that
// one bad element of a batch costs only itself. err is set (an *Error) when
// the structure cannot be read at all.
func Split(b []byte) (elems []Element, isArray bool, err error) {
	vals, isArray, err := Values(b)
	if err != nil || len(vals) == 0 {
		return nil, isArray, err
	}
	elems = make([]Element, len(vals))
	for i, v := range vals {
		elems[i] = Element{Raw: v, Err: Check(v)}
	}
	return elems, isArray, nil
}

// Values is Split without the verdicts: the elements' bytes (capped, so that
// appending to one never writes over the next), with the text's structure
// read as Split reads it, but names and UTF-8 inside each element not yet
// judged. It is for a caller that reads each element strictly itself
// anyway, so that no element is read twice; Check gives the verdict Split
// would have given.
func Values(b []byte) (vals [][]byte, isArray bool, err error) {
	// Duplicates and invalid UTF-8 are let through here only to be judged
	// per element by the caller.
	d := NewDecoder(b, jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	defer d.Release()
	if d.PeekKind() != '[' {
		v, err := d.ReadValue()
		if err == io.EOF {
			return nil, false, errEmpty()
		}
		if err != nil {
			return nil, false, err
		}
		if err := d.End(); err != nil {
			return nil, false, err
		}
		return [][]byte{v[:len(v):len(v)]}, false, nil
	}
	if _, err := d.ReadToken(); err != nil {
		return nil, true, err
	}
	for d.PeekKind() != ']' {
		v, err := d.ReadValue()
		if err == io.EOF {
			err = &Error{Code: CodeMalformed, Offset: int64(len(b)), Message: "the JSON text ends before its array is complete"}
		}
		if err != nil {
			return nil, true, err
		}
		end := d.Offset()
		vals = append(vals, b[end-int64(len(v)):end:end])
	}
	if _, err := d.ReadToken(); err != nil {
		return nil, true, err
	}
	if err := d.End(); err != nil {
		return nil, true, err
	}
	return vals, true, nil
}

// KindName names a JSON value's kind as a message says it ("a string", "an
// object", ...): one wording for every decoder that reports a wrong type.
func KindName(k jsontext.Kind) string {
	switch k {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case '0':
		return "a number"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "invalid JSON"
}
