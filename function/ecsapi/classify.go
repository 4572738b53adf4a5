package ecsapi

import (
	"context"
	"errors"
	"net/http"
	"strings"
)

// transientCodes are API error codes worth retrying with backoff; a one-line
// addition each. Sources: reference/ecs-sdk-and-wire.md section 4.
var transientCodes = map[string]string{
	"InvalidStatus.ImageIsCreating": "the image is still being created; ModifyImageAttribute works once it is done",
	"Throttling":                    "API flow control: the call rate is over the quota",
	"ServiceUnavailable":            "the service is briefly unavailable (503)",
	"InternalError":                 "a server-side failure (500) that the service asks to retry",
	"UnknownError":                  "the service's catch-all (400); treated as a passing failure",
	"OperationConflict":             "conflicts with a previous request still running (409)",
	"LastTokenProcessing":           "the request with the same client token is still running (403)",
	"IncorrectImageStatus":          "the image is in a passing state (copying, creating); a later call can pass",
}

// transientPrefixes and transientSuffixes catch code families.
var (
	transientPrefixes = []string{
		"Throttling.",         // Throttling.User, Throttling.Api, ...: flow control of one kind or another
		"ServiceUnavailable.", // e.g. ServiceUnavailable.RegionMaintaining
	}
	transientSuffixes = []string{
		".Throttling", // e.g. Rejected.Throttling
	}
)

// retryExhausted is implemented by errors that end a retry loop on a
// transient condition (package retry's *Exhausted). They stay Transient so the
// caller defers the message instead of dead-lettering it.
type retryExhausted interface {
	error
	RetryExhausted() bool
}

// Classify says how err should be handled: Transient (retry or defer) or
// Permanent. It never returns AlreadyDone; see ClassifyModify. A nil err
// yields Permanent, as there is nothing to retry.
func Classify(err error) Class {
	if err == nil {
		return Permanent
	}
	var ex retryExhausted
	if errors.As(err, &ex) && ex.RetryExhausted() {
		return Transient
	}
	if errors.Is(err, ErrContextDone) {
		return Permanent // the caller's deadline is the end, not a reason to try again
	}
	var e *Error
	if !errors.As(err, &e) {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return Permanent
		}
		return Permanent // not an API error: a bug or bad input on our side
	}
	if e.Code != "" {
		if IsTransientCode(e.Code) {
			return Transient
		}
		return Permanent
	}
	switch {
	case e.HTTPStatus >= http.StatusInternalServerError:
		return Transient // a gateway answer without a code (502 html, 504)
	case e.HTTPStatus == 0 && e.Err != nil:
		return Transient // transport: timeout, reset, refused
	default:
		return Permanent
	}
}

// IsTransientCode reports whether an API error code is in the transient tables.
func IsTransientCode(code string) bool {
	if _, ok := transientCodes[code]; ok {
		return true
	}
	for _, p := range transientPrefixes {
		if strings.HasPrefix(code, p) {
			return true
		}
	}
	for _, s := range transientSuffixes {
		if strings.HasSuffix(code, s) {
			return true
		}
	}
	return false
}

// alreadyDoneCodes map a ModifyImageAttribute error code to the Status
// change for which it means "the target state already holds".
var alreadyDoneCodes = map[string]string{
	// Making an image Available that is not Deprecated (it already is Available).
	"ImageStatus.NotDeprecated": StatusAvailable,
	// Deprecating an image that is not Available: the API table has no code of
	// its own for "already Deprecated"; this is the one it lists for a status
	// change from a state other than Available. Creating images answer
	// InvalidStatus.ImageIsCreating instead, so what remains is chiefly an image
	// already Deprecated (the planner re-reads state before the next change).
	"ImageStatus.NotAvailable": StatusDeprecated,
}

// ClassifyModify is Classify for one ModifyImageAttribute call: an error that
// says the requested Status already holds is AlreadyDone, but only when the
// call changed Status alone, because otherwise the other attributes were not set.
func ClassifyModify(err error, in ModifyInput) Class {
	if in.Changes.Status != "" && onlyStatus(in.Changes) {
		if want, ok := alreadyDoneCodes[Code(err)]; ok && want == in.Changes.Status {
			return AlreadyDone
		}
	}
	return Classify(err)
}

func onlyStatus(c Changes) bool {
	return c == Changes{Status: c.Status}
}
