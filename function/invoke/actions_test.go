package invoke_test

import (
	"testing"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/emulator"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/report"
	"github.com/ecs-image-lifecycle/image-lifecycle/internal/testenv"
	"github.com/ecs-image-lifecycle/image-lifecycle/internal/testenv/reportcheck"
)

// TestEveryActionEveryOutcome takes each action to applied, unchanged and
// rejected at least once through the handler, on a fresh demo seed each, and
// checks the image the outcome is about.
func TestEveryActionEveryOutcome(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		body   string
		want   report.Outcome
		code   string
		image  string // image whose status is checked afterwards
		status string
	}{
		{name: "modify applied", body: `{"action":"modify","imageId":"` + apiNov02 + `","attributes":{"description":"new text"}}`,
			want: report.Applied, image: apiNov02, status: "Available"},
		{name: "modify unchanged", body: `{"action":"modify","imageId":"` + apiNov02 + `","attributes":{"description":"api server, go 1.26 runtime"}}`,
			want: report.Unchanged, image: apiNov02, status: "Available"},
		{name: "modify rejected", body: `{"action":"modify","imageId":"` + apiShared + `","attributes":{"features":{"imdsSupport":"v1"}}}`,
			want: report.Rejected, code: "InvalidOperation.FeaturesImdsSupportNotMatch", image: apiShared, status: "Available"},

		{name: "deprecate applied", body: `{"action":"deprecate","imageId":"` + webOldest + `"}`,
			want: report.Applied, image: webOldest, status: "Deprecated"},
		{name: "deprecate unchanged, already", body: `{"action":"deprecate","imageId":"` + baseOld + `"}`,
			want: report.Unchanged, image: baseOld, status: "Deprecated"},
		{name: "deprecate unchanged, floor", body: `{"action":"deprecate","imageId":"` + batchOnly + `"}`,
			want: report.Unchanged, image: batchOnly, status: "Available"},
		{name: "deprecate rejected", body: `{"action":"deprecate","imageId":"m-bp1nosuchimage000000"}`,
			want: report.Rejected, code: "InvalidImageId.NotFound"},

		{name: "activate applied", body: `{"action":"activate","imageId":"` + baseOld + `"}`,
			want: report.Applied, image: baseOld, status: "Available"},
		{name: "activate unchanged", body: `{"action":"activate","imageId":"` + webOldest + `"}`,
			want: report.Unchanged, image: webOldest, status: "Available"},
		{name: "activate rejected", body: `{"action":"activate"}`,
			want: report.Rejected, code: "MissingParameter"},

		{name: "promote applied", body: `{"action":"promote","imageId":"` + webNov20 + `","keep":1}`,
			want: report.Applied, image: webOldest, status: "Deprecated"},
		{name: "promote unchanged", body: `{"action":"promote","imageId":"` + webNov20 + `","keep":4}`,
			want: report.Unchanged, image: webOldest, status: "Available"},
		{name: "promote rejected", body: `{"action":"promote","imageId":"` + webNov20 + `","keep":-1}`,
			want: report.Rejected, code: "InvalidParameter.Keep"},

		{name: "rotate applied", body: `{"action":"rotate","imageFamily":"api","keep":1}`,
			want: report.Applied, image: apiNov02, status: "Deprecated"},
		{name: "rotate unchanged", body: `{"action":"rotate","imageFamily":"api","keep":3}`,
			want: report.Unchanged, image: apiNov02, status: "Available"},
		{name: "rotate rejected", body: `{"action":"rotate","imageFamily":"api","minAge":"a while"}`,
			want: report.Rejected, code: "InvalidParameter.Type"},

		{name: "rollback applied", body: `{"action":"rollback","imageFamily":"base"}`,
			want: report.Applied, image: baseNew, status: "Deprecated"},
		// batch has one image: nothing older to roll back to.
		{name: "rollback unchanged", body: `{"action":"rollback","imageFamily":"batch"}`,
			want: report.Unchanged, image: batchOnly, status: "Available"},
		{name: "rollback rejected", body: `{"action":"rollback","imageFamily":"base","keep":2}`,
			want: report.Rejected, code: "InvalidParameter.Keep", image: baseOld, status: "Deprecated"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			emu := testenv.StartEmulator(t, emulator.Options{Seed: testenv.DemoSeed(t)})
			h := newHandler(t, emu, setup{})
			rep, err := handle(t, h, 10*time.Second, testenv.MNSBatch(t, testenv.MNSMessage{ID: "m1", Body: tc.body}))
			reportcheck.Accounting(t, rep, err, []string{"m1"})
			if err != nil {
				t.Errorf("Handle: %v", err)
			}
			m := rep.Messages[0]
			if m.Outcome != tc.want || m.Code != tc.code {
				t.Errorf("%s %q (%s), want %s %q", m.Outcome, m.Code, m.Error, tc.want, tc.code)
			}
			if tc.image != "" {
				if got := statusOf(t, emu, tc.image); got != tc.status {
					t.Errorf("image %s is %s, want %s", tc.image, got, tc.status)
				}
			}
		})
	}
}
