package e2e

import (
	"testing"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/report"
)

// unlimited lifts the function's own ECS rate limit as far as it goes.
const unlimited = "ECS_RATE_LIMIT=1000" // the most config.FromEnv accepts

// BenchmarkInvokeGo1 is one small invocation through the whole go1 path: the
// runtime API fake, fc-runtime-go-sdk, trigger decoding, the batch read, the
// plan (a floor-refused deprecate: two ECS reads, no write, so every
// iteration sees the same state) and the report back. ECS_RATE_LIMIT is
// raised: at the default 16 calls/s per API the two DescribeImages of each
// invocation would make this a benchmark of the limiter (125 ms/op); at 1000/s a call waits at most 1 ms.
func BenchmarkInvokeGo1(b *testing.B) {
	w := newWorld(b, worldOptions{})
	door := startGo1(b, w, unlimited)
	payload := sample(b, "05-deprecate.json")
	for b.Loop() {
		r := door.invoke(b, call{payload: payload})
		if r.isError || r.report.Received != 1 || r.report.Messages[0].Outcome != report.Unchanged {
			b.Fatalf("unexpected result: %s", r.raw)
		}
	}
}

// BenchmarkInvokeServe is the same invocation through the custom runtime's
// HTTP front door.
func BenchmarkInvokeServe(b *testing.B) {
	w := newWorld(b, worldOptions{})
	addr := freeAddr(b)
	door := startServe(b, serveCommand(w, addr, unlimited), addr)
	payload := sample(b, "05-deprecate.json")
	for b.Loop() {
		r := door.invoke(b, call{payload: payload})
		if r.isError || r.report.Received != 1 || r.report.Messages[0].Outcome != report.Unchanged {
			b.Fatalf("unexpected result: %s", r.raw)
		}
	}
}
