package invoke_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/config"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/credential"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/emulator"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/invoke"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/lifecycle"
	lifecyclepolicy "github.com/ecs-image-lifecycle/image-lifecycle/function/policy"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/queue"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/report"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/retry"
	"github.com/ecs-image-lifecycle/image-lifecycle/internal/testenv"
	"github.com/ecs-image-lifecycle/image-lifecycle/tests/mnsfake"
)

// Queue names used against the MNS fake.
const (
	retryQueue = "image-retry"
	deadQueue  = "image-dlq"
)

// setup says how a test handler is built.
type setup struct {
	mns        *mnsfake.Server // nil: no queues at all
	retry, dlq bool            // which of the two queues the handler gets
	// maxAttempts and maxAge bound deferrals (queue.Config); 0 = defaults.
	maxAttempts int
	maxAge      time.Duration
	// callAttempts bounds the attempts of one ECS call (retry.Policy.MaxAttempts);
	// 0 = bounded only by the deadline.
	callAttempts int
	concurrency  int
	rateLimit    float64 // client-side calls/s per API; 0 = unlimited
	now          func() time.Time
	// policy is the lifecycle policy (POLICY_FILE); nil = none.
	policy *lifecyclepolicy.Policy
}

// samplePolicy is deploy/lifecycle-policy.json, the policy s.yaml ships.
func samplePolicy(t testing.TB) *lifecyclepolicy.Policy {
	t.Helper()
	text, err := os.ReadFile(testenv.Path(t, "deploy", "lifecycle-policy.json"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := lifecyclepolicy.Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// newHandler builds the handler as the demo does: the real ECS SDK to the
// emulator, the real MNS SDK to the fake, and a retry policy with short waits.
func newHandler(t testing.TB, emu *emulator.Server, s setup) *invoke.Handler {
	t.Helper()
	cfg := config.Defaults()
	if s.concurrency > 0 {
		cfg.Concurrency = s.concurrency
	}
	policy := retry.DefaultPolicy()
	policy.Base, policy.Cap, policy.SlowBase = time.Millisecond, 10*time.Millisecond, 5*time.Millisecond
	policy.MaxAttempts = s.callAttempts
	// Short invocations: the calls stop 500 ms before the deadline.
	shares := retry.DefaultShares()
	shares.Calls.Max = 500 * time.Millisecond
	endpoint := emu.URL()
	h := &invoke.Handler{
		Region:          cfg.Region,
		Guards:          defaultGuards(cfg),
		Concurrency:     cfg.Concurrency,
		MaxPayloadBytes: cfg.MaxPayloadBytes,
		NewAPI: func(*ecsapi.Credentials) (ecsapi.API, error) {
			return ecsapi.New(ecsapi.Config{Region: cfg.Region, Endpoint: endpoint,
				Credentials: &ecsapi.Credentials{AccessKeyID: emulator.DefaultKey, AccessKeySecret: emulator.DefaultKey}})
		},
		Policy:          policy,
		Shares:          shares,
		Log:             slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:             s.now,
		CreatingBackoff: func(int) time.Duration { return 20 * time.Millisecond },
		LifecyclePolicy: s.policy,
	}
	if s.rateLimit > 0 {
		h.Limiter = retry.NewLimiter(s.rateLimit)
	}
	if s.mns != nil && (s.retry || s.dlq) {
		qc := queue.Config{
			Endpoint:      s.mns.Endpoint(),
			MaxAttempts:   cmp.Or(s.maxAttempts, cfg.MaxAttempts),
			MaxMessageAge: cmp.Or(s.maxAge, cfg.MaxMessageAge),
			Credentials:   &credential.Credentials{AccessKeyID: "mns", AccessKeySecret: "mns"},
			// A queue that is down answers at once; a short timeout only
			// bounds a send that hangs.
			TimeoutSeconds: 2,
		}
		if s.retry {
			qc.RetryQueue = retryQueue
		}
		if s.dlq {
			qc.DeadLetterQueue = deadQueue
		}
		q, err := queue.New(qc)
		if err != nil {
			t.Fatalf("queue.New: %v", err)
		}
		h.Queue = q
	}
	return h
}

// defaultGuards are cfg's guards as function/wire.go builds them (its test
// checks that mapping; this package cannot import package main).
func defaultGuards(cfg config.Config) lifecycle.Guards {
	return lifecycle.Guards{
		FamilyFloor:            cfg.FamilyFloor,
		UnshareBeforeDeprecate: cfg.UnshareBeforeDeprecate,
		ExcludeTag:             cfg.ExcludeTag,
		AllowedRegions:         cfg.AllowedRegions,
		AllowedFamilies:        cfg.AllowedFamilies,
		ProtectInUseBootMode:   true,
	}
}

// handle runs one invocation with a deadline, as FC gives one.
func handle(t testing.TB, h *invoke.Handler, timeout time.Duration, payload []byte) (*report.Report, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	rep, err := h.Handle(ctx, invoke.Env{RequestID: t.Name()}, payload)
	if rep == nil {
		t.Fatalf("Handle returned no report (err %v)", err)
	}
	return rep, err
}

// fromQueue turns messages read from the MNS fake back into trigger messages.
func fromQueue(msgs []mnsfake.Message) []testenv.MNSMessage {
	out := make([]testenv.MNSMessage, len(msgs))
	for i, m := range msgs {
		out[i] = testenv.MNSMessage{ID: m.ID, Body: m.Body}
	}
	return out
}

// byID indexes a report's messages by id.
func byID(rep *report.Report) map[string]report.Message {
	out := make(map[string]report.Message, len(rep.Messages))
	for _, m := range rep.Messages {
		out[m.ID] = m
	}
	return out
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

// checkFloor asserts that every family with an Available image in before
// still has at least floor Available images.
func checkFloor(t testing.TB, images []ecsapi.Image, floor int) {
	t.Helper()
	avail, families := map[string]int{}, map[string]bool{}
	for _, img := range images {
		if img.Family == "" || img.OwnerAlias != "self" {
			continue
		}
		families[img.Family] = true
		if img.Status == ecsapi.StatusAvailable {
			avail[img.Family]++
		}
	}
	names := make([]string, 0, len(families))
	for f := range families {
		names = append(names, f)
	}
	sort.Strings(names)
	for _, f := range names {
		if avail[f] < floor {
			t.Errorf("family %s has %d Available images, below the floor of %d", f, avail[f], floor)
		}
	}
}

// familySeed is a seed of one family of n Available images, oldest first,
// one hour apart, ids <prefix>000 .. <prefix>(n-1) (an image id is "m-"
// followed by letters and digits only).
func familySeed(family, prefix string, n int) []emulator.SeedImage {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	out := make([]emulator.SeedImage, n)
	for i := range out {
		out[i] = emulator.SeedImage{Image: ecsapi.Image{
			ImageID:      fmt.Sprintf("%s%03d", prefix, i),
			Name:         fmt.Sprintf("%s-%03d", family, i),
			Family:       family,
			Status:       ecsapi.StatusAvailable,
			CreationTime: base.Add(time.Duration(i) * time.Hour),
			BootMode:     "UEFI",
			NvmeSupport:  "supported",
			ImdsSupport:  "v2",
		}}
	}
	return out
}

// intentJSON encodes an intent given as a map.
func intentJSON(t testing.TB, v map[string]any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
