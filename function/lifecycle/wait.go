package lifecycle

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
)

// DefaultCreatingBackoff picks the wait before re-reading an image that is
// still Creating from how far it has got: about 3s at 90%, 27s at 10%,
// between 2s and 30s. Image creation time grows with the remaining data, so
// the remaining percentage is the best cheap estimate there is.
func DefaultCreatingBackoff(progress int) time.Duration {
	d := time.Duration(100-min(max(progress, 0), 100)) * 300 * time.Millisecond
	return min(max(d, 2*time.Second), 30*time.Second)
}

// waitAvailable re-reads the image until it is no longer Creating. When the
// next wait would reach into the last DeadlineMargin of the context, or past
// MaxCreatingWait from the start of the wait, it gives up with the API's own
// InvalidStatus.ImageIsCreating, so the caller defers the message instead of
// busy-waiting. Each time it finds the image Creating it tells OnCreatingWait.
func (e *Engine) waitAvailable(ctx context.Context, region, id string) (ecsapi.Image, error) {
	img, err := e.read().image(ctx, region, id, false)
	if err != nil {
		return img, err
	}
	backoff := e.CreatingBackoff
	if backoff == nil {
		backoff = DefaultCreatingBackoff
	}
	giveUp := time.Now().Add(e.MaxCreatingWait)
	bound := fmt.Sprintf("the wait is bounded to %v", e.MaxCreatingWait)
	if dl, ok := ctx.Deadline(); ok && (e.MaxCreatingWait <= 0 || dl.Add(-e.DeadlineMargin).Before(giveUp)) {
		giveUp = dl.Add(-e.DeadlineMargin)
		bound = "not waiting past the deadline"
	}
	report := func(w CreatingWait) {
		if e.OnCreatingWait != nil {
			e.OnCreatingWait(w)
		}
	}
	for img.Status == ecsapi.StatusCreating {
		d := backoff(img.Progress)
		w := CreatingWait{ImageID: id, Status: img.Status, Progress: img.Progress, Next: d, GiveUpAt: giveUp}
		if time.Now().Add(d).After(giveUp) {
			w.Next, w.GivingUp = 0, true
			report(w)
			return img, &ecsapi.Error{Action: "ModifyImageAttribute", Code: codeImageIsCreating, HTTPStatus: http.StatusForbidden,
				Message: fmt.Sprintf("image %s is still Creating (%d%%); %s", id, img.Progress, bound)}
		}
		report(w)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return img, &ecsapi.Error{Action: "ModifyImageAttribute", Code: codeImageIsCreating, HTTPStatus: http.StatusForbidden,
				Message: fmt.Sprintf("image %s is still Creating (%d%%)", id, img.Progress), Err: ctx.Err()}
		case <-t.C:
		}
		if img, err = e.read().image(ctx, region, id, true); err != nil {
			return img, err
		}
	}
	return img, nil
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
