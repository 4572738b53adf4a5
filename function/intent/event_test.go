package intent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/actiontrail"
)

// event is an ActionTrail CloudEvent whose data is the record given, with
// top (members such as retry or confirm, with their trailing comma) first.
func event(top, record string) []byte {
	return []byte(`{` + top + `"specversion":"1.0","id":"e-1","source":"acs.ecs","type":"ecs:ActionTrail:ApiCall","data":` + record + `}`)
}

func fromEvent(t *testing.T, body []byte) (Intent, error) {
	t.Helper()
	rec, err := actiontrail.Decode(body)
	if err != nil {
		t.Fatalf("actiontrail.Decode: %v", err)
	}
	return FromEvent(rec, body)
}

func TestFromEventSamples(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file, region, image string
		failed              bool
	}{
		{"actiontrail-createimage.json", "cn-hangzhou", "m-bp1web0a1b2c3d4e5f6g", false},
		{"actiontrail-createimage-noresponse.json", "cn-hangzhou", "", false},
		{"actiontrail-copyimage.json", "cn-shanghai", "", false},
		{"actiontrail-importimage.json", "cn-hangzhou", "m-bp1base9z8y7x6w5v4u3", false},
		{"actiontrail-failed.json", "cn-hangzhou", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			body, err := os.ReadFile(filepath.Join("..", "..", "events", "triggers", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			in, err := fromEvent(t, body)
			if err != nil {
				t.Fatal(err)
			}
			if in.Action != ActionPromote || in.RegionID != tt.region || in.ImageID != tt.image || in.Event == nil || in.Event.Failed() != tt.failed {
				t.Errorf("FromEvent = %+v (event %+v)", in, in.Event)
			}
			if in.Keep != nil || in.Attributes != nil || in.ID != "" {
				t.Errorf("FromEvent decided what the policy decides: %+v", in)
			}
		})
	}
}

func TestFromEventChecks(t *testing.T) {
	t.Parallel()
	const ok = `"eventName":"CreateImage","acsRegion":"cn-hangzhou","requestParameters":{"ImageName":"web-1","ImageFamily":"web"}`
	tests := []struct {
		name string
		body []byte
		want []string // "Code field"
	}{
		{"found by name", event(``, `{`+ok+`}`), nil},
		{"with its id", event(``, `{`+ok+`,"responseElements":{"ImageId":"m-bp1new"}}`), nil},
		{"a malformed id", event(``, `{`+ok+`,"responseElements":{"ImageId":"i-bp1new"}}`),
			[]string{"InvalidImageId.Malformed " + actiontrail.FieldImageID}},
		{"neither id nor name", event(``, `{"eventName":"CreateImage","acsRegion":"cn-hangzhou"}`),
			[]string{"MissingParameter " + actiontrail.FieldImageID}},
		{"a malformed family", event(``, `{"eventName":"CreateImage","acsRegion":"cn-hangzhou","requestParameters":{"ImageName":"web-1","ImageFamily":"acs:web"}}`),
			[]string{"InvalidImageFamily.Malformed " + actiontrail.FieldImageFamily}},
		{"a malformed region", event(``, `{"eventName":"ImportImage","acsRegion":"Hangzhou","requestParameters":{"ImageName":"base-1"}}`),
			[]string{"InvalidRegionId.Malformed " + actiontrail.FieldRegion}},
		{"a copy without its destination", event(``, `{"eventName":"CopyImage","acsRegion":"cn-hangzhou","requestParameters":{"DestinationImageName":"web-sh"}}`),
			[]string{"MissingParameter " + actiontrail.FieldTargetRegion}},
		{"a copy to a malformed region", event(``, `{"eventName":"CopyImage","acsRegion":"cn-hangzhou","requestParameters":{"DestinationImageName":"web-sh","DestinationRegionId":"shanghai"}}`),
			[]string{"InvalidRegionId.Malformed " + actiontrail.FieldTargetRegion}},
		{"a failed call is not checked", event(``, `{"eventName":"CopyImage","acsRegion":"cn-hangzhou","errorCode":"Forbidden.RAM","responseElements":{"ImageId":"x"}}`), nil},
		{"confirm and retry at the top", event(`"confirm":{"deprecate":["m-bp1old"]},"retry":{"attempt":2,"firstSeen":"2026-11-27T04:12:10Z"},`, `{`+ok+`}`), nil},
		{"a bad confirm", event(`"confirm":{"deprecate":["m-bp1old","m-bp1old"]},`, `{`+ok+`}`),
			[]string{"InvalidParameter.Confirm confirm.deprecate[1]"}},
		{"a confirm of the wrong type", event(`"confirm":"yes",`, `{`+ok+`}`), []string{"InvalidParameter.Type confirm"}},
		{"a bad retry", event(`"retry":{"attempt":0,"firstSeen":"2026-11-27T04:12:10Z"},`, `{`+ok+`}`), []string{"MissingParameter retry.attempt"}},
		{"a misspelt confirm is the event's own member", event(`"Confirm":{"deprecate":[1]},`, `{`+ok+`}`), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := fromEvent(t, tt.body)
			wantViolations(t, err, tt.want...)
		})
	}
}

func TestFromEventReadsConfirmAndRetry(t *testing.T) {
	t.Parallel()
	in, err := fromEvent(t, event(`"confirm":{"deprecate":["m-bp1a","m-bp1b"]},"retry":{"attempt":3,"firstSeen":"2026-11-27T04:12:10Z","lastError":"InvalidStatus.ImageIsCreating"},`,
		`{"eventName":"CreateImage","acsRegion":"cn-hangzhou","requestParameters":{"ImageName":"web-1"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(in.Confirmed(), ","); got != "m-bp1a,m-bp1b" {
		t.Errorf("confirmed %q", got)
	}
	if in.Retry == nil || in.Retry.Attempt != 3 || !in.Retry.FirstSeen.Equal(time.Date(2026, 11, 27, 4, 12, 10, 0, time.UTC)) {
		t.Errorf("retry %+v", in.Retry)
	}
}
