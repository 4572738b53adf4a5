package lifecycle

import (
	"fmt"
	"time"
)

// The engine's own answers besides a plan, in the manner of
// controller-runtime's TerminalError and Result{RequeueAfter}: a guard that
// refuses the intent for good, or an intent that cannot go ahead yet. Errors
// of the API itself pass through as they are (wrapped), for retry.Classify.

// Refusal is a guard stopping a whole intent. It is final: the same intent
// would be refused again, so its message is dead-lettered.
type Refusal struct {
	// Code is the API's own code for the same refusal where it has one (an
	// operator reads it as if the API had answered), else this function's
	// (CodeScope).
	Code string
	// Reason says which rule refused what.
	Reason string
	// Confirm, for a plan the blast radius refused (policy.CodeBlastRadius),
	// lists the image ids a person puts in the message's
	// "confirm": {"deprecate": [...]} to approve exactly that plan.
	Confirm []string
}

func (r *Refusal) Error() string { return "refused: " + r.Code + ": " + r.Reason }

func refuse(code, format string, args ...any) *Refusal {
	return &Refusal{Code: code, Reason: fmt.Sprintf(format, args...)}
}

// NotYet says the intent cannot go ahead now, and is worth another try later:
// its message is deferred.
type NotYet struct {
	// Code names what it waits on, in the API's terms
	// (InvalidStatus.ImageIsCreating, OperationConflict).
	Code string
	// After is when another look is worth it, as far as the engine can tell
	// (how long a Creating image at its progress still needs); 0: no estimate.
	After time.Duration
	// Reason says what was found, and what bounded the wait.
	Reason string
	// Err is what cut the wait short, if anything: the end of the work's
	// time, or a read that ran out of it.
	Err error
}

func (n *NotYet) Error() string {
	s := "not yet: " + n.Code + ": " + n.Reason
	if n.After > 0 {
		s += fmt.Sprintf("; worth another look in %v", n.After)
	}
	if n.Err != nil {
		s += ": " + n.Err.Error()
	}
	return s
}

func (n *NotYet) Unwrap() error { return n.Err }
