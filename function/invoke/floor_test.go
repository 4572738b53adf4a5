package invoke_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/emulator"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/lifecycle"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/report"
	"github.com/ecs-image-lifecycle/image-lifecycle/internal/testenv"
	"github.com/ecs-image-lifecycle/image-lifecycle/internal/testenv/reportcheck"
)

// afterModify is the ECS API with a hook run after each ModifyImageAttribute
// that succeeded: another run writing in between.
type afterModify struct {
	ecsapi.API
	hook func(id string)
}

func (a afterModify) ModifyImageAttribute(ctx context.Context, in ecsapi.ModifyInput) (string, error) {
	id, err := a.API.ModifyImageAttribute(ctx, in)
	if err == nil {
		a.hook(in.ImageID)
	}
	return id, err
}

// A batch deprecates 3 of a family's 4 images; right after its last write
// another run deprecates the fourth. The batch's one read after its writes
// sees the family below its floor and re-activates its newest deprecation,
// and that undo is reported on the message that deprecated the image.
func TestBatchRestoresTheFloorOnTheMessageThatDeprecated(t *testing.T) {
	t.Parallel()
	emu := testenv.StartEmulator(t, emulator.Options{Seed: &emulator.Seed{Images: familySeed("web", "m-web", 4)}})
	h := newHandler(t, emu, setup{concurrency: 1})
	newAPI := h.NewAPI
	h.NewAPI = func(c *ecsapi.Credentials) (ecsapi.API, error) {
		api, err := newAPI(c)
		return afterModify{api, func(id string) {
			if id == "m-web002" {
				if err := emu.SetStatus("m-web003", ecsapi.StatusDeprecated); err != nil {
					t.Error(err)
				}
			}
		}}, err
	}
	var batch []testenv.MNSMessage
	for _, id := range []string{"m-web001", "m-web000", "m-web002"} {
		batch = append(batch, testenv.MNSMessage{ID: "dep-" + id, Body: `{"action":"deprecate","imageId":"` + id + `"}`})
	}
	emu.ResetCalls()
	rep, err := handle(t, h, 30*time.Second, testenv.MNSBatch(t, batch...))
	reportcheck.Accounting(t, rep, err, []string{"dep-m-web001", "dep-m-web000", "dep-m-web002"})
	if img, _ := emu.Image("m-web002"); img.Status != ecsapi.StatusAvailable {
		t.Fatalf("m-web002 is %s, want it re-activated: the family's floor is 1", img.Status)
	}
	for _, m := range rep.Messages {
		undone := slices.ContainsFunc(m.Held, func(h lifecycle.HeldStep) bool {
			return h.ImageID == "m-web002" && strings.Contains(h.Reason, "undone")
		})
		if undone != (m.ID == "dep-m-web002") {
			t.Errorf("message %s: held %+v; the undo belongs to dep-m-web002 alone", m.ID, m.Held)
		}
		if m.Outcome != report.Applied {
			t.Errorf("message %s: %s, want applied (its write was made)", m.ID, m.Outcome)
		}
	}
	// the ids, the family, then after the writes: the images left live by
	// id, and the family listed whole to judge what to undo.
	if n := emu.Calls("DescribeImages"); n != 4 {
		t.Errorf("DescribeImages %d, want 4", n)
	}
}
