package invoke_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/config"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/credential"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/emulator"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/invoke"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/report"
	"github.com/ecs-image-lifecycle/image-lifecycle/internal/testenv"
	"github.com/ecs-image-lifecycle/image-lifecycle/tests/mnsfake"
)

// Two generations of a role's STS credentials, as FC hands them out.
var (
	keyA = credential.Credentials{AccessKeyID: "STS.A", AccessKeySecret: "secret-a", SecurityToken: "sts-token"}
	keyB = credential.Credentials{AccessKeyID: "STS.B", AccessKeySecret: "secret-b", SecurityToken: "sts-token"}
)

// credentialWorld is the emulator taking both keys (the emulator has one
// token for all) and the MNS fake taking only key A, plus a handler built by
// invoke.New, the production wiring, whose default chain finds only keys
// that neither service takes.
func credentialWorld(t *testing.T) (*emulator.Server, *mnsfake.Server, *invoke.Handler) {
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "default-chain-key")
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "default-chain-secret")
	t.Setenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
	emu := testenv.StartEmulator(t, emulator.Options{Seed: testenv.DemoSeed(t), SecurityToken: keyA.SecurityToken,
		Keys: map[string]string{keyA.AccessKeyID: keyA.AccessKeySecret, keyB.AccessKeyID: keyB.AccessKeySecret}})
	mns := testenv.StartMNS(t, mnsfake.Options{
		Keys:   map[string]string{keyA.AccessKeyID: keyA.AccessKeySecret},
		Tokens: map[string]string{keyA.AccessKeyID: keyA.SecurityToken},
	}, retryQueue, deadQueue)
	cfg := config.Defaults()
	cfg.ECSEndpoint, cfg.MNSEndpoint = emu.URL(), mns.Endpoint()
	cfg.RetryQueue, cfg.DeadLetterQueue = retryQueue, deadQueue
	h, err := invoke.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	h.Policy.MaxAttempts = 1 // a transient failure is deferred at once
	return emu, mns, h
}

// deferAndDeadLetter is a batch with one message to defer (ECS answers
// ServiceUnavailable) and one to dead-letter (not an intent).
func deferAndDeadLetter(t *testing.T, emu *emulator.Server, n int) []byte {
	emu.SetFaults("", emulator.Faults{FailNext: slices.Repeat([]string{"ServiceUnavailable"}, 100)})
	return mnsBatch(t,
		mnsMessage{ID: "transient-" + string(rune('0'+n)), Body: `{"action":"deprecate","imageId":"` + webOldest + `"}`},
		mnsMessage{ID: "invalid-" + string(rune('0'+n)), Body: `{"action":"shred"}`})
}

func invocation(t *testing.T, h *invoke.Handler, c credential.Credentials, payload []byte) (*report.Report, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return h.Handle(ctx, invoke.Env{RequestID: t.Name(), Credentials: &c}, payload)
}

// TestSettlingSignsWithTheInvocationsCredentials: every defer and dead
// letter is signed with the credentials of the invocation it belongs to,
// through a rotation, and never with the default chain's.
func TestSettlingSignsWithTheInvocationsCredentials(t *testing.T) {
	emu, mns, h := credentialWorld(t)
	for n, key := range []credential.Credentials{keyA, keyB} {
		if n == 1 {
			// FC rotated the role's credentials: MNS takes only the new key.
			mns.SetKeys(map[string]string{keyB.AccessKeyID: keyB.AccessKeySecret}, map[string]string{keyB.AccessKeyID: keyB.SecurityToken})
		}
		rep, err := invocation(t, h, key, deferAndDeadLetter(t, emu, n))
		if err != nil {
			t.Fatalf("invocation %d with %s: %v", n+1, key.AccessKeyID, err)
		}
		if rep.Counts[report.Deferred] != 1 || rep.Counts[report.DeadLettered] != 1 {
			t.Fatalf("invocation %d with %s: %+v, want one deferred and one dead-lettered", n+1, key.AccessKeyID, rep.Messages)
		}
	}
	for _, q := range []string{retryQueue, deadQueue} {
		var signedBy []string
		for _, m := range mns.Messages(q) {
			signedBy = append(signedBy, m.AccessKeyID)
		}
		if !slices.Equal(signedBy, []string{keyA.AccessKeyID, keyB.AccessKeyID}) {
			t.Errorf("%s: sends signed by %v, want %s then %s", q, signedBy, keyA.AccessKeyID, keyB.AccessKeyID)
		}
	}
}

// TestMissingOrRefusedCredentialsFailTheMessage: no credentials from FC, or
// credentials ECS refuses, fail the message with the credential code, so the
// platform delivers it again; it is neither retried nor dead-lettered.
func TestMissingOrRefusedCredentialsFailTheMessage(t *testing.T) {
	emu, mns, h := credentialWorld(t)
	body := `{"action":"deprecate","imageId":"` + webOldest + `"}`
	for _, tc := range []struct {
		name  string
		creds credential.Credentials
		code  string
	}{
		{"FC sent none", credential.Credentials{}, credential.CodeNotFound},
		{"unknown key", credential.Credentials{AccessKeyID: "STS.C", AccessKeySecret: "secret-c-unknown", SecurityToken: "sts-token"}, "InvalidAccessKeyId.NotFound"},
		{"wrong secret", credential.Credentials{AccessKeyID: keyA.AccessKeyID, AccessKeySecret: "guess", SecurityToken: keyA.SecurityToken}, "SignatureDoesNotMatch"},
		{"no token", credential.Credentials{AccessKeyID: keyA.AccessKeyID, AccessKeySecret: keyA.AccessKeySecret}, "InvalidSecurityToken.Malformed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := invocation(t, h, tc.creds, mnsBatch(t, mnsMessage{ID: "m", Body: body}))
			checkAccounting(t, rep, err, []string{"m"})
			if m := rep.Messages[0]; m.Outcome != report.Failed || m.Code != tc.code {
				t.Fatalf("%s %s (%s), want failed with %s", m.Outcome, m.Code, m.Error, tc.code)
			}
		})
	}
	if n := mns.Sends(retryQueue) + mns.Sends(deadQueue); n != 0 {
		t.Errorf("%d sends to MNS, want none", n)
	}
	if statusOf(t, emu, webOldest) != "Available" {
		t.Error("the image changed")
	}
}
