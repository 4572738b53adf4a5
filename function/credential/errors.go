package credential

import (
	"errors"
	"strings"
)

// CodeNotFound is this function's code for "there are no credentials to sign
// with": FC sent none with the invocation (the function has no role), or the
// default chain found none (no keys, no profile, no instance role).
const CodeNotFound = "Credentials.NotFound"

// Error is a credential that is missing. Its text says what to set and never
// holds a secret.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func notFound(msg string) *Error { return &Error{Code: CodeNotFound, Message: msg} }

// Code returns the code of a credential *Error in err's chain, or "".
func Code(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// refusedCodes are the services' codes for credentials they refuse: an
// unknown or disabled key, a secret that does not match, an STS token that is
// missing, malformed, expired or not the key's. ECS uses the dotted forms,
// MNS the bare ones.
var refusedCodes = map[string]bool{
	"InvalidAccessKeyId":          true, // MNS
	"InvalidAccessKeyId.NotFound": true, // ECS
	"InvalidAccessKeyId.Inactive": true, // ECS: the key is disabled
	"SignatureDoesNotMatch":       true, // both: the secret is not the key's
}

// IsCredentialCode reports whether an error code means the credentials are
// missing or refused. Such a failure is the configuration's, not the
// message's: it is never retried as a network fault nor dead-lettered, and
// the message is delivered again once the credentials are right.
func IsCredentialCode(code string) bool {
	return code == CodeNotFound || refusedCodes[code] || strings.HasPrefix(code, "InvalidSecurityToken.")
}
