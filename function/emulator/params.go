package emulator

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// protocolParams carry the V1 signature and the answer format; V3 puts the
// same facts in headers. alibaba-cloud-sdk-go also sends SignatureType empty.
var protocolParams = map[string]bool{
	"Action": true, "Version": true, "Format": true, "AccessKeyId": true, "Signature": true,
	"SignatureMethod": true, "SignatureVersion": true, "SignatureNonce": true, "SignatureType": true,
	"Timestamp": true, "SecurityToken": true,
}

// ownerParams are in every ECS request model of both SDK generations. They
// name the calling account, and the emulator has one, so they are accepted
// and have no effect.
var ownerParams = map[string]bool{"OwnerId": true, "OwnerAccount": true, "ResourceOwnerId": true, "ResourceOwnerAccount": true}

// actionParams are the parameters each action honours; "#" stands for the N
// of a repeated parameter. A parameter of the real API that is not listed
// (DescribeImages' SnapshotId, InstanceType, IsPublic...) is refused rather
// than ignored, so a test never passes on a filter the emulator did not apply.
var actionParams = map[string][]string{
	"DescribeImages": {"RegionId", "ImageId", "ImageName", "ImageFamily", "ImageOwnerAlias", "Status", "Usage",
		"OSType", "Architecture", "Tag.#.Key", "Tag.#.Value", "Filter.#.Key", "Filter.#.Value", "ShowExpired",
		"DryRun", "PageNumber", "PageSize"},
	"ModifyImageAttribute": {"RegionId", "ImageId", "ImageName", "Description", "ImageFamily", "Status", "BootMode",
		"LicenseType", "Features.NvmeSupport", "Features.ImdsSupport", "DryRun"},
	"DescribeImageFromFamily":      {"RegionId", "ImageFamily"},
	"DescribeImageSharePermission": {"RegionId", "ImageId", "PageNumber", "PageSize"},
	"ModifyImageSharePermission":   {"RegionId", "ImageId", "AddAccount.#", "RemoveAccount.#", "IsPublic"},
	"DescribeInstances":            {"RegionId", "ImageId", "Status", "PageNumber", "PageSize", "NextToken", "MaxResults"},
}

// apiParams are the parameters of the action itself: f without the protocol
// and owner parameters.
func apiParams(f url.Values) url.Values {
	out := url.Values{}
	for k, vs := range f {
		if !protocolParams[k] && !ownerParams[k] {
			out[k] = vs
		}
	}
	return out
}

// checkParams refuses the first parameter (in name order) that action does
// not honour, with the service's UnsupportedParameter code.
func checkParams(action string, f url.Values) *apiError {
	known := actionParams[action]
	var unknown []string
	for k := range apiParams(f) {
		if !slices.Contains(known, paramPattern(k)) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	slices.Sort(unknown)
	return errorf(http.StatusBadRequest, "UnsupportedParameter",
		"The parameter %q is not supported by this emulator's %s, which honours %s.", unknown[0], action, strings.Join(known, ", "))
}

// paramPattern writes the N of a repeated parameter as "#": Tag.3.Key -> Tag.#.Key.
func paramPattern(name string) string {
	parts := strings.Split(name, ".")
	for i, p := range parts {
		if n, err := strconv.Atoi(p); i > 0 && err == nil && n >= 1 && strconv.Itoa(n) == p {
			parts[i] = "#"
		}
	}
	return strings.Join(parts, ".")
}
