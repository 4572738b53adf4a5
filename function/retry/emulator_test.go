package retry_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/emulator"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/retry"
	"github.com/ecs-image-lifecycle/image-lifecycle/internal/testenv"
	"github.com/ecs-image-lifecycle/image-lifecycle/internal/testenv/fakeclock"
)

// These tests run the retry layer over the real SDK client against the local
// ECS emulator, which checks signatures, nonces and STS tokens like the service.

// instantClock skips backoff waits but records them, so the waits are exact
// while the calls still cross the wire.
type instantClock struct {
	mu     sync.Mutex
	sleeps []time.Duration
}

func (c *instantClock) Now() time.Time { return time.Now() }

func (c *instantClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	return ctx.Err()
}

func startEmulator(t *testing.T, opts emulator.Options) *emulator.Server {
	t.Helper()
	if opts.Seed == nil {
		opts.Seed = &emulator.Seed{Region: "cn-hangzhou", Images: []emulator.SeedImage{
			{Image: ecsapi.Image{ImageID: "m-1", Name: "web-1", Family: "web", Status: ecsapi.StatusAvailable,
				Progress: 100, CreationTime: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}},
			{Image: ecsapi.Image{ImageID: "m-2", Name: "web-2", Family: "web", Status: ecsapi.StatusAvailable,
				Progress: 100, CreationTime: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)}},
		}}
	}
	return testenv.StartEmulator(t, opts)
}

func sdkClient(t *testing.T, s *emulator.Server, creds *ecsapi.Credentials) *ecsapi.Client {
	t.Helper()
	if creds == nil {
		creds = &ecsapi.Credentials{AccessKeyID: emulator.DefaultKey, AccessKeySecret: emulator.DefaultKey}
	}
	c, err := ecsapi.New(ecsapi.Config{Region: "cn-hangzhou", Endpoint: s.URL(), Credentials: creds})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// fast has short waits without jitter, on clk (nil: the real clock); the
// calls are bounded by their contexts alone.
func fast(clk retry.Clock) retry.Config {
	return retry.Config{
		Policy: retry.Policy{Base: 100 * time.Millisecond, Cap: time.Second, SlowBase: 400 * time.Millisecond,
			Rand: func() float64 { return 0 }},
		Budget: retry.Budget{Clock: clk},
	}
}

func TestEmulatorImageIsCreatingThenSuccess(t *testing.T) {
	t.Parallel()
	s := startEmulator(t, emulator.Options{})
	s.SetFaults("ModifyImageAttribute", emulator.Faults{FailNext: []string{
		"InvalidStatus.ImageIsCreating", "InvalidStatus.ImageIsCreating", "InvalidStatus.ImageIsCreating"}})
	clk := &instantClock{}
	api := retry.New(sdkClient(t, s, nil), fast(clk))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	id, err := api.ModifyImageAttribute(ctx, ecsapi.ModifyInput{ImageID: "m-1", Changes: ecsapi.Changes{Status: ecsapi.StatusDeprecated}})
	if err != nil || id == "" {
		t.Fatalf("= %q, %v; want success with a request id", id, err)
	}
	if n := s.Calls("ModifyImageAttribute"); n != 4 {
		t.Errorf("%d calls reached the emulator, want 4", n)
	}
	// Equal jitter with Rand 0 waits half of 400ms, 800ms, then the 1s cap.
	if want := []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 500 * time.Millisecond}; !slices.Equal(clk.sleeps, want) {
		t.Errorf("sleeps %v, want %v", clk.sleeps, want)
	}
	if img, _ := s.Image("m-1"); img.Status != ecsapi.StatusDeprecated {
		t.Errorf("image is %s, want Deprecated", img.Status)
	}

	// At-least-once delivery: the same intent again is already done.
	id, err = api.ModifyImageAttribute(ctx, ecsapi.ModifyInput{ImageID: "m-1", Changes: ecsapi.Changes{Status: ecsapi.StatusDeprecated}})
	if err != nil || id == "" {
		t.Errorf("deprecating again = %q, %v; want already-done success", id, err)
	}
}

func TestEmulatorCreatingImageBecomesModifiable(t *testing.T) {
	t.Parallel()
	s := startEmulator(t, emulator.Options{CreatingCalls: 2, Seed: &emulator.Seed{Images: []emulator.SeedImage{
		{Image: ecsapi.Image{ImageID: "m-new", Status: ecsapi.StatusCreating, Progress: 10}}}}})
	clk := &instantClock{}
	api := retry.New(sdkClient(t, s, nil), fast(clk))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := api.ModifyImageAttribute(ctx, ecsapi.ModifyInput{ImageID: "m-new", Changes: ecsapi.Changes{Name: "web-3", Family: "web"}})
	if err != nil {
		t.Fatalf("modify a Creating image: %v", err)
	}
	if n := s.Calls("ModifyImageAttribute"); n < 2 || len(clk.sleeps) != n-1 {
		t.Errorf("%d calls and sleeps %v; want retries while Creating", n, clk.sleeps)
	}
	if img, _ := s.Image("m-new"); img.Name != "web-3" || img.Family != "web" {
		t.Errorf("image = %+v", img)
	}
}

// burst fires n DescribeImages at once and counts the answers that were throttled.
func burst(t *testing.T, api ecsapi.API, n int) (throttled int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var (
		wg sync.WaitGroup
		mu sync.Mutex
	)
	for range n {
		wg.Go(func() {
			_, err := api.DescribeImages(ctx, ecsapi.DescribeImagesInput{OwnerAlias: "self"})
			if err == nil {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if ecsapi.Code(err) != "Throttling.User" {
				t.Errorf("unexpected error: %v", err)
			}
			throttled++
		})
	}
	wg.Wait()
	return throttled
}

func TestEmulatorThrottlingUnderBurst(t *testing.T) {
	t.Parallel()
	// The emulator allows 20 calls/s (burst 20). No retries here, so every
	// throttled answer shows.
	noRetry := fast(nil)
	noRetry.Policy.MaxAttempts = 1

	t.Run("limiter off", func(t *testing.T) {
		t.Parallel()
		// The emulator's clock stands still: its bucket holds its burst of 20
		// and never refills, however slowly a busy machine makes the calls.
		s := startEmulator(t, emulator.Options{Now: fakeclock.New(time.Now()).Now})
		s.SetFaults("DescribeImages", emulator.Faults{RateLimit: 20})
		if got := burst(t, retry.New(sdkClient(t, s, nil), noRetry), 100); got != 80 {
			t.Errorf("%d of 100 calls fired at once throttled, want 80: the bucket's burst is 20", got)
		}
	})
}

// sequential makes n DescribeImages calls one after the other through api,
// each retried until it passes, and returns how many answers were
// Throttling: every call past the n that passed.
func sequential(t *testing.T, s *emulator.Server, api ecsapi.API, n int) (throttled int) {
	t.Helper()
	for i := range n {
		if _, err := api.DescribeImages(context.Background(), ecsapi.DescribeImagesInput{OwnerAlias: "self"}); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	return s.Calls("DescribeImages") - n
}

// The limiter learns the quota from the service's Throttling answers: set to
// four times what the emulator allows (as when other instances share the
// quota), it slows down to it, and few of its calls are throttled (1 of 600);
// with no limiter, a third are (220), each costing a retry. The emulator and the retry layer share one fake clock,
// so each run is the same to the call: the counts are exact.
func TestEmulatorLimiterLearnsTheQuota(t *testing.T) {
	t.Parallel()
	const quota, calls = 50, 600
	run := func(lim *retry.Limiter) int {
		clk := fakeclock.New(time.Now())
		s := startEmulator(t, emulator.Options{Now: clk.Now})
		s.SetFaults("DescribeImages", emulator.Faults{RateLimit: quota})
		c := fast(clk)
		c.Policy.Base, c.Policy.Cap = 100*time.Millisecond, time.Second
		c.Limiter = lim
		return sequential(t, s, retry.New(sdkClient(t, s, nil), c), calls)
	}
	learning := run(retry.NewLimiter(4 * quota))
	off := run(nil)
	t.Logf("%d calls at %d/s: %d throttled answers with the limiter at 4x, %d without it", calls, quota, learning, off)
	if learning > calls/50 {
		t.Errorf("limiter at 4x the quota: %d throttled answers for %d calls, want at most 2%%", learning, calls)
	}
	if off < calls/4 || off < 10*learning {
		t.Errorf("no limiter: %d throttled answers for %d calls; the contrast is lost", off, calls)
	}
}

func TestEmulatorSecurityToken(t *testing.T) {
	t.Parallel()
	s := startEmulator(t, emulator.Options{SecurityToken: "sts-token/+="})
	tests := []struct {
		name     string
		token    string
		wantCode string
	}{
		{"right token", "sts-token/+=", ""},
		{"wrong token", "other-token", "InvalidSecurityToken.MismatchWithAccessKey"},
		{"no token", "", "InvalidSecurityToken.Malformed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			creds := &ecsapi.Credentials{AccessKeyID: emulator.DefaultKey, AccessKeySecret: emulator.DefaultKey, SecurityToken: tc.token}
			clk := &instantClock{}
			api := retry.New(sdkClient(t, s, creds), fast(clk))
			page, err := api.DescribeImages(context.Background(), ecsapi.DescribeImagesInput{OwnerAlias: "self"})
			if tc.wantCode == "" {
				if err != nil || page.TotalCount != 2 {
					t.Fatalf("= %+v, %v; want both images", page, err)
				}
				return
			}
			var e *ecsapi.Error
			if !errors.As(err, &e) || e.Code != tc.wantCode || e.HTTPStatus != 400 {
				t.Fatalf("err = %v, want %s", err, tc.wantCode)
			}
			if retry.Classify(err) != retry.Credential || retry.Attempts(err) != 1 || len(clk.sleeps) != 0 {
				t.Errorf("class %v, attempts %d: a refused token must not be retried", retry.Classify(err), retry.Attempts(err))
			}
		})
	}
}
