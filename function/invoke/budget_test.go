package invoke_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/emulator"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/lifecycle"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/report"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/retry"
	"github.com/ecs-image-lifecycle/image-lifecycle/internal/testenv"
	"github.com/ecs-image-lifecycle/image-lifecycle/internal/testenv/reportcheck"
	"github.com/ecs-image-lifecycle/image-lifecycle/tests/mnsfake"
)

// promoteBuilding promotes the demo seed's web build, which is Creating at 40%.
const promoteBuilding = `{"action":"promote","id":"build-412","imageId":"` + webBuilding + `","keep":2,` +
	`"attributes":{"imageName":"web-2026-11-27","imageFamily":"web"}}`

// A promote waits for its Creating image; the read it makes while waiting
// hangs (a slow machine, a slow service) until the budget's Calls line cuts
// it. The message is still deferred with the code it was waiting on, in time:
// the deadline's split keeps the settling its share.
func TestSlowReadWhileWaitingDefersWithTheCreatingCode(t *testing.T) {
	t.Parallel()
	emu := stuckEmulator(t)
	mns := testenv.StartMNS(t, mnsfake.Options{}, retryQueue, deadQueue)
	h := newHandler(t, emu, setup{mns: mns, retry: true, dlq: true})
	h.Shares = retry.DefaultShares()
	h.CreatingBackoff = func(int) time.Duration { return 50 * time.Millisecond }
	var once sync.Once
	h.OnCreatingWait = func(lifecycle.CreatingWait) {
		// From the first check on, a read of the image answers after the invocation.
		once.Do(func() {
			emu.SetFaults("DescribeImages", emulator.Faults{FailNext: []string{emulator.FaultSlow}, SlowDelay: 10 * time.Second})
		})
	}
	const timeout = 2 * time.Second
	start := time.Now()
	rep, err := handle(t, h, timeout, testenv.MNSBatch(t, testenv.MNSMessage{ID: "build-1", Body: promoteBuilding}))
	reportcheck.Accounting(t, rep, err, []string{"build-1"})
	if took := time.Since(start); took > timeout {
		t.Errorf("Handle took %v, past the %v deadline", took, timeout)
	}
	m := rep.Messages[0]
	if m.Outcome != report.Deferred || m.Code != "InvalidStatus.ImageIsCreating" {
		t.Fatalf("%s %s (%s), want deferred InvalidStatus.ImageIsCreating", m.Outcome, m.Code, m.Error)
	}
	if q := mns.Messages(retryQueue); len(q) != 1 || decodeRetry(t, q[0]).Retry.LastError != "InvalidStatus.ImageIsCreating" {
		t.Errorf("retry queue %v, want the deferral naming InvalidStatus.ImageIsCreating", q)
	}
	if n := emu.Calls("DescribeImages"); n != 2 {
		t.Errorf("DescribeImages %d, want 2 (the batch read, the read cut while waiting)", n)
	}
}

// stepClock is a fake clock whose Sleep moves time on at once.
type stepClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *stepClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	return nil
}

// The budget, the retries and the wait for a Creating image all run on the
// Handler's one Clock: with a fake one, a promote that waits on a build at
// 40% (18 s between reads) for a minute-long invocation waits in fake time,
// and gives up at the budget's Creating line, 8 s before the deadline.
func TestCreatingWaitRunsOnTheInjectedClock(t *testing.T) {
	t.Parallel()
	emu := stuckEmulator(t)
	mns := testenv.StartMNS(t, mnsfake.Options{}, retryQueue, deadQueue)
	h := newHandler(t, emu, setup{mns: mns, retry: true, dlq: true})
	h.Shares, h.CreatingBackoff = retry.DefaultShares(), nil // the real schedule: 18 s at 40%
	clk := &stepClock{now: time.Now()}
	h.Clock = clk
	var waits []lifecycle.CreatingWait
	h.OnCreatingWait = func(w lifecycle.CreatingWait) { waits = append(waits, w) }

	start := time.Now()
	rep, err := handle(t, h, time.Minute, testenv.MNSBatch(t, testenv.MNSMessage{ID: "build-1", Body: promoteBuilding}))
	reportcheck.Accounting(t, rep, err, []string{"build-1"})
	if m := rep.Messages[0]; m.Outcome != report.Deferred || m.Code != "InvalidStatus.ImageIsCreating" {
		t.Fatalf("%s %s (%s), want deferred InvalidStatus.ImageIsCreating", m.Outcome, m.Code, m.Error)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("Handle took %v of real time: the wait did not sleep on the injected clock", took)
	}
	if want := []time.Duration{18 * time.Second, 18 * time.Second}; !slices.Equal(clk.sleeps, want) {
		t.Errorf("slept %v on the fake clock, want %v", clk.sleeps, want)
	}
	if len(waits) != 3 || !waits[2].GivingUp {
		t.Fatalf("creating waits %+v, want two waits and a give-up", waits)
	}
	// The deadline is a minute from the real start; the Creating line 8 s before it.
	if gu := waits[0].GiveUpAt.Sub(start); gu < 51*time.Second || gu > 53*time.Second {
		t.Errorf("gives up %v after the start, want the Creating line 52 s in", gu)
	}
}

// One bad dependency cannot turn a batch into a retry storm: once the
// process's retry budget is spent, each transient failure is deferred at
// once, and the ECS calls stay at one per message plus the retries it paid for.
func TestRetryBudgetDefersInsteadOfRetrying(t *testing.T) {
	t.Parallel()
	emu := testenv.StartEmulator(t, emulator.Options{Seed: testenv.DemoSeed(t)})
	emu.SetFaults("ModifyImageAttribute", emulator.Faults{Unavailable: 1}) // every write answers 503
	mns := testenv.StartMNS(t, mnsfake.Options{}, retryQueue, deadQueue)
	h := newHandler(t, emu, setup{mns: mns, retry: true, dlq: true})
	h.Quota = retry.NewQuota(3 * retry.RetryCost) // three retries for the whole process
	var batch []testenv.MNSMessage
	var ids []string
	for i, img := range []string{apiNov02, apiShared, apiNov24, "m-bp1batch3c4d5e6f7g8", webNov20} {
		id := "modify-" + string(rune('a'+i))
		ids = append(ids, id)
		batch = append(batch, testenv.MNSMessage{ID: id, Body: `{"action":"modify","imageId":"` + img + `","attributes":{"description":"rebuilt"}}`})
	}
	rep, err := handle(t, h, 10*time.Second, testenv.MNSBatch(t, batch...))
	reportcheck.Accounting(t, rep, err, ids)
	for _, m := range rep.Messages {
		if m.Outcome != report.Deferred || m.Code != "ServiceUnavailable" {
			t.Errorf("%s: %s %s (%s), want deferred ServiceUnavailable", m.ID, m.Outcome, m.Code, m.Error)
		}
	}
	if n := emu.Calls("ModifyImageAttribute"); n != len(batch)+3 {
		t.Errorf("%d writes for %d messages, want one each plus the 3 retries of the budget", n, len(batch))
	}
	if got := h.Quota.Available(); got >= retry.RetryCost {
		t.Errorf("%d tokens left, want the budget spent", got)
	}
}
