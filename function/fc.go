package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aliyun/fc-runtime-go-sdk/fc"
	"github.com/aliyun/fc-runtime-go-sdk/fccontext"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/credential"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/invoke"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/report"
)

// runFC serves go1 invocations until the platform stops the instance.
func runFC() int {
	cfg, ok := loadConfig(os.Stderr)
	if !ok {
		return exitUsage
	}
	h, err := newHandler(cfg, newLogger(os.Stdout, cfg.LogLevel))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return exitUsage
	}
	// A payload over MAX_PAYLOAD_BYTES is refused before the SDK reads it
	// (fcpayload.go): reading it is what would exhaust the instance's memory.
	guard := installPayloadGuard(h.MaxPayloadBytes)
	// The handler takes the raw payload ([]byte), since the trigger shapes
	// differ, and returns the report as a struct: the SDK would base64 a []byte.
	fc.Start(func(ctx context.Context, payload []byte) (*report.Report, error) {
		env := fcEnv(ctx)
		if r, ok := guard.take(env.RequestID); ok {
			return h.RefuseUnread(ctx, env, r.size, r.head)
		}
		return h.Handle(ctx, env, payload)
	})
	return exitOK
}

// fcEnv takes the invocation's STS credentials and region from the FC context.
// The credentials are set even when FC sent none (a function without a role):
// under FC they are the only ones, and the environment's keys, set once when
// the instance started, are not refreshed when FC rotates the role's.
func fcEnv(ctx context.Context) invoke.Env {
	env := invoke.Env{Credentials: &credential.Credentials{}}
	fctx, ok := fccontext.FromContext(ctx)
	if !ok {
		return env
	}
	env.RequestID, env.Region = fctx.RequestID, fctx.Region
	c := fctx.Credentials
	env.Credentials = &credential.Credentials{AccessKeyID: c.AccessKeyId, AccessKeySecret: c.AccessKeySecret, SecurityToken: c.SecurityToken}
	return env
}
