package ecsapi

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"syscall"
	"testing"
)

// exhausted stands in for package retry's *Exhausted, which ecsapi cannot import.
type exhausted struct{ last error }

func (e exhausted) Error() string        { return "gave up: " + e.last.Error() }
func (e exhausted) Unwrap() error        { return e.last }
func (e exhausted) RetryExhausted() bool { return true }

func apiErr(code string, status int) *Error {
	return &Error{Action: "ModifyImageAttribute", Code: code, HTTPStatus: status, RequestID: "R"}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	reset := &Error{Action: "DescribeImages", Err: &url.Error{Op: "Post", URL: "https://ecs.example/", Err: syscall.ECONNRESET}}
	tests := []struct {
		name string
		err  error
		want Class
	}{
		{"image is creating", apiErr("InvalidStatus.ImageIsCreating", 403), Transient},
		{"throttling", apiErr("Throttling", 400), Transient},
		{"throttling user", apiErr("Throttling.User", 400), Transient},
		{"throttling api", apiErr("Throttling.Api", 400), Transient},
		{"rejected throttling", apiErr("Rejected.Throttling", 400), Transient},
		{"service unavailable", apiErr("ServiceUnavailable", 503), Transient},
		{"region maintaining", apiErr("ServiceUnavailable.RegionMaintaining", 503), Transient},
		{"internal error", apiErr("InternalError", 500), Transient},
		{"unknown error", apiErr("UnknownError", 400), Transient},
		{"operation conflict", apiErr("OperationConflict", 409), Transient},
		{"last token processing", apiErr("LastTokenProcessing", 403), Transient},
		{"incorrect image status", apiErr("IncorrectImageStatus", 400), Transient},
		{"5xx without code", apiErr("", 502), Transient},
		{"504 without code", apiErr("", 504), Transient},
		{"connection reset", reset, Transient},
		{"wrapped reset", fmt.Errorf("applying: %w", reset), Transient},
		{"retry exhausted", exhausted{apiErr("Throttling.User", 400)}, Transient},
		{"retry exhausted on the deadline", exhausted{&Error{Err: fmt.Errorf("%w: %w", ErrContextDone, context.DeadlineExceeded)}}, Transient},
		{"context deadline", &Error{Err: fmt.Errorf("%w: %w", ErrContextDone, context.DeadlineExceeded)}, Permanent},
		{"bare context deadline", context.DeadlineExceeded, Permanent},
		{"bare cancel", context.Canceled, Permanent},
		{"forbidden", apiErr("Forbidden.RAM", 403), Permanent},
		{"not found", apiErr("InvalidImageId.NotFound", 404), Permanent},
		{"shared", apiErr("ImageUseShared", 403), Permanent},
		{"malformed name", apiErr("InvalidImageName.Malformed", 400), Permanent},
		{"quota", apiErr("ImageQuotaFull.ImageFamily", 400), Permanent},
		{"imds v2 to v1", apiErr("InvalidOperation.FeaturesImdsSupportNotMatch", 403), Permanent},
		{"signature", apiErr("SignatureDoesNotMatch", 400), Permanent},
		{"expired token", apiErr("InvalidSecurityToken.Expired", 403), Permanent},
		{"not deprecated, generic", apiErr("ImageStatus.NotDeprecated", 403), Permanent},
		{"throttling look-alike", apiErr("NoThrottlingHere", 400), Permanent},
		{"4xx without code", apiErr("", 404), Permanent},
		{"sdk client error", apiErr("SDK.JsonUnmarshalError", 0), Permanent},
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
	deprecate := ModifyInput{ImageID: "m-1", Changes: Changes{Status: StatusDeprecated}}
	activate := ModifyInput{ImageID: "m-1", Changes: Changes{Status: StatusAvailable}}
	activateAndRename := ModifyInput{ImageID: "m-1", Changes: Changes{Status: StatusAvailable, Name: "web-2"}}
	rename := ModifyInput{ImageID: "m-1", Changes: Changes{Name: "web-2"}}
	tests := []struct {
		name string
		err  error
		in   ModifyInput
		want Class
	}{
		{"activate an Available image", apiErr("ImageStatus.NotDeprecated", 403), activate, AlreadyDone},
		{"deprecate a Deprecated image", apiErr("ImageStatus.NotAvailable", 403), deprecate, AlreadyDone},
		{"wrapped", fmt.Errorf("x: %w", apiErr("ImageStatus.NotDeprecated", 403)), activate, AlreadyDone},
		{"not-deprecated when deprecating", apiErr("ImageStatus.NotDeprecated", 403), deprecate, Permanent},
		{"not-available when activating", apiErr("ImageStatus.NotAvailable", 403), activate, Permanent},
		{"other attributes would be lost", apiErr("ImageStatus.NotDeprecated", 403), activateAndRename, Permanent},
		{"no status change", apiErr("ImageStatus.NotDeprecated", 403), rename, Permanent},
		{"falls back to the generic table", apiErr("InvalidStatus.ImageIsCreating", 403), deprecate, Transient},
		{"permanent stays permanent", apiErr("ImageUseShared", 403), deprecate, Permanent},
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
