// Package credential holds the one type for the access keys that sign every
// ECS and MNS request, says where they come from, and tells a missing or
// refused credential apart from every other failure.
//
// Under Function Compute the only credentials are the invocation's: FC hands
// each invocation a role's STS keys and rotates them between invocations, so
// a front door puts them in the invocation's context (NewContext) and every
// call of that invocation, ECS and MNS alike, is signed with them. The
// default chain (Chain) is for front doors that have no invocation: the CLI.
package credential

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
)

// Credentials are an access key pair, with the security token when the pair
// is temporary (STS), as FC hands them to an invocation.
//
// Every print form hides the secret and the token: String, GoString, any fmt
// verb (%v, %+v, %#v, %s, %q...), log/slog and encoding/json. The key id stays
// visible: it is what an operator needs to tell which key was used, and it is
// not a secret (ActionTrail records it with every call).
type Credentials struct {
	AccessKeyID     string
	AccessKeySecret string
	SecurityToken   string
}

// Check returns an *Error with CodeNotFound unless both parts of the key pair
// are present.
func (c Credentials) Check() error {
	switch {
	case c.AccessKeyID == "" && c.AccessKeySecret == "":
		return notFound("no AccessKeyId and no AccessKeySecret")
	case c.AccessKeyID == "":
		return notFound("no AccessKeyId")
	case c.AccessKeySecret == "":
		return notFound("no AccessKeySecret")
	}
	return nil
}

// IsSTS reports whether the pair is temporary and needs its security token.
func (c Credentials) IsSTS() bool { return c.SecurityToken != "" }

// shown is what a print form may show of a secret: whether it is there.
func shown(secret string) string {
	if secret == "" {
		return ""
	}
	return "<redacted>"
}

// String shows the key id and hides the rest.
func (c Credentials) String() string {
	return fmt.Sprintf("{AccessKeyID:%s AccessKeySecret:%s SecurityToken:%s}", c.AccessKeyID, shown(c.AccessKeySecret), shown(c.SecurityToken))
}

// GoString is the %#v form, redacted like String.
func (c Credentials) GoString() string {
	return fmt.Sprintf("credential.Credentials{AccessKeyID:%q, AccessKeySecret:%q, SecurityToken:%q}", c.AccessKeyID, shown(c.AccessKeySecret), shown(c.SecurityToken))
}

// Format makes every fmt verb print a redacted form: without it, %+v and %x
// would print the fields themselves.
func (c Credentials) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'v' && f.Flag('#'):
		fmt.Fprint(f, c.GoString())
	case verb == 'q':
		fmt.Fprint(f, strconv.Quote(c.String()))
	default:
		fmt.Fprint(f, c.String())
	}
}

// LogValue is what log/slog records: the key id and whether it is STS.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(slog.String("accessKeyId", c.AccessKeyID), slog.Bool("sts", c.IsSTS()))
}

// MarshalJSON writes the redacted form, so a report or a debug dump that
// embeds Credentials leaks nothing.
func (c Credentials) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		AccessKeyID     string `json:"accessKeyId"`
		AccessKeySecret string `json:"accessKeySecret"`
		SecurityToken   string `json:"securityToken"`
	}{c.AccessKeyID, shown(c.AccessKeySecret), shown(c.SecurityToken)})
}

type contextKey struct{}

// NewContext returns ctx carrying the invocation's credentials. A front door
// under FC always calls it, with empty Credentials when FC sent none, so that
// a call fails with CodeNotFound instead of reaching for the default chain.
func NewContext(ctx context.Context, c Credentials) context.Context {
	return context.WithValue(ctx, contextKey{}, c)
}

// FromContext returns the invocation's credentials, and false when ctx
// carries none (a front door without an invocation: the CLI, tests).
func FromContext(ctx context.Context) (Credentials, bool) {
	c, ok := ctx.Value(contextKey{}).(Credentials)
	return c, ok
}
