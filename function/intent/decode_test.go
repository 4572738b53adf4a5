package intent

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDecodeUnknownFieldHints(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, field, wantMsg string
	}{
		{"API spelling at top level", `{"Action":"rotate"}`, "Action",
			`unknown field "Action"; did you mean "action"?`},
		{"API spelling of an id", `{"ImageId":"m-1"}`, "ImageId",
			`unknown field "ImageId"; did you mean "imageId"?`},
		{"typo", `{"acton":"rotate"}`, "acton",
			`unknown field "acton"; did you mean "action"?`},
		{"two typos in a long name", `{"imageFamilis":["web"]}`, "imageFamilis",
			`did you mean "imageFamilies"?`},
		{"snake case", `{"dry_run":true}`, "dry_run",
			`did you mean "dryRun"?`},
		{"attribute at top level", `{"ImageName":"web"}`, "ImageName",
			`unknown field "ImageName"; did you mean "attributes.imageName"?`},
		{"feature at top level", `{"imdsSupport":"v2"}`, "imdsSupport",
			`did you mean "attributes.features.imdsSupport"?`},
		{"retry field at top level", `{"attempt":2}`, "attempt",
			`did you mean "retry.attempt"?`},
		{"in attributes", `{"attributes":{"ImageName":"web"}}`, "attributes.ImageName",
			`unknown field "ImageName"; did you mean "imageName"?`},
		{"feature directly in attributes", `{"attributes":{"nvmeSupport":"supported"}}`, "attributes.nvmeSupport",
			`did you mean "features.nvmeSupport"?`},
		{"in features", `{"attributes":{"features":{"NvmeSupport":"supported"}}}`, "attributes.features.NvmeSupport",
			`did you mean "nvmeSupport"?`},
		{"nothing close in features", `{"attributes":{"features":{"nvme":"supported"}}}`, "attributes.features.nvme",
			`unknown field "nvme"; known fields: nvmeSupport, imdsSupport`},
		{"in retry", `{"retry":{"first_seen":"2026-11-27T09:00:00Z"}}`, "retry.first_seen",
			`did you mean "firstSeen"?`},
		{"nothing close at top level", `{"colour":"blue"}`, "colour",
			`unknown field "colour"; known fields: action, id, regionId`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Decode([]byte(tt.body))
			wantViolations(t, err, CodeUnknownField+" "+tt.field)
			var e *Error
			if errors.As(err, &e) && !strings.Contains(e.Message, tt.wantMsg) {
				t.Errorf("message %q does not contain %q", e.Message, tt.wantMsg)
			}
		})
	}
}

func TestDecodeReportsEveryProblemInDocumentOrder(t *testing.T) {
	t.Parallel()
	body := `{"ImageId":"m-1","keep":"two","attributes":{"Status":"Deprecated","features":{"nvme":1}},"action":"modify","action":"rotate"}`
	in, err := Decode([]byte(body))
	wantViolations(t, err,
		CodeUnknownField+" ImageId",
		CodeWrongType+" keep",
		CodeUnknownField+" attributes.Status",
		CodeUnknownField+" attributes.features.nvme",
		CodeDuplicateField+" action",
	)
	// The first of two duplicates stands; the intent decodes as far as it can.
	if in.Action != ActionModify || in.Attributes == nil || in.Attributes.Features == nil {
		t.Errorf("partially decoded intent = %+v", in)
	}
}

func TestDecodeStructure(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, wantMsg string
	}{
		{"empty", ``, "the body is empty"},
		{"only whitespace", " \n\t", "the body is empty"},
		{"array", `[{"action":"rotate","imageFamily":"web"}]`, "a JSON array is not an intent"},
		{"array after whitespace", "\n [ ]", "a JSON array is not an intent"},
		{"string", `"rotate"`, "got a string"},
		{"number", `42`, "got a number"},
		{"null", `null`, "got null"},
		{"boolean", `true`, "got a boolean"},
		{"garbage", `<xml/>`, "got invalid JSON"},
		{"second object", `{"action":"rotate"} {"action":"rotate"}`, "after the intent object at offset 20"},
		{"trailing word", `{"action":"rotate"}x`, "after the intent object at offset 19"},
		{"extra brace", `{"action":"rotate"}}`, "after the intent object"},
		{"truncated", `{"action":"rotate"`, "ends before"},
		{"trailing comma", `{"action":"rotate",}`, "not valid JSON"},
		{"missing value", `{"action":}`, "not valid JSON"},
		{"single quotes", `{'action':'rotate'}`, "not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Decode([]byte(tt.body))
			wantViolations(t, err, CodeMalformed+" ")
			if err != nil && !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not contain %q", err, tt.wantMsg)
			}
		})
	}
}

func TestDecodeAllowsJSONWhitespaceAround(t *testing.T) {
	t.Parallel()
	in, err := Decode([]byte("\r\n\t {\"action\":\"rotate\"} \n\r\t"))
	if err != nil || in.Action != ActionRotate {
		t.Fatalf("got %+v, %v", in, err)
	}
}

func TestDecodeWrongTypes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		body, field, wantMsg string
	}{
		{`{"action":1}`, "action", "must be a string, got a number"},
		{`{"id":{}}`, "id", "must be a string, got an object"},
		{`{"regionId":["cn-hangzhou"]}`, "regionId", "must be a string, got an array"},
		{`{"imageId":true}`, "imageId", "must be a string, got a boolean"},
		{`{"imageFamily":7}`, "imageFamily", "must be a string, got a number"},
		{`{"imageFamilies":"web-*"}`, "imageFamilies", "must be an array of strings, got a string"},
		{`{"imageFamilies":["web",1]}`, "imageFamilies", "must be an array of strings, got an array holding a number"},
		{`{"attributes":"web"}`, "attributes", "must be an object, got a string"},
		{`{"attributes":[]}`, "attributes", "must be an object, got an array"},
		{`{"attributes":{"imageName":1}}`, "attributes.imageName", "must be a string, got a number"},
		{`{"attributes":{"features":"nvme"}}`, "attributes.features", "must be an object, got a string"},
		{`{"attributes":{"features":{"imdsSupport":2}}}`, "attributes.features.imdsSupport", "must be a string, got a number"},
		{`{"keep":"2"}`, "keep", "must be an integer, got a string"},
		{`{"keep":1.5}`, "keep", "must be an integer, got number 1.5"},
		{`{"keep":1e99}`, "keep", "must be an integer, got number 1e99"},
		{`{"minAge":true}`, "minAge", "must be a duration"},
		{`{"minAge":"1.5d"}`, "minAge", "days must be whole"},
		{`{"dryRun":"true"}`, "dryRun", "must be a boolean, got a string"},
		{`{"dryRun":1}`, "dryRun", "must be a boolean, got a number"},
		{`{"retry":3}`, "retry", "must be an object, got a number"},
		{`{"retry":{"attempt":"3"}}`, "retry.attempt", "must be an integer, got a string"},
		{`{"retry":{"firstSeen":"yesterday"}}`, "retry.firstSeen", `must be an RFC 3339 time such as "2026-11-27T10:00:00Z", got "yesterday"`},
		{`{"retry":{"firstSeen":1732700000}}`, "retry.firstSeen", "must be an RFC 3339 time such as \"2026-11-27T10:00:00Z\", got a number"},
		{`{"retry":{"firstSeen":"2026-13-01T00:00:00Z"}}`, "retry.firstSeen", `got "2026-13-01T00:00:00Z"`},
		{`{"retry":{"attempt":99999999999999999999}}`, "retry.attempt", "must be an integer, got number 99999999999999999999"},
		{`{"minAge":"soon"}`, "minAge", `"soon" is not a duration`},
		{`{"minAge":{"days":7}}`, "minAge", "got an object"},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			t.Parallel()
			_, err := Decode([]byte(tt.body))
			wantViolations(t, err, CodeWrongType+" "+tt.field)
			if err != nil && !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not contain %q", err, tt.wantMsg)
			}
		})
	}
}

func TestDecodeNullMeansAbsent(t *testing.T) {
	t.Parallel()
	body := `{"action":"rotate","id":null,"imageFamily":"web","imageFamilies":null,"attributes":null,"keep":null,"minAge":null,"dryRun":null,"retry":null}`
	in, err := Decode([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := Intent{Action: ActionRotate, ImageFamily: "web"}
	if !reflect.DeepEqual(in, want) {
		t.Errorf("got %+v, want %+v", in, want)
	}
}

func TestDecodeNormalises(t *testing.T) {
	t.Parallel()
	in, err := Decode([]byte(`{"imageFamilies":[],"retry":{"attempt":2,"firstSeen":"2026-11-27T17:30:00+08:00"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if in.ImageFamilies != nil {
		t.Errorf("imageFamilies [] decoded as %#v, want nil", in.ImageFamilies)
	}
	want := time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC)
	if got := in.Retry.FirstSeen; got != want {
		t.Errorf("firstSeen = %v (%v), want %v in UTC", got, got.Location(), want)
	}
}

func TestDecodeChecksNoRules(t *testing.T) {
	t.Parallel()
	in, err := Decode([]byte(`{"action":"explode","imageId":"not-an-id","keep":-5}`))
	if err != nil {
		t.Fatalf("Decode checked a rule: %v", err)
	}
	if in.Action != "explode" || in.ImageID != "not-an-id" || *in.Keep != -5 {
		t.Errorf("got %+v", in)
	}
}

func TestDecodeKeysAreExactAfterUnescaping(t *testing.T) {
	t.Parallel()
	// A key is compared after JSON unescaping, as the sender meant it.
	in, err := Decode([]byte(`{"\u0061ction":"rotate"}`))
	if err != nil || in.Action != ActionRotate {
		t.Fatalf("got %+v, %v", in, err)
	}
}

func TestParseReturnsIDOnError(t *testing.T) {
	t.Parallel()
	for _, body := range []string{
		`{"id":"build-42","ImageId":"m-1"}`,
		`{"id":"build-42","action":"deprecate"}`,
	} {
		in, err := Parse([]byte(body))
		if err == nil || in.ID != "build-42" {
			t.Errorf("Parse(%s) = %+v, %v; want an error and the id", body, in, err)
		}
	}
}

func TestParseStopsAtDecodeErrors(t *testing.T) {
	t.Parallel()
	// No "imageId is missing" next to "unknown field ImageId".
	_, err := Parse([]byte(`{"action":"deprecate","ImageId":"m-1"}`))
	wantViolations(t, err, CodeUnknownField+" ImageId")
}

func TestSuggest(t *testing.T) {
	t.Parallel()
	known := []string{"action", "imageId", "imageFamily", "imageFamilies", "keep"}
	tests := []struct{ in, want string }{
		{"ACTION", "action"},
		{"imageid", "imageId"},
		{"kep", "keep"},
		{"keeep", "keep"},
		{"imageFamly", "imageFamily"},
		{"k", ""},          // one letter is no evidence
		{"colour", ""},     // too far from anything
		{"imageName", ""},  // four edits from imageFamily: not a typo
		{"actionable", ""}, // a longer, different word
	}
	for _, tt := range tests {
		if got := suggest(tt.in, known, nil); got != tt.want {
			t.Errorf("suggest(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestLevenshtein(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"", "abc", 3}, {"abc", "", 3}, {"kitten", "sitting", 3},
		{"action", "acton", 1}, {"镜像名", "镜像", 1}, {"flaw", "lawn", 2},
	}
	for _, tt := range tests {
		if got := levenshtein(tt.a, tt.b); got != tt.want {
			t.Errorf("levenshtein(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

// Escaped strings read as their text; the enumerated values (action,
// bootMode, ...) too, escaped or not.
func TestDecodeUnquotesStrings(t *testing.T) {
	t.Parallel()
	in, err := Decode([]byte(`{"action":"mod\u0069fy","imageId":"m-1","attributes":{"bootMode":"\u0055EFI","description":"tab\there \"quoted\"","status":"Available"}}`))
	if err != nil {
		t.Fatal(err)
	}
	a := in.Attributes
	if in.Action != ActionModify || a.BootMode != "UEFI" || a.Description != "tab\there \"quoted\"" || a.Status != "Available" {
		t.Errorf("decoded %+v, attributes %+v", in, a)
	}
}

// Parsing an intent allocates what it returns and little else: the decoding
// tables are built once per process, not per message, the enumerated values
// are the package's constants, and the free strings (imageId, imageName,
// description, imageFamily) are slices of one copy of the body. A modify
// that sets every attribute costs its reader (with the intent), that copy,
// its attributes and features, and Validate's list of violations.
func TestParseAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's sync.Pool drops decoders at random")
	}
	body := []byte(`{"action":"modify","imageId":"m-bp1a2b3c","attributes":{"imageName":"web-2026","description":"a new description",` +
		`"imageFamily":"web","bootMode":"UEFI","licenseType":"BYOL","status":"Available","features":{"nvmeSupport":"supported","imdsSupport":"v2"}}}`)
	if _, err := Parse(body); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = Parse(body) }); n > 5 {
		t.Errorf("Parse allocates %.0f times, want 5 at most", n)
	}
}
