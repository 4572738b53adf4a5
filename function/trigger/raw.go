package trigger

import (
	"bytes"
	"slices"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/redact"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/strictjson"
)

// jsonSpace is the whitespace JSON allows between tokens, and the only
// whitespace ever trimmed: anything else is part of what was sent.
const jsonSpace = " \t\r\n"

// trimSpace trims JSON whitespace.
func trimSpace(b []byte) []byte { return bytes.Trim(b, jsonSpace) }

// firstByte is the first byte that is not JSON whitespace, or 0.
func firstByte(b []byte) byte {
	if t := bytes.TrimLeft(b, jsonSpace); len(t) > 0 {
		return t[0]
	}
	return 0
}

// has reports whether a raw member was present with a non-null value.
func has(raw jsontext.Value) bool {
	return len(raw) > 0 && !bytes.Equal(raw, []byte("null"))
}

// text reads a JSON string's text; ok is false for anything else.
func text(raw jsontext.Value) ([]byte, bool) {
	if firstByte(raw) != '"' {
		return nil, false
	}
	s, err := jsontext.AppendUnquote(nil, bytes.TrimRight(raw, jsonSpace))
	if err != nil {
		return nil, false
	}
	return s, true
}

// asJSON returns b when it is JSON text (even text the strict rules refuse,
// so that a dead letter carries it byte for byte), else b as a JSON string,
// nil for nothing.
func asJSON(b []byte) jsontext.Value {
	if len(b) == 0 {
		return nil
	}
	if strictjson.Syntactic(b) {
		return b
	}
	// Bytes that are not UTF-8 cannot be a JSON string: they become U+FFFD.
	quoted, _ := json.Marshal(string(b), jsontext.AllowInvalidUTF8(true)) // a string always marshals then
	return quoted
}

// describe says what kind of JSON (or not) b is, for error messages.
func describe(b []byte) string {
	trimmed := trimSpace(b)
	switch {
	case len(trimmed) == 0:
		return "empty"
	case !strictjson.Syntactic(trimmed):
		return "not JSON"
	}
	switch trimmed[0] {
	case '{':
		if keys := keysOf(trimmed); keys != "" {
			return "a JSON object with keys " + keys
		}
		return "an empty JSON object"
	case '[':
		return "a JSON array"
	case '"':
		return "a JSON string"
	case 'n':
		return "null"
	case 't', 'f':
		return "a JSON boolean"
	}
	return "a JSON number"
}

// keysOf lists an object's keys for an error message, at most a few of them,
// each clipped: the names are the sender's.
func keysOf(raw jsontext.Value) string {
	d := strictjson.NewDecoder(raw, jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	if tok, err := d.ReadToken(); err != nil || tok.Kind() != '{' {
		return ""
	}
	var keys []string
	for d.PeekKind() == '"' {
		tok, err := d.ReadToken()
		if err != nil {
			return ""
		}
		// Read before the next call: it would void the token.
		keys = append(keys, redact.Clip(tok.String(), redact.EchoLimit))
		if _, err := d.ReadValue(); err != nil {
			return ""
		}
	}
	// Sorted so that the same payload always gives the same error text.
	slices.Sort(keys)
	keys = slices.Compact(keys)
	if len(keys) > 8 {
		keys = append(keys[:8], "...")
	}
	return strings.Join(keys, ", ")
}
