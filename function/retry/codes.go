package retry

import (
	"strings"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
)

// The code tables of the classification chain (classify.go): adding a code
// is a one-line change here. Sources: reference/ecs-sdk-and-wire.md section
// 4 and the ModifyImageAttribute error table. A code in no table is
// permanent; credential codes are credential.IsCredentialCode's.

// slowCodes are transient codes that wait on the service's own work, which
// takes minutes: retried with Policy.SlowBase, deferred when time runs out.
var slowCodes = map[string]string{
	"InvalidStatus.ImageIsCreating": "the image is still being created; ModifyImageAttribute works once it is done",
	"IncorrectImageStatus":          "the image is in a passing state (copying, creating); a later call can pass",
}

// transientCodes may pass within seconds: retried with backoff.
var transientCodes = map[string]string{
	throttling:            "API flow control: the call rate is over the quota",
	"ServiceUnavailable":  "the service is briefly unavailable (503)",
	"InternalError":       "a server-side failure (500) that the service asks to retry",
	"UnknownError":        "the service's catch-all (400); treated as a passing failure",
	"OperationConflict":   "conflicts with a previous request still running (409)",
	"LastTokenProcessing": "the request with the same client token is still running (403)",
	// The SDK's own codes for an answer that never arrived whole. With its
	// auto-retry off the SDK does not make SDK.TimeoutError itself, but a
	// timeout is a network fault wherever it is named.
	"SDK.TimeoutError": "the request timed out",
	// A 2xx body the SDK could not decode: a garbled or cut answer (a proxy,
	// a connection closed mid-body); the next attempt reads a fresh one.
	"SDK.JsonUnmarshalError": "the answer could not be decoded",
}

// transientPrefixes and transientSuffixes catch code families.
var (
	transientPrefixes = []string{
		throttling + ".",      // Throttling.User, Throttling.Api, our Throttling.ClientLimit: flow control
		"ServiceUnavailable.", // e.g. ServiceUnavailable.RegionMaintaining
	}
	transientSuffixes = []string{
		"." + throttling, // e.g. Rejected.Throttling
	}
)

// throttling names ECS's flow control: the code, a family of codes
// (Throttling.User, Throttling.Api) and a suffix (Rejected.Throttling).
const throttling = "Throttling"

// isThrottlingCode says whether code is the service's flow control, on which
// the rate limiter slows down. CodeClientLimit is this client's own refusal,
// never the service's answer.
func isThrottlingCode(code string) bool {
	return code != CodeClientLimit && (code == throttling ||
		strings.HasPrefix(code, throttling+".") || strings.HasSuffix(code, "."+throttling))
}

// alreadyDoneCodes map a ModifyImageAttribute code to the Status change for
// which it means "the target state already holds".
var alreadyDoneCodes = map[string]string{
	// Making an image Available that is not Deprecated (it already is Available).
	"ImageStatus.NotDeprecated": ecsapi.StatusAvailable,
	// Deprecating an image that is not Available: the API table has no code of
	// its own for "already Deprecated"; this is the one it lists for a status
	// change from a state other than Available. Creating images answer
	// InvalidStatus.ImageIsCreating instead, so what remains is chiefly an image
	// already Deprecated (the planner re-reads state before the next change).
	"ImageStatus.NotAvailable": ecsapi.StatusDeprecated,
}

// CodeClientLimit is the code of a call the client-side rate limit refused
// because its token would come too late for the deadline.
const CodeClientLimit = "Throttling.ClientLimit"
