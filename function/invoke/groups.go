package invoke

import (
	"encoding/json"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/trigger"
)

// orderedGroups splits a batch into groups that may run concurrently: messages
// about the same family (or, when no family is named, the same image) share a
// group and keep their arrival order, so a promote and a rotate of one family
// never race inside one invocation. Groups are returned in order of first arrival.
func orderedGroups(msgs []trigger.Message) [][]int {
	var order []string
	groups := map[string][]int{}
	for i, m := range msgs {
		k := groupKey(m)
		if _, seen := groups[k]; !seen {
			order = append(order, k)
		}
		groups[k] = append(groups[k], i)
	}
	out := make([][]int, 0, len(order))
	for _, k := range order {
		out = append(out, groups[k])
	}
	return out
}

// groupKey reads just enough of the body to group it; a body that does not
// parse gets a group of its own (it will be rejected on its own anyway).
func groupKey(m trigger.Message) string {
	var peek struct {
		RegionID      string   `json:"regionId"`
		ImageID       string   `json:"imageId"`
		ImageFamily   string   `json:"imageFamily"`
		ImageFamilies []string `json:"imageFamilies"`
		Attributes    *struct {
			ImageFamily string `json:"imageFamily"`
		} `json:"attributes"`
	}
	if m.Err != nil || json.Unmarshal(m.Body, &peek) != nil {
		return "message:" + m.ID
	}
	switch {
	case peek.ImageFamily != "":
		return peek.RegionID + "/family:" + peek.ImageFamily
	case peek.Attributes != nil && peek.Attributes.ImageFamily != "":
		return peek.RegionID + "/family:" + peek.Attributes.ImageFamily
	case len(peek.ImageFamilies) > 0:
		// Globs may cover any family: serialise all pattern rotations of a region.
		return peek.RegionID + "/families"
	case peek.ImageID != "":
		return peek.RegionID + "/image:" + peek.ImageID
	default:
		return "message:" + m.ID
	}
}
