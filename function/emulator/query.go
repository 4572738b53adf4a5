package emulator

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

var imageStatuses = []string{"Creating", "Waiting", "Available", "UnAvailable", "CreateFailed", "Deprecated"}

// Limits of DescribeImages' filters.
const (
	maxImageIDs = 100
	maxTags     = 20
)

// filterTime is the documented format of Filter.N.Value for the creation
// window: UTC, to the minute.
const filterTime = "2006-01-02T15:04Z"

// imageQuery is DescribeImages' parameters, checked.
type imageQuery struct {
	region       string
	ids          map[string]bool // nil = any
	statuses     []string
	alias        string
	name         string // lower case; matched as a substring
	family       string
	usage        string
	osType       string
	architecture string
	tags         []tagFilter
	from, to     time.Time // creation window, inclusive; zero = open
	dryRun       bool
	number, size int
}

type tagFilter struct{ key, value string }

// parseImageQuery checks every parameter before any image is read, and
// answers a bad one with the code the DescribeImages doc gives it.
func parseImageQuery(f url.Values) (imageQuery, *apiError) {
	q := imageQuery{region: f.Get("RegionId"), family: f.Get("ImageFamily"), alias: f.Get("ImageOwnerAlias"),
		name: strings.ToLower(f.Get("ImageName")), statuses: []string{"Available"}}
	if q.region == "" {
		return q, missing("RegionId")
	}
	var aerr *apiError
	if q.ids, aerr = parseImageIDs(f.Get("ImageId")); aerr != nil {
		return q, aerr
	}
	if v := f.Get("Status"); v != "" {
		if q.statuses, aerr = parseStatuses(v); aerr != nil {
			return q, aerr
		}
	}
	if aerr = q.parseEnums(f); aerr != nil {
		return q, aerr
	}
	if q.tags, aerr = parseTags(f); aerr != nil {
		return q, aerr
	}
	if q.from, q.to, aerr = parseCreationWindow(f); aerr != nil {
		return q, aerr
	}
	// ShowExpired shows subscription images whose subscription ran out; no
	// emulated image has a subscription, so it is checked and changes nothing.
	if _, aerr = boolParam(f, "ShowExpired"); aerr != nil {
		return q, aerr
	}
	if q.dryRun, aerr = boolParam(f, "DryRun"); aerr != nil {
		return q, aerr
	}
	q.number, q.size, aerr = paging(f)
	return q, aerr
}

// parseImageIDs reads ImageId, comma-separated, at most maxImageIDs; nil
// when it is not given.
func parseImageIDs(v string) (map[string]bool, *apiError) {
	if v == "" {
		return nil, nil
	}
	ids := map[string]bool{}
	for id := range strings.SplitSeq(v, ",") {
		if id = strings.TrimSpace(id); id != "" {
			ids[id] = true
		}
	}
	if len(ids) > maxImageIDs {
		return ids, invalidParam("ImageId", "more than 100 ids")
	}
	return ids, nil
}

// parseStatuses reads Status, comma-separated.
func parseStatuses(v string) ([]string, *apiError) {
	var statuses []string
	for st := range strings.SplitSeq(v, ",") {
		st = strings.TrimSpace(st)
		if !slices.Contains(imageStatuses, st) {
			return nil, invalidParam("Status", st)
		}
		statuses = append(statuses, st)
	}
	return statuses, nil
}

// parseEnums checks ImageOwnerAlias, Usage, OSType and Architecture against
// the values the doc allows.
func (q *imageQuery) parseEnums(f url.Values) *apiError {
	switch q.alias {
	case "", "self", "others", "system", "marketplace":
	default:
		return errorf(http.StatusBadRequest, "InvalidImageOwnerAlias.ValueNotSupported",
			"The specified ImageOwnerAlias %q is not supported.", q.alias)
	}
	// The doc answers these three with 404, odd as that is for a bad value.
	for _, p := range []struct {
		name, code string
		valid      []string
		dst        *string
	}{
		{"Usage", "InvalidUsage", []string{"instance", "none"}, &q.usage},
		{"OSType", "InvalidOSType", []string{"linux", "windows"}, &q.osType},
		{"Architecture", "InvalidArchitecture", []string{"i386", "x86_64", "arm64"}, &q.architecture},
	} {
		v := f.Get(p.name)
		if v != "" && !slices.Contains(p.valid, v) {
			return errorf(http.StatusNotFound, p.code, "The specified %s %q is not valid: use %s.", p.name, v, strings.Join(p.valid, " or "))
		}
		*p.dst = v
	}
	return nil
}

// parseTags reads Tag.N.Key / Tag.N.Value, N from 1 to 20.
func parseTags(f url.Values) ([]tagFilter, *apiError) {
	var tags []tagFilter
	for _, n := range indexes(f, "Tag") {
		if n > maxTags {
			return nil, errorf(http.StatusBadRequest, "InvalidTagCount", "The specified tags are beyond the permitted range (%d).", maxTags)
		}
		p := "Tag." + strconv.Itoa(n)
		k, v := f.Get(p+".Key"), f.Get(p+".Value")
		if k == "" {
			return nil, errorf(http.StatusBadRequest, "InvalidTag.Mismatch", "The specified %s.Value has no %s.Key.", p, p)
		}
		tags = append(tags, tagFilter{k, v})
	}
	return tags, nil
}

// parseCreationWindow reads Filter.N: CreationStartTime (created at or after)
// and CreationEndTime (created at or before), values as yyyy-MM-ddTHH:mmZ.
func parseCreationWindow(f url.Values) (from, to time.Time, aerr *apiError) {
	for _, n := range indexes(f, "Filter") {
		p := "Filter." + strconv.Itoa(n)
		key, value := f.Get(p+".Key"), f.Get(p+".Value")
		var dst *time.Time
		switch key {
		case "CreationStartTime":
			dst = &from
		case "CreationEndTime":
			dst = &to
		case "NetworkType":
			return from, to, errorf(http.StatusBadRequest, "UnsupportedParameter",
				"The filter %s.Key=NetworkType is not supported by this emulator (it supports CreationStartTime and CreationEndTime).", p)
		case "":
			return from, to, missing(p + ".Key")
		default:
			return from, to, errorf(http.StatusNotFound, "InvalidFilterKey.NotFound", "The specified %s.Key %q does not exist.", p, key)
		}
		t, err := time.Parse(filterTime, value)
		if err != nil {
			return from, to, errorf(http.StatusBadRequest, "InvalidParameter",
				"The specified parameter %q is not valid: %q (want yyyy-MM-ddTHH:mmZ, UTC).", p+".Value", value)
		}
		*dst = t
	}
	return from, to, nil
}

// indexes lists the N of the parameters named prefix.N.*, in order.
func indexes(f url.Values, prefix string) []int {
	seen := map[int]bool{}
	for k := range f {
		rest, ok := strings.CutPrefix(k, prefix+".")
		if !ok {
			continue
		}
		num, _, _ := strings.Cut(rest, ".")
		if n, err := strconv.Atoi(num); err == nil && n >= 1 {
			seen[n] = true
		}
	}
	out := make([]int, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// matches tells whether img answers the query; inUse is whether instances use it.
func (q imageQuery) matches(img *image, inUse bool) bool {
	return q.matchesOwner(img) && q.matchesAttributes(img, inUse) && q.matchesTags(img)
}

// matchesOwner checks the region, the owner and the ids.
func (q imageQuery) matchesOwner(img *image) bool {
	switch {
	case img.RegionID != q.region,
		q.alias == "" && img.OwnerAlias == "marketplace",
		q.alias != "" && img.OwnerAlias != q.alias,
		q.ids != nil && !q.ids[img.ImageID]:
		return false
	}
	return true
}

// matchesAttributes checks the filters on the image's own attributes.
func (q imageQuery) matchesAttributes(img *image, inUse bool) bool {
	usage := "none"
	if inUse {
		usage = "instance"
	}
	switch {
	case q.family != "" && img.Family != q.family,
		// "Fuzzy match is supported" (DescribeImages doc): a substring,
		// here without regard to case.
		q.name != "" && !strings.Contains(strings.ToLower(img.Name), q.name),
		!slices.Contains(q.statuses, img.Status),
		q.usage != "" && usage != q.usage,
		q.osType != "" && img.osType != q.osType,
		q.architecture != "" && img.architecture != q.architecture,
		!q.from.IsZero() && img.CreationTime.Before(q.from),
		!q.to.IsZero() && img.CreationTime.After(q.to):
		return false
	}
	return true
}

// matchesTags checks the tag filters: the key, and the value when one is given.
func (q imageQuery) matchesTags(img *image) bool {
	for _, t := range q.tags {
		if v, ok := img.Tags[t.key]; !ok || (t.value != "" && v != t.value) {
			return false
		}
	}
	return true
}
