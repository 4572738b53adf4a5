package strictjson

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	t.Parallel()
	deep := strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1)
	tests := []struct {
		name, in, code, path, msg string
	}{
		{"object", `{"a":1}`, "", "", ""},
		{"JSON whitespace around", " \t\r\n{\"a\":[1,\"x\"]}\n ", "", "", ""},
		{"nesting at the limit", strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth), "", "", ""},
		{"duplicate at the top", `{"a":1,"a":2}`, CodeDuplicateField, "a", `member "a" is given more than once in the top-level object`},
		{"duplicate deep inside", `{"a":{"b":[1,{"c":1,"c":2}]}}`, CodeDuplicateField, "a.b[1].c", `member "c" is given more than once in a.b[1]`},
		{"duplicate differing only in escapes", `{"a":1,"\u0061":2}`, CodeDuplicateField, "a", ""},
		{"invalid UTF-8 in a string", "{\"a\":\"x\xffy\"}", CodeInvalidUTF8, "a", "invalid UTF-8 at offset 7"},
		{"invalid UTF-8 in a name", "{\"a\xff\":1}", CodeInvalidUTF8, "", "offset 3"},
		{"invalid UTF-8 outside strings", "\xff{}", CodeInvalidUTF8, "", ""},
		{"form feed before", "\f[]", CodeWhitespace, "", "U+000C (form feed) at offset 0"},
		{"vertical tab before", "\v{}", CodeWhitespace, "", "vertical tab"},
		{"no-break space before", "\u00a0{}", CodeWhitespace, "", "U+00A0 (no-break space)"},
		{"no-break space after", "{}\u00a0", CodeWhitespace, "", "offset 2"},
		{"byte order mark", "\ufeff{}", CodeWhitespace, "", "byte order mark"},
		{"ideographic space between tokens", "{\"a\":\u30001}", CodeWhitespace, "a", "U+3000"},
		{"form feed inside a string is a control character", "{\"a\":\"x\fy\"}", CodeMalformed, "", "control character"},
		{"no-break space inside a string is text", "{\"a\":\"x\u00a0y\"}", "", "", ""},
		{"too deep", deep, CodeTooDeep, "", "more than 10000 levels"},
		{"truncated", `{"a":`, CodeMalformed, "", "ends before"},
		{"empty", ``, CodeMalformed, "", "empty"},
		{"trailing comma", `[1,2,]`, CodeMalformed, "", ""},
		{"second value", `{"a":1} {"b":2}`, CodeMalformed, "", "after the JSON value at offset 7"},
		{"trailing word", `{"a":1}x`, CodeMalformed, "", "after the JSON value"},
		{"lone surrogate escape", `"\ud800"`, CodeMalformed, "", "surrogate"},
		{"single quotes", `{'a':1}`, CodeMalformed, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := Check([]byte(tt.in))
			if tt.code == "" {
				if err != nil {
					t.Fatalf("Check = %v, want nil", err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Check = %T %v, want *Error %s", err, err, tt.code)
			}
			if e.Code != tt.code {
				t.Errorf("code %s (%s), want %s", e.Code, e.Message, tt.code)
			}
			if tt.path != "" && e.Path() != tt.path {
				t.Errorf("path %q, want %q", e.Path(), tt.path)
			}
			if !strings.Contains(e.Message, tt.msg) {
				t.Errorf("message %q does not contain %q", e.Message, tt.msg)
			}
		})
	}
}

func TestSplit(t *testing.T) {
	t.Parallel()
	elems, isArray, err := Split([]byte(" [ {\"a\":1} , {\"a\":1,\"a\":2}, \"x\xff\", 3 ]\n"))
	if err != nil || !isArray || len(elems) != 4 {
		t.Fatalf("Split = %d elements, array %v, err %v", len(elems), isArray, err)
	}
	wants := []struct{ raw, code string }{{`{"a":1}`, ""}, {`{"a":1,"a":2}`, CodeDuplicateField}, {"\"x\xff\"", CodeInvalidUTF8}, {"3", ""}}
	for i, w := range wants {
		if string(elems[i].Raw) != w.raw {
			t.Errorf("element %d = %q, want %q", i, elems[i].Raw, w.raw)
		}
		var e *Error
		switch {
		case w.code == "" && elems[i].Err != nil:
			t.Errorf("element %d: %v", i, elems[i].Err)
		case w.code != "" && (!errors.As(elems[i].Err, &e) || e.Code != w.code):
			t.Errorf("element %d: %v, want %s", i, elems[i].Err, w.code)
		}
	}

	one, isArray, err := Split([]byte("\n{\"a\":1,\"a\":2}\n"))
	if err != nil || isArray || len(one) != 1 || Code(one[0].Err) != CodeDuplicateField {
		t.Errorf("an object: %+v, array %v, err %v", one, isArray, err)
	}
	if empty, isArray, err := Split([]byte(" [ ] ")); err != nil || !isArray || len(empty) != 0 {
		t.Errorf("an empty array: %+v, %v, %v", empty, isArray, err)
	}
	for in, code := range map[string]string{
		"":           CodeMalformed,
		"\f[]":       CodeWhitespace,
		"[{}, {}":    CodeMalformed,
		"[{}]\u00a0": CodeWhitespace,
		"[{}] [{}]":  CodeMalformed,
		"[" + strings.Repeat("[", MaxDepth) + "]": CodeTooDeep,
	} {
		if _, _, err := Split([]byte(in)); Code(err) != code {
			t.Errorf("Split(%.20q) = %v, want %s", in, err, code)
		}
	}
}

// Code is the test's reading of an error's code ("" for nil, "?" for an
// error that is not an *Error).
func Code(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if !errors.As(err, &e) {
		return "?"
	}
	return e.Code
}

func TestDecoderEOF(t *testing.T) {
	t.Parallel()
	d := NewDecoder([]byte(" "))
	if _, err := d.ReadToken(); err != io.EOF {
		t.Errorf("ReadToken at the end = %v, want io.EOF", err)
	}
}

// BenchmarkCheck reads a 10 MB string value: the worst case the size limit
// lets through in one piece.
func BenchmarkCheck(b *testing.B) {
	text := []byte(`{"action":"modify","attributes":{"description":"` + strings.Repeat("x", 10<<20) + `"}}`)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		if err := Check(text); err != nil {
			b.Fatal(err)
		}
	}
}

// Values splits as Split does, without the verdicts: the same elements, the
// same structural error, each element capped so that appending to one
// cannot write over the next.
func TestValuesIsSplitWithoutVerdicts(t *testing.T) {
	for _, text := range []string{
		``, ` `, `[]`, ` [ ] `, `[1, "a" ,{"a":1,"a":2}]`, "[\"\xff\", {}]", `{"a":1}`, ` {"a":1} `, `5`,
		`[1,`, `[1]]`, `[1] x`, "\f[1]", `[1,]`, `{"a":1}{}`, strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
	} {
		elems, isArray, err := Split([]byte(text))
		vals, valsArray, valsErr := Values([]byte(text))
		if (err == nil) != (valsErr == nil) || (err != nil && err.Error() != valsErr.Error()) || isArray != valsArray || len(elems) != len(vals) {
			t.Errorf("%q: Split gives %d elements (array %t, err %v), Values %d (array %t, err %v)",
				text, len(elems), isArray, err, len(vals), valsArray, valsErr)
			continue
		}
		for i, v := range vals {
			if string(v) != string(elems[i].Raw) || cap(v) != len(v) {
				t.Errorf("%q: element %d is %q (cap %d), Split's %q", text, i, v, cap(v), elems[i].Raw)
			}
		}
	}
}
