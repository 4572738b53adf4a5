package intent

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

func TestErrorFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{Code: "InvalidImageName.Malformed", Field: "attributes.imageName", Message: "must not start with \"aliyun\""},
			`InvalidImageName.Malformed: attributes.imageName: must not start with "aliyun"`},
		{&Error{Code: "InvalidParameter.Malformed", Message: "the body is empty"},
			"InvalidParameter.Malformed: the body is empty"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestErrorsUnwrapFindsEachError(t *testing.T) {
	t.Parallel()
	_, err := Parse([]byte(`{"action":"modify","imageId":"bad","attributes":{"bootMode":"EFI"}}`))
	wrapped := fmt.Errorf("message 7: %w", err)

	var first *Error
	if !errors.As(wrapped, &first) {
		t.Fatalf("errors.As found no *Error in %v", wrapped)
	}
	if first.Code != CodeInvalidImageID || first.Field != "imageId" {
		t.Errorf("first *Error = %+v, want %s on imageId", first, CodeInvalidImageID)
	}
	var es Errors
	if !errors.As(wrapped, &es) {
		t.Fatalf("errors.As found no Errors in %v", wrapped)
	}
	if got, want := es.Codes(), []string{CodeInvalidImageID, CodeInvalidBootMode}; !slices.Equal(got, want) {
		t.Errorf("Codes() = %q, want %q", got, want)
	}
	if got, want := err.Error(), es[0].Error()+"; "+es[1].Error(); got != want {
		t.Errorf("Errors.Error() = %q, want %q", got, want)
	}
	if !errors.Is(wrapped, es[1]) {
		t.Errorf("errors.Is does not reach the second violation")
	}
}

func TestValidIntentGivesUntypedNil(t *testing.T) {
	t.Parallel()
	// A nil Errors inside an error interface would not equal nil.
	_, err := Parse(fixture(t, "rollback.json"))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if err := (Intent{Action: ActionDeprecate, ImageID: "m-1"}).Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
}

func TestMissingParameterUsesTheAPIWording(t *testing.T) {
	t.Parallel()
	_, err := Parse([]byte(`{"action":"deprecate"}`))
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("no *Error in %v", err)
	}
	want := &Error{
		Code:    "MissingParameter",
		Field:   "imageId",
		Message: `The input parameter "imageId" that is mandatory for processing this request is not supplied.`,
	}
	if *e != *want {
		t.Errorf("got %+v\nwant %+v", e, want)
	}
}
