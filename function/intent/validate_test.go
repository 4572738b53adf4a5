package intent

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// img is a valid image id for the tables below.
const img = `"imageId":"m-bp18ygjuqnwhechc1234"`

func TestValidateRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		want []string // "Code field", in order; none for a valid intent
	}{
		// action
		{"action missing", `{` + img + `}`, []string{"MissingParameter action"}},
		{"action empty", `{"action":"",` + img + `}`, []string{"MissingParameter action"}},
		{"action unknown", `{"action":"delete",` + img + `}`, []string{"InvalidParameter.Action action"}},
		{"action in upper case", `{"action":"Modify",` + img + `}`, []string{"InvalidParameter.Action action"}},

		// what each action needs and refuses
		{"modify valid", `{"action":"modify",` + img + `,"attributes":{"imageName":"web"}}`, nil},
		{"modify without imageId", `{"action":"modify","attributes":{"imageName":"web"}}`, []string{"MissingParameter imageId"}},
		{"modify without attributes", `{"action":"modify",` + img + `}`, []string{"MissingParameter attributes"}},
		{"modify with empty attributes", `{"action":"modify",` + img + `,"attributes":{}}`, []string{"InvalidParameter attributes"}},
		{"modify with only empty values", `{"action":"modify",` + img + `,"attributes":{"imageName":"","features":{}}}`, []string{"InvalidParameter attributes"}},
		{"modify with only features", `{"action":"modify",` + img + `,"attributes":{"features":{"nvmeSupport":"supported"}}}`, nil},
		{"modify with imageFamily", `{"action":"modify",` + img + `,"imageFamily":"web","attributes":{"imageName":"web"}}`, []string{"InvalidParameter imageFamily"}},
		{"modify with keep", `{"action":"modify",` + img + `,"attributes":{"imageName":"web"},"keep":2}`, []string{"InvalidParameter.Keep keep"}},
		{"deprecate valid", `{"action":"deprecate",` + img + `}`, nil},
		{"deprecate without imageId", `{"action":"deprecate"}`, []string{"MissingParameter imageId"}},
		{"deprecate with attributes", `{"action":"deprecate",` + img + `,"attributes":{"status":"Deprecated"}}`, []string{"InvalidParameter attributes"}},
		{"deprecate with minAge", `{"action":"deprecate",` + img + `,"minAge":"7d"}`, []string{"InvalidParameter.MinAge minAge"}},
		{"activate valid", `{"action":"activate",` + img + `}`, nil},
		{"activate without imageId", `{"action":"activate"}`, []string{"MissingParameter imageId"}},
		{"activate with attributes", `{"action":"activate",` + img + `,"attributes":{}}`, []string{"InvalidParameter attributes"}},
		{"activate with imageFamilies", `{"action":"activate",` + img + `,"imageFamilies":["web"]}`, []string{"InvalidParameter imageFamilies"}},
		{"promote valid without attributes", `{"action":"promote",` + img + `}`, nil},
		{"promote valid with attributes", `{"action":"promote",` + img + `,"attributes":{"imageFamily":"web","status":"Available"},"keep":1}`, nil},
		{"promote with empty attributes", `{"action":"promote",` + img + `,"attributes":{}}`, nil},
		{"promote without imageId", `{"action":"promote"}`, []string{"MissingParameter imageId"}},
		{"promote to Deprecated", `{"action":"promote",` + img + `,"attributes":{"status":"Deprecated"}}`, []string{"InvalidParameter.Status attributes.status"}},
		{"promote keep 0", `{"action":"promote",` + img + `,"keep":0}`, []string{"InvalidParameter.Keep keep"}},
		{"promote keep 100", `{"action":"promote",` + img + `,"keep":100}`, nil},
		{"promote keep 101", `{"action":"promote",` + img + `,"keep":101}`, []string{"InvalidParameter.Keep keep"}},
		{"promote with minAge", `{"action":"promote",` + img + `,"minAge":"1h"}`, []string{"InvalidParameter.MinAge minAge"}},
		{"rotate valid", `{"action":"rotate","imageFamily":"web","keep":3,"minAge":"168h"}`, nil},
		{"rotate with families", `{"action":"rotate","imageFamilies":["web-*","api"]}`, nil},
		// Every family the policy covers; the engine refuses it without one.
		{"rotate without family", `{"action":"rotate"}`, nil},
		{"rotate with both", `{"action":"rotate","imageFamily":"web","imageFamilies":["api"]}`, []string{"InvalidParameter imageFamilies"}},
		{"rotate with imageId", `{"action":"rotate","imageFamily":"web",` + img + `}`, []string{"InvalidParameter imageId"}},
		{"rotate with attributes", `{"action":"rotate","imageFamily":"web","attributes":{"imageName":"web"}}`, []string{"InvalidParameter attributes"}},
		{"rotate keep 0", `{"action":"rotate","imageFamily":"web","keep":0}`, nil},
		{"rotate keep 100", `{"action":"rotate","imageFamily":"web","keep":100}`, nil},
		{"rotate keep 101", `{"action":"rotate","imageFamily":"web","keep":101}`, []string{"InvalidParameter.Keep keep"}},
		{"rotate keep -1", `{"action":"rotate","imageFamily":"web","keep":-1}`, []string{"InvalidParameter.Keep keep"}},
		{"rotate minAge 0", `{"action":"rotate","imageFamily":"web","minAge":0}`, nil},
		{"rotate minAge negative", `{"action":"rotate","imageFamily":"web","minAge":"-1h"}`, []string{"InvalidParameter.MinAge minAge"}},
		{"rotate minAge negative days", `{"action":"rotate","imageFamily":"web","minAge":-1}`, []string{"InvalidParameter.MinAge minAge"}},
		{"rollback valid", `{"action":"rollback","imageFamily":"web"}`, nil},
		{"rollback without family", `{"action":"rollback"}`, []string{"MissingParameter imageFamily"}},
		{"rollback with families", `{"action":"rollback","imageFamilies":["web"]}`, []string{"MissingParameter imageFamily", "InvalidParameter imageFamilies"}},
		{"rollback with keep", `{"action":"rollback","imageFamily":"web","keep":1}`, []string{"InvalidParameter.Keep keep"}},
		{"rollback with attributes", `{"action":"rollback","imageFamily":"web","attributes":{}}`, []string{"InvalidParameter attributes"}},
		{"rollback from an image", `{"action":"rollback",` + img + `}`, nil},
		{"rollback from an image of a family", `{"action":"rollback","imageFamily":"web",` + img + `}`, nil},
		{"rollback from a malformed image id", `{"action":"rollback","imageFamily":"web","imageId":"i-bp1"}`, []string{"InvalidImageId.Malformed imageId"}},
		{"rollback from a malformed image id alone", `{"action":"rollback","imageId":"m-bp1-2"}`, []string{"InvalidImageId.Malformed imageId"}},
		{"rollback from an image with families", `{"action":"rollback",` + img + `,"imageFamilies":["web"]}`, []string{"InvalidParameter imageFamilies"}},

		// imageId
		{"imageId malformed", `{"action":"deprecate","imageId":"i-bp1"}`, []string{"InvalidImageId.Malformed imageId"}},
		{"imageId only prefix", `{"action":"deprecate","imageId":"m-"}`, []string{"InvalidImageId.Malformed imageId"}},
		{"imageId with hyphen", `{"action":"deprecate","imageId":"m-bp1-2"}`, []string{"InvalidImageId.Malformed imageId"}},
		{"imageId with space", `{"action":"deprecate","imageId":" m-bp1"}`, []string{"InvalidImageId.Malformed imageId"}},
		{"imageId too long", `{"action":"deprecate","imageId":"m-` + strings.Repeat("a", 127) + `"}`, []string{"InvalidImageId.Malformed imageId"}},
		{"imageId masked as in the doc", `{"action":"deprecate","imageId":"m-bp18ygjuqnwhechc****"}`, []string{"InvalidImageId.Malformed imageId"}},

		// imageFamily and imageFamilies
		{"imageFamily malformed", `{"action":"rollback","imageFamily":"1web"}`, []string{"InvalidImageFamily.Malformed imageFamily"}},
		{"imageFamily glob refused", `{"action":"rollback","imageFamily":"web-*"}`, []string{"InvalidImageFamily.Malformed imageFamily"}},
		{"families glob star", `{"action":"rotate","imageFamilies":["*"]}`, nil},
		{"families glob question mark", `{"action":"rotate","imageFamilies":["?eb","web-??","批处理-*"]}`, nil},
		{"families literal too short", `{"action":"rotate","imageFamilies":["w"]}`, []string{"InvalidImageFamily.Malformed imageFamilies[0]"}},
		{"families bracket", `{"action":"rotate","imageFamilies":["web-[ab]"]}`, []string{"InvalidImageFamily.Malformed imageFamilies[0]"}},
		{"families backslash", `{"action":"rotate","imageFamilies":["web-\\*"]}`, []string{"InvalidImageFamily.Malformed imageFamilies[0]"}},
		{"families reserved prefix", `{"action":"rotate","imageFamilies":["web","ACS:*"]}`, []string{"InvalidImageFamily.Malformed imageFamilies[1]"}},
		{"families reserved prefix behind a star", `{"action":"rotate","imageFamilies":["*aliyun"]}`, nil},
		{"families bad first character", `{"action":"rotate","imageFamilies":["-web*"]}`, []string{"InvalidImageFamily.Malformed imageFamilies[0]"}},
		{"families pattern too long", `{"action":"rotate","imageFamilies":["` + strings.Repeat("w", 128) + `*"]}`, []string{"InvalidImageFamily.Malformed imageFamilies[0]"}},
		{"families repeated", `{"action":"rotate","imageFamilies":["web","api","web"]}`, []string{"InvalidParameter imageFamilies[2]"}},
		{"families empty entry", `{"action":"rotate","imageFamilies":[""]}`, []string{"InvalidImageFamily.Malformed imageFamilies[0]"}},

		// attributes, value by value
		{"attribute name", `{"action":"modify",` + img + `,"attributes":{"imageName":"acs:web"}}`, []string{"InvalidImageName.Malformed attributes.imageName"}},
		{"attribute description", `{"action":"modify",` + img + `,"attributes":{"description":"x"}}`, []string{"InvalidDescription.Malformed attributes.description"}},
		{"attribute family", `{"action":"modify",` + img + `,"attributes":{"imageFamily":"Aliyun-x"}}`, []string{"InvalidImageFamily.Malformed attributes.imageFamily"}},

		// regionId
		{"region cn-hangzhou", `{"action":"deprecate",` + img + `,"regionId":"cn-hangzhou"}`, nil},
		{"region ap-southeast-1", `{"action":"deprecate",` + img + `,"regionId":"ap-southeast-1"}`, nil},
		{"region cn-shanghai-finance-1", `{"action":"deprecate",` + img + `,"regionId":"cn-shanghai-finance-1"}`, nil},
		{"region upper case", `{"action":"deprecate",` + img + `,"regionId":"CN-HANGZHOU"}`, []string{"InvalidRegionId.Malformed regionId"}},
		{"region no hyphen", `{"action":"deprecate",` + img + `,"regionId":"cnhangzhou"}`, []string{"InvalidRegionId.Malformed regionId"}},
		{"region underscore", `{"action":"deprecate",` + img + `,"regionId":"cn_hangzhou"}`, []string{"InvalidRegionId.Malformed regionId"}},
		{"region a URL", `{"action":"deprecate",` + img + `,"regionId":"ecs.cn-hangzhou.aliyuncs.com"}`, []string{"InvalidRegionId.Malformed regionId"}},

		// id
		{"id 128", `{"action":"deprecate",` + img + `,"id":"` + strings.Repeat("x", 128) + `"}`, nil},
		{"id 128 Chinese", `{"action":"deprecate",` + img + `,"id":"` + strings.Repeat("构", 128) + `"}`, nil},
		{"id 129", `{"action":"deprecate",` + img + `,"id":"` + strings.Repeat("x", 129) + `"}`, []string{"InvalidParameter.Id id"}},
		{"id control character", `{"action":"deprecate",` + img + `,"id":"a\tb"}`, []string{"InvalidParameter.Id id"}},
		{"id with spaces", `{"action":"deprecate",` + img + `,"id":"build 42 / web"}`, nil},

		// retry
		{"retry valid", `{"action":"deprecate",` + img + `,"retry":{"attempt":1,"firstSeen":"2026-11-27T09:00:00Z"}}`, nil},
		{"retry empty", `{"action":"deprecate",` + img + `,"retry":{}}`, []string{"MissingParameter retry.attempt", "MissingParameter retry.firstSeen"}},
		{"retry attempt negative", `{"action":"deprecate",` + img + `,"retry":{"attempt":-1,"firstSeen":"2026-11-27T09:00:00Z"}}`, []string{"InvalidParameter.Retry retry.attempt"}},
		{"retry from the past century", `{"action":"deprecate",` + img + `,"retry":{"attempt":2,"firstSeen":"1999-12-31T23:59:59Z"}}`, []string{"InvalidParameter.Retry retry.firstSeen"}},
		{"retry beyond year 9999 in UTC", `{"action":"deprecate",` + img + `,"retry":{"attempt":2,"firstSeen":"9999-12-31T23:59:59-01:00"}}`, []string{"InvalidParameter.Retry retry.firstSeen"}},

		// confirm
		{"confirm on promote", `{"action":"promote",` + img + `,"confirm":{"deprecate":["m-bp1a","m-bp1b"]}}`, nil},
		{"confirm on rotate", `{"action":"rotate","imageFamily":"web","confirm":{"deprecate":["m-bp1a"]}}`, nil},
		{"confirm on rollback", `{"action":"rollback",` + img + `,"confirm":{"deprecate":["m-bp1a"]}}`, nil},
		{"confirm null is absent", `{"action":"deprecate",` + img + `,"confirm":null}`, nil},
		{"confirm on deprecate", `{"action":"deprecate",` + img + `,"confirm":{"deprecate":["m-bp1a"]}}`, []string{"InvalidParameter confirm"}},
		{"confirm on modify", `{"action":"modify",` + img + `,"attributes":{"imageName":"web"},"confirm":{"deprecate":["m-bp1a"]}}`, []string{"InvalidParameter confirm"}},
		{"confirm empty", `{"action":"rotate","imageFamily":"web","confirm":{}}`, []string{"MissingParameter confirm.deprecate"}},
		{"confirm empty list", `{"action":"rotate","imageFamily":"web","confirm":{"deprecate":[]}}`, []string{"MissingParameter confirm.deprecate"}},
		{"confirm 100 ids", `{"action":"rotate","imageFamily":"web","confirm":{"deprecate":[` + imageIDs(100) + `]}}`, nil},
		{"confirm 101 ids", `{"action":"rotate","imageFamily":"web","confirm":{"deprecate":[` + imageIDs(101) + `]}}`, []string{"InvalidParameter.Confirm confirm.deprecate"}},
		{"confirm malformed id", `{"action":"rotate","imageFamily":"web","confirm":{"deprecate":["m-bp1a","i-bp1b"]}}`, []string{"InvalidImageId.Malformed confirm.deprecate[1]"}},
		{"confirm repeated id", `{"action":"rotate","imageFamily":"web","confirm":{"deprecate":["m-bp1a","m-bp1b","m-bp1a"]}}`, []string{"InvalidParameter.Confirm confirm.deprecate[2]"}},
		{"confirm a number", `{"action":"rotate","imageFamily":"web","confirm":{"deprecate":3}}`, []string{"InvalidParameter.Type confirm.deprecate"}},
		{"confirm a list", `{"action":"rotate","imageFamily":"web","confirm":["m-bp1a"]}`, []string{"InvalidParameter.Type confirm"}},
		{"confirm unknown member", `{"action":"rotate","imageFamily":"web","confirm":{"images":["m-bp1a"]}}`, []string{"InvalidParameter.UnknownField confirm.images"}},

		// an unknown action still has its fields checked
		{"unknown action, bad fields", `{"action":"nuke","imageId":"x","keep":-1,"attributes":{"bootMode":"EFI"}}`, []string{
			"InvalidParameter.Action action", "InvalidImageId.Malformed imageId", "InvalidBootMode.NotSupport attributes.bootMode", "InvalidParameter.Keep keep"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(tt.body))
			wantViolations(t, err, tt.want...)
		})
	}
}

// imageIDs is n distinct image ids, quoted and comma-separated.
func imageIDs(n int) string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf(`"m-bp1c%03d"`, i)
	}
	return strings.Join(ids, ",")
}

func TestValidateEnums(t *testing.T) {
	t.Parallel()
	tests := []struct {
		field   string // attribute path below "attributes"
		code    string
		allowed []string
		refused []string
	}{
		{"bootMode", CodeInvalidBootMode, []string{"BIOS", "UEFI", "UEFI-Preferred"}, []string{"uefi", "EFI", "Legacy", "UEFI_Preferred"}},
		{"licenseType", CodeInvalidLicenseType, []string{"BYOL"}, []string{"byol", "PAYG", "Auto"}},
		{"status", CodeInvalidStatus, []string{"Deprecated", "Available"}, []string{"deprecated", "Creating", "UnAvailable"}},
		{"features.nvmeSupport", CodeInvalidNvmeSupport, []string{"supported", "unsupported"}, []string{"Supported", "yes", "true"}},
		{"features.imdsSupport", CodeInvalidImdsSupport, []string{"v1", "v2"}, []string{"V2", "v3", "2"}},
	}
	for _, tt := range tests {
		for _, v := range append(append([]string{}, tt.allowed...), tt.refused...) {
			t.Run(tt.field+"="+v, func(t *testing.T) {
				t.Parallel()
				attrs := fmt.Sprintf(`{%q:%q}`, tt.field, v)
				if f, ok := strings.CutPrefix(tt.field, "features."); ok {
					attrs = fmt.Sprintf(`{"features":{%q:%q}}`, f, v)
				}
				_, err := Parse([]byte(`{"action":"modify",` + img + `,"attributes":` + attrs + `}`))
				if slices.Contains(tt.allowed, v) {
					wantViolations(t, err)
					return
				}
				wantViolations(t, err, tt.code+" attributes."+tt.field)
				if !strings.Contains(err.Error(), strings.Join(tt.allowed, ", ")) {
					t.Errorf("message does not list the allowed values: %v", err)
				}
			})
		}
	}
}

func TestEnumMessageHintsLetterCase(t *testing.T) {
	t.Parallel()
	_, err := Parse([]byte(`{"action":"modify",` + img + `,"attributes":{"bootMode":"uefi-preferred"}}`))
	if err == nil || !strings.Contains(err.Error(), `did you mean "UEFI-Preferred"?`) {
		t.Errorf("no letter-case hint in %v", err)
	}
}

func TestValidateName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		wantMsg string // substring of the message; "" for a valid name
	}{
		{"1 letter", "a", "2 to 128 characters, got 1"},
		{"2 letters", "ab", ""},
		{"128 letters", strings.Repeat("a", 128), ""},
		{"129 letters", strings.Repeat("a", 129), "at most 128 characters, got 129"},
		{"1 Chinese", "镜", "2 to 128 characters, got 1"},
		{"2 Chinese", "镜像", ""},
		{"128 Chinese counted as runes", strings.Repeat("镜", 128), ""},
		{"129 Chinese", strings.Repeat("镜", 129), "got 129"},
		{"Chinese then ASCII", "镜像-web_2026.11:27", ""},
		{"upper case first", "Web", ""},
		{"every allowed character", "a0.:_-Z9", ""},
		{"empty", "", "got 0"},
		{"aliyun", "aliyun-web", `must not start with "aliyun" (in any letter case)`},
		{"Aliyun", "Aliyun-x", `must not start with "aliyun"`},
		{"ALIYUN", "ALIYUNx", `must not start with "aliyun"`},
		{"aliyun inside", "my-aliyun-web", ""},
		{"acs:", "acs:x", `must not start with "acs:"`},
		{"ACS:", "ACS:web", `must not start with "acs:"`},
		{"acs without colon", "acs-web", ""},
		{"contains https", "web-https://x", `must not contain "https://"`},
		{"contains http", "web-http://x", `must not contain "http://"`},
		{"contains HTTP", "web-HTTP://x", `must not contain "http://"`},
		{"starts with a digit", "1web", "must start with a letter or a Chinese character"},
		{"starts with a hyphen", "-web", "must start with a letter"},
		{"starts with a dot", ".web", "must start with a letter"},
		{"starts with a Greek letter", "Ωmega", "must start with a letter"},
		{"space", "web 1", `must not contain ' '`},
		{"slash", "web/1", `must not contain '/'`},
		{"star", "web-*", `must not contain '*'`},
		{"accented letter", "café", `must not contain 'é'`},
		{"full-width digit", "web１", `must not contain '１'`},
		{"emoji", "web🙂", "must not contain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, c := range []struct{ field, code string }{
				{"attributes.imageName", CodeInvalidImageName},
				{"imageName", CodeInvalidImageName},
				{"attributes.imageFamily", CodeInvalidImageFamily},
				{"imageFamily", CodeInvalidImageFamily},
				{"imageFamilies[3]", CodeInvalidImageFamily},
			} {
				e := ValidateName(c.field, tt.in)
				switch {
				case tt.wantMsg == "" && e != nil:
					t.Errorf("ValidateName(%q, %q) = %v, want nil", c.field, tt.in, e)
				case tt.wantMsg != "" && e == nil:
					t.Errorf("ValidateName(%q, %q) = nil, want %q", c.field, tt.in, tt.wantMsg)
				case e != nil && (e.Code != c.code || e.Field != c.field || !strings.Contains(e.Message, tt.wantMsg)):
					t.Errorf("ValidateName(%q, %q) = %v, want %s on %s with %q", c.field, tt.in, e, c.code, c.field, tt.wantMsg)
				}
			}
		})
	}
}

func TestValidateDescription(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, wantMsg string
	}{
		{"1 character", "x", "2 to 256 characters, got 1"},
		{"2 characters", "xy", ""},
		{"256 characters", strings.Repeat("x", 256), ""},
		{"257 characters", strings.Repeat("x", 257), "got 257"},
		{"256 Chinese", strings.Repeat("述", 256), ""},
		{"257 Chinese", strings.Repeat("述", 257), "got 257"},
		{"anything inside", "Built by CI; see https://ci.example/42 (web)", ""},
		{"starts with http", "http://ci.example/42", `must not start with "http://"`},
		{"starts with https", "https://ci.example/42", `must not start with "https://"`},
		{"starts with HTTPS", "HTTPS://ci.example/42", `must not start with "https://"`},
		{"starts with a digit", "2026 build", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := ValidateDescription(tt.in)
			switch {
			case tt.wantMsg == "" && e != nil:
				t.Errorf("got %v, want nil", e)
			case tt.wantMsg != "" && (e == nil || e.Code != CodeInvalidDescription || e.Field != "description" || !strings.Contains(e.Message, tt.wantMsg)):
				t.Errorf("got %v, want %s with %q", e, CodeInvalidDescription, tt.wantMsg)
			}
		})
	}
}

func TestValidateReportsEveryViolationInFieldOrder(t *testing.T) {
	t.Parallel()
	body := `{
		"retry": {"attempt": -1},
		"minAge": "-1h",
		"keep": -1,
		"attributes": {
			"features": {"imdsSupport": "V2", "nvmeSupport": "yes"},
			"status": "deprecated", "licenseType": "x", "bootMode": "uefi",
			"imageFamily": "a", "description": "http://x", "imageName": "Aliyun-x"
		},
		"imageFamilies": ["web-*", "web-*", "aliyun*", "x/y"],
		"imageFamily": "web",
		"imageId": "x-1",
		"regionId": "CN",
		"id": "a\u0001",
		"action": "Modify"
	}`
	_, err := Parse([]byte(body))
	wantViolations(t, err,
		"InvalidParameter.Action action",
		"InvalidParameter.Id id",
		"InvalidRegionId.Malformed regionId",
		"InvalidImageId.Malformed imageId",
		"InvalidParameter imageFamilies",
		"InvalidParameter imageFamilies[1]",
		"InvalidImageFamily.Malformed imageFamilies[2]",
		"InvalidImageFamily.Malformed imageFamilies[3]",
		"InvalidImageName.Malformed attributes.imageName",
		"InvalidDescription.Malformed attributes.description",
		"InvalidImageFamily.Malformed attributes.imageFamily",
		"InvalidBootMode.NotSupport attributes.bootMode",
		"InvalidLicenseType.NotSupported attributes.licenseType",
		"InvalidParameter.Status attributes.status",
		"InvalidParameter.FeaturesNvmeSupport attributes.features.nvmeSupport",
		"InvalidParameter.FeaturesImdsSupport attributes.features.imdsSupport",
		"InvalidParameter.Keep keep",
		"InvalidParameter.MinAge minAge",
		"InvalidParameter.Retry retry.attempt",
		"MissingParameter retry.firstSeen",
	)
}

func TestFixturesParse(t *testing.T) {
	t.Parallel()
	for _, name := range fixtures(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if _, err := Parse(fixture(t, name)); err != nil {
				t.Fatalf("Parse: %v", err)
			}
		})
	}
}

func TestFixtureValues(t *testing.T) {
	t.Parallel()
	rotate, err := Parse(fixture(t, "rotate.json"))
	if err != nil {
		t.Fatal(err)
	}
	if rotate.MinAge.Std() != 7*24*time.Hour || rotate.KeepOrDefault() != 3 || strings.Join(rotate.Families(), ",") != "web-*,api,批处理-?" {
		t.Errorf("rotate.json read as %+v", rotate)
	}
	modify, err := Parse(fixture(t, "modify.json"))
	if err != nil {
		t.Fatal(err)
	}
	a := modify.Attributes
	if !modify.DryRun || a.BootMode != "UEFI" || a.Features.ImdsSupport != "v2" || a.Features.NvmeSupport != "supported" {
		t.Errorf("modify.json read as %+v, %+v", modify, a)
	}
}

func TestKeepOrDefault(t *testing.T) {
	t.Parallel()
	zero, five := 0, 5
	tests := []struct {
		keep *int
		want int
	}{{nil, DefaultKeep}, {&zero, 0}, {&five, 5}}
	for _, tt := range tests {
		if got := (Intent{Keep: tt.keep}).KeepOrDefault(); got != tt.want {
			t.Errorf("KeepOrDefault(%v) = %d, want %d", tt.keep, got, tt.want)
		}
	}
}

func TestFamilies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   Intent
		want string
	}{
		{Intent{ImageFamily: "web"}, "web"},
		{Intent{ImageFamilies: []string{"web-*", "api"}}, "web-*,api"},
		{Intent{}, ""},
	}
	for _, tt := range tests {
		if got := strings.Join(tt.in.Families(), ","); got != tt.want {
			t.Errorf("Families(%+v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestAttributesEmpty(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a    *Attributes
		want bool
	}{
		{nil, true},
		{&Attributes{}, true},
		{&Attributes{Features: &Features{}}, true},
		{&Attributes{Status: "Available"}, false},
		{&Attributes{Features: &Features{ImdsSupport: "v2"}}, false},
	}
	for _, tt := range tests {
		if got := tt.a.Empty(); got != tt.want {
			t.Errorf("%+v.Empty() = %v, want %v", tt.a, got, tt.want)
		}
	}
}

// validImageID is the pattern `^m-[A-Za-z0-9]+$` (at most 128 bytes), read
// by hand: it must say what the pattern says.
func TestValidImageIDIsThePattern(t *testing.T) {
	pattern := regexp.MustCompile(`^m-[A-Za-z0-9]+$`)
	ids := []string{"", "m", "m-", "m-1", "m-bp18ygjuqnwhechc1234", "M-1", "m_1", "mm-1", " m-1", "m-1 ", "m-1\n", "m-a-b",
		"m-é", "m-１", "m-Z9z0", "m-\x00", "m-/", "m-:", "m-@", "m-[", "m-`", "m-{", "x-1", "-m-1",
		"m-" + strings.Repeat("a", 126), "m-" + strings.Repeat("a", 127)}
	for _, id := range ids {
		if got, want := validImageID(id), len(id) <= 128 && pattern.MatchString(id); got != want {
			t.Errorf("validImageID(%q) = %t, the pattern says %t", id, got, want)
		}
	}
}
