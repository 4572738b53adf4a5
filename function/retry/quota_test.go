package retry

import (
	"context"
	"errors"
	"testing"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
)

func TestQuotaBucket(t *testing.T) {
	t.Parallel()
	q := NewQuota(12)
	for i := range 2 {
		if _, ok := q.take(); !ok {
			t.Fatalf("retry %d refused with %d tokens", i+1, q.Available())
		}
	}
	if _, ok := q.take(); ok || q.Available() != 2 {
		t.Fatalf("a third retry was allowed, or %d tokens left (want 2)", q.Available())
	}
	q.succeeded(RetryCost) // a retried call passed: its cost comes back
	if q.Available() != 7 {
		t.Errorf("%d tokens after a refund, want 7", q.Available())
	}
	for range 10 {
		q.succeeded(0) // first-attempt successes add SuccessReward, up to the capacity
	}
	if q.Available() != 12 {
		t.Errorf("%d tokens, want the capacity 12", q.Available())
	}
	var none *Quota // no quota: retries cost nothing
	if _, ok := none.take(); !ok {
		t.Error("a nil quota refused a retry")
	}
}

// One bad dependency drains the process's retry budget; from then on a
// transient failure is handed back at once, to be deferred, and other
// invocations of the process do not retry either. Successes refill it.
func TestQuotaStopsRetryStorms(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	q := NewQuota(2 * RetryCost)
	newAPI := func(inner ecsapi.API) ecsapi.API {
		c := testConfig(context.Background(), clk)
		c.Quota = q
		return New(inner, c)
	}
	bad := &scriptedAPI{clk: clk, script: repeat(apiErr("ServiceUnavailable", 503), 100)}
	_, err := newAPI(bad).DescribeImages(context.Background(), ecsapi.DescribeImagesInput{})
	var ex *Exhausted
	if !errors.As(err, &ex) || ex.Why != WhyQuota || ex.Attempts != 3 || bad.calls != 3 || Classify(err) != Transient {
		t.Fatalf("err = %v after %d calls, want Exhausted by the quota after 1 try and 2 retries, transient", err, bad.calls)
	}
	sleeps := len(clk.slept())

	// Another invocation of the same process: no retry is left for it.
	other := &scriptedAPI{clk: clk, script: repeat(apiErr("Throttling.User", 400), 100)}
	_, err = newAPI(other).ModifyImageAttribute(context.Background(), deprecate)
	if !errors.As(err, &ex) || ex.Why != WhyQuota || other.calls != 1 || len(clk.slept()) != sleeps {
		t.Fatalf("err = %v after %d calls, want handed back at once, without a wait", err, other.calls)
	}
	// A permanent failure is not affected: it was never going to be retried.
	perm := &scriptedAPI{clk: clk, script: []error{apiErr("Forbidden.RAM", 403)}}
	if _, err := newAPI(perm).DescribeImages(context.Background(), ecsapi.DescribeImagesInput{}); ecsapi.Code(err) != "Forbidden.RAM" {
		t.Fatalf("err = %v", err)
	}

	// The dependency recovers: first-attempt successes refill the bucket
	// until a retry is affordable again.
	good := &scriptedAPI{clk: clk}
	for range RetryCost {
		if _, err := newAPI(good).DescribeImages(context.Background(), ecsapi.DescribeImagesInput{}); err != nil {
			t.Fatal(err)
		}
	}
	flaky := &scriptedAPI{clk: clk, script: []error{apiErr("Throttling", 400)}}
	if _, err := newAPI(flaky).DescribeImages(context.Background(), ecsapi.DescribeImagesInput{}); err != nil || flaky.calls != 2 {
		t.Fatalf("err = %v after %d calls, want a retry once the bucket refilled", err, flaky.calls)
	}
	// The retry that passed got its cost back.
	if got := q.Available(); got != RetryCost {
		t.Errorf("%d tokens, want %d", got, RetryCost)
	}
}
