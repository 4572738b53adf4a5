package intent

import (
	"errors"
	"strings"
	"testing"
)

// The intent is read by the same strict reader as every envelope around it
// (strictjson): each problem with the text gets its own code, at its path.
func TestDecodeRefusesWhatStrictJSONRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, want, msg string
	}{
		{"a name twice in attributes", `{"action":"modify","attributes":{"imageName":"a1","imageName":"b2"}}`,
			CodeDuplicateField + " attributes.imageName", `member "imageName" is given more than once in attributes`},
		{"a name twice in features", `{"attributes":{"features":{"imdsSupport":"v2","imdsSupport":"v1"}}}`,
			CodeDuplicateField + " attributes.features.imdsSupport", ""},
		{"a name twice in retry", `{"retry":{"attempt":1,"attempt":2}}`, CodeDuplicateField + " retry.attempt", ""},
		{"a name twice inside an unknown field", `{"action":"rotate","extra":{"a":1,"a":2}}`,
			CodeDuplicateField + " extra.a", ""},
		{"invalid UTF-8 in a description is refused, not replaced", "{\"attributes\":{\"description\":\"Nov build \xe9\"}}",
			CodeInvalidUTF8 + " attributes.description", "invalid UTF-8"},
		{"invalid UTF-8 in a name", "{\"act\xffion\":\"rotate\"}", CodeInvalidUTF8 + " ", ""},
		{"form feed before", "\f{\"action\":\"rotate\"}", CodeWhitespace + " ", "U+000C"},
		{"vertical tab after", "{\"action\":\"rotate\"}\v", CodeWhitespace + " ", "U+000B"},
		{"no-break space before", "\u00a0{\"action\":\"rotate\"}", CodeWhitespace + " ", "U+00A0"},
		{"no-break space after", "{\"action\":\"rotate\"}\u00a0", CodeWhitespace + " ", "U+00A0"},
		{"no-break space between members", "{\"action\":\"rotate\",\u00a0\"keep\":1}", CodeWhitespace + " ", ""},
		{"byte order mark", "\ufeff{\"action\":\"rotate\"}", CodeWhitespace + " ", "byte order mark"},
		{"lone surrogate escape", `{"id":"\ud800"}`, CodeMalformed + " ", "surrogate"},
		{"deep nesting in an unknown field", `{"x":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`,
			CodeTooDeep + " ", "more than 10000 levels"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Decode([]byte(tt.body))
			got := violations(t, err)
			if len(got) == 0 || got[len(got)-1] != tt.want {
				t.Fatalf("violations %q, want the last to be %q (error %v)", got, tt.want, err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not contain %q", err, tt.msg)
			}
		})
	}
}

// Too deep is refused where it is, after what came before it was reported.
func TestDecodeRefusesDeepNesting(t *testing.T) {
	t.Parallel()
	_, err := Decode([]byte(`{"Action":"rotate","x":` + strings.Repeat("[", 100000)))
	wantViolations(t, err, CodeUnknownField+" Action", CodeUnknownField+" x", CodeTooDeep+" ")
}

// A sender's name is echoed clipped: a 1 MB key costs the report a few
// hundred bytes.
func TestDecodeClipsEchoedNames(t *testing.T) {
	t.Parallel()
	huge := strings.Repeat("k", 1<<20)
	_, err := Decode([]byte(`{"` + huge + `":1}`))
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeUnknownField {
		t.Fatalf("got %v", err)
	}
	if len(e.Field) > 300 || len(e.Message) > 600 || !strings.Contains(e.Message, "(1048576 bytes)") {
		t.Errorf("field of %d bytes, message of %d bytes: %.80q", len(e.Field), len(e.Message), e.Message)
	}
}
