package ecsapi

import (
	"errors"
	"fmt"
)

// Error is an error answered by the ECS API (or, with an empty Code, a transport
// failure or a non-JSON gateway answer), carried in the API's own terms.
type Error struct {
	Action     string // e.g. "ModifyImageAttribute"
	Code       string // e.g. "InvalidStatus.ImageIsCreating"; "" for transport failures
	Message    string
	RequestID  string
	HTTPStatus int   // 0 for transport failures
	Err        error // the underlying SDK or network error, if any
}

func (e *Error) Error() string {
	switch {
	case e.Code != "" && e.RequestID == "":
		// Refused on this side before any request was sent (no region, no
		// credentials), or an SDK client error: there is no request id.
		return fmt.Sprintf("%s: %s: %s", e.Action, e.Code, e.Message)
	case e.Code != "":
		return fmt.Sprintf("%s: %s (HTTP %d, request %s): %s", e.Action, e.Code, e.HTTPStatus, e.RequestID, e.Message)
	case e.HTTPStatus != 0:
		return fmt.Sprintf("%s: HTTP %d without an error code: %s", e.Action, e.HTTPStatus, e.Message)
	default:
		return fmt.Sprintf("%s: %v", e.Action, e.Err)
	}
}

func (e *Error) Unwrap() error { return e.Err }

// Code returns the API error code carried by err, or "" when there is none.
func Code(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// ErrContextDone marks a call cut short because the caller's context ended
// (deadline or cancel), whenever that was noticed. The *Error wraps it
// together with ctx's error, so errors.Is(err, context.DeadlineExceeded)
// holds as well. What it is worth (out of time: try again later) is
// retry.Classify's to say.
var ErrContextDone = errors.New("caller's context ended")
