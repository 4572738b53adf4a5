package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/config"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/credential"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/emulator"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/invoke"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/lifecycle"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/queue"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/report"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/retry"
	"github.com/ecs-image-lifecycle/image-lifecycle/tests/mnsfake"
)

// creatingFor is how long the promoted image stays Creating, on the fake clock.
const creatingFor = 10 * time.Minute

// fcTimeout is s.yaml's function timeout: each invocation's deadline.
const fcTimeout = 300 * time.Second

// fakeClock is the handler's one clock (retry.Clock): Sleep moves it on at
// once and tells advanced how far it has got, so the image can progress.
type fakeClock struct {
	mu       sync.Mutex
	start    time.Time
	now      time.Time
	advanced func(elapsed time.Duration)
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	c.now = c.now.Add(d)
	elapsed := c.now.Sub(c.start)
	c.mu.Unlock()
	c.advanced(elapsed)
	return nil
}

// skip moves the clock on without a sleep of the handler's: the time a
// deferred message spends in the queue.
func (c *fakeClock) skip(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	elapsed := c.now.Sub(c.start)
	c.mu.Unlock()
	c.advanced(elapsed)
}

// waitRun is how a promote of an image that stays Creating for creatingFor went.
type waitRun struct {
	reads, calls, invocations int
	minGap                    time.Duration // shortest time between two reads of the image, fake time
	real                      time.Duration
}

// imageReads is the ECS API with the fake time of every DescribeImages that
// asks for one image by id recorded: when the waiting promote read it.
type imageReads struct {
	ecsapi.API
	id    string
	clock *fakeClock
	mu    *sync.Mutex
	at    *[]time.Time
}

func (r imageReads) DescribeImages(ctx context.Context, in ecsapi.DescribeImagesInput) (ecsapi.ImagePage, error) {
	if slices.Contains(in.ImageIDs, r.id) {
		r.mu.Lock()
		*r.at = append(*r.at, r.clock.Now())
		r.mu.Unlock()
	}
	return r.API.DescribeImages(ctx, in)
}

// shortestGap is the shortest time between two of the times at, in order;
// max when there are fewer than two.
func shortestGap(at []time.Time, max time.Duration) time.Duration {
	gap := max
	for i := 1; i < len(at); i++ {
		gap = min(gap, at[i].Sub(at[i-1]))
	}
	return gap
}

// runWaiting promotes an image that stays Creating for creatingFor (fake
// time; its progress climbs linearly), through the production handler with
// the real SDK against the emulator, each invocation with s.yaml's timeout.
// A deferred message comes back after its delay, as through RETRY_QUEUE.
func runWaiting() (waitRun, error) {
	fam := family("wait", "wait", 4, ecsapi.StatusAvailable)
	fam[3].Status, fam[3].Progress = ecsapi.StatusCreating, 0
	newID := fam[3].ImageID
	e, err := startECS(&emulator.Seed{Images: fam})
	if err != nil {
		return waitRun{}, err
	}
	defer e.close()
	mns, err := mnsfake.Start(mnsfake.Options{})
	if err != nil {
		return waitRun{}, err
	}
	defer mns.Close()
	const retryQueue = "bench-retry"
	mns.CreateQueue(retryQueue)

	clk := &fakeClock{start: time.Now()}
	clk.now = clk.start
	clk.advanced = func(elapsed time.Duration) {
		img, _ := e.srv.Image(newID)
		if img.Status != ecsapi.StatusCreating {
			return
		}
		if elapsed >= creatingFor {
			_ = e.srv.SetStatus(newID, ecsapi.StatusAvailable)
			return
		}
		img.Progress = int(100 * elapsed / creatingFor)
		_ = e.srv.PutImage(emulator.SeedImage{Image: img})
	}
	h, err := waitingHandler(e.url(), mns.Endpoint(), retryQueue, clk)
	if err != nil {
		return waitRun{}, err
	}
	var mu sync.Mutex
	var readAt []time.Time
	newAPI := h.NewAPI
	h.NewAPI = func(c *credential.Credentials) (ecsapi.API, error) {
		api, err := newAPI(c)
		return imageReads{API: api, id: newID, clock: clk, mu: &mu, at: &readAt}, err
	}
	body := fmt.Sprintf(`{"action":"promote","imageId":%q,"keep":2,"attributes":{"description":"released"}}`, newID)
	start := time.Now()
	r := waitRun{}
	for r.invocations < 20 {
		r.invocations++
		ctx, cancel := context.WithDeadline(context.Background(), clk.Now().Add(fcTimeout))
		rep, err := h.Handle(ctx, invoke.Env{RequestID: fmt.Sprintf("wait-%d", r.invocations)}, mnsBatch([]string{body}))
		cancel()
		if err != nil {
			return r, err
		}
		m := rep.Messages[0]
		if m.Outcome == report.Applied {
			break
		}
		if m.Outcome != report.Deferred {
			return r, fmt.Errorf("invocation %d: %s %s (%s), want deferred or applied", r.invocations, m.Outcome, m.Code, m.Error)
		}
		delay, err := time.ParseDuration(m.RetryDelay)
		if err != nil {
			return r, fmt.Errorf("retry delay %q: %w", m.RetryDelay, err)
		}
		clk.skip(delay)
		msgs := mns.Messages(retryQueue)
		body = msgs[len(msgs)-1].Body
	}
	r.real = time.Since(start)
	t := count(e.probe.requests())
	r.reads, r.calls = t.byAction["DescribeImages"], t.total
	mu.Lock()
	r.minGap = shortestGap(readAt, creatingFor)
	mu.Unlock()
	return r, nil
}

// waitingHandler is the production handler (function/wire.go's settings
// at their defaults) on the fake clock, with RETRY_QUEUE on the MNS fake.
func waitingHandler(ecsURL, mnsURL, retryQueue string, clk *fakeClock) (*invoke.Handler, error) {
	cfg := config.Defaults()
	q, err := queue.New(queue.Config{Endpoint: mnsURL, RetryQueue: retryQueue, MaxMessageAge: cfg.MaxMessageAge,
		MaxAttempts: cfg.MaxAttempts, Credentials: &credential.Credentials{AccessKeyID: "mns", AccessKeySecret: "mns"}})
	if err != nil {
		return nil, err
	}
	return &invoke.Handler{
		Region: cfg.Region, Concurrency: cfg.Concurrency, MaxPayloadBytes: cfg.MaxPayloadBytes,
		Guards: lifecycle.Guards{FamilyFloor: cfg.FamilyFloor, ExcludeTag: cfg.ExcludeTag, ProtectInUseBootMode: true},
		NewAPI: func(*credential.Credentials) (ecsapi.API, error) {
			return ecsapi.New(ecsapi.Config{Region: cfg.Region, Endpoint: ecsURL,
				Credentials: &credential.Credentials{AccessKeyID: emulator.DefaultKey, AccessKeySecret: emulator.DefaultKey}})
		},
		Limiter: retry.NewLimiter(cfg.RateLimit),
		Policy:  retry.DefaultPolicy(),
		Queue:   q,
		Clock:   clk,
		Now:     clk.Now,
		Log:     slog.New(slog.NewJSONHandler(io.Discard, nil)),
	}, nil
}

// measureWaiting adds the rows of section 6.
func (s *suite) measureWaiting() error {
	var rs []waitRun
	for range s.runs {
		r, err := runWaiting()
		if err != nil {
			return err
		}
		rs = append(rs, r)
	}
	reads := medianOf(rs, func(r waitRun) float64 { return float64(r.reads) })
	r := rs[0]
	// No busy waiting: never two reads of the image closer than the
	// backoff's floor, so never more reads than the wait holds floors, plus
	// one per invocation. (The pacer's sleeps between other calls, 1/16 s at
	// ECS_RATE_LIMIT=16, are not waits for the image.)
	floor := lifecycle.DefaultCreatingBackoff(100)
	bound := float64(creatingFor/floor) + float64(r.invocations)
	s.add("6 waiting", "promote of an image Creating for 10 min: DescribeImages", fmt.Sprintf("%.0f reads", reads),
		fmt.Sprintf("<= %.0f, reads >= %v apart", bound, floor), reads <= bound && r.minGap >= floor, fmt.Sprintf("fake clock, s.yaml timeout %v per invocation, deferred through RETRY_QUEUE between them: %d invocations, %d ECS calls in all, "+
			"shortest time between two reads of the image %v (fake), %.2f s of real time (no busy waiting); progress climbs 0 -> 100%% linearly",
			fcTimeout, r.invocations, r.calls, r.minGap, medianOf(rs, func(r waitRun) float64 { return r.real.Seconds() })))
	return nil
}
