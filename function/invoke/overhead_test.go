package invoke_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/config"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/intent"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/lifecycle"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/trigger"
	"github.com/ecs-image-lifecycle/image-lifecycle/internal/testenv"
)

// memECS answers DescribeImages by ids from memory: the ECS of a benchmark
// that measures the function's own work. Nothing else is called by a plan of
// modify intents on Deprecated images that no instance uses.
type memECS struct {
	ecsapi.API
	images map[string]ecsapi.Image
}

func (m memECS) DescribeImages(_ context.Context, in ecsapi.DescribeImagesInput) (ecsapi.ImagePage, error) {
	if len(in.ImageIDs) == 0 {
		return ecsapi.ImagePage{}, errors.New("memECS reads images by id only")
	}
	page := ecsapi.ImagePage{Images: make([]ecsapi.Image, 0, len(in.ImageIDs))}
	for _, id := range in.ImageIDs {
		if img, ok := m.images[id]; ok {
			page.Images = append(page.Images, img)
		}
	}
	page.TotalCount = len(page.Images)
	return page, nil
}

// overheadBatch is an MNS batch of n modify intents that each set every
// attribute, and the images they change (Deprecated, BIOS, no NVMe, IMDSv1,
// used by no instance: every attribute differs, and no guard reads more).
func overheadBatch(b *testing.B, n int) ([]byte, memECS) {
	mem := memECS{images: map[string]ecsapi.Image{}}
	msgs := make([]testenv.MNSMessage, n)
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range msgs {
		id := fmt.Sprintf("m-over%04d", i)
		mem.images[id] = ecsapi.Image{ImageID: id, RegionID: "cn-hangzhou", Name: "over-" + id[2:], Family: "over",
			Status: ecsapi.StatusDeprecated, CreationTime: created, OwnerAlias: "self", BootMode: "BIOS",
			NvmeSupport: "unsupported", ImdsSupport: "v1", Usage: "none", SelfShared: ecsapi.SharingNone}
		msgs[i] = testenv.MNSMessage{ID: fmt.Sprintf("msg-%04d", i), Body: fmt.Sprintf(`{"action":"modify","imageId":%q,`+
			`"attributes":{"imageName":"new-%d","description":"a new description","imageFamily":"moved","bootMode":"UEFI",`+
			`"licenseType":"BYOL","status":"Available","features":{"nvmeSupport":"supported","imdsSupport":"v2"}}}`, id, i)}
	}
	return testenv.MNSBatch(b, msgs...), mem
}

// BenchmarkMessageOverhead is the function's own work per message: decode
// the trigger payload (an MNS batch of 100), parse and validate each intent,
// and plan it, with ECS an in-memory map (one prefetch call per batch). The
// intent is a modify that sets every attribute. ns/msg and allocs/msg are
// per message; the target is 20 µs and 40 allocations.
//
//	go test ./function/invoke -run '^$' -bench MessageOverhead -benchmem -count 6
func BenchmarkMessageOverhead(b *testing.B) {
	const n = 100
	payload, mem := overheadBatch(b, n)
	ctx := context.Background()
	guards := defaultGuards(config.Defaults())
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		msgs := trigger.Decode(payload)
		ins := make([]intent.Intent, 0, len(msgs))
		for _, m := range msgs {
			in, err := intent.Parse(m.Body)
			if err != nil {
				b.Fatal(err)
			}
			ins = append(ins, in)
		}
		e := lifecycle.NewEngine(mem, guards, "cn-hangzhou")
		if err := e.Prefetch(ctx, ins); err != nil {
			b.Fatal(err)
		}
		for _, in := range ins {
			p, err := e.Plan(ctx, in)
			if err != nil || len(p.Steps) != 1 || len(p.Steps[0].Changes) != 8 {
				b.Fatalf("plan %+v, err %v: want one step of 8 changes", p, err)
			}
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	msgs := float64(b.N * n)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/msgs, "ns/msg")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/msgs, "allocs/msg")
}
