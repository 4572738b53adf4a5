package e2e

import (
	"strings"
	"testing"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/report"
)

// TestECSCredentialsComeFromTheInvocation: the ECS key exists only in the
// invocation headers and the emulator demands its STS token, so a change
// succeeds only when the function uses the invocation's credentials, token
// included. Without them it falls back to the default chain, which holds
// the MNS key, and ECS refuses that.
func TestECSCredentialsComeFromTheInvocation(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		headers  map[string]string
		outcome  report.Outcome
		codeFrom string // prefix of the API's code; "" = no code
	}{
		{"STS credentials", credentialHeaders(), report.Applied, ""},
		{"no security token", map[string]string{"x-fc-access-key-id": ecsKeyID, "x-fc-access-key-secret": ecsKeySecret}, report.DeadLettered, "InvalidSecurityToken"},
		{"no credentials", map[string]string{}, report.DeadLettered, "InvalidAccessKeyId"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, worldOptions{})
			r := startGo1(t, w).invoke(t, call{payload: sample(t, "01-modify.json"), headers: tc.headers})
			if r.isError {
				t.Fatalf("invocation error %s: %s", r.errorType, r.errorMessage)
			}
			if r.report.Received != 1 {
				t.Fatalf("received %d, want 1", r.report.Received)
			}
			m := r.report.Messages[0]
			t.Logf("outcome %s, code %q", m.Outcome, m.Code)
			if m.Outcome != tc.outcome || (tc.codeFrom == "") != (m.Code == "") || !strings.HasPrefix(m.Code, tc.codeFrom) {
				t.Errorf("outcome %s code %q (%s), want %s with a code starting %q", m.Outcome, m.Code, m.Error, tc.outcome, tc.codeFrom)
			}
			const api = "m-bp1api8c9d0e1f2g3h4i"
			wantDescription := "api server, go 1.26 runtime" // the seed's
			if tc.outcome == report.Applied {
				wantDescription = demoFinal[api].description
			}
			if got := w.image(t, api).Description; got != wantDescription {
				t.Errorf("api-2026-11-02 has description %q, want %q", got, wantDescription)
			}
		})
	}
}
