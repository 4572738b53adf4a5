package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/intent"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/retry"
)

// newTestEngine returns an engine on f with default guards (changed by mod),
// a clock far after every test image, and a short wait for Creating images.
func newTestEngine(f *fakeECS, mod ...func(*Guards)) *Engine {
	g := DefaultGuards()
	for _, m := range mod {
		m(&g)
	}
	e := NewEngine(f, g, testRegion)
	e.Now = func() time.Time { return t0.Add(1000 * time.Hour) }
	e.CreatingBackoff = func(int) time.Duration { return 5 * time.Millisecond }
	return e
}

// waitUntil gives e a budget whose Creating line is margin before ctx's
// deadline, as the handler's Split would.
func waitUntil(e *Engine, ctx context.Context, margin time.Duration) {
	dl, _ := ctx.Deadline()
	e.Budget = retry.Shares{Creating: retry.Share{Max: margin, Fraction: 1}}.Split(retry.RealClock, dl)
}

func keepN(n int) *int { return &n }

// planMadeEarlier ages every listing e has read past freshFor, as if its plan
// had been made a while before the apply: Apply then re-reads before it
// deprecates, and sees what another run changed in between.
func planMadeEarlier(e *Engine) {
	c := e.Cache
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, at := range c.families {
		c.families[k] = at.Add(-freshFor)
	}
	for r, at := range c.regions {
		c.regions[r] = at.Add(-freshFor)
	}
}

// family makes n Available images id prefix-0..n-1 of family, hour = start+i.
func family(prefix, fam string, n, start int) []*fakeImage {
	out := make([]*fakeImage, n)
	for i := range out {
		out[i] = img(fmt.Sprintf("%s-%03d", prefix, i), fam, ecsapi.StatusAvailable, start+i)
	}
	return out
}

func with(im *fakeImage, mod func(*fakeImage)) *fakeImage { mod(im); return im }

func run(t *testing.T, e *Engine, in intent.Intent) *Result {
	t.Helper()
	res, err := e.Run(context.Background(), in)
	if err != nil {
		t.Fatalf("Run(%+v): %v", in, err)
	}
	return res
}

func stepOf(t *testing.T, p *Plan, id string) Step {
	t.Helper()
	for _, s := range p.Steps {
		if s.ImageID == id {
			return s
		}
	}
	t.Fatalf("no step for %s in plan:\n%s", id, p.Table())
	return Step{}
}

// wantRefusal: a guard refused the whole intent, with code.
func wantRefusal(t *testing.T, err error, code string) {
	t.Helper()
	var r *Refusal
	if !errors.As(err, &r) || r.Code != code {
		t.Fatalf("error = %v, want a *Refusal %s", err, code)
	}
}

// wantNotYet: the intent must wait, on code.
func wantNotYet(t *testing.T, err error, code string) {
	t.Helper()
	var n *NotYet
	if !errors.As(err, &n) || n.Code != code {
		t.Fatalf("error = %v, want a *NotYet %s", err, code)
	}
}

// wantAPIError: the API's own answer passed through, with its code and status.
func wantAPIError(t *testing.T, err error, code string, status int) {
	t.Helper()
	var ae *ecsapi.Error
	if !errors.As(err, &ae) || ae.Code != code || ae.HTTPStatus != status {
		t.Fatalf("error = %v, want *ecsapi.Error %s (HTTP %d)", err, code, status)
	}
}

func TestSingleImageActions(t *testing.T) {
	t.Parallel()
	tag := func(im *fakeImage) { im.Tags = map[string]string{"lifecycle:keep": "true"} }
	tests := []struct {
		name       string
		images     []*fakeImage
		guards     func(*Guards)
		in         intent.Intent
		wantWrites []string
		wantStatus map[string]string
		wantReason map[string]string // image id -> part of its step's reason
		wantCalls  map[string]int
	}{
		{
			name:   "modify sets only the fields that differ, in one call",
			images: []*fakeImage{img("m-1", "web", "Available", 1)},
			in: intent.Intent{Action: "modify", ImageID: "m-1", Attributes: &intent.Attributes{
				ImageName: "name-m-1", Description: "new desc", Features: &intent.Features{NvmeSupport: "supported", ImdsSupport: "v2"}}},
			wantWrites: []string{"m-1 Description=new desc NvmeSupport=supported ImdsSupport=v2"},
			wantCalls:  map[string]int{"DescribeImages": 1, "ModifyImageAttribute": 1},
		},
		{
			name:   "modify already converged makes no write",
			images: []*fakeImage{img("m-1", "web", "Available", 1)},
			in: intent.Intent{Action: "modify", ImageID: "m-1", Attributes: &intent.Attributes{
				ImageName: "name-m-1", BootMode: "BIOS", Features: &intent.Features{ImdsSupport: "v1"}}},
			wantReason: map[string]string{"m-1": "nothing to change"},
			wantCalls:  map[string]int{"DescribeImages": 1, "ModifyImageAttribute": 0},
		},
		{
			name:       "licenseType cannot be read back and is always sent",
			images:     []*fakeImage{img("m-1", "web", "Available", 1)},
			in:         intent.Intent{Action: "modify", ImageID: "m-1", Attributes: &intent.Attributes{LicenseType: "BYOL"}},
			wantWrites: []string{"m-1 LicenseType=BYOL"},
			wantReason: map[string]string{"m-1": "DescribeImages does not return it"},
		},
		{
			name:       "bootMode change on an image nobody uses",
			images:     []*fakeImage{with(img("m-1", "web", "Available", 1), func(i *fakeImage) { i.Usage = "" })},
			in:         intent.Intent{Action: "modify", ImageID: "m-1", Attributes: &intent.Attributes{BootMode: "UEFI"}},
			wantWrites: []string{"m-1 BootMode=UEFI"},
			wantCalls:  map[string]int{"CountInstancesUsingImage": 1},
		},
		{
			name:       "deprecate one of two",
			images:     []*fakeImage{img("m-1", "web", "Available", 1), img("m-2", "web", "Available", 2)},
			in:         intent.Intent{Action: "deprecate", ImageID: "m-2"},
			wantWrites: []string{"m-2 Status=Deprecated"},
			wantStatus: map[string]string{"m-2": "Deprecated"},
			// image, family (plan; the re-check judges by it, read a moment
			// ago), write, the images it left live, by id (RestoreFloors); no
			// share read (DescribeImages says IsSelfShared "False")
			wantCalls: map[string]int{"DescribeImages": 3, "DescribeImageSharePermission": 0, "ModifyImageAttribute": 1},
		},
		{
			name:       "deprecate already Deprecated makes no write and reads no shares",
			images:     []*fakeImage{img("m-1", "web", "Available", 1), img("m-2", "web", "Deprecated", 2)},
			in:         intent.Intent{Action: "deprecate", ImageID: "m-2"},
			wantReason: map[string]string{"m-2": "already Deprecated"},
			wantCalls:  map[string]int{"DescribeImageSharePermission": 0, "ModifyImageAttribute": 0},
		},
		{
			name:       "deprecate the last Available image of a family is stopped by the floor",
			images:     []*fakeImage{img("m-1", "web", "Deprecated", 1), img("m-2", "web", "Available", 2)},
			in:         intent.Intent{Action: "deprecate", ImageID: "m-2"},
			wantStatus: map[string]string{"m-2": "Available"},
			wantReason: map[string]string{"m-2": "floor: last Available image of family web"},
			wantCalls:  map[string]int{"ModifyImageAttribute": 0},
		},
		{
			name:       "deprecate a shared image is skipped",
			images:     []*fakeImage{img("m-1", "web", "Available", 1), with(img("m-2", "web", "Available", 2), func(i *fakeImage) { i.shares = []string{"1", "2", "3"} })},
			in:         intent.Intent{Action: "deprecate", ImageID: "m-2"},
			wantReason: map[string]string{"m-2": "skipped: shared with 3 accounts"},
			wantCalls:  map[string]int{"ModifyImageAttribute": 0},
		},
		{
			name: "deprecate a shared image with UnshareBeforeDeprecate unshares 10 at a time first",
			images: []*fakeImage{img("m-1", "web", "Available", 1), with(img("m-2", "web", "Available", 2), func(i *fakeImage) {
				for n := range 12 {
					i.shares = append(i.shares, fmt.Sprint(100+n))
				}
			})},
			guards:     func(g *Guards) { g.UnshareBeforeDeprecate = true },
			in:         intent.Intent{Action: "deprecate", ImageID: "m-2"},
			wantWrites: []string{"m-2 Unshare=100,101,102,103,104,105,106,107,108,109", "m-2 Unshare=110,111", "m-2 Status=Deprecated"},
			wantStatus: map[string]string{"m-2": "Deprecated"},
		},
		{
			name:       "explicit deprecate ignores the exclusion tag (bulk selection only)",
			images:     []*fakeImage{img("m-1", "web", "Available", 1), with(img("m-2", "web", "Available", 2), tag)},
			in:         intent.Intent{Action: "deprecate", ImageID: "m-2"},
			wantWrites: []string{"m-2 Status=Deprecated"},
		},
		{
			name:       "deprecate an image without family has no floor",
			images:     []*fakeImage{img("m-1", "", "Available", 1)},
			in:         intent.Intent{Action: "deprecate", ImageID: "m-1"},
			wantWrites: []string{"m-1 Status=Deprecated"},
		},
		{
			name:       "modify moving the last Available image out of its family: the move is skipped, the rest applied",
			images:     []*fakeImage{img("m-0", "web", "Deprecated", 0), img("m-1", "web", "Available", 1)},
			in:         intent.Intent{Action: "modify", ImageID: "m-1", Attributes: &intent.Attributes{ImageFamily: "app", Description: "new desc"}},
			wantWrites: []string{"m-1 Description=new desc"},
			wantStatus: map[string]string{"m-1": "Available"},
			wantReason: map[string]string{"m-1": "floor: last Available image of family web; move to family app refused; set description"},
		},
		{
			name:       "modify moving the last Available image out and nothing else writes nothing",
			images:     []*fakeImage{img("m-1", "web", "Available", 1)},
			in:         intent.Intent{Action: "modify", ImageID: "m-1", Attributes: &intent.Attributes{ImageFamily: "app"}},
			wantReason: map[string]string{"m-1": "move to family app refused"},
			wantCalls:  map[string]int{"ModifyImageAttribute": 0},
		},
		{
			name:       "modify moving an Available image out of a family that keeps its floor",
			images:     []*fakeImage{img("m-1", "web", "Available", 1), img("m-2", "web", "Available", 2)},
			in:         intent.Intent{Action: "modify", ImageID: "m-2", Attributes: &intent.Attributes{ImageFamily: "app"}},
			wantWrites: []string{"m-2 ImageFamily=app"},
			// image, old family (plan; the re-check judges by it); no share read
			wantCalls: map[string]int{"DescribeImages": 2, "DescribeImageSharePermission": 0, "ModifyImageAttribute": 1},
		},
		{
			name:       "modify moving a Deprecated image out takes nothing from its family",
			images:     []*fakeImage{img("m-1", "web", "Deprecated", 1)},
			in:         intent.Intent{Action: "modify", ImageID: "m-1", Attributes: &intent.Attributes{ImageFamily: "app"}},
			wantWrites: []string{"m-1 ImageFamily=app"},
		},
		{
			name:       "modify deprecating and moving the last Available image refuses both",
			images:     []*fakeImage{img("m-1", "web", "Available", 1)},
			in:         intent.Intent{Action: "modify", ImageID: "m-1", Attributes: &intent.Attributes{ImageFamily: "app", Status: "Deprecated"}},
			wantStatus: map[string]string{"m-1": "Available"},
			wantReason: map[string]string{"m-1": "explicit deprecate refused, move to family app refused"},
			wantCalls:  map[string]int{"ModifyImageAttribute": 0, "DescribeImageSharePermission": 0},
		},
		{
			name:       "modify to Deprecated with floor 2 is refused while 2 would not remain",
			images:     []*fakeImage{img("m-1", "web", "Available", 1), img("m-2", "web", "Available", 2)},
			guards:     func(g *Guards) { g.FamilyFloor = 2 },
			in:         intent.Intent{Action: "modify", ImageID: "m-2", Attributes: &intent.Attributes{Status: "Deprecated", ImageName: "old-web"}},
			wantWrites: []string{"m-2 ImageName=old-web"},
			wantStatus: map[string]string{"m-2": "Available"},
			wantReason: map[string]string{"m-2": "floor: family web keeps 2 Available images (FAMILY_FLOOR); explicit deprecate refused; set imageName"},
		},
		{
			name:       "deprecate an image shared with one account is skipped",
			images:     []*fakeImage{img("m-1", "web", "Available", 1), with(img("m-2", "web", "Available", 2), func(i *fakeImage) { i.shares = []string{"1"} })},
			in:         intent.Intent{Action: "deprecate", ImageID: "m-2"},
			wantReason: map[string]string{"m-2": "skipped: shared with 1 account"},
			wantCalls:  map[string]int{"ModifyImageAttribute": 0},
		},
		{
			name:       "activate",
			images:     []*fakeImage{img("m-1", "web", "Deprecated", 1)},
			in:         intent.Intent{Action: "activate", ImageID: "m-1"},
			wantWrites: []string{"m-1 Status=Available"},
			wantCalls:  map[string]int{"DescribeImages": 1, "DescribeImageSharePermission": 0},
		},
		{
			name:      "activate already Available makes no write",
			images:    []*fakeImage{img("m-1", "web", "Available", 1)},
			in:        intent.Intent{Action: "activate", ImageID: "m-1"},
			wantCalls: map[string]int{"ModifyImageAttribute": 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(tt.images...)
			var mods []func(*Guards)
			if tt.guards != nil {
				mods = append(mods, tt.guards)
			}
			res := run(t, newTestEngine(f, mods...), tt.in)
			if got := f.writeLog(); !slices.Equal(got, tt.wantWrites) {
				t.Errorf("writes = %q, want %q\n%s", got, tt.wantWrites, res.Plan.Table())
			}
			if res.Changed != (len(tt.wantWrites) > 0) {
				t.Errorf("Changed = %t with writes %q", res.Changed, tt.wantWrites)
			}
			for id, st := range tt.wantStatus {
				if got := f.status(id); got != st {
					t.Errorf("%s status = %s, want %s", id, got, st)
				}
			}
			for id, r := range tt.wantReason {
				if s := stepOf(t, res.Plan, id); !strings.Contains(s.Reason, r) {
					t.Errorf("%s reason = %q, want it to contain %q", id, s.Reason, r)
				}
			}
			for action, n := range tt.wantCalls {
				if got := f.count(action); got != n {
					t.Errorf("%s calls = %d, want %d", action, got, n)
				}
			}
		})
	}
}

func TestRejectedBeforeAnyWrite(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		images []*fakeImage
		guards func(*Guards)
		in     intent.Intent
		code   string
		wait   bool // a *NotYet (the intent waits); else a *Refusal
		calls  int  // API calls of any kind before the refusal
	}{
		{
			name:   "imdsSupport v2 to v1",
			images: []*fakeImage{with(img("m-1", "web", "Available", 1), func(i *fakeImage) { i.ImdsSupport = "v2" })},
			in:     intent.Intent{Action: "modify", ImageID: "m-1", Attributes: &intent.Attributes{Features: &intent.Features{ImdsSupport: "v1"}}},
			code:   "InvalidOperation.FeaturesImdsSupportNotMatch", calls: 1,
		},
		{
			name:   "bootMode of an image in use (Usage says so)",
			images: []*fakeImage{with(img("m-1", "web", "Available", 1), func(i *fakeImage) { i.Usage = "instance"; i.instances = 2 })},
			in:     intent.Intent{Action: "modify", ImageID: "m-1", Attributes: &intent.Attributes{BootMode: "UEFI"}},
			code:   "OperationDeined.ImageUsingByInstance", calls: 1,
		},
		{
			name:   "bootMode of an image in use (counted)",
			images: []*fakeImage{with(img("m-1", "web", "Available", 1), func(i *fakeImage) { i.Usage = ""; i.instances = 1 })},
			in:     intent.Intent{Action: "promote", ImageID: "m-1", Attributes: &intent.Attributes{BootMode: "UEFI"}},
			code:   "OperationDeined.ImageUsingByInstance", calls: 2,
		},
		{
			name:   "image not found",
			images: []*fakeImage{img("m-1", "web", "Available", 1)},
			in:     intent.Intent{Action: "deprecate", ImageID: "m-404"},
			code:   "InvalidImageId.NotFound", calls: 1,
		},
		{
			name:   "image of another account is not listed as own",
			images: []*fakeImage{with(img("m-1", "web", "Available", 1), func(i *fakeImage) { i.OwnerAlias = "others" })},
			in:     intent.Intent{Action: "activate", ImageID: "m-1"},
			code:   "InvalidImageId.NotFound", calls: 1,
		},
		{
			name:   "public image",
			images: []*fakeImage{with(img("m-1", "web", "Available", 1), func(i *fakeImage) { i.IsPublic = true })},
			in:     intent.Intent{Action: "modify", ImageID: "m-1", Attributes: &intent.Attributes{Description: "x"}},
			code:   "InvalidOperation.PublicImageUnsupported", calls: 1,
		},
		{
			name:   "region not allowed",
			images: []*fakeImage{img("m-1", "web", "Available", 1)},
			guards: func(g *Guards) { g.AllowedRegions = []string{"cn-beijing"} },
			in:     intent.Intent{Action: "rotate", ImageFamily: "web"},
			code:   CodeScope, calls: 0,
		},
		{
			name:   "family of the image not allowed",
			images: []*fakeImage{img("m-1", "web", "Available", 1)},
			guards: func(g *Guards) { g.AllowedFamilies = []string{"app-*"} },
			in:     intent.Intent{Action: "deprecate", ImageID: "m-1"},
			code:   CodeScope, calls: 1,
		},
		{
			name:   "moving an image into a family not allowed",
			images: []*fakeImage{img("m-1", "app-1", "Available", 1)},
			guards: func(g *Guards) { g.AllowedFamilies = []string{"app-*"} },
			in:     intent.Intent{Action: "modify", ImageID: "m-1", Attributes: &intent.Attributes{ImageFamily: "web"}},
			code:   CodeScope, calls: 1,
		},
		{
			name:   "explicit rotate family not allowed",
			images: []*fakeImage{img("m-1", "web", "Available", 1)},
			guards: func(g *Guards) { g.AllowedFamilies = []string{"app-*"} },
			in:     intent.Intent{Action: "rotate", ImageFamily: "web"},
			code:   CodeScope, calls: 0,
		},
		{
			name:   "rollback from an image of another family",
			images: []*fakeImage{img("m-1", "app", "Available", 1)},
			in:     intent.Intent{Action: "rollback", ImageFamily: "web", ImageID: "m-1"},
			code:   "InvalidParameter", calls: 1,
		},
		{
			name:   "rollback from an image without family",
			images: []*fakeImage{img("m-1", "", "Available", 1)},
			in:     intent.Intent{Action: "rollback", ImageID: "m-1"},
			code:   "InvalidParameter", calls: 1,
		},
		{
			name:   "rollback from an image that does not exist",
			images: []*fakeImage{img("m-1", "web", "Available", 1)},
			in:     intent.Intent{Action: "rollback", ImageID: "m-404"},
			code:   "InvalidImageId.NotFound", calls: 1,
		},
		{
			name:   "rollback from an image whose family is not allowed",
			images: []*fakeImage{img("m-1", "web", "Available", 1)},
			guards: func(g *Guards) { g.AllowedFamilies = []string{"app-*"} },
			in:     intent.Intent{Action: "rollback", ImageID: "m-1"},
			code:   CodeScope, calls: 1,
		},
		{
			name:   "rollback from an image still Creating waits (transient)",
			images: []*fakeImage{img("w-p", "web", "Deprecated", 1), img("m-1", "web", "Creating", 2)},
			in:     intent.Intent{Action: "rollback", ImageID: "m-1"},
			code:   "InvalidStatus.ImageIsCreating", wait: true, calls: 2,
		},
		{
			name:   "rollback family not allowed",
			images: []*fakeImage{img("m-1", "web", "Available", 1)},
			guards: func(g *Guards) { g.AllowedFamilies = []string{"app-*"} },
			in:     intent.Intent{Action: "rollback", ImageFamily: "web"},
			code:   CodeScope, calls: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(tt.images...)
			var mods []func(*Guards)
			if tt.guards != nil {
				mods = append(mods, tt.guards)
			}
			res, err := newTestEngine(f, mods...).Run(context.Background(), tt.in)
			if tt.wait {
				wantNotYet(t, err, tt.code)
			} else {
				wantRefusal(t, err, tt.code)
			}
			if res != nil {
				t.Errorf("Run returned a result with a refused intent: %+v", res)
			}
			total := 0
			for _, n := range f.calls {
				total += n
			}
			if total != tt.calls || f.count("ModifyImageAttribute") != 0 {
				t.Errorf("calls = %v, want %d reads and no write", f.calls, tt.calls)
			}
		})
	}
}

// A move out of a family is re-checked on a fresh read before the write, like
// a deprecation: when another run has since taken the family to its floor, the
// move is held and the rest of the modify is still made; when the image has
// since been deprecated, the move takes nothing from the family and is made.
func TestApplyRechecksAMoveOutOfAFamily(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name       string
		meanwhile  string // the image another run deprecates between plan and apply
		wantWrites []string
		wantHeld   bool
	}{
		{"the family reached its floor", "m-1", []string{"m-2 Description=moved"}, true},
		{"the image itself was deprecated", "m-2", []string{"m-2 Description=moved ImageFamily=app"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(img("m-1", "web", "Available", 1), img("m-2", "web", "Available", 2))
			e := newTestEngine(f)
			in := intent.Intent{Action: "modify", ImageID: "m-2", Attributes: &intent.Attributes{ImageFamily: "app", Description: "moved"}}
			p, err := e.Plan(context.Background(), in)
			if err != nil || !stepOf(t, p, "m-2").movesOut() {
				t.Fatalf("plan: %v\n%s", err, p.Table())
			}
			f.images[tt.meanwhile].Status = ecsapi.StatusDeprecated
			planMadeEarlier(e)
			res, err := e.Apply(context.Background(), p)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.writeLog(); !slices.Equal(got, tt.wantWrites) {
				t.Errorf("writes = %q, want %q", got, tt.wantWrites)
			}
			if held := len(res.Held) == 1 && strings.Contains(res.Held[0].Reason, "floor: last Available image of family web"); held != tt.wantHeld {
				t.Errorf("Held = %+v, want held %t", res.Held, tt.wantHeld)
			}
		})
	}
}
