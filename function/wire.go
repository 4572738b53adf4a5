package main

import (
	"log/slog"
	"net/http"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/config"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/credential"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/invoke"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/lifecycle"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/queue"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/retry"
)

// The wiring: the one place that hands the configuration to the packages
// that act on it. cfg is config.FromEnv's (or config.Defaults, edited by the
// demo), so every value is already defaulted and checked; nothing here, and
// nothing it calls, defaults or checks a setting again.

// newHandler builds the production handler: the SDK-backed ECS client at the
// configured endpoint, signed with each invocation's credentials (the default
// chain when a front door has none), MNS when a queue is configured, and the
// default retry policy.
func newHandler(cfg config.Config, log *slog.Logger) (*invoke.Handler, error) {
	h := handlerFor(cfg, log)
	pool := ecsTransport(cfg)
	h.NewAPI = func(creds *credential.Credentials) (ecsapi.API, error) {
		return ecsapi.New(ecsapi.Config{Region: cfg.Region, Endpoint: cfg.ECSEndpoint, Credentials: creds, Transport: pool})
	}
	if cfg.RetryQueue != "" || cfg.DeadLetterQueue != "" {
		q, err := queue.New(queue.Config{
			Endpoint:        cfg.MNSEndpoint,
			RetryQueue:      cfg.RetryQueue,
			DeadLetterQueue: cfg.DeadLetterQueue,
			MaxMessageAge:   cfg.MaxMessageAge,
			MaxAttempts:     cfg.MaxAttempts,
		})
		if err != nil {
			return nil, err
		}
		h.Queue = q
	}
	return h, nil
}

// handlerFor is the handler's share of cfg, without an ECS client or queues
// (the demo brings its own ECS client).
func handlerFor(cfg config.Config, log *slog.Logger) *invoke.Handler {
	return &invoke.Handler{
		Region:          cfg.Region,
		Guards:          guards(cfg),
		Concurrency:     cfg.Concurrency,
		MaxPayloadBytes: cfg.MaxPayloadBytes,
		// One limiter for the process: ECS counts its quota per API and
		// account, whatever invocation a call belongs to. None (nil) when
		// ECS_RATE_LIMIT=off (RateLimit 0).
		Limiter:         retry.NewLimiter(cfg.RateLimit),
		Policy:          retry.DefaultPolicy(),
		LifecyclePolicy: cfg.Policy,
		Log:             log,
	}
}

// ecsTransport is the process's one connection pool to ECS, which the client
// of every invocation shares: a connection for each message worked at once
// (BATCH_CONCURRENCY), kept alive between calls and invocations, and two more
// for the batch's prefetch and an invocation that overlaps the last one's end.
func ecsTransport(cfg config.Config) *http.Transport {
	return ecsapi.NewTransport(cfg.Concurrency+2, 0)
}

// guards are the lifecycle's guards as cfg sets them. ProtectInUseBootMode
// is not a setting: a boot mode change under running instances is refused
// always.
func guards(cfg config.Config) lifecycle.Guards {
	return lifecycle.Guards{
		FamilyFloor:            cfg.FamilyFloor,
		UnshareBeforeDeprecate: cfg.UnshareBeforeDeprecate,
		ExcludeTag:             cfg.ExcludeTag,
		AllowedRegions:         cfg.AllowedRegions,
		AllowedFamilies:        cfg.AllowedFamilies,
		ProtectInUseBootMode:   true,
	}
}
