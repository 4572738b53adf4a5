package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"slices"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/config"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/credential"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/invoke"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/lifecycle"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/report"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/retry"
)

// overheadBatch is how many messages one benchmarked invocation carries.
const overheadBatch = 100

// memECS is ECS in memory, as cheap as it can be: the per-message overhead
// measured through it is the function's own. Writes succeed and change
// nothing, so every iteration plans the same changes.
type memECS struct {
	images map[string]ecsapi.Image
	calls  atomic.Int64 // every call, to tell calls per message
}

func (m *memECS) DescribeImages(_ context.Context, in ecsapi.DescribeImagesInput) (ecsapi.ImagePage, error) {
	m.calls.Add(1)
	var out []ecsapi.Image
	match := func(img ecsapi.Image) bool {
		return (len(in.Statuses) == 0 || slices.Contains(in.Statuses, img.Status)) && (in.Family == "" || img.Family == in.Family)
	}
	if len(in.ImageIDs) > 0 {
		for _, id := range in.ImageIDs {
			if img, ok := m.images[id]; ok && match(img) {
				out = append(out, img)
			}
		}
	} else {
		for _, img := range m.images {
			if match(img) {
				out = append(out, img)
			}
		}
	}
	return ecsapi.ImagePage{Images: out, TotalCount: len(out), PageNumber: 1, PageSize: max(in.PageSize, 10), RequestID: "mem"}, nil
}

func (m *memECS) ModifyImageAttribute(context.Context, ecsapi.ModifyInput) (string, error) {
	m.calls.Add(1)
	return "mem", nil
}

func (m *memECS) DescribeImageSharePermission(context.Context, string, string) ([]string, error) {
	m.calls.Add(1)
	return nil, nil
}

func (m *memECS) RemoveImageShares(context.Context, string, string, []string) error {
	m.calls.Add(1)
	return nil
}

func (m *memECS) CountInstancesUsingImage(context.Context, string, string) (int, error) {
	m.calls.Add(1)
	return 0, nil
}

// overheadSetup is a production handler (defaults of config, JSON log lines
// as FC gets them, discarded) over memECS, and a batch of modify intents
// that set every attribute of its images.
func overheadSetup(dryRun bool) (*invoke.Handler, *memECS, []byte) {
	cfg := config.Defaults()
	mem := &memECS{images: map[string]ecsapi.Image{}}
	intents := make([]string, overheadBatch)
	for i := range intents {
		id := fmt.Sprintf("m-over%05d", i)
		mem.images[id] = ecsapi.Image{ImageID: id, RegionID: cfg.Region, Name: "old-name", Description: "old description",
			Family: "old", Status: ecsapi.StatusDeprecated, Progress: 100, OwnerAlias: "self",
			CreationTime: time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC), BootMode: "BIOS", NvmeSupport: "unsupported", ImdsSupport: "v1", Usage: "none"}
		intents[i] = fmt.Sprintf(`{"action":"modify","id":"over-%d","imageId":%q,"dryRun":%t,"attributes":{"imageName":"new-name-%d",`+
			`"description":"a new description","imageFamily":"new","bootMode":"UEFI","licenseType":"BYOL","status":"Available",`+
			`"features":{"nvmeSupport":"supported","imdsSupport":"v2"}}}`, i, id, dryRun, i)
	}
	h := &invoke.Handler{
		Region: cfg.Region,
		Guards: lifecycle.Guards{FamilyFloor: cfg.FamilyFloor, ExcludeTag: cfg.ExcludeTag, ProtectInUseBootMode: true},
		// No limiter: this measures CPU and allocations, not the quota.
		Concurrency: cfg.Concurrency, MaxPayloadBytes: cfg.MaxPayloadBytes,
		NewAPI: func(*credential.Credentials) (ecsapi.API, error) { return mem, nil },
		Policy: retry.DefaultPolicy(),
		Log:    slog.New(slog.NewJSONHandler(io.Discard, nil)),
	}
	return h, mem, mnsBatch(intents)
}

// benchOverhead is one invocation of overheadBatch messages per iteration:
// trigger decoding, intent parsing and validation, planning (and, unless
// dryRun, the writes to memECS), the report. It reports ns and allocations
// per message, and the calls to memECS per message.
func benchOverhead(b *testing.B, dryRun bool) {
	h, mem, payload := overheadSetup(dryRun)
	want := report.Applied
	if dryRun {
		want = report.Planned
	}
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		rep, err := h.Handle(ctx, invoke.Env{RequestID: "bench"}, payload)
		cancel()
		if err != nil || rep.Counts[want] != overheadBatch {
			b.Fatalf("counts %v, err %v: want %d %s", rep.Counts, err, overheadBatch, want)
		}
	}
	b.StopTimer()
	// CPU time tells the function's cost apart from other work on the
	// machine, which the wall time per op cannot.
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N)/overheadBatch, "cpu-ns/msg")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/overheadBatch, "ns/msg")
	b.ReportMetric(float64(mem.calls.Load())/float64(b.N)/overheadBatch, "ecs-calls/msg")
}

// measureOverhead runs the benchmark runs times in this process
// (testing.Benchmark; `go test -bench Overhead ./tests/bench` runs the same).
func (s *suite) measureOverhead() error {
	for _, dry := range []bool{true, false} {
		var ns, cpu, allocs, bytes, calls []float64
		for range s.runs {
			r := testing.Benchmark(func(b *testing.B) { benchOverhead(b, dry) })
			if r.N == 0 {
				return fmt.Errorf("the overhead benchmark failed (dryRun %t)", dry)
			}
			ns = append(ns, float64(r.NsPerOp())/overheadBatch)
			cpu = append(cpu, r.Extra["cpu-ns/msg"])
			allocs = append(allocs, float64(r.AllocsPerOp())/overheadBatch)
			bytes = append(bytes, float64(r.AllocedBytesPerOp())/overheadBatch)
			calls = append(calls, r.Extra["ecs-calls/msg"])
		}
		n, c, a := median(ns), median(cpu), median(allocs)
		today := fmt.Sprintf("%.1f us CPU, %.0f allocs", c/1000, a)
		detail := fmt.Sprintf("%.1f us wall (%d-message MNS batch per op at BATCH_CONCURRENCY 8 on %d CPUs), %.0f B/msg, %.2f calls to the in-memory ECS per message; "+
			"JSON logs discarded, no limiter; runs, us CPU: %v, us wall: %v", n/1000, overheadBatch, runtime.NumCPU(), median(bytes), median(calls),
			roundAll(cpu, 1000), roundAll(ns, 1000))
		if dry {
			s.add("5 per-message", "modify setting every attribute: decode, validate, plan (dryRun)", today, "<= 20 us, <= 40 allocs",
				c <= 20000 && a <= 40, detail)
			continue
		}
		s.info("5 per-message", "the same applied: + writes to the in-memory ECS", today,
			detail+"; every message also lists its family (as in section 1, modify every attribute): here 100 images")
	}
	return nil
}

func roundAll(xs []float64, div float64) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = fmt.Sprintf("%.1f", x/div)
	}
	return out
}

// cpuTime is the CPU time (user and system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
