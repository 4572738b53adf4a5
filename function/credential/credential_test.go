package credential_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/credential"
)

const (
	keyID  = "STS.NUx8kKXyz"
	secret = "s3cret-never-shown"
	token  = "t0ken-never-shown"
)

// TestEveryPrintFormIsRedacted prints Credentials every way a program might,
// directly, behind a pointer and inside a struct, and looks for the secret
// and the token.
func TestEveryPrintFormIsRedacted(t *testing.T) {
	t.Parallel()
	c := credential.Credentials{AccessKeyID: keyID, AccessKeySecret: secret, SecurityToken: token}
	type holder struct {
		Creds credential.Credentials
		Ptr   *credential.Credentials
	}
	h := holder{Creds: c, Ptr: &c}
	var forms []string
	for _, v := range []any{c, &c, h, &h} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
			forms = append(forms, fmt.Sprintf(verb, v))
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		forms = append(forms, string(b))
		var logged bytes.Buffer
		slog.New(slog.NewJSONHandler(&logged, nil)).Info("x", "creds", v)
		slog.New(slog.NewTextHandler(&logged, nil)).Info("x", "creds", v)
		forms = append(forms, logged.String())
	}
	forms = append(forms, c.String(), c.GoString(), fmt.Sprint(c), fmt.Sprintln(&c))
	for _, f := range forms {
		if strings.Contains(f, secret) || strings.Contains(f, token) {
			t.Errorf("a print form leaks: %s", f)
		}
	}
	// Redacted, not blank: the key id and the presence of the rest show.
	if s := fmt.Sprintf("%+v", c); !strings.Contains(s, keyID) || !strings.Contains(s, "<redacted>") {
		t.Errorf("%%+v = %s, want the key id and <redacted>", s)
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		c    credential.Credentials
		want string // "" = fine
	}{
		{credential.Credentials{AccessKeyID: "ak", AccessKeySecret: "sk"}, ""},
		{credential.Credentials{AccessKeyID: "ak", AccessKeySecret: "sk", SecurityToken: "t"}, ""},
		{credential.Credentials{}, "no AccessKeyId and no AccessKeySecret"},
		{credential.Credentials{AccessKeySecret: "sk"}, "no AccessKeyId"},
		{credential.Credentials{AccessKeyID: "ak", SecurityToken: "t"}, "no AccessKeySecret"},
	} {
		err := tc.c.Check()
		if tc.want == "" {
			if err != nil {
				t.Errorf("%v: %v", tc.c, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) || credential.Code(err) != credential.CodeNotFound {
			t.Errorf("%v: %v, want %s with %q", tc.c, err, credential.CodeNotFound, tc.want)
		}
	}
}

func TestContext(t *testing.T) {
	t.Parallel()
	if _, ok := credential.FromContext(context.Background()); ok {
		t.Fatal("a bare context carries credentials")
	}
	want := credential.Credentials{AccessKeyID: "A", AccessKeySecret: "a"}
	got, ok := credential.FromContext(credential.NewContext(context.Background(), want))
	if !ok || got != want {
		t.Fatalf("FromContext = %v, %v; want %v", got, ok, want)
	}
	// FC sent none: the context says so, rather than carrying nothing.
	got, ok = credential.FromContext(credential.NewContext(context.Background(), credential.Credentials{}))
	if !ok || got.Check() == nil {
		t.Fatalf("empty invocation credentials: %v, %v", got, ok)
	}
}

func TestIsCredentialCode(t *testing.T) {
	t.Parallel()
	for code, want := range map[string]bool{
		credential.CodeNotFound:                      true,
		"InvalidAccessKeyId.NotFound":                true,
		"InvalidAccessKeyId":                         true,
		"SignatureDoesNotMatch":                      true,
		"InvalidSecurityToken.Expired":               true,
		"InvalidSecurityToken.Malformed":             true,
		"InvalidSecurityToken.MismatchWithAccessKey": true,
		"Throttling":                                 false,
		"Forbidden.RAM":                              false, // a permission, not the key
		"AccessDenied":                               false,
		"":                                           false,
	} {
		if got := credential.IsCredentialCode(code); got != want {
			t.Errorf("IsCredentialCode(%q) = %v, want %v", code, got, want)
		}
	}
}

func TestCodeOfOtherErrors(t *testing.T) {
	t.Parallel()
	if c := credential.Code(errors.New("x")); c != "" {
		t.Fatalf("Code = %q", c)
	}
	wrapped := fmt.Errorf("ECS client: %w", credential.Credentials{}.Check())
	if c := credential.Code(wrapped); c != credential.CodeNotFound {
		t.Fatalf("Code(wrapped) = %q", c)
	}
}
