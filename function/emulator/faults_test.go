package emulator

import (
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/ecs-image-lifecycle/image-lifecycle/internal/testenv/fakeclock"
)

func describeOne(c *ecs.Client) error {
	_, err := c.DescribeImages(ecs.CreateDescribeImagesRequest())
	return err
}

// transportError asserts that the call failed without any HTTP answer.
func transportError(t *testing.T, err error) {
	t.Helper()
	var ue *url.Error
	if !errors.As(err, &ue) {
		t.Fatalf("want a transport error, got %T %v", err, err)
	}
}

func TestFailNext(t *testing.T) {
	t.Parallel()
	s := start(t, Options{})
	s.SetFaults("DescribeImages", Faults{SlowDelay: 2 * time.Second, FailNext: []string{
		"Throttling.User", "ServiceUnavailable", "InternalError", "InvalidStatus.ImageIsCreating", "Forbidden.RAM",
		"OperationConflict", "reset", "slow", "badgateway"}})
	c := defaultClient(t, s)
	c.SetReadTimeout(300 * time.Millisecond)
	for _, want := range []struct {
		code   string
		status int
	}{{"Throttling.User", 400}, {"ServiceUnavailable", 503}, {"InternalError", 500},
		{"InvalidStatus.ImageIsCreating", 403}, {"Forbidden.RAM", 403}, {"OperationConflict", 409}} {
		serverError(t, describeOne(c), want.code, want.status)
	}
	transportError(t, describeOne(c)) // reset
	transportError(t, describeOne(c)) // slow, past the client's timeout
	// The SDK keeps the last timeout for later calls; a busy machine must not trip them.
	c.SetReadTimeout(5 * time.Second)
	var se *sdkerrors.ServerError
	if err := describeOne(c); !errors.As(err, &se) || se.HttpStatus() != 502 || se.ErrorCode() != "" || !strings.Contains(se.Message(), "502 Bad Gateway") {
		t.Fatalf("badgateway: %v", err)
	}
	if err := describeOne(c); err != nil {
		t.Fatalf("after the list: %v", err)
	}
	if n := s.Calls("DescribeImages"); n != 10 {
		t.Fatalf("Calls = %d, want 10 (faulted calls count)", n)
	}
	// Other actions are untouched; a global fault reaches them.
	r := ecs.CreateDescribeImageFromFamilyRequest()
	r.ImageFamily = "web"
	if _, err := c.DescribeImageFromFamily(r); err != nil {
		t.Fatal(err)
	}
	s.SetFaults("", Faults{FailNext: []string{"Throttling"}})
	_, err := c.DescribeImageFromFamily(r)
	serverError(t, err, "Throttling", 400)
	s.ResetCalls()
	if s.Calls("DescribeImages") != 0 || s.Calls("DescribeImageFromFamily") != 0 {
		t.Fatal("ResetCalls left counts")
	}
}

func TestSlowThenAnswers(t *testing.T) {
	t.Parallel()
	s := start(t, Options{})
	s.SetFaults("DescribeImages", Faults{FailNext: []string{"slow"}, SlowDelay: 150 * time.Millisecond})
	c := defaultClient(t, s)
	begin := time.Now()
	if err := describeOne(c); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(begin); d < 150*time.Millisecond {
		t.Fatalf("slow answer came after %v", d)
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	clock := fakeclock.New(time.Now())
	s := start(t, Options{Now: clock.Now})
	s.SetFaults("DescribeImages", Faults{RateLimit: 2})
	c := defaultClient(t, s)
	for i := range 2 {
		if err := describeOne(c); err != nil {
			t.Fatalf("call %d inside the burst: %v", i, err)
		}
	}
	se := serverError(t, describeOne(c), "Throttling.User", 400)
	if se.Message() != "Request was denied due to user flow control." {
		t.Fatalf("message %q", se.Message())
	}
	clock.Advance(500 * time.Millisecond) // one token at 2/s
	if err := describeOne(c); err != nil {
		t.Fatalf("after refill: %v", err)
	}
	serverError(t, describeOne(c), "Throttling.User", 400)
	if n := s.Calls("DescribeImages"); n != 5 {
		t.Fatalf("Calls = %d, want 5", n)
	}
}

// TestFaultShares checks each share kind: all-or-nothing shares hit every
// call, and a partial share is near its value and repeats with the seed.
func TestFaultShares(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		f     Faults
		check func(t *testing.T, err error)
	}{
		{"unavailable", Faults{Unavailable: 1}, func(t *testing.T, err error) { serverError(t, err, "ServiceUnavailable", 503) }},
		{"internal", Faults{Internal: 1}, func(t *testing.T, err error) { serverError(t, err, "InternalError", 500) }},
		{"badgateway", Faults{BadGateway: 1}, func(t *testing.T, err error) {
			var se *sdkerrors.ServerError
			if !errors.As(err, &se) || se.HttpStatus() != 502 {
				t.Fatalf("got %v", err)
			}
		}},
		{"reset", Faults{Reset: 1}, transportError},
		{"slow", Faults{Slow: 1, SlowDelay: time.Second}, transportError},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := start(t, Options{})
			s.SetFaults("", tc.f)
			c := defaultClient(t, s)
			c.SetReadTimeout(200 * time.Millisecond)
			for range 3 {
				tc.check(t, describeOne(c))
			}
		})
	}
	outcomes := func() string {
		s := start(t, Options{})
		s.SetFaults("DescribeImages", Faults{Unavailable: 0.3, Internal: 0.2, RandSeed: 42})
		c := defaultClient(t, s)
		var b strings.Builder
		for range 200 {
			var se *sdkerrors.ServerError
			switch err := describeOne(c); {
			case err == nil:
				b.WriteByte('.')
			case errors.As(err, &se):
				b.WriteString(se.ErrorCode()[:1])
			default:
				t.Fatal(err)
			}
		}
		return b.String()
	}
	first, second := outcomes(), outcomes()
	if first != second {
		t.Fatalf("same RandSeed, different runs:\n%s\n%s", first, second)
	}
	if n := strings.Count(first, "S"); n < 40 || n > 80 {
		t.Fatalf("%d of 200 ServiceUnavailable at share 0.3", n)
	}
	if n := strings.Count(first, "I"); n < 20 || n > 60 {
		t.Fatalf("%d of 200 InternalError at share 0.2", n)
	}
}

func TestCreatingAfterCalls(t *testing.T) {
	t.Parallel()
	creating := img("m-bp1new", "web-5", "web", "Creating", day0)
	creating.Progress = 40
	s := start(t, Options{CreatingCalls: 3, Seed: seedOf(creating, img("m-bp1other", "web-6", "web", "Creating", day0))})
	c := defaultClient(t, s)
	var seen []string
	for range 4 {
		r := ecs.CreateDescribeImagesRequest()
		r.ImageId, r.Status = "m-bp1new", "Creating,Available"
		resp, err := c.DescribeImages(r)
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, resp.Images.Image[0].Status+" "+resp.Images.Image[0].Progress)
	}
	if got := strings.Join(seen, ", "); got != "Creating 40%, Creating 60%, Creating 80%, Available 100%" {
		t.Fatalf("progression: %s", got)
	}
	// Untouched images stay as they were.
	if other, _ := s.Image("m-bp1other"); other.Status != "Creating" {
		t.Fatalf("untouched image is %s", other.Status)
	}
	// ModifyImageAttribute on a Creating image fails until the calls are spent.
	r := ecs.CreateModifyImageAttributeRequest()
	r.ImageId, r.ImageName = "m-bp1other", "web-6b"
	for range 3 {
		r := ecs.CreateModifyImageAttributeRequest()
		r.ImageId, r.ImageName = "m-bp1other", "web-6b"
		_, err := c.ModifyImageAttribute(r)
		serverError(t, err, "InvalidStatus.ImageIsCreating", 403)
	}
	if _, err := c.ModifyImageAttribute(r); err != nil {
		t.Fatalf("after creating: %v", err)
	}
}

func TestCreatingForAndSetStatus(t *testing.T) {
	t.Parallel()
	clock := fakeclock.New(time.Now())
	creating := img("m-bp1new", "web-5", "web", "Creating", day0)
	creating.Progress = 40
	s := start(t, Options{CreatingFor: time.Minute, Now: clock.Now, Seed: seedOf(creating)})
	clock.Advance(30 * time.Second)
	if got, _ := s.Image("m-bp1new"); got.Status != "Creating" || got.Progress != 70 {
		t.Fatalf("half way: %s %d", got.Status, got.Progress)
	}
	clock.Advance(30 * time.Second)
	r := ecs.CreateDescribeImagesRequest()
	r.ImageFamily = "web"
	resp, err := defaultClient(t, s).DescribeImages(r)
	if err != nil || len(resp.Images.Image) != 1 || resp.Images.Image[0].Status != "Available" {
		t.Fatalf("after CreatingFor: %v %+v", err, resp)
	}
	// Without a timer an image stays Creating until SetStatus.
	s2 := start(t, Options{Now: clock.Now, Seed: seedOf(creating)})
	clock.Advance(time.Hour)
	if got, _ := s2.Image("m-bp1new"); got.Status != "Creating" {
		t.Fatalf("no timer: %s", got.Status)
	}
	if err := s2.SetStatus("m-bp1new", "Available"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s2.Image("m-bp1new"); got.Status != "Available" || got.Progress != 100 {
		t.Fatalf("after SetStatus: %+v", got)
	}
	if err := s2.SetStatus("m-bp1nope", "Available"); err == nil {
		t.Fatal("SetStatus of a missing image succeeded")
	}
}

func TestConcurrentRequests(t *testing.T) {
	t.Parallel()
	seed := seedOf()
	for _, id := range []string{"a", "b", "c", "d"} {
		seed.Images = append(seed.Images, img("m-bp1"+id, "web-"+id, "web", "Available", day0))
	}
	s := start(t, Options{Seed: seed})
	s.SetFaults("DescribeImages", Faults{Internal: 0.2, RateLimit: 1000, RandSeed: 7})
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := range 8 {
		c := defaultClient(t, s) // before the goroutine: it may call t.Fatal
		wg.Go(func() {
			for i := range 8 {
				id := "m-bp1" + string(rune('a'+(w+i)%4))
				status := []string{"Deprecated", "Available"}[i%2]
				r := ecs.CreateModifyImageAttributeRequest()
				r.ImageId, r.Status = id, status
				if _, err := c.ModifyImageAttribute(r); err != nil {
					var se *sdkerrors.ServerError
					if !errors.As(err, &se) || !strings.HasPrefix(se.ErrorCode(), "ImageStatus.") {
						errs <- err
					}
				}
				d := ecs.CreateDescribeImagesRequest()
				d.Status, d.PageSize = "Available,Deprecated", requests.NewInteger(100)
				if _, err := c.DescribeImages(d); err != nil {
					var se *sdkerrors.ServerError
					if !errors.As(err, &se) || se.ErrorCode() != "InternalError" {
						errs <- err
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if s.Calls("ModifyImageAttribute") != 64 || s.Calls("DescribeImages") != 64 {
		t.Fatalf("Calls: %d modify, %d describe", s.Calls("ModifyImageAttribute"), s.Calls("DescribeImages"))
	}
}

func TestStatusOfCodes(t *testing.T) {
	t.Parallel()
	for code, want := range map[string]int{
		"Throttling": 400, "Throttling.User": 400, "Throttling.Api": 400, "Rejected.Throttling": 400, "UnknownError": 400,
		"ServiceUnavailable": 503, "ServiceUnavailable.RegionMaintaining": 503, "InternalError": 500,
		"OperationConflict": 409, "InvalidStatus.ImageIsCreating": 403, "Forbidden.RAM": 403,
		"ImageStatus.NotAvailable": 403, "ImageUseShared": 403, "OperationDeined.ImageUsingByInstance": 403,
		"InvalidOperation.FeaturesImdsSupportNotMatch": 403, "InvalidSecurityToken.Expired": 403,
		"LastTokenProcessing": 403, "InvalidImageId.NotFound": 404, "InvalidAction": 404,
		"InvalidImageName.Malformed": 400, "MissingParameter": 400, "IncorrectImageStatus": 400,
	} {
		if got := statusOf(code); got != want {
			t.Errorf("statusOf(%s) = %d, want %d", code, got, want)
		}
	}
}
