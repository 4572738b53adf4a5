package retry

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/credential"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
)

// Class is what a failed call is worth. Classify decides it, once, for the
// retry loop and for settling alike.
type Class int

const (
	// Permanent: the request itself is wrong or forbidden; retrying cannot
	// help. The message is dead-lettered.
	Permanent Class = iota
	// Transient: it may pass within seconds. Retried with backoff while time
	// allows, then the message is deferred.
	Transient
	// Slow: transient, but waiting on the service's own work (an image being
	// created takes minutes). Retried with Policy.SlowBase, then deferred.
	Slow
	// AlreadyDone: the target state already holds (at-least-once delivery
	// makes this normal). Counted as success.
	AlreadyDone
	// Credential: the credentials are missing or refused. Never retried as a
	// network fault, never dead-lettered: the message fails and is delivered
	// again once the configuration is right.
	Credential
)

func (c Class) String() string {
	switch c {
	case Transient:
		return "transient"
	case Slow:
		return "slow"
	case AlreadyDone:
		return "already-done"
	case Credential:
		return "credential"
	default:
		return "permanent"
	}
}

// Retryable reports whether another try may pass: Transient or Slow.
func (c Class) Retryable() bool { return c == Transient || c == Slow }

// A Classifier answers for the errors it knows; ok false means "don't know",
// and the next classifier of the chain is asked.
type Classifier func(err error) (c Class, ok bool)

// chain is the order in which the classifiers are asked; the first that
// knows decides, and an error none of them knows is Permanent.
//
//  1. credentials: a missing or refused key is never mistaken for anything else;
//  2. exhausted: this layer gave up on a transient condition;
//  3. out of time: a call cut short by a context (a deadline, a cancel) may
//     pass later, whichever context ended and however late that was seen;
//  4. the code tables: slow, then transient; any other code is permanent;
//  5. no code: a gateway's 5xx, then a transport failure (no answer at all).
var chain = []Classifier{
	credentials,
	exhausted,
	outOfTime,
	byCode,
	gateway,
	transport,
}

// Classify says what err is worth. A nil err is Permanent: there is nothing
// to retry. AlreadyDone needs the call's input: see ClassifyModify.
func Classify(err error) Class {
	return classify(err, chain)
}

// ClassifyModify is Classify for one ModifyImageAttribute call: an answer
// that says the requested Status already holds is AlreadyDone, but only when
// the call changed Status alone, because otherwise the other attributes were
// not set.
func ClassifyModify(err error, in ecsapi.ModifyInput) Class {
	return classify(err, append([]Classifier{alreadyDone(in)}, chain...))
}

func classify(err error, classifiers []Classifier) Class {
	if err == nil {
		return Permanent
	}
	for _, c := range classifiers {
		if class, ok := c(err); ok {
			return class
		}
	}
	return Permanent // not an API error: a bug or bad input on our side
}

func credentials(err error) (Class, bool) {
	if credential.Code(err) != "" || credential.IsCredentialCode(ecsapi.Code(err)) {
		return Credential, true
	}
	return 0, false
}

func exhausted(err error) (Class, bool) {
	var ex *Exhausted
	return Transient, errors.As(err, &ex)
}

func outOfTime(err error) (Class, bool) {
	return Transient, errors.Is(err, ecsapi.ErrContextDone) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

func byCode(err error) (Class, bool) {
	code := ecsapi.Code(err)
	switch {
	case code == "":
		return 0, false
	case slowCodes[code] != "":
		return Slow, true
	case isTransientCode(code):
		return Transient, true
	default:
		return Permanent, true
	}
}

func isTransientCode(code string) bool {
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

// gateway: an answer without a code, at 5xx (a 502 HTML page, a 504).
func gateway(err error) (Class, bool) {
	var e *ecsapi.Error
	if errors.As(err, &e) && e.Code == "" && e.HTTPStatus >= http.StatusInternalServerError {
		return Transient, true
	}
	return 0, false
}

// transport: no answer at all (a timeout, a reset, a refused connection).
func transport(err error) (Class, bool) {
	var e *ecsapi.Error
	if errors.As(err, &e) && e.Code == "" && e.HTTPStatus == 0 && e.Err != nil {
		return Transient, true
	}
	return 0, false
}

func alreadyDone(in ecsapi.ModifyInput) Classifier {
	return func(err error) (Class, bool) {
		if in.Changes.Status == "" || in.Changes != (ecsapi.Changes{Status: in.Changes.Status}) {
			return 0, false
		}
		want, ok := alreadyDoneCodes[ecsapi.Code(err)]
		return AlreadyDone, ok && want == in.Changes.Status
	}
}
