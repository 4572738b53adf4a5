package lifecycle

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/actiontrail"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/emulator"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/intent"
)

const eventPolicy = `{"version":1,
	"families":[{"match":"web","keep":2,"attributes":{"bootMode":"UEFI","features":{"imdsSupport":"v2"}},"maxDeprecations":5,"maxDeprecationShare":1}],
	"names":[{"match":"web-*","family":"web"}]}`

// eventIntent is the promote a record stands for, as intent.FromEvent makes it.
func eventIntent(rec actiontrail.Record) intent.Intent {
	return intent.Intent{Action: intent.ActionPromote, RegionID: rec.TargetRegion, ImageID: rec.ImageID, Event: &rec}
}

func created(id, name, family string) actiontrail.Record {
	return actiontrail.Record{Type: actiontrail.TypeAPICall, EventName: actiontrail.CreateImage, EventID: "ev-1",
		Region: testRegion, TargetRegion: testRegion, ImageID: id, ImageName: name, ImageFamily: family}
}

// Records that change nothing say why, and cost no ECS call.
func TestEventNothingToDo(t *testing.T) {
	t.Parallel()
	failed := created("", "web-new", "web")
	failed.ErrorCode, failed.ErrorMessage = "InvalidImageName.Duplicated", "The specified image name is already in use."
	tests := []struct {
		name   string
		policy string
		rec    actiontrail.Record
		reason string
	}{
		{"a failed call", eventPolicy, failed, "the CreateImage call failed (InvalidImageName.Duplicated: The specified image name is already in use.): it made no image"},
		{"a failed call, without a policy", "", failed, "the CreateImage call failed"},
		{"no family and no policy", "", created("m-new", "web-new", ""), `image "web-new" has no family and no lifecycle policy is configured (POLICY_FILE)`},
		{"no family, and no name rule matches", eventPolicy, created("m-new", "batch-7", ""), `image "batch-7" has no family, and no names[] rule of the policy matches its name`},
		{"a family no rule covers, from the record", eventPolicy, created("m-new", "web-new", "batch"), "no families[] rule of the lifecycle policy covers family batch"},
		{"a family, and no policy", "", created("m-new", "web-new", "web"), "no families[] rule of the lifecycle policy covers family web"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, e := startEmulator(t, emulator.Options{}, seedImage("m-new", "", ecsapi.StatusAvailable, 1))
			if tt.policy != "" {
				e.Policy = mustPolicy(t, tt.policy)
			}
			res, err := runIntent(t, e, eventIntent(tt.rec))
			if err != nil {
				t.Fatal(err)
			}
			if res.Changed || res.Plan.HasChanges() || !strings.HasPrefix(res.Plan.Reason, tt.reason) {
				t.Errorf("reason %q, want %q; changed %v", res.Plan.Reason, tt.reason, res.Changed)
			}
			if !strings.Contains(res.Plan.Table(), "nothing to do: "+res.Plan.Reason) || !strings.Contains(res.Plan.Table(), "(ActionTrail CreateImage ev-1)") {
				t.Errorf("table:\n%s", res.Plan.Table())
			}
			if n := s.Calls("DescribeImages") + s.Calls("ModifyImageAttribute"); n != 0 {
				t.Errorf("%d ECS calls", n)
			}
		})
	}
}

// A CreateImage record: the build is waited for, joins its family with the
// rule's attributes, and the older images beyond the rule's keep go.
func TestEventCreateImage(t *testing.T) {
	t.Parallel()
	imgs := append(seedFamily("w", "web", 3, 0), seedImage("m-new", "web", ecsapi.StatusCreating, 10))
	s, e := startEmulator(t, emulator.Options{CreatingCalls: 2}, imgs...)
	e.Policy = mustPolicy(t, eventPolicy)
	var waits int
	e.OnCreatingWait = func(CreatingWait) { waits++ }
	res, err := runIntent(t, e, eventIntent(created("m-new", "name-m-new", "web")))
	if err != nil {
		t.Fatal(err)
	}
	im, _ := s.Image("m-new")
	if im.Status != ecsapi.StatusAvailable || im.BootMode != "UEFI" || im.ImdsSupport != "v2" {
		t.Errorf("promoted image %+v", im)
	}
	if got, want := emulatorAvailable(s, "web"), []string{"w-002", "m-new"}; !slices.Equal(got, want) {
		t.Errorf("Available %v, want %v\n%s", got, want, res.Plan.Table())
	}
	if waits == 0 {
		t.Error("the promote did not wait for the Creating image")
	}
	table := res.Plan.Table()
	for _, want := range []string{"action promote (ActionTrail CreateImage ev-1), region cn-hangzhou, image m-new, families web",
		"note: family web from the record (requestParameters.ImageFamily)",
		"note: policy families[0] (web) covers family web: keep 2, attributes bootMode, features.imdsSupport where the message sets none",
		"note: blast radius: the plan deprecates 2 of the 4 Available images of family web"} {
		if !strings.Contains(table, want) {
			t.Errorf("the plan does not say %q:\n%s", want, table)
		}
	}
}

// Without responseElements.ImageId the image is found by its exact name:
// DescribeImages' filter is loose, and "web-1" also matches "web-10".
func TestEventFindsTheImageByItsExactName(t *testing.T) {
	t.Parallel()
	imgs := []emulator.SeedImage{seedImage("m-10", "", ecsapi.StatusAvailable, 1), seedImage("m-1", "", ecsapi.StatusAvailable, 2),
		seedImage("m-100", "", ecsapi.StatusAvailable, 3)}
	imgs[0].Name, imgs[1].Name, imgs[2].Name = "web-10", "web-1", "web-100"
	s, e := startEmulator(t, emulator.Options{}, imgs...)
	e.Policy = mustPolicy(t, eventPolicy)
	rec := &readRecorder{API: e.API}
	e.API = rec
	res, err := runIntent(t, e, eventIntent(created("", "web-1", "")))
	if err != nil {
		t.Fatal(err)
	}
	if res.Plan.ImageID != "m-1" {
		t.Fatalf("promoted %s\n%s", res.Plan.ImageID, res.Plan.Table())
	}
	for id, fam := range map[string]string{"m-1": "web", "m-10": "", "m-100": ""} {
		if im, _ := s.Image(id); im.Family != fam {
			t.Errorf("%s in family %q, want %q", id, im.Family, fam)
		}
	}
	if !slices.ContainsFunc(res.Plan.Notes, func(n string) bool {
		return strings.Contains(n, `image m-1 found by its exact name "web-1" in cn-hangzhou`)
	}) ||
		!slices.Contains(res.Plan.Notes, "family web from policy names[0] (web-* matches web-1)") {
		t.Errorf("notes %q", res.Plan.Notes)
	}
	// The name is looked up once (the settle pass reuses the image found),
	// and the image is not read again by id.
	if rec.byName != 1 || rec.byID != 0 {
		t.Errorf("%d reads by name, %d by id", rec.byName, rec.byID)
	}
}

// readRecorder counts the DescribeImages an engine makes by name and by id.
type readRecorder struct {
	ecsapi.API
	mu           sync.Mutex
	byName, byID int
}

func (r *readRecorder) DescribeImages(ctx context.Context, in ecsapi.DescribeImagesInput) (ecsapi.ImagePage, error) {
	r.mu.Lock()
	if in.ImageName != "" {
		r.byName++
	}
	if len(in.ImageIDs) > 0 {
		r.byID++
	}
	r.mu.Unlock()
	return r.API.DescribeImages(ctx, in)
}

func TestEventImageNotListedYet(t *testing.T) {
	t.Parallel()
	_, e := startEmulator(t, emulator.Options{}, seedImage("m-other", "", ecsapi.StatusAvailable, 1))
	e.Policy = mustPolicy(t, eventPolicy)
	for _, tt := range []struct {
		rec  actiontrail.Record
		says string
	}{
		{created("", "web-2", "web"), `no own image is named "web-2" in cn-hangzhou yet`},
		{created("m-web2", "web-2", "web"), `image m-web2 is not listed in cn-hangzhou yet`},
	} {
		says := tt.says
		_, err := runIntent(t, e, eventIntent(tt.rec))
		var n *NotYet
		if !errors.As(err, &n) || n.Code != "InvalidImageId.NotFound" || !strings.Contains(n.Reason, says) {
			t.Errorf("err = %v, want NotYet saying %q", err, says)
		}
	}
	// A promote intent naming an image that is not there is refused, as before.
	_, err := runIntent(t, e, intent.Intent{Action: "promote", ImageID: "m-web2"})
	var r *Refusal
	if !errors.As(err, &r) || r.Code != "InvalidImageId.NotFound" {
		t.Errorf("err = %v", err)
	}
}

// A copy lives in the destination region: it is found and promoted there,
// joining the family its name gives, and the source region is not touched.
func TestEventCopyImage(t *testing.T) {
	t.Parallel()
	src := seedFamily("w", "web", 3, 0)
	old := seedImage("m-sh-old", "web", ecsapi.StatusAvailable, 1)
	cp := seedImage("m-sh-copy", "", ecsapi.StatusCreating, 5)
	cp.Name = "web-copy-sh"
	for _, im := range []*emulator.SeedImage{&old, &cp} {
		im.RegionID = "cn-shanghai"
	}
	s, e := startEmulator(t, emulator.Options{CreatingCalls: 2}, append(src, old, cp)...)
	e.Policy = mustPolicy(t, `{"version":1,"families":[{"match":"web","keep":1}],"names":[{"match":"web-*","family":"web"}]}`)
	rec := actiontrail.Record{Type: actiontrail.TypeAPICall, EventName: actiontrail.CopyImage, EventID: "ev-2", Region: testRegion,
		TargetRegion: "cn-shanghai", ImageName: "web-copy-sh", SourceImageID: "w-002"}
	res, err := runIntent(t, e, eventIntent(rec))
	if err != nil {
		t.Fatal(err)
	}
	if res.Plan.RegionID != "cn-shanghai" || res.Plan.ImageID != "m-sh-copy" {
		t.Fatalf("plan\n%s", res.Plan.Table())
	}
	for id, want := range map[string]string{"m-sh-copy": ecsapi.StatusAvailable, "m-sh-old": ecsapi.StatusDeprecated,
		"w-000": ecsapi.StatusAvailable, "w-001": ecsapi.StatusAvailable, "w-002": ecsapi.StatusAvailable} {
		if im, _ := s.Image(id); im.Status != want {
			t.Errorf("%s is %s, want %s", id, im.Status, want)
		}
	}
	if im, _ := s.Image("m-sh-copy"); im.Family != "web" {
		t.Errorf("the copy is in family %q", im.Family)
	}

	// A region outside ALLOWED_REGIONS is refused, with no call.
	s2, e2 := startEmulator(t, emulator.Options{}, append(src, old, cp)...)
	e2.Policy, e2.Guards.AllowedRegions = e.Policy, []string{testRegion}
	_, err = runIntent(t, e2, eventIntent(rec))
	var r *Refusal
	if !errors.As(err, &r) || r.Code != CodeScope {
		t.Fatalf("err = %v", err)
	}
	if n := s2.Calls("DescribeImages"); n != 0 {
		t.Errorf("%d reads", n)
	}
}
