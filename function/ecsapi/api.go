// Package ecsapi is the project's narrow view of the ECS image API: the few calls
// the function makes, in plain Go types, behind an interface that the SDK-backed
// client, the retrying decorator and unit-test fakes all implement.
package ecsapi

import (
	"context"
	"strings"
	"time"
)

// Image status values as ECS reports them.
const (
	StatusAvailable  = "Available"
	StatusDeprecated = "Deprecated"
	StatusCreating   = "Creating"
)

// Image is one custom image as DescribeImages returns it.
type Image struct {
	ImageID      string            `json:"imageId"`
	RegionID     string            `json:"regionId,omitempty"`
	Name         string            `json:"imageName,omitempty"`
	Description  string            `json:"description,omitempty"`
	Family       string            `json:"imageFamily,omitempty"`
	Status       string            `json:"status"`
	Progress     int               `json:"progress"` // percent, 0-100
	CreationTime time.Time         `json:"creationTime"`
	OwnerAlias   string            `json:"imageOwnerAlias,omitempty"` // self, others, system, marketplace
	IsPublic     bool              `json:"isPublic,omitempty"`
	BootMode     string            `json:"bootMode,omitempty"`
	NvmeSupport  string            `json:"nvmeSupport,omitempty"`
	ImdsSupport  string            `json:"imdsSupport,omitempty"`
	Usage        string            `json:"usage,omitempty"`      // "instance" when instances use it, else "none"
	SelfShared   Sharing           `json:"selfShared,omitempty"` // IsSelfShared: shared with other accounts?
	Tags         map[string]string `json:"tags,omitempty"`
}

// Sharing is what DescribeImages' IsSelfShared says about sharing an image
// with other accounts. The answer is a string: "False" for an own image
// shared with nobody, "True" for one shared, "" for images of others.
type Sharing string

// Sharing values.
const (
	SharingUnknown  Sharing = ""         // no answer, or one not understood
	SharingNone     Sharing = "none"     // "False": shared with no other account
	SharingAccounts Sharing = "accounts" // "True": shared with at least one account
)

// ParseSharing reads IsSelfShared, in any case ("False", "false", ...);
// anything else, "" included, is SharingUnknown.
func ParseSharing(isSelfShared string) Sharing {
	switch {
	case strings.EqualFold(isSelfShared, "false"):
		return SharingNone
	case strings.EqualFold(isSelfShared, "true"):
		return SharingAccounts
	}
	return SharingUnknown
}

// DescribeImagesInput selects images. Empty fields are not sent.
type DescribeImagesInput struct {
	RegionID string
	ImageIDs []string // at most 100, sent comma-separated
	Family   string
	// ImageName filters by name; the API matches it loosely (a fuzzy
	// match), so a caller compares the names it gets back exactly.
	ImageName  string
	Statuses   []string // empty means the API default (Available only)
	OwnerAlias string   // "self" for custom images
	PageNumber int      // 1-based; 0 means 1
	PageSize   int      // 1-100; 0 means the API default (10)
}

// ImagePage is one page of DescribeImages.
type ImagePage struct {
	Images     []Image
	TotalCount int
	PageNumber int
	PageSize   int
	RequestID  string
}

// Changes are the attributes ModifyImageAttribute sets. An empty field is left
// as it is (the SDK never sends empty strings, so nothing can be cleared).
type Changes struct {
	Name        string `json:"imageName,omitempty"`
	Description string `json:"description,omitempty"`
	Family      string `json:"imageFamily,omitempty"`
	BootMode    string `json:"bootMode,omitempty"`
	LicenseType string `json:"licenseType,omitempty"`
	Status      string `json:"status,omitempty"`
	NvmeSupport string `json:"nvmeSupport,omitempty"`
	ImdsSupport string `json:"imdsSupport,omitempty"`
}

// IsZero reports whether no attribute is to be changed.
func (c Changes) IsZero() bool { return c == Changes{} }

// ApplyTo sets on img what a successful ModifyImageAttribute with c changed
// (an empty field is one the call left alone, as on the wire). Image keeps no
// licence type, so LicenseType leaves no trace.
func (c Changes) ApplyTo(img *Image) {
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&img.Name, c.Name)
	set(&img.Description, c.Description)
	set(&img.Family, c.Family)
	set(&img.BootMode, c.BootMode)
	set(&img.Status, c.Status)
	set(&img.NvmeSupport, c.NvmeSupport)
	set(&img.ImdsSupport, c.ImdsSupport)
}

// ModifyInput is one ModifyImageAttribute call.
type ModifyInput struct {
	RegionID string
	ImageID  string
	Changes  Changes
	DryRun   bool
}

// API is what the function needs from ECS. Every method makes exactly one
// request; retries belong to the caller (package retry decorates an API).
type API interface {
	DescribeImages(ctx context.Context, in DescribeImagesInput) (ImagePage, error)
	// ModifyImageAttribute returns the request id of the successful call.
	ModifyImageAttribute(ctx context.Context, in ModifyInput) (requestID string, err error)
	// DescribeImageSharePermission lists the account ids the image is shared with
	// (and "all" when it is public to everyone).
	DescribeImageSharePermission(ctx context.Context, regionID, imageID string) ([]string, error)
	// RemoveImageShares unshares the image from the given accounts
	// (ModifyImageSharePermission with RemoveAccount.N, at most 10 per call).
	RemoveImageShares(ctx context.Context, regionID, imageID string, accounts []string) error
	// CountInstancesUsingImage counts instances created from the image (DescribeInstances by ImageId).
	CountInstancesUsingImage(ctx context.Context, regionID, imageID string) (int, error)
}
