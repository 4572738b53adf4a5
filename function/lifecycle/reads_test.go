package lifecycle

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/intent"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/retry"
	"github.com/ecs-image-lifecycle/image-lifecycle/internal/testenv/fakeclock"
)

// A deprecation reads the image's shares only when the DescribeImages answer
// it was planned on cannot tell: IsSelfShared "True" (the accounts are
// needed), missing or not understood, or a public image. "False" on an image
// that is not public is enough.
func TestShareReadOnlyWhenDescribeImagesCannotTell(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name       string
		unknown    bool     // DescribeImages leaves IsSelfShared out
		shares     []string // of w-001, the newer of the two candidates
		wantReads  int      // DescribeImageSharePermission calls (a plan, and the settle pass's after a write)
		wantAvail  []string
		wantReason string // of w-001
	}{
		{name: "IsSelfShared False: no share read", wantReads: 0, wantAvail: ids("w", 2), wantReason: "deprecated"},
		{name: "IsSelfShared True: the shared image's accounts are read", shares: []string{"1111"}, wantReads: 2,
			wantAvail: ids("w", 1, 2), wantReason: "skipped: shared with 1 account"},
		{name: "public: read (IsSelfShared is not known to cover it)", shares: []string{"all"}, wantReads: 2,
			wantAvail: ids("w", 1, 2), wantReason: "shared with all accounts (public)"},
		{name: "IsSelfShared missing: every candidate is read", unknown: true, wantReads: 2, wantAvail: ids("w", 2), wantReason: "deprecated"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			imgs := family("w", "web", 3, 0)
			imgs[1].shares = tt.shares
			f := newFake(imgs...)
			f.unknownSharing = tt.unknown
			res := run(t, newTestEngine(f), intent.Intent{Action: "rotate", ImageFamily: "web", Keep: keepN(1)})
			if got := f.count("DescribeImageSharePermission"); got != tt.wantReads {
				t.Errorf("DescribeImageSharePermission calls = %d, want %d", got, tt.wantReads)
			}
			if got := f.available("web"); !equalIDs(got, tt.wantAvail) {
				t.Errorf("Available = %v, want %v", got, tt.wantAvail)
			}
			if s := stepOf(t, res.Plan, "w-001"); !strings.Contains(s.Reason, tt.wantReason) {
				t.Errorf("w-001: %q, want it to say %q", s.Reason, tt.wantReason)
			}
		})
	}
}

// The re-check before a deprecation judges by a listing read less than
// freshFor ago (the plan's, or the read after the previous message's writes);
// it reads afresh when the listing is older, or when the Apply has made an
// image Available in the family since (the promoted image the deprecations
// count on); a promoted image only renamed changes nothing they count on.
func TestRecheckReadsOnlyWhatIsNotFresh(t *testing.T) {
	t.Parallel()
	rotate := intent.Intent{Action: "rotate", ImageFamily: "web", Keep: keepN(2)}
	promote := intent.Intent{Action: "promote", ImageID: "w-003", Keep: keepN(2), Attributes: &intent.Attributes{ImageName: "web-release"}}
	moveIn := intent.Intent{Action: "promote", ImageID: "x-000", Keep: keepN(3), Attributes: &intent.Attributes{ImageFamily: "web"}}
	for _, tt := range []struct {
		name       string
		in         intent.Intent
		after      time.Duration // between plan and apply
		deprecated string        // an image Deprecated at the start
		wantReads  int           // DescribeImages calls made by Apply
	}{
		{name: "plan read a moment ago", in: rotate, after: freshFor - time.Millisecond, wantReads: 0},
		{name: "plan read freshFor ago", in: rotate, after: freshFor, wantReads: 1},
		{name: "the promoted image renamed first", in: promote, wantReads: 0},
		{name: "the promoted image activated first", in: promote, deprecated: "w-003", wantReads: 1},
		{name: "the promoted image moved into the family first", in: moveIn, wantReads: 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(append(family("w", "web", 4, 0), img("x-000", "other", ecsapi.StatusAvailable, 9))...)
			if tt.deprecated != "" {
				f.images[tt.deprecated].Status = ecsapi.StatusDeprecated
			}
			e := newTestEngine(f)
			clk := fakeclock.New(t0)
			e.Budget = retry.Budget{Clock: clk}
			p, err := e.Plan(context.Background(), tt.in)
			if err != nil {
				t.Fatal(err)
			}
			clk.Advance(tt.after)
			before := f.count("DescribeImages")
			res, err := e.Apply(context.Background(), p)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.count("DescribeImages") - before; got != tt.wantReads {
				t.Errorf("Apply read the family %d times, want %d", got, tt.wantReads)
			}
			if len(res.Applied) == 0 || f.status("w-000") != ecsapi.StatusDeprecated || f.status("w-001") != ecsapi.StatusDeprecated {
				t.Errorf("applied %+v; want w-000 and w-001 deprecated", res.Applied)
			}
		})
	}
}

func equalIDs(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") }
