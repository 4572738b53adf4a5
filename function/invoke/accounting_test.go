package invoke_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/emulator"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/report"
	"github.com/ecs-image-lifecycle/image-lifecycle/internal/testenv"
	"github.com/ecs-image-lifecycle/image-lifecycle/internal/testenv/reportcheck"
	"github.com/ecs-image-lifecycle/image-lifecycle/tests/mnsfake"
)

// kind is what a message of the property test is built to run into.
type kind int

const (
	kindValid     kind = iota // a real change or an already converged one
	kindInvalid               // rejected by the intent rules
	kindTransient             // the image stays Creating past the call's attempts
	kindDryRun                // plan only
	kindCount
)

func (k kind) String() string {
	return [...]string{"valid", "invalid", "transient", "dry-run"}[k]
}

// poolMessage builds one message of kind k; r picks among the variants.
func poolMessage(r *rand.Rand, k kind) string {
	valid := []string{apiNov02, apiShared, apiNov24, webNov06, webNov20, baseNew}
	switch k {
	case kindValid:
		img := valid[r.IntN(len(valid))]
		// Two descriptions per image: a batch may set one twice (unchanged) or flip it.
		return fmt.Sprintf(`{"action":"modify","imageId":%q,"attributes":{"description":"text %d"}}`, img, r.IntN(2))
	case kindInvalid:
		return [...]string{
			`{"action":"retire","imageId":"` + apiNov02 + `"}`,
			`{"action":"modify","imageId":"` + apiNov02 + `","ImageName":"x"}`,
			`not json at all`,
			`{"action":"rotate","imageFamily":"web","minAge":"soon"}`,
		}[r.IntN(4)]
	case kindTransient:
		return stuckModify
	default:
		img := valid[r.IntN(len(valid))]
		return fmt.Sprintf(`{"action":"deprecate","imageId":%q,"dryRun":true}`, img)
	}
}

// TestAccountingProperty runs random batches built from a pool of valid,
// invalid, transient, dry-run and duplicate messages, under every queue
// configuration (none, retry only, DLQ only, both, and either one down), and
// checks on every batch: received == sum(counts) == len(messages); every
// message id appears exactly once; each message ends in the outcome its kind
// and the configuration allow (in particular, with a working retry queue no
// message fails); failed > 0 exactly when Handle returns *FailedError.
func TestAccountingProperty(t *testing.T) {
	t.Parallel()
	type queues struct {
		retry, dlq, retryDown, dlqDown bool
	}
	configs := []queues{
		{}, {retry: true}, {dlq: true}, {retry: true, dlq: true},
		{retry: true, dlq: true, retryDown: true}, {retry: true, dlq: true, dlqDown: true},
	}
	const batchesPerConfig = 8
	for ci, q := range configs {
		t.Run(fmt.Sprintf("retry=%v,dlq=%v,retryDown=%v,dlqDown=%v", q.retry, q.dlq, q.retryDown, q.dlqDown), func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(2026, uint64(ci)))
			emu := testenv.StartEmulator(t, emulator.Options{Seed: testenv.DemoSeed(t)})
			mns := testenv.StartMNS(t, mnsfake.Options{}, retryQueue, deadQueue)
			mns.SetDown(retryQueue, q.retryDown)
			mns.SetDown(deadQueue, q.dlqDown)
			h := newHandler(t, emu, setup{mns: mns, retry: q.retry, dlq: q.dlq, callAttempts: 3, concurrency: 4})
			// What the random batches covered, so that the property is not checked on nothing.
			covered := map[string]int{}
			for b := range batchesPerConfig {
				n := 1 + r.IntN(14)
				var batch []testenv.MNSMessage
				kinds := map[string]kind{}
				for i := range n {
					id := fmt.Sprintf("b%d-m%d", b, i)
					if i > 0 && r.IntN(5) == 0 {
						// A duplicate: MNS delivered the same body twice under new ids.
						prev := batch[r.IntN(len(batch))]
						batch = append(batch, testenv.MNSMessage{ID: id, Body: prev.Body})
						kinds[id] = kinds[prev.ID]
						covered["duplicate"]++
						continue
					}
					k := kind(r.IntN(int(kindCount)))
					batch = append(batch, testenv.MNSMessage{ID: id, Body: poolMessage(r, k)})
					kinds[id] = k
					covered[k.String()]++
				}
				ids := make([]string, len(batch))
				for i, m := range batch {
					ids[i] = m.ID
				}
				rep, err := handle(t, h, 20*time.Second, testenv.MNSBatch(t, batch...))
				reportcheck.Accounting(t, rep, err, ids)
				for _, m := range rep.Messages {
					allowed := allowedOutcomes(kinds[m.ID], q.retry, q.dlq, q.retryDown, q.dlqDown)
					if !allowed[m.Outcome] {
						t.Errorf("batch %d: %s message %s ended %s (%s %s), allowed %v",
							b, kinds[m.ID], m.ID, m.Outcome, m.Code, m.Error, allowed)
					}
					if q.retry && !q.retryDown && m.Outcome == report.Failed && kinds[m.ID] == kindTransient {
						t.Errorf("batch %d: transient message %s failed with a working retry queue", b, m.ID)
					}
				}
			}
			for _, k := range []string{"valid", "invalid", "transient", "dry-run", "duplicate"} {
				if covered[k] == 0 {
					t.Errorf("no %s message in %d batches: change the seed", k, batchesPerConfig)
				}
			}
			checkFloor(t, emu.Images(), 1)
		})
	}
}

// allowedOutcomes is what a message of kind k may end in under a configuration.
func allowedOutcomes(k kind, retry, dlq, retryDown, dlqDown bool) map[report.Outcome]bool {
	one := func(o report.Outcome) map[report.Outcome]bool { return map[report.Outcome]bool{o: true} }
	switch k {
	case kindValid:
		return map[report.Outcome]bool{report.Applied: true, report.Unchanged: true}
	case kindDryRun:
		return one(report.Planned)
	case kindInvalid:
		switch {
		case !dlq:
			return one(report.Rejected)
		case dlqDown:
			return one(report.Failed)
		default:
			return one(report.DeadLettered)
		}
	default: // transient
		switch {
		case !retry || retryDown:
			return one(report.Failed)
		default:
			return one(report.Deferred)
		}
	}
}
