package emulator

import (
	"cmp"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
)

// dispatch runs one action; the body it returns gets the RequestId added.
func (s *Server) dispatch(action string, f url.Values) (map[string]any, *apiError) {
	if _, ok := actionParams[action]; !ok {
		// The 2021 docs list InvalidAction as 403; today's gateway answers an
		// unknown API with 404, which is what this emulator does.
		return nil, errorf(http.StatusNotFound, "InvalidAction", "Specified api %q is not found, please check your url and method.", action)
	}
	if err := checkParams(action, f); err != nil {
		return nil, err
	}
	switch action {
	case "ModifyImageAttribute":
		return s.modifyImageAttribute(f)
	case "DescribeImages":
		return s.describeImages(f)
	case "DescribeImageFromFamily":
		return s.describeImageFromFamily(f)
	case "DescribeImageSharePermission":
		return s.describeImageSharePermission(f)
	case "ModifyImageSharePermission":
		return s.modifyImageSharePermission(f)
	case "DescribeInstances":
		return s.describeInstances(f)
	}
	return nil, errorf(http.StatusInternalServerError, "InternalError", "The emulator lists %s but has no handler for it.", action)
}

// newestFirst orders images like the service: newest CreationTime first.
func newestFirst(a, b *image) int {
	if c := b.CreationTime.Compare(a.CreationTime); c != 0 {
		return c
	}
	return strings.Compare(b.ImageID, a.ImageID)
}

func (s *Server) describeImages(f url.Values) (map[string]any, *apiError) {
	q, aerr := parseImageQuery(f)
	if aerr != nil {
		return nil, aerr
	}
	if q.dryRun {
		return nil, errorf(http.StatusBadRequest, "DryRunOperation", "Request validation has been passed with DryRun flag set.")
	}
	defer s.lockCurrent()()
	var found []*image
	for _, img := range s.images {
		if q.matches(img, s.instancesUsing(img.ImageID) > 0) {
			found = append(found, img)
		}
	}
	slices.SortFunc(found, newestFirst)
	lo, hi := page(len(found), q.number, q.size)
	list := make([]wireImage, 0, hi-lo)
	for _, img := range found[lo:hi] {
		list = append(list, s.render(img))
	}
	// Listing a Creating image counts as a call that touches it.
	for _, img := range found[lo:hi] {
		s.touch(img)
	}
	return map[string]any{
		"RegionId":   q.region,
		"TotalCount": len(found),
		"PageNumber": q.number,
		"PageSize":   q.size,
		"Images":     map[string]any{"Image": list},
	}, nil
}

// describeImageFromFamily answers the newest Available custom image of the
// family, or an empty Image when there is none (not an error).
func (s *Server) describeImageFromFamily(f url.Values) (map[string]any, *apiError) {
	if err := required(f, "RegionId", "ImageFamily"); err != nil {
		return nil, err
	}
	defer s.lockCurrent()()
	var best *image
	for _, img := range s.images {
		if img.RegionID == f.Get("RegionId") && img.OwnerAlias == "self" && img.Family == f.Get("ImageFamily") &&
			img.Status == ecsapi.StatusAvailable && (best == nil || newestFirst(img, best) < 0) {
			best = img
		}
	}
	if best == nil {
		return map[string]any{"Image": map[string]any{}}, nil
	}
	return map[string]any{"Image": s.render(best)}, nil
}

type wireAccount struct {
	AliyunID   string `json:"AliyunId"`
	SharedTime string `json:"SharedTime"`
}

type wireShareGroup struct {
	Group string `json:"Group"`
}

func (s *Server) describeImageSharePermission(f url.Values) (map[string]any, *apiError) {
	if err := required(f, "RegionId", "ImageId"); err != nil {
		return nil, err
	}
	number, size, perr := paging(f)
	if perr != nil {
		return nil, perr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	img, err := s.lookup(f.Get("RegionId"), f.Get("ImageId"))
	if err != nil || img.OwnerAlias != "self" {
		return nil, imageNotFound()
	}
	accounts := make([]wireAccount, 0, len(img.sharedWith))
	for id, t := range img.sharedWith {
		accounts = append(accounts, wireAccount{AliyunID: id, SharedTime: fmtTime(t)})
	}
	slices.SortFunc(accounts, func(a, b wireAccount) int {
		return cmp.Or(strings.Compare(a.SharedTime, b.SharedTime), strings.Compare(a.AliyunID, b.AliyunID))
	})
	lo, hi := page(len(accounts), number, size)
	groups := []wireShareGroup{}
	if img.IsPublic {
		groups = append(groups, wireShareGroup{Group: "all"})
	}
	return map[string]any{
		"RegionId":    img.RegionID,
		"ImageId":     img.ImageID,
		"TotalCount":  len(accounts),
		"PageNumber":  number,
		"PageSize":    size,
		"Accounts":    map[string]any{"Account": accounts[lo:hi]},
		"ShareGroups": map[string]any{"ShareGroup": groups},
	}, nil
}

// maxSharesPerImage is the documented default quota of accounts per image.
const maxSharesPerImage = 50

func (s *Server) modifyImageSharePermission(f url.Values) (map[string]any, *apiError) {
	if err := required(f, "RegionId", "ImageId"); err != nil {
		return nil, err
	}
	add, remove, public, perr := shareParams(f)
	if perr != nil {
		return nil, perr
	}
	defer s.lockCurrent()()
	img, err := s.lookup(f.Get("RegionId"), f.Get("ImageId"))
	if err != nil || img.OwnerAlias != "self" {
		return nil, imageNotFound()
	}
	if err := s.checkShare(img, add, len(add) > 0 || (public != nil && *public)); err != nil {
		return nil, err
	}
	now := s.now().UTC().Truncate(time.Second)
	for _, acct := range add {
		if _, ok := img.sharedWith[acct]; !ok {
			img.sharedWith[acct] = now
		}
	}
	for _, acct := range remove {
		delete(img.sharedWith, acct)
	}
	if public != nil {
		img.IsPublic = *public
	}
	s.dirty = true
	return map[string]any{}, nil
}

// shareParams reads the accounts to add and remove (at most 10 of each per
// call: the service ignores N above 10) and IsPublic, nil when not given.
func shareParams(f url.Values) (add, remove []string, public *bool, err *apiError) {
	add, remove = repeated(f, "AddAccount", 10), repeated(f, "RemoveAccount", 10)
	for _, acct := range append(slices.Clone(add), remove...) {
		if _, err := strconv.ParseUint(acct, 10, 64); err != nil {
			return nil, nil, nil, errorf(http.StatusNotFound, "InvalidAccount.NotFound", "The specified account %q does not exist.", acct)
		}
	}
	if f.Get("IsPublic") != "" {
		p, perr := boolParam(f, "IsPublic")
		if perr != nil {
			return nil, nil, nil, perr
		}
		public = &p
	}
	return add, remove, public, nil
}

// checkShare makes the state checks of a share change: sharing (with
// accounts, or publicly) needs a created, Available image, never with its
// owner, and within the quota of accounts.
func (s *Server) checkShare(img *image, add []string, sharing bool) *apiError {
	if sharing && img.Status == ecsapi.StatusCreating {
		return errorf(http.StatusForbidden, "InvalidStatus.ImageIsCreating", "%s", messageOf("InvalidStatus.ImageIsCreating"))
	}
	if sharing && img.Status == ecsapi.StatusDeprecated {
		// A Deprecated image cannot be shared (ModifyImageAttribute doc).
		return errorf(http.StatusForbidden, "ImageStatus.NotAvailable", "The specified image status is not available.")
	}
	if slices.Contains(add, s.account) {
		return errorf(http.StatusNotFound, "InvalidAccount.Forbbiden", "The image cannot be shared with its owner.")
	}
	after := len(img.sharedWith)
	for _, acct := range add {
		if _, ok := img.sharedWith[acct]; !ok {
			after++
		}
	}
	if after > maxSharesPerImage {
		return errorf(http.StatusForbidden, "QuotaExceed.ShareImageUser", "The number of accounts the image is shared with exceeds the quota.")
	}
	return nil
}

type wireInstance struct {
	InstanceID   string `json:"InstanceId"`
	InstanceName string `json:"InstanceName"`
	ImageID      string `json:"ImageId"`
	RegionID     string `json:"RegionId"`
	Status       string `json:"Status"`
}

// describeInstances lists instances, filtered by ImageId and Status, paged by
// PageNumber/PageSize or by NextToken/MaxResults (the token is an offset).
func (s *Server) describeInstances(f url.Values) (map[string]any, *apiError) {
	if err := required(f, "RegionId"); err != nil {
		return nil, err
	}
	number, size, perr := paging(f)
	if perr != nil {
		return nil, perr
	}
	tokenPaging := f.Get("NextToken") != "" || f.Get("MaxResults") != ""
	offset := 0
	if tokenPaging {
		if size, offset, perr = tokenPage(f); perr != nil {
			return nil, perr
		}
	}
	found := s.instancesMatching(f.Get("RegionId"), f.Get("ImageId"), f.Get("Status"))
	body := map[string]any{"TotalCount": len(found), "PageSize": size}
	var lo, hi int
	if tokenPaging {
		lo, hi = min(offset, len(found)), min(offset+size, len(found))
		body["NextToken"] = ""
		if hi < len(found) {
			body["NextToken"] = strconv.Itoa(hi)
		}
	} else {
		lo, hi = page(len(found), number, size)
		body["PageNumber"] = number
	}
	body["Instances"] = map[string]any{"Instance": append([]wireInstance{}, found[lo:hi]...)}
	return body, nil
}

// tokenPage reads MaxResults (default 10) and NextToken, an offset.
func tokenPage(f url.Values) (size, offset int, err *apiError) {
	size = 10
	if v := f.Get("MaxResults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return 0, 0, invalidParam("MaxResults", v)
		}
		size = n
	}
	if v := f.Get("NextToken"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, 0, invalidParam("NextToken", v)
		}
		offset = n
	}
	return size, offset, nil
}

// instancesMatching lists the region's instances with the image and status
// asked for ("" matches any), by id.
func (s *Server) instancesMatching(region, imageID, status string) []wireInstance {
	s.mu.Lock()
	defer s.mu.Unlock()
	var found []wireInstance
	for _, in := range s.instances {
		if in.RegionID != region || (imageID != "" && in.ImageID != imageID) || (status != "" && in.Status != status) {
			continue
		}
		found = append(found, wireInstance{InstanceID: in.InstanceID, InstanceName: in.InstanceID,
			ImageID: in.ImageID, RegionID: in.RegionID, Status: in.Status})
	}
	slices.SortFunc(found, func(a, b wireInstance) int { return strings.Compare(a.InstanceID, b.InstanceID) })
	return found
}
