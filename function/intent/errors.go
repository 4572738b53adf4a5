package intent

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/strictjson"
)

// Error codes. Where ModifyImageAttribute has a code for a rule, it is used as
// is, so that a rejected intent reads like the API's own answer; the
// InvalidParameter.* sub-codes cover what belongs to the intent itself.
const (
	CodeMissingParameter        = "MissingParameter"
	CodeInvalidParameter        = "InvalidParameter"
	CodeMalformed               = strictjson.CodeMalformed
	CodeUnknownField            = "InvalidParameter.UnknownField"
	CodeDuplicateField          = strictjson.CodeDuplicateField
	CodeInvalidUTF8             = strictjson.CodeInvalidUTF8
	CodeWhitespace              = strictjson.CodeWhitespace
	CodeTooDeep                 = strictjson.CodeTooDeep
	CodeWrongType               = "InvalidParameter.Type"
	CodeInvalidAction           = "InvalidParameter.Action"
	CodeInvalidStatus           = "InvalidParameter.Status"
	CodeInvalidKeep             = "InvalidParameter.Keep"
	CodeInvalidMinAge           = "InvalidParameter.MinAge"
	CodeInvalidRetry            = "InvalidParameter.Retry"
	CodeInvalidConfirm          = "InvalidParameter.Confirm"
	CodeInvalidID               = "InvalidParameter.Id"
	CodeInvalidImageID          = "InvalidImageId.Malformed"
	CodeInvalidImageName        = "InvalidImageName.Malformed"
	CodeInvalidImageFamily      = "InvalidImageFamily.Malformed"
	CodeInvalidDescription      = "InvalidDescription.Malformed"
	CodeInvalidBootMode         = "InvalidBootMode.NotSupport"
	CodeInvalidLicenseType      = "InvalidLicenseType.NotSupported"
	CodeInvalidImdsSupport      = "InvalidParameter.FeaturesImdsSupport"
	CodeInvalidNvmeSupport      = "InvalidParameter.FeaturesNvmeSupport"
	CodeInvalidRegionID         = "InvalidRegionId.Malformed"
	missingParameterMessageForm = "The input parameter %q that is mandatory for processing this request is not supplied."
)

// Error is one violation, in the API's own terms: Code is an ECS error code
// (or an InvalidParameter sub-code), Field the JSON path in the intent's own
// spelling (e.g. "attributes.features.nvmeSupport", "imageFamilies[2]").
type Error struct {
	Code    string
	Field   string
	Message string
}

// Error returns "Code: field: message", or "Code: message" without a field.
func (e *Error) Error() string {
	if e.Field == "" {
		return e.Code + ": " + e.Message
	}
	return e.Code + ": " + e.Field + ": " + e.Message
}

// Errors is every violation found in one intent, in field order for rule
// checks and in document order for decoding problems. It is never empty when
// returned as an error.
type Errors []*Error

// Error joins the violations with "; ".
func (es Errors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}

// Unwrap lets errors.As find each *Error.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// Codes lists the codes of the violations, in order, for logs and reports.
func (es Errors) Codes() []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Code
	}
	return out
}

// add appends a violation.
func (es *Errors) add(code, field, format string, args ...any) {
	*es = append(*es, &Error{Code: code, Field: field, Message: fmt.Sprintf(format, args...)})
}

// addErr appends a violation that a helper already built (nil is ignored).
func (es *Errors) addErr(e *Error) {
	if e != nil {
		*es = append(*es, e)
	}
}

// refused appends the strictjson refusal err (nil is ignored), under the path
// strictjson names for a repeated name, invalid UTF-8 or stray whitespace; a
// malformed text is "not valid JSON", introduced by
// context when given. It returns whether err was nil, so that a decoder can
// stop at the first refusal.
func (es *Errors) refused(err error, context string) bool {
	if err == nil {
		return true
	}
	var e *strictjson.Error
	if !errors.As(err, &e) {
		// io.EOF where a value was due: the text stopped short.
		es.add(CodeMalformed, "", "not valid JSON: the body ends before the object is complete")
		return false
	}
	msg, field := e.Message, e.Path()
	switch {
	case e.Code == strictjson.CodeMalformed && context != "":
		msg, field = context+" ("+msg+")", ""
	case e.Code == strictjson.CodeMalformed:
		// A syntax error is about the text, not a field (its message says where).
		msg, field = "not valid JSON: "+msg, ""
	case e.Code == strictjson.CodeTooDeep:
		field = "" // ten thousand "[0]" would say nothing
	}
	es.add(e.Code, field, "%s", msg)
	return false
}

// missing appends the API's MissingParameter wording for field.
func (es *Errors) missing(field string) {
	es.add(CodeMissingParameter, field, missingParameterMessageForm, field)
}

// err returns es as an error, or a true nil when there is no violation (a nil
// Errors inside an error interface would not compare equal to nil).
func (es Errors) err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}
