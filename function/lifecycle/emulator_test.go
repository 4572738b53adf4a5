package lifecycle

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/emulator"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/intent"
	"github.com/ecs-image-lifecycle/image-lifecycle/internal/testenv"
)

// These tests drive the engine over the wire: the real SDK client signs and
// sends RPC requests to the ECS emulator on 127.0.0.1.

func startEmulator(t *testing.T, opts emulator.Options, imgs ...emulator.SeedImage) (*emulator.Server, *Engine) {
	t.Helper()
	opts.Seed = &emulator.Seed{Region: testRegion, Images: imgs}
	s := testenv.StartEmulator(t, opts)
	api, err := ecsapi.New(ecsapi.Config{Region: testRegion, Endpoint: s.URL(),
		Credentials: &ecsapi.Credentials{AccessKeyID: emulator.DefaultKey, AccessKeySecret: emulator.DefaultKey}})
	if err != nil {
		t.Fatal(err)
	}
	e := NewEngine(api, DefaultGuards(), testRegion)
	e.CreatingBackoff = func(int) time.Duration { return 5 * time.Millisecond }
	return s, e
}

func seedFamily(prefix, fam string, n, start int) []emulator.SeedImage {
	out := make([]emulator.SeedImage, n)
	for i := range out {
		out[i] = seedImage(fmt.Sprintf("%s-%03d", prefix, i), fam, ecsapi.StatusAvailable, start+i)
	}
	return out
}

func seedImage(id, fam, status string, hour int) emulator.SeedImage {
	return emulator.SeedImage{Image: ecsapi.Image{ImageID: id, Name: "name-" + id, Family: fam, Status: status,
		CreationTime: t0.Add(time.Duration(hour) * time.Hour), OwnerAlias: "self", ImdsSupport: "v1"}}
}

func emulatorAvailable(s *emulator.Server, fam string) []string {
	var out []string
	for _, im := range s.Images() { // sorted by CreationTime, then ImageId
		if im.Family == fam && im.Status == ecsapi.StatusAvailable {
			out = append(out, im.ImageID)
		}
	}
	return out
}

func TestEmulatorPromote(t *testing.T) {
	t.Parallel()
	imgs := append(seedFamily("w", "web", 4, 0), seedImage("m-new", "", ecsapi.StatusCreating, 10))
	s, e := startEmulator(t, emulator.Options{CreatingCalls: 2}, imgs...)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	in := intent.Intent{Action: "promote", ImageID: "m-new", Keep: keepN(2), Attributes: &intent.Attributes{
		ImageName: "web-10", ImageFamily: "web", Features: &intent.Features{ImdsSupport: "v2", NvmeSupport: "supported"}}}
	res, err := e.Run(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := emulatorAvailable(s, "web"), []string{"w-003", "m-new"}; !slices.Equal(got, want) {
		t.Fatalf("Available = %v, want %v\n%s", got, want, res.Plan.Table())
	}
	im, _ := s.Image("m-new")
	if im.Name != "web-10" || im.ImdsSupport != "v2" || im.NvmeSupport != "supported" {
		t.Errorf("promoted image = %+v", im)
	}
	// 1 write for the image, 3 deprecations; nothing else.
	if got := s.Calls("ModifyImageAttribute"); got != 4 {
		t.Errorf("ModifyImageAttribute calls = %d, want 4", got)
	}
	for _, a := range res.Applied {
		if a.RequestID == "" {
			t.Errorf("applied %s without a request id", a.ImageID)
		}
	}
	// Run again: converged, no write.
	s.ResetCalls()
	res, err = freshEngine(e).Run(ctx, in)
	if err != nil || res.Changed || s.Calls("ModifyImageAttribute") != 0 {
		t.Fatalf("second promote: changed %t, writes %d, err %v", res.Changed, s.Calls("ModifyImageAttribute"), err)
	}
}

func TestEmulatorPromoteDefersWhileCreating(t *testing.T) {
	t.Parallel()
	imgs := append(seedFamily("w", "web", 3, 0), seedImage("m-new", "web", ecsapi.StatusCreating, 10))
	s, e := startEmulator(t, emulator.Options{}, imgs...) // stays Creating
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	waitUntil(e, ctx, 50*time.Millisecond)
	_, err := e.Run(ctx, intent.Intent{Action: "promote", ImageID: "m-new", Keep: keepN(1)})
	wantNotYet(t, err, "InvalidStatus.ImageIsCreating") // the message is deferred
	if got := s.Calls("ModifyImageAttribute"); got != 0 {
		t.Fatalf("ModifyImageAttribute calls = %d while the image was Creating", got)
	}
	if got, want := emulatorAvailable(s, "web"), []string{"w-000", "w-001", "w-002"}; !slices.Equal(got, want) {
		t.Fatalf("Available = %v, want %v", got, want)
	}
}

func TestEmulatorRotateByGlob(t *testing.T) {
	t.Parallel()
	imgs := slices.Concat(seedFamily("a", "web-a", 60, 0), seedFamily("b", "web-b", 60, 0), seedFamily("d", "db", 3, 0))
	s, e := startEmulator(t, emulator.Options{}, imgs...)
	e.Guards.UnshareBeforeDeprecate = true
	res, err := e.Run(context.Background(), intent.Intent{Action: "rotate", ImageFamilies: []string{"web-*"}, Keep: keepN(2), DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	// 123 images, 100 per page.
	if got := s.Calls("DescribeImages"); got != 2 {
		t.Errorf("DescribeImages = %d, want 2 pages", got)
	}
	if s.Calls("ModifyImageAttribute") != 0 || !res.Plan.HasChanges() {
		t.Fatalf("dry run: writes %d, plan has changes %t", s.Calls("ModifyImageAttribute"), res.Plan.HasChanges())
	}
	res, err = e.Run(context.Background(), intent.Intent{Action: "rotate", ImageFamilies: []string{"web-*"}, Keep: keepN(2)})
	if err != nil {
		t.Fatal(err)
	}
	for fam, want := range map[string][]string{"web-a": {"a-058", "a-059"}, "web-b": {"b-058", "b-059"}, "db": {"d-000", "d-001", "d-002"}} {
		if got := emulatorAvailable(s, fam); !slices.Equal(got, want) {
			t.Errorf("Available in %s = %v, want %v", fam, got, want)
		}
	}
	if got := s.Calls("ModifyImageAttribute"); got != 116 {
		t.Errorf("ModifyImageAttribute = %d, want 116 (one per deprecated image)", got)
	}
}

func TestEmulatorRollbackAndSharedGuard(t *testing.T) {
	t.Parallel()
	n := seedImage("w-n", "web", ecsapi.StatusAvailable, 6)
	n.SharedWith = []string{"123456789"}
	s, e := startEmulator(t, emulator.Options{}, seedImage("w-0", "web", ecsapi.StatusAvailable, 1),
		seedImage("w-p", "web", ecsapi.StatusDeprecated, 5), n)
	res, err := e.Run(context.Background(), intent.Intent{Action: "rollback", ImageFamily: "web"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Changed || s.Calls("ModifyImageAttribute") != 0 {
		t.Fatalf("rollback of a shared image wrote:\n%s", res.Plan.Table())
	}
	e = freshEngine(e)
	e.Guards.UnshareBeforeDeprecate = true
	res, err = e.Run(context.Background(), intent.Intent{Action: "rollback", ImageFamily: "web"})
	if err != nil {
		t.Fatal(err)
	}
	// w-0, older than w-n, is Available: the rollback goes back to it and
	// re-activates nothing.
	if got, want := emulatorAvailable(s, "web"), []string{"w-0"}; !slices.Equal(got, want) {
		t.Fatalf("Available = %v, want %v\n%s", got, want, res.Plan.Table())
	}
	if got := s.Calls("ModifyImageSharePermission"); got != 1 {
		t.Errorf("ModifyImageSharePermission = %d, want 1", got)
	}
}

// freshEngine returns a fresh engine (new invocation, empty cache) with e's settings.
func freshEngine(e *Engine) *Engine {
	c := *e
	c.Cache = NewCache()
	return &c
}

// Over the wire: a rollback from a named image delivered twice writes once;
// naming an image of another family is refused before any write; a modify
// that would move the last Available image out of its family moves nothing
// and still sets the rest.
func TestEmulatorRollbackFromImageAndMoveFloor(t *testing.T) {
	t.Parallel()
	s, e := startEmulator(t, emulator.Options{}, seedImage("w-o", "web", ecsapi.StatusDeprecated, 1),
		seedImage("w-p", "web", ecsapi.StatusDeprecated, 5), seedImage("w-n", "web", ecsapi.StatusAvailable, 6),
		seedImage("a-1", "app", ecsapi.StatusAvailable, 2))
	ctx := context.Background()
	in := intent.Intent{Action: "rollback", ImageFamily: "web", ImageID: "w-n"}
	for i := range 2 {
		res, err := freshEngine(e).Run(ctx, in)
		if err != nil {
			t.Fatalf("delivery %d: %v", i+1, err)
		}
		if res.Changed != (i == 0) {
			t.Fatalf("delivery %d: changed %t\n%s", i+1, res.Changed, res.Plan.Table())
		}
	}
	if got, want := emulatorAvailable(s, "web"), []string{"w-p"}; !slices.Equal(got, want) {
		t.Fatalf("Available = %v, want %v", got, want)
	}
	if got := s.Calls("ModifyImageAttribute"); got != 2 {
		t.Errorf("ModifyImageAttribute = %d, want 2 (activate w-p, deprecate w-n, once)", got)
	}

	s.ResetCalls()
	_, err := freshEngine(e).Run(ctx, intent.Intent{Action: "rollback", ImageFamily: "web", ImageID: "a-1"})
	wantRefusal(t, err, "InvalidParameter")
	if got := s.Calls("ModifyImageAttribute"); got != 0 {
		t.Errorf("a refused rollback wrote %d times", got)
	}

	res, err := freshEngine(e).Run(ctx, intent.Intent{Action: "modify", ImageID: "a-1",
		Attributes: &intent.Attributes{ImageFamily: "web", Description: "moved here"}})
	if err != nil {
		t.Fatal(err)
	}
	im, _ := s.Image("a-1")
	if im.Family != "app" || im.Description != "moved here" || !res.Plan.Steps[0].Skipped {
		t.Errorf("a-1 = family %q description %q; want it kept in app with the description set\n%s", im.Family, im.Description, res.Plan.Table())
	}
}
