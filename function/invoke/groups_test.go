package invoke

import (
	"slices"
	"testing"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/actiontrail"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/intent"
)

// An ActionTrail event queues behind the other messages on the family its
// record names, like an intent on that family; without a family or an id it
// touches nothing another message is about, and runs alone.
func TestGroupsOfEvents(t *testing.T) {
	t.Parallel()
	event := func(id, family string) parsedMessage {
		rec := actiontrail.Record{EventName: actiontrail.CreateImage, ImageID: id, ImageName: "web-new", ImageFamily: family}
		return parsedMessage{in: intent.Intent{Action: intent.ActionPromote, ImageID: id, Event: &rec}}
	}
	parsed := []parsedMessage{
		{in: intent.Intent{Action: intent.ActionRotate, ImageFamily: "web"}},
		event("", "web"),
		event("", ""),
		{in: intent.Intent{Action: intent.ActionRotate, ImageFamily: "api"}},
		event("m-bp1new", "web"),
	}
	ids := []string{"0", "1", "2", "3", "4"}
	noFamily := func(intent.Intent) (string, bool) { return "", false }
	got := orderedGroups(parsed, ids, "cn-hangzhou", noFamily)
	if want := [][]int{{0, 1, 4}, {2}, {3}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("groups %v, want %v", got, want)
	}
}
