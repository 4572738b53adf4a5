package invoke_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/emulator"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/report"
	"github.com/ecs-image-lifecycle/image-lifecycle/internal/testenv"
)

// BenchmarkHandle measures whole invocations through the real ECS SDK against
// the emulator on 127.0.0.1: one promote, one rotate of a family of 100
// images, and a batch of 100 modify intents. The state is reset before every
// iteration (outside the timer), so each one does the same real work.
// ecs-calls/op counts every DescribeImages and ModifyImageAttribute.
func BenchmarkHandle(b *testing.B) {
	promoteFamily := familySeed("promo", "m-promo", 5)
	bigFamily := familySeed("big", "m-big", 100)
	var modifies []testenv.MNSMessage
	for i := range 100 {
		modifies = append(modifies, testenv.MNSMessage{ID: fmt.Sprintf("mod-%03d", i),
			Body: fmt.Sprintf(`{"action":"modify","imageId":"m-big%03d","attributes":{"description":"benchmark %d","features":{"nvmeSupport":"unsupported"}}}`, i, i)})
	}
	cases := []struct {
		name    string
		seed    []emulator.SeedImage
		batch   []testenv.MNSMessage
		applied int
	}{
		// Rename and describe the newest, deprecate the two oldest (keep 2 plus it).
		{name: "promote", seed: promoteFamily, applied: 1, batch: []testenv.MNSMessage{{ID: "promote",
			Body: `{"action":"promote","imageId":"m-promo004","keep":2,"attributes":{"imageName":"promo-release","description":"released"}}`}}},
		// Keep the newest 2 of 100 Available images: 98 deprecations.
		{name: "rotate-100", seed: bigFamily, applied: 1, batch: []testenv.MNSMessage{{ID: "rotate",
			Body: `{"action":"rotate","imageFamily":"big","keep":2}`}}},
		{name: "modify-batch-100", seed: bigFamily, applied: 100, batch: modifies},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			emu := testenv.StartEmulator(b, emulator.Options{Seed: &emulator.Seed{Images: bc.seed}})
			h := newHandler(b, emu, setup{})
			payload := testenv.MNSBatch(b, bc.batch...)
			calls := 0
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				for _, img := range bc.seed {
					emu.PutImage(img)
				}
				emu.ResetCalls()
				b.StartTimer()
				rep, err := handle(b, h, time.Minute, payload)
				b.StopTimer()
				if err != nil || rep.Counts[report.Applied] != bc.applied {
					b.Fatalf("counts %v, err %v: want %d applied", rep.Counts, err, bc.applied)
				}
				calls += emu.Calls("DescribeImages") + emu.Calls("ModifyImageAttribute")
				b.StartTimer()
			}
			b.ReportMetric(float64(calls)/float64(b.N), "ecs-calls/op")
		})
	}
}
