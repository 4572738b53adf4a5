package lifecycle

import (
	"context"
	"fmt"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/retry"
)

// DefaultCreatingBackoff picks the wait before re-reading an image that is
// still Creating from how far it has got: about 3s at 90%, 27s at 10%,
// between 2s and 30s. Image creation time grows with the remaining data, so
// the remaining percentage is the best cheap estimate there is.
func DefaultCreatingBackoff(progress int) time.Duration {
	d := time.Duration(100-min(max(progress, 0), 100)) * 300 * time.Millisecond
	return min(max(d, 2*time.Second), 30*time.Second)
}

// waitAvailable re-reads the image until it is no longer Creating, sleeping
// on the budget's clock. When the next wait would end past the budget's
// Creating line (which keeps the promote's writes and settling their time),
// or past MaxCreatingWait from the start of the wait, it gives up with
// NotYet{InvalidStatus.ImageIsCreating}, so the caller defers the message
// instead of busy-waiting; so it does when the work's time ends during a
// wait, or a read made while waiting runs out of time or keeps failing in
// passing. Each time it finds the image Creating it tells OnCreatingWait.
func (e *Engine) waitAvailable(ctx context.Context, region, id string) (ecsapi.Image, error) {
	img, err := e.read().image(ctx, region, id, false)
	if err != nil {
		return img, err
	}
	backoff := e.CreatingBackoff
	if backoff == nil {
		backoff = DefaultCreatingBackoff
	}
	b := e.Budget
	giveUp, bound := e.creatingBound(ctx, b.Now())
	report := func(w CreatingWait) {
		if e.OnCreatingWait != nil {
			e.OnCreatingWait(w)
		}
	}
	notYet := func(img ecsapi.Image, why string, cause error) *NotYet {
		return &NotYet{Code: codeImageIsCreating, After: backoff(img.Progress), Err: cause,
			Reason: fmt.Sprintf("image %s is still Creating (%d%%); %s", id, img.Progress, why)}
	}
	for img.Status == ecsapi.StatusCreating {
		d := backoff(img.Progress)
		w := CreatingWait{ImageID: id, Status: img.Status, Progress: img.Progress, Next: d, GiveUpAt: giveUp}
		if b.Now().Add(d).After(giveUp) {
			w.Next, w.GivingUp = 0, true
			report(w)
			return img, notYet(img, bound, nil)
		}
		report(w)
		if err := b.Sleep(ctx, d); err != nil {
			return img, notYet(img, "the work's time ended during the wait", err)
		}
		fresh, err := e.read().image(ctx, region, id, true)
		if err != nil {
			if retry.Classify(err).Retryable() {
				// Still Creating as far as anyone knows: that is the reason
				// worth reporting, and the read's failure says why it is not known.
				return img, notYet(img, "a read while waiting did not pass", err)
			}
			return img, err
		}
		img = fresh
	}
	return img, nil
}

// creatingBound is when a wait for a Creating image that starts now gives up,
// and what sets it: the budget's Creating line, MaxCreatingWait, or, with
// neither, the context's deadline.
func (e *Engine) creatingBound(ctx context.Context, now time.Time) (time.Time, string) {
	giveUp, bound := time.Time{}, ""
	if e.MaxCreatingWait > 0 {
		giveUp, bound = now.Add(e.MaxCreatingWait), fmt.Sprintf("the wait is bounded to %v", e.MaxCreatingWait)
	}
	line := e.Budget.Creating
	if dl, ok := ctx.Deadline(); ok && line.IsZero() {
		line = dl
	}
	if !line.IsZero() && (giveUp.IsZero() || line.Before(giveUp)) {
		giveUp, bound = line, "not waiting past the deadline"
	}
	if giveUp.IsZero() {
		// Nothing would end the wait: do not start one.
		giveUp, bound = now, "no deadline and no MaxCreatingWait to wait within"
	}
	return giveUp, bound
}

// CreatingWait is what a promote reports each time it finds its image still
// Creating: the image, its progress, how long until the next read and when
// the wait gives up. GivingUp is set on the last report, when it stops waiting.
type CreatingWait struct {
	ImageID  string
	Status   string
	Progress int
	Next     time.Duration
	GiveUpAt time.Time
	GivingUp bool
}
