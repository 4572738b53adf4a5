package invoke

import (
	"github.com/ecs-image-lifecycle/image-lifecycle/function/intent"
)

// orderedGroups splits a batch into groups that may run concurrently: intents
// about the same family keep their arrival order in one group, so a promote and
// a rotate of one family, or a deprecate and an activate of one image, never
// race inside one invocation. Groups come back in order of first arrival.
//
// familyOf names the family of an image already read (the batch is prefetched
// first), so an intent that names only an image joins its family's group.
func orderedGroups(parsed []parsedMessage, ids []string, region string, familyOf func(intent.Intent) (string, bool)) [][]int {
	var order []string
	groups := map[string][]int{}
	for i, p := range parsed {
		k := groupKey(p, ids[i], region, familyOf)
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

// groupKey is the region (defaulted, so "" and the function's own region are
// one) and the family the intent acts on; an unparsed message gets a group of
// its own, as it touches nothing.
func groupKey(p parsedMessage, id, region string, familyOf func(intent.Intent) (string, bool)) string {
	if p.err != nil {
		return "message:" + id
	}
	in := p.in
	if in.RegionID != "" {
		region = in.RegionID
	}
	// The image's current family comes first: a modify that moves an image to
	// another family must still queue behind the other intents on its image.
	if f, ok := familyOf(in); ok {
		return region + "/family:" + f
	}
	switch {
	case in.ImageFamily != "":
		return region + "/family:" + in.ImageFamily
	case in.Event != nil && in.Event.ImageFamily != "":
		// An ActionTrail event's image joins the family its record names.
		return region + "/family:" + in.Event.ImageFamily
	case in.ImageID != "":
		// Not read yet (or in no family): group by the image itself.
		return region + "/image:" + in.ImageID
	case in.Attributes != nil && in.Attributes.ImageFamily != "":
		return region + "/family:" + in.Attributes.ImageFamily
	case len(in.ImageFamilies) > 0:
		// Globs may cover any family: all pattern rotations of a region run in turn.
		return region + "/families"
	default:
		return "message:" + id
	}
}
