package retry

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/credential"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
)

// everyCode is every error code the function knows, with its class: the ECS
// API's (ModifyImageAttribute's table, the common ones, the other calls'),
// the SDK's, MNS's credential codes, and this function's own. Adding a code
// to a table of codes.go, or to the source, without adding it here fails
// TestEveryCodeHasOneClass.
var everyCode = []struct {
	code  string
	class Class
}{
	// Waiting on the service's own work: slow.
	{"InvalidStatus.ImageIsCreating", Slow},
	{"IncorrectImageStatus", Slow},

	// Passing conditions: transient.
	{"Throttling", Transient},
	{"Throttling.User", Transient},
	{"Throttling.Api", Transient},
	{"Rejected.Throttling", Transient},
	{CodeClientLimit, Transient},
	{"ServiceUnavailable", Transient},
	{"ServiceUnavailable.RegionMaintaining", Transient},
	{"InternalError", Transient},
	{"UnknownError", Transient},
	{"OperationConflict", Transient},
	{"LastTokenProcessing", Transient},
	{"SDK.TimeoutError", Transient},
	{"SDK.JsonUnmarshalError", Transient},

	// Missing or refused credentials: never retried, never dead-lettered.
	{credential.CodeNotFound, Credential},
	{"InvalidAccessKeyId", Credential},
	{"InvalidAccessKeyId.NotFound", Credential},
	{"InvalidAccessKeyId.Inactive", Credential},
	{"SignatureDoesNotMatch", Credential},
	{"InvalidSecurityToken.Expired", Credential},
	{"InvalidSecurityToken.Malformed", Credential},
	{"InvalidSecurityToken.MismatchWithAccessKey", Credential},

	// ModifyImageAttribute's table, less the slow one: permanent (the two
	// ImageStatus codes are AlreadyDone only for a Status-only change; see
	// TestClassifyModify).
	{"InvalidImageName.Malformed", Permanent},
	{"MissingParameter", Permanent},
	{"InvalidImageName.Duplicated", Permanent},
	{"InvalidDescription.Malformed", Permanent},
	{"ImageQuotaFull.ImageFamily", Permanent},
	{"InvalidImageFamily.Malformed", Permanent},
	{"ImageFamilyQuotaFull", Permanent},
	{"InvalidBootMode.NotSupport", Permanent},
	{"InvalidLicenseType.NotSupported", Permanent},
	{"InvalidParameter.FeaturesImdsSupport", Permanent},
	{"ImageStatus.NotAvailable", Permanent},
	{"ImageStatus.NotDeprecated", Permanent},
	{"ImageUseShared", Permanent},
	{"OperationDeined.ImageUsingByInstance", Permanent},
	{"InvalidOperation.FeaturesImdsSupportNotMatch", Permanent},
	{"InvalidOperation.PublicImageUnsupported", Permanent},
	{"InvalidImageId.NotFound", Permanent},

	// The other calls and the common codes: permanent.
	{"InvalidParameter", Permanent},
	{"InvalidParameter.FeaturesNvmeSupport", Permanent},
	{"InvalidImageOwnerAlias.ValueNotSupported", Permanent},
	{"InvalidAccount.NotFound", Permanent},
	{"InvalidAccount.Forbbiden", Permanent}, // sic: the API's spelling
	{"QuotaExceed.ShareImageUser", Permanent},
	{"InvalidTag.Mismatch", Permanent},
	{"InvalidRegionId.NotFound", Permanent},
	{"Forbidden.RAM", Permanent},
	{"InvalidAction", Permanent},
	{"InvalidVersion", Permanent},
	{"UnsupportedHTTPMethod", Permanent},
	{"IllegalTimestamp", Permanent},
	{"InvalidTimeStamp.Format", Permanent},
	{"SignatureNonceUsed", Permanent}, // a new request gets a new nonce anyway
	{"DryRunOperation", Permanent},
	{"SDK.InvalidParam", Permanent},
	{"SDK.ClientError", Permanent},

	// This function's own codes: a guard's refusal (lifecycle.Refusal
	// carries it), an intent that fails validation (dead-lettered before any
	// call) and a worker's panic (failed at once). None is worth a retry.
	{"Forbidden.Scope", Permanent},
	{"InternalError.Panic", Permanent},
	{"InvalidParameter.Payload", Permanent},
	{"InvalidParameter.UnknownField", Permanent},
	// Strict JSON and payload limits (function/strictjson, trigger, invoke).
	{"InvalidParameter.InvalidUTF8", Permanent},
	{"InvalidParameter.Whitespace", Permanent},
	{"InvalidParameter.TooDeep", Permanent},
	{"InvalidParameter.UnknownShape", Permanent},
	{"InvalidParameter.MissingBody", Permanent},
	{"InvalidParameter.PayloadTooLarge", Permanent},
	// The emulator's refusal of a filter it does not know.
	{"InvalidFilterKey.NotFound", Permanent},
	// ActionTrail records and the lifecycle policy (function/actiontrail, function/policy).
	{"InvalidParameter.UnsupportedEvent", Permanent},
	{"InvalidParameter.ActionTrail", Permanent},
	{"Forbidden.BlastRadius", Permanent},
	{"InvalidParameter.Version", Permanent},
	{"InvalidParameter.MaxDeprecations", Permanent},
	{"InvalidParameter.MaxDeprecationShare", Permanent},
	{"InvalidParameter.PolicyConflict", Permanent},
	{"InvalidParameter.PolicyFile", Permanent},
	{"InvalidParameter.DuplicateField", Permanent},
	{"InvalidParameter.Type", Permanent},
	{"InvalidParameter.Malformed", Permanent},
	{"InvalidParameter.Action", Permanent},
	{"InvalidParameter.Id", Permanent},
	{"InvalidParameter.Keep", Permanent},
	{"InvalidParameter.MinAge", Permanent},
	{"InvalidParameter.Retry", Permanent},
	{"InvalidParameter.Confirm", Permanent},
	{"InvalidParameter.Status", Permanent},
	{"InvalidImageId.Malformed", Permanent},
	{"InvalidRegionId.Malformed", Permanent},
}

func apiError(code string) *ecsapi.Error {
	return &ecsapi.Error{Action: "ModifyImageAttribute", Code: code, HTTPStatus: 400, RequestID: "R"}
}

func TestEveryCodeHasOneClass(t *testing.T) {
	t.Parallel()
	known := map[string]Class{}
	for _, tc := range everyCode {
		if _, dup := known[tc.code]; dup {
			t.Errorf("%s is listed twice", tc.code)
		}
		known[tc.code] = tc.class
		if got := Classify(apiError(tc.code)); got != tc.class {
			t.Errorf("Classify(%s) = %v, want %v", tc.code, got, tc.class)
		}
		// Wrapped on its way up, and named by credential's own list.
		if got := Classify(fmt.Errorf("lifecycle: modify m-1: %w", apiError(tc.code))); got != tc.class {
			t.Errorf("Classify(wrapped %s) = %v, want %v", tc.code, got, tc.class)
		}
		if got := credential.IsCredentialCode(tc.code); got != (tc.class == Credential) {
			t.Errorf("credential.IsCredentialCode(%s) = %t, but its class is %v", tc.code, got, tc.class)
		}
	}

	// Every code of the tables is listed.
	var tables []string
	for _, m := range []map[string]string{slowCodes, transientCodes, alreadyDoneCodes} {
		for c := range m {
			tables = append(tables, c)
		}
	}
	for _, c := range tables {
		if _, ok := known[c]; !ok {
			t.Errorf("%s is in a table of codes.go but not in everyCode", c)
		}
	}

	// Every code of the API reference's error table is listed.
	f, err := os.Open(filepath.Join("testdata", "modifyimageattribute-errors.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		_, code, _ := strings.Cut(line, " ")
		if _, ok := known[code]; !ok {
			t.Errorf("the API's %s is not in everyCode", code)
		}
	}

	// Every dotted code written in the function's source is listed.
	for _, code := range codesInSource(t) {
		if _, ok := known[code]; !ok {
			t.Errorf("%s appears in the source but not in everyCode", code)
		}
	}
}

// notCodes are dotted strings of the source that are not error codes.
var notCodes = map[string]bool{
	"Features.NvmeSupport": true, "Features.ImdsSupport": true, // request parameters
	"README.md": true,
}

// codesInSource returns the dotted error-code-shaped string literals of the
// function's production Go files.
func codesInSource(t *testing.T) []string {
	t.Helper()
	literal := regexp.MustCompile(`"([A-Z][A-Za-z]+(?:\.[A-Z][A-Za-z0-9]*)+)"`)
	seen := map[string]bool{}
	var out []string
	root := filepath.Join("..") // function/
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range literal.FindAllStringSubmatch(string(b), -1) {
			if c := m[1]; !seen[c] && !notCodes[c] && !strings.HasPrefix(c, "STS.") {
				seen[c] = true
				out = append(out, c)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) < 20 {
		t.Fatalf("found only %d codes in the source under %s: the scan is broken", len(out), root)
	}
	return out
}

// TestClassifyShapes covers the failures that carry no code: what a context,
// a gateway, a connection or this layer's own give-up is worth.
func TestClassifyShapes(t *testing.T) {
	t.Parallel()
	reset := &ecsapi.Error{Action: "DescribeImages", Err: &url.Error{Op: "Post", URL: "https://ecs.example/", Err: syscall.ECONNRESET}}
	cut := func(end error) error {
		return &ecsapi.Error{Action: "DescribeImages", Err: fmt.Errorf("%w: %w", ecsapi.ErrContextDone, end)}
	}
	tests := []struct {
		name string
		err  error
		want Class
	}{
		{"5xx without code", &ecsapi.Error{HTTPStatus: 502, Message: "<html>"}, Transient},
		{"504 without code", &ecsapi.Error{HTTPStatus: 504}, Transient},
		{"connection reset", reset, Transient},
		{"wrapped reset", fmt.Errorf("applying: %w", reset), Transient},
		// Out of time is worth a later try, whichever context ended and
		// however late that was seen: never a reason to dead-letter.
		{"cut by the context's deadline", cut(context.DeadlineExceeded), Transient},
		{"cut by a cancel", cut(context.Canceled), Transient},
		{"bare context deadline", context.DeadlineExceeded, Transient},
		{"bare cancel", context.Canceled, Transient},
		{"exhausted on a throttle", &Exhausted{Last: apiError("Throttling.User")}, Transient},
		{"exhausted on the deadline", &Exhausted{Last: cut(context.DeadlineExceeded)}, Transient},
		{"exhausted on a slow code", &Exhausted{Last: apiError("InvalidStatus.ImageIsCreating")}, Transient},
		// A credential error stays one, even when it ran out of time too.
		{"credential error and a deadline", errors.Join(apiError("InvalidSecurityToken.Expired"), context.DeadlineExceeded), Credential},
		{"no credentials (credential package)", &credential.Error{Code: credential.CodeNotFound, Message: "set ..."}, Credential},
		{"4xx without code", &ecsapi.Error{HTTPStatus: 404}, Permanent},
		{"a 200 answer that cannot be read", &ecsapi.Error{HTTPStatus: 200, RequestID: "R", Message: "bad CreationTime", Err: errors.New("parse")}, Permanent},
		{"look-alike code", apiError("NoThrottlingHere"), Permanent},
		{"not an API error", errors.New("boom"), Permanent},
		{"nil", nil, Permanent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := Classify(tc.err); got != tc.want {
				t.Errorf("Classify(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

func TestClassifyModify(t *testing.T) {
	t.Parallel()
	deprecate := ecsapi.ModifyInput{ImageID: "m-1", Changes: ecsapi.Changes{Status: ecsapi.StatusDeprecated}}
	activate := ecsapi.ModifyInput{ImageID: "m-1", Changes: ecsapi.Changes{Status: ecsapi.StatusAvailable}}
	activateAndRename := ecsapi.ModifyInput{ImageID: "m-1", Changes: ecsapi.Changes{Status: ecsapi.StatusAvailable, Name: "web-2"}}
	rename := ecsapi.ModifyInput{ImageID: "m-1", Changes: ecsapi.Changes{Name: "web-2"}}
	tests := []struct {
		name string
		err  error
		in   ecsapi.ModifyInput
		want Class
	}{
		{"activate an Available image", apiError("ImageStatus.NotDeprecated"), activate, AlreadyDone},
		{"deprecate a Deprecated image", apiError("ImageStatus.NotAvailable"), deprecate, AlreadyDone},
		{"wrapped", fmt.Errorf("x: %w", apiError("ImageStatus.NotDeprecated")), activate, AlreadyDone},
		{"not-deprecated when deprecating", apiError("ImageStatus.NotDeprecated"), deprecate, Permanent},
		{"not-available when activating", apiError("ImageStatus.NotAvailable"), activate, Permanent},
		{"other attributes would be lost", apiError("ImageStatus.NotDeprecated"), activateAndRename, Permanent},
		{"no status change", apiError("ImageStatus.NotDeprecated"), rename, Permanent},
		{"falls back to the chain", apiError("InvalidStatus.ImageIsCreating"), deprecate, Slow},
		{"credentials first", apiError("SignatureDoesNotMatch"), deprecate, Credential},
		{"permanent stays permanent", apiError("ImageUseShared"), deprecate, Permanent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := ClassifyModify(tc.err, tc.in); got != tc.want {
				t.Errorf("ClassifyModify(%v, %+v) = %v, want %v", tc.err, tc.in.Changes, got, tc.want)
			}
		})
	}
}
