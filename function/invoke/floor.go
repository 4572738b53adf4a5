package invoke

import (
	"errors"
	"fmt"
	"runtime/debug"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/lifecycle"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/report"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/trigger"
)

// restoreFloors is the batch's one read after its writes
// (lifecycle.Engine.RestoreFloors), made once every message's writes are
// done: a batch of 100 deprecations in 10 families reads what is left of them
// in one call, where each message would have read its family after its own
// write. What it re-activates to restore a family's floor shows in the
// message that deprecated the image. A message that had worked and whose
// families could not be read is settled on that error as a failed run would
// be; one that had already failed keeps its outcome (it comes back anyway).
func (h *Handler) restoreFloors(inv *invocation, msgs []trigger.Message, parsed []parsedMessage, out []report.Message, runs []*lifecycle.Result) {
	errs := h.floorErrors(inv, runs)
	for i, res := range runs {
		if res == nil {
			continue
		}
		in := parsed[i].in
		describeResult(&out[i], in, res)
		err := errs[i]
		if err == nil {
			continue
		}
		if o := out[i].Outcome; o != report.Applied && o != report.Unchanged {
			inv.log.Warn("family floor not checked after a failed message", "messageId", msgs[i].ID, "intentId", msgs[i].IntentID, "error", err.Error())
			continue
		}
		var p *floorPanic
		if errors.As(err, &p) {
			out[i].Outcome, out[i].Code, out[i].Error = report.Failed, "InternalError.Panic", err.Error()
			continue
		}
		class, code := verdict(err)
		h.logChangeFailure(inv.log, out[i], err, class, code)
		out[i] = h.settle(inv, msgs[i], out[i], &in, class, code, err)
	}
}

// floorPanic is a panic while checking the floors: the messages it is given
// to fail (the platform delivers them again), as processSafely fails one.
type floorPanic struct{ value any }

func (p *floorPanic) Error() string {
	return fmt.Sprintf("panic while checking the family floors: %v", p.value)
}

// floorErrors runs the engine's RestoreFloors over the batch's results, and
// turns a panic inside it into a floorPanic for every message that changed
// something, rather than the process ending with the batch.
func (h *Handler) floorErrors(inv *invocation, runs []*lifecycle.Result) (errs []error) {
	defer func() {
		if r := recover(); r != nil {
			inv.log.Error("panic while checking the family floors", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			errs = make([]error, len(runs))
			for i, res := range runs {
				if res != nil && res.Changed {
					errs[i] = &floorPanic{r}
				}
			}
		}
	}()
	return inv.engine.RestoreFloors(inv.work, runs)
}
