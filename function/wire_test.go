package main

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/config"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/credential"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/emulator"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/invoke"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/lifecycle"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/report"
	"github.com/ecs-image-lifecycle/image-lifecycle/internal/testenv"
	"github.com/ecs-image-lifecycle/image-lifecycle/internal/testenv/reportcheck"
	"github.com/ecs-image-lifecycle/image-lifecycle/tests/mnsfake"
)

// The tests of the production wiring (wire.go): what newHandler builds from
// a configuration, over the wire to the emulator and the MNS fake.

// TestGuardsFollowTheConfiguration: every guard setting reaches the
// lifecycle's guards, and the boot-mode guard is always on.
func TestGuardsFollowTheConfiguration(t *testing.T) {
	cfg, err := config.FromEnv(func(name string) string {
		return map[string]string{"FAMILY_FLOOR": "3", "EXCLUDE_TAG": "hold=yes", "UNSHARE_BEFORE_DEPRECATE": "true",
			"ALLOWED_REGIONS": "cn-beijing", "ALLOWED_FAMILIES": "web-*,api"}[name]
	})
	if err != nil {
		t.Fatal(err)
	}
	want := lifecycle.Guards{FamilyFloor: 3, ExcludeTag: "hold=yes", UnshareBeforeDeprecate: true,
		AllowedRegions: []string{"cn-beijing"}, AllowedFamilies: []string{"web-*", "api"}, ProtectInUseBootMode: true}
	if got := guards(cfg); !reflect.DeepEqual(got, want) {
		t.Errorf("guards = %+v, want %+v", got, want)
	}
	d := config.Defaults()
	if got := guards(d); got.FamilyFloor != d.FamilyFloor || got.ExcludeTag != d.ExcludeTag || !got.ProtectInUseBootMode {
		t.Errorf("default guards = %+v", got)
	}
}

// TestHandlerTakesTheConfiguration: the handler's own settings are the
// configuration's, with no default of its own in between.
func TestHandlerTakesTheConfiguration(t *testing.T) {
	cfg := config.Defaults()
	cfg.Region, cfg.Concurrency, cfg.MaxPayloadBytes, cfg.FamilyFloor = "cn-beijing", 3, 4096, 2
	h, err := newHandler(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if h.Region != "cn-beijing" || h.Concurrency != 3 || h.MaxPayloadBytes != 4096 || h.Guards.FamilyFloor != 2 ||
		h.Limiter == nil || h.Queue != nil || h.NewAPI == nil {
		t.Errorf("handler = %+v", h)
	}
}

// ECS_RATE_LIMIT=off builds no limiter: every call goes when it is made.
func TestRateLimitOffBuildsNoLimiter(t *testing.T) {
	cfg, err := config.FromEnv(func(k string) string { return map[string]string{"ECS_RATE_LIMIT": "off"}[k] })
	if err != nil {
		t.Fatal(err)
	}
	h, err := newHandler(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if h.Limiter != nil {
		t.Errorf("ECS_RATE_LIMIT=off: limiter %+v, want none", h.Limiter)
	}
}

// A command-line flag is checked by config's rules, like the variable it
// stands for: --endpoint cannot point the CLI's credentials at plain HTTP.
func TestCLIEndpointFlagIsCheckedLikeTheVariable(t *testing.T) {
	cliEnv(t)
	code, _, errOut := runCmd(t, "", "plan", "--endpoint", "http://10.0.0.1:8080", filepath.Join("..", "events", "01-modify.json"))
	if code != exitUsage || !strings.Contains(errOut, "plain http is allowed only for a loopback host") || !strings.Contains(errOut, "--endpoint stands for ECS_ENDPOINT") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}

// Two generations of a role's STS credentials, as FC hands them out.
var (
	keyA = credential.Credentials{AccessKeyID: "STS.A", AccessKeySecret: "secret-a", SecurityToken: "sts-token"}
	keyB = credential.Credentials{AccessKeyID: "STS.B", AccessKeySecret: "secret-b", SecurityToken: "sts-token"}
)

// Queue names used against the MNS fake.
const (
	retryQueue = "image-retry"
	deadQueue  = "image-dlq"
	webOldest  = "m-bp1a2b3c4d5e6f7g8h9i" // web, Available, 2026-10-30
)

// credentialWorld is the emulator taking both keys (the emulator has one
// token for all) and the MNS fake taking only key A, plus a handler built by
// newHandler, the production wiring, whose default chain finds only keys
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
	h, err := newHandler(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
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
	return testenv.MNSBatch(t,
		testenv.MNSMessage{ID: "transient-" + string(rune('0'+n)), Body: `{"action":"deprecate","imageId":"` + webOldest + `"}`},
		testenv.MNSMessage{ID: "invalid-" + string(rune('0'+n)), Body: `{"action":"shred"}`})
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
			rep, err := invocation(t, h, tc.creds, testenv.MNSBatch(t, testenv.MNSMessage{ID: "m", Body: body}))
			reportcheck.Accounting(t, rep, err, []string{"m"})
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

// statusOf is an image's current status in the emulator.
func statusOf(t testing.TB, emu *emulator.Server, id string) string {
	t.Helper()
	img, ok := emu.Image(id)
	if !ok {
		t.Fatalf("emulator has no image %s", id)
	}
	return img.Status
}
