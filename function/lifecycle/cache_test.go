package lifecycle

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/intent"
)

// A batch of intents on one family, planned by one engine, reads the family once.
func TestCacheReadsAFamilyOncePerBatch(t *testing.T) {
	t.Parallel()
	f := newFake(family("w", "web", 6, 0)...)
	e := newTestEngine(f)
	for range 3 {
		if _, err := e.Plan(context.Background(), intent.Intent{Action: "rotate", ImageFamily: "web", Keep: keepN(2)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.Plan(context.Background(), intent.Intent{Action: "rollback", ImageFamily: "web"}); err != nil {
		t.Fatal(err)
	}
	if got := f.count("DescribeImages"); got != 1 {
		t.Fatalf("DescribeImages = %d for 4 plans on one family, want 1", got)
	}
}

// The engine's own writes update the cache: a second intent in the batch
// plans on the state the first one left, and converges with no write.
func TestCacheFollowsOwnWrites(t *testing.T) {
	t.Parallel()
	f := newFake(append(family("w", "web", 4, 0), img("m-new", "", "Available", 10))...)
	e := newTestEngine(f)
	run(t, e, intent.Intent{Action: "promote", ImageID: "m-new", Keep: keepN(2), Attributes: &intent.Attributes{ImageFamily: "web"}})
	writes := len(f.writeLog())
	res := run(t, e, intent.Intent{Action: "rotate", ImageFamily: "web", Keep: keepN(2)})
	if res.Changed || len(f.writeLog()) != writes {
		t.Fatalf("second intent wrote again: %q\n%s", f.writeLog()[writes:], res.Plan.Table())
	}
	reads := f.count("DescribeImages")
	run(t, e, intent.Intent{Action: "rotate", ImageFamily: "web", Keep: keepN(2)})
	if f.count("DescribeImages") != reads {
		t.Fatalf("a converged rotate re-read the family: %d -> %d", reads, f.count("DescribeImages"))
	}
}

// Prefetch reads a batch of image ids 100 per DescribeImages; planning then
// reads nothing more by id.
func TestPrefetchReadsIDsInHundreds(t *testing.T) {
	t.Parallel()
	imgs := family("m", "", 150, 0)
	f := newFake(imgs...)
	e := newTestEngine(f)
	var ins []intent.Intent
	for _, im := range imgs {
		ins = append(ins, intent.Intent{Action: "modify", ImageID: im.ImageID, DryRun: true,
			Attributes: &intent.Attributes{Description: "built by ci"}})
	}
	ins = append(ins, intent.Intent{Action: "activate", ImageID: "m-404", DryRun: true})
	if err := e.Prefetch(context.Background(), ins); err != nil {
		t.Fatal(err)
	}
	if got := f.count("DescribeImages"); got != 2 {
		t.Fatalf("DescribeImages = %d for 151 ids, want 2", got)
	}
	for _, in := range ins[:150] {
		p, err := e.Plan(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		if !p.HasChanges() {
			t.Fatalf("%s: no change planned", in.ImageID)
		}
	}
	// The missing id was looked up already: its absence is cached too.
	_, err := e.Plan(context.Background(), ins[150])
	wantRefusal(t, err, "InvalidImageId.NotFound")
	if got := f.count("DescribeImages"); got != 2 {
		t.Fatalf("DescribeImages = %d after planning, want still 2", got)
	}
}

func TestPlanTable(t *testing.T) {
	t.Parallel()
	f := newFake(append(family("w", "web", 3, 0), img("m-new", "web", "Deprecated", 9))...)
	p, err := newTestEngine(f).Plan(context.Background(), intent.Intent{Action: "promote", ImageID: "m-new", Keep: keepN(2), DryRun: true,
		Attributes: &intent.Attributes{ImageName: "web-9"}})
	if err != nil {
		t.Fatal(err)
	}
	table := p.Table()
	for _, want := range []string{
		"action promote, region cn-hangzhou, image m-new, families web (dry run)",
		"IMAGE", "REASON",
		"imageName", "name-m-new", "web-9", "promoted image",
		"w-000", "Deprecated", "older than the promoted image",
		"newest Available, kept (keep 2)",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	// One row per change, one per unchanged image, plus two header lines.
	if got, want := strings.Count(table, "\n"), 2+2+2+1; got != want {
		t.Errorf("table has %d lines, want %d:\n%s", got, want, table)
	}
	if (&Plan{}).HasChanges() || (*Plan)(nil).HasChanges() {
		t.Error("an empty plan has changes")
	}
	t.Log("\n" + table)
}

// A listing of a family's live images, laid over its cached listing, takes
// the live images from ECS, drops an image cached as live that is no longer
// listed (another run deprecated, moved or deleted it), and keeps the
// Deprecated ones it knew; a family never listed in full stays unlisted.
func TestSetLive(t *testing.T) {
	t.Parallel()
	c := NewCache()
	known := []ecsapi.Image{img("w-0", "web", "Deprecated", 0).Image, img("w-1", "web", "Available", 1).Image,
		img("w-2", "web", "Available", 2).Image, img("w-3", "web", "Creating", 3).Image}
	c.setFamily(testRegion, "web", known, t0, c.ticket())
	live := []ecsapi.Image{img("w-2", "web", "Available", 2).Image, img("w-3", "web", "Available", 3).Image,
		img("x-9", "web", "Available", 9).Image} // w-1 left; w-3 is done; x-9 came in
	c.setLive(testRegion, "web", live, t0.Add(time.Minute), c.ticket())
	imgs, readAt, ok := c.family(testRegion, "web")
	var got []string
	for _, im := range imgs {
		got = append(got, im.ImageID+" "+im.Status)
	}
	want := []string{"w-0 Deprecated", "w-2 Available", "w-3 Available", "x-9 Available"}
	if !ok || !slices.Equal(got, want) || !readAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("family = %q read at %v (listed %t), want %q read a minute on", got, readAt, ok, want)
	}
	c.setLive(testRegion, "api", live[:1], t0, c.ticket())
	if _, _, ok := c.family(testRegion, "api"); ok {
		t.Errorf("a family known only by its live images counts as listed")
	}
}
