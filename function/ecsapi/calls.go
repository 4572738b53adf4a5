package ecsapi

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/responses"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/credential"
)

// API limits that shape the requests.
const (
	maxShareAccountsPerCall = 10  // ModifyImageSharePermission ignores RemoveAccount.N above 10
	maxPageSize             = 100 // DescribeImageSharePermission and DescribeInstances
)

// do runs one request through a per-call SDK client and maps any failure to *Error.
func (c *Client) do(ctx context.Context, action, region string, req requests.AcsRequest, resp responses.AcsResponse) error {
	cli, err := c.prepare(ctx, action, region, req)
	if err != nil {
		return err
	}
	if err := cli.DoAction(req, resp); err != nil {
		return toError(ctx, action, err)
	}
	return nil
}

// DescribeImages reads one page of images.
func (c *Client) DescribeImages(ctx context.Context, in DescribeImagesInput) (ImagePage, error) {
	const action = "DescribeImages"
	req := ecs.CreateDescribeImagesRequest()
	req.RegionId = in.RegionID
	req.ImageId = strings.Join(in.ImageIDs, ",")
	req.ImageFamily = in.Family
	req.ImageName = in.ImageName
	req.Status = strings.Join(in.Statuses, ",")
	req.ImageOwnerAlias = in.OwnerAlias
	if in.PageNumber > 0 {
		req.PageNumber = requests.NewInteger(in.PageNumber)
	}
	if in.PageSize > 0 {
		req.PageSize = requests.NewInteger(in.PageSize)
	}
	resp := ecs.CreateDescribeImagesResponse()
	if err := c.do(ctx, action, in.RegionID, req, resp); err != nil {
		return ImagePage{}, err
	}
	page := ImagePage{
		TotalCount: resp.TotalCount,
		PageNumber: resp.PageNumber,
		PageSize:   resp.PageSize,
		RequestID:  resp.RequestId,
		Images:     make([]Image, 0, len(resp.Images.Image)),
	}
	region := resp.RegionId
	if region == "" {
		region = c.regionOf(in.RegionID)
	}
	for _, im := range resp.Images.Image {
		img, err := toImage(im, region)
		if err != nil {
			return ImagePage{}, &Error{Action: action, RequestID: resp.RequestId, HTTPStatus: resp.GetHttpStatus(),
				Message: err.Error(), Err: err}
		}
		page.Images = append(page.Images, img)
	}
	return page, nil
}

func (c *Client) regionOf(region string) string {
	if region != "" {
		return region
	}
	return c.region
}

// toImage maps the SDK's image, whose Progress and CreationTime are strings.
func toImage(im ecs.Image, region string) (Image, error) {
	img := Image{
		ImageID:     im.ImageId,
		RegionID:    region,
		Name:        im.ImageName,
		Description: im.Description,
		Family:      im.ImageFamily,
		Status:      im.Status,
		OwnerAlias:  im.ImageOwnerAlias,
		IsPublic:    im.IsPublic,
		BootMode:    im.BootMode,
		NvmeSupport: im.Features.NvmeSupport,
		ImdsSupport: im.Features.ImdsSupport,
		Usage:       im.Usage,
		SelfShared:  ParseSharing(im.IsSelfShared),
	}
	var err error
	if img.Progress, err = parseProgress(im.Progress); err != nil {
		return Image{}, fmt.Errorf("image %s: %w", im.ImageId, err)
	}
	if img.CreationTime, err = parseCreationTime(im.CreationTime); err != nil {
		return Image{}, fmt.Errorf("image %s: %w", im.ImageId, err)
	}
	for _, t := range im.Tags.Tag {
		k, v := t.TagKey, t.TagValue
		if k == "" { // some answers use Key/Value instead of TagKey/TagValue
			k, v = t.Key, t.Value
		}
		if k == "" {
			continue
		}
		if img.Tags == nil {
			img.Tags = make(map[string]string, len(im.Tags.Tag))
		}
		img.Tags[k] = v
	}
	return img, nil
}

// parseProgress turns "40%" (or "40") into 40; "" is 0.
func parseProgress(s string) (int, error) {
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "%"))
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 100 {
		return 0, fmt.Errorf("malformed Progress %q", s)
	}
	return n, nil
}

// creationTimeLayouts are the forms ECS uses: seconds, and the minute form of its filters.
var creationTimeLayouts = []string{time.RFC3339, "2006-01-02T15:04Z07:00"}

func parseCreationTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range creationTimeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("malformed CreationTime %q", s)
}

// ModifyImageAttribute sets the changed attributes. With DryRun the service
// only checks the request and answers DryRunOperation, which counts as success.
func (c *Client) ModifyImageAttribute(ctx context.Context, in ModifyInput) (string, error) {
	const action = "ModifyImageAttribute"
	req := ecs.CreateModifyImageAttributeRequest()
	req.RegionId = in.RegionID
	req.ImageId = in.ImageID
	ch := in.Changes
	req.ImageName = ch.Name
	req.Description = ch.Description
	req.ImageFamily = ch.Family
	req.BootMode = ch.BootMode
	req.LicenseType = ch.LicenseType
	req.Status = ch.Status
	req.Features.NvmeSupport = ch.NvmeSupport
	req.Features.ImdsSupport = ch.ImdsSupport
	if in.DryRun {
		// The API has DryRun but this SDK version's request type lacks the field.
		req.QueryParams["DryRun"] = "true"
	}
	resp := ecs.CreateModifyImageAttributeResponse()
	if err := c.do(ctx, action, in.RegionID, req, resp); err != nil {
		var e *Error
		if in.DryRun && errors.As(err, &e) && e.Code == "DryRunOperation" {
			return e.RequestID, nil
		}
		return "", err
	}
	return resp.RequestId, nil
}

// DescribeImageSharePermission lists the accounts the image is shared with,
// plus "all" when it is public; it pages until every account is read.
func (c *Client) DescribeImageSharePermission(ctx context.Context, regionID, imageID string) ([]string, error) {
	const action = "DescribeImageSharePermission"
	var out []string
	seenAll := false
	for page := 1; ; page++ {
		req := ecs.CreateDescribeImageSharePermissionRequest()
		req.RegionId = regionID
		req.ImageId = imageID
		req.PageNumber = requests.NewInteger(page)
		req.PageSize = requests.NewInteger(maxPageSize)
		resp := ecs.CreateDescribeImageSharePermissionResponse()
		if err := c.do(ctx, action, regionID, req, resp); err != nil {
			return nil, err
		}
		for _, g := range resp.ShareGroups.ShareGroup {
			if g.Group == "all" && !seenAll {
				seenAll = true
				out = append(out, "all")
			}
		}
		for _, a := range resp.Accounts.Account {
			out = append(out, a.AliyunId)
		}
		// TotalCount counts accounts; stop on a short page too, so a service
		// that miscounts cannot keep us looping.
		if len(resp.Accounts.Account) < maxPageSize || page*maxPageSize >= resp.TotalCount {
			return out, nil
		}
	}
}

// RemoveImageShares unshares the image from accounts, ten per request.
func (c *Client) RemoveImageShares(ctx context.Context, regionID, imageID string, accounts []string) error {
	const action = "ModifyImageSharePermission"
	for start := 0; start < len(accounts); start += maxShareAccountsPerCall {
		chunk := append([]string(nil), accounts[start:min(start+maxShareAccountsPerCall, len(accounts))]...)
		req := ecs.CreateModifyImageSharePermissionRequest()
		req.RegionId = regionID
		req.ImageId = imageID
		req.RemoveAccount = &chunk
		resp := ecs.CreateModifyImageSharePermissionResponse()
		if err := c.do(ctx, action, regionID, req, resp); err != nil {
			return err
		}
	}
	return nil
}

// CountInstancesUsingImage counts instances created from the image, read
// from TotalCount of a one-item DescribeInstances page (TotalCount is only
// valid with PageNumber/PageSize paging, not with NextToken).
func (c *Client) CountInstancesUsingImage(ctx context.Context, regionID, imageID string) (int, error) {
	const action = "DescribeInstances"
	req := ecs.CreateDescribeInstancesRequest()
	req.RegionId = regionID
	req.ImageId = imageID
	req.PageNumber = requests.NewInteger(1)
	req.PageSize = requests.NewInteger(1)
	resp := ecs.CreateDescribeInstancesResponse()
	if err := c.do(ctx, action, regionID, req, resp); err != nil {
		return 0, err
	}
	return resp.TotalCount, nil
}

// toError maps what the SDK returned to *Error, leaving credentials out.
func toError(ctx context.Context, action string, err error) *Error {
	var ce *credential.Error
	if errors.As(err, &ce) {
		// No credentials to sign with: a configuration error, not a network
		// fault, so it carries its code (and is never retried).
		return &Error{Action: action, Code: ce.Code, Message: ce.Message}
	}
	var se *sdkerrors.ServerError
	if errors.As(err, &se) {
		// Err stays nil: ServerError's text repeats the message and the
		// response headers, and the message of SignatureDoesNotMatch holds
		// the string to sign (AccessKeyId, SecurityToken), redacted here.
		return &Error{
			Action:     action,
			Code:       se.ErrorCode(),
			Message:    redact(se.Message()),
			RequestID:  se.RequestId(),
			HTTPStatus: se.HttpStatus(),
		}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		// The URL carries the signed query: keep scheme and host only.
		safe := &url.Error{Op: ue.Op, URL: stripQuery(ue.URL), Err: ue.Err}
		if end := ended(ctx); end != nil {
			return &Error{Action: action, Err: fmt.Errorf("%w: %w (%w)", ErrContextDone, end, safe)}
		}
		return &Error{Action: action, Err: safe}
	}
	var cle *sdkerrors.ClientError
	if errors.As(err, &cle) {
		if end := ended(ctx); end != nil {
			return &Error{Action: action, Err: fmt.Errorf("%w: %w", ErrContextDone, end)}
		}
		// ClientError reports HTTP 400 whatever happened; it is ours, not the service's.
		return &Error{Action: action, Code: cle.ErrorCode(), Message: redact(cle.Message())}
	}
	if end := ended(ctx); end != nil {
		return &Error{Action: action, Err: fmt.Errorf("%w: %w", ErrContextDone, end)}
	}
	return &Error{Action: action, Err: errors.New(redact(err.Error()))}
}

// ended returns why ctx is over, or nil. A deadline already passed counts even
// before ctx's own timer has fired: the call's HTTP timeout, set to the time
// left, can fire first, and that failure is the caller's deadline all the same.
func ended(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return context.Cause(ctx)
	}
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		return context.DeadlineExceeded
	}
	return nil
}

func stripQuery(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable url)"
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}

// secretParams match credential parameters in a plain query string and in a
// string to sign, where "=" is %3D, "&" is %26 and the values are encoded twice.
// They are compiled when an error is first redacted, not at every start.
var secretParams = sync.OnceValue(func() []*regexp.Regexp {
	return []*regexp.Regexp{
		regexp.MustCompile(`(AccessKeyId|SecurityToken|Signature|AccessKeySecret)=[^&\s]*`),
		regexp.MustCompile(`(AccessKeyId|SecurityToken|Signature|AccessKeySecret)%3D(?:[^%\s]|%25)*`),
	}
})

func redact(s string) string {
	for _, re := range secretParams() {
		s = re.ReplaceAllStringFunc(s, func(m string) string {
			name := re.FindStringSubmatch(m)[1]
			sep := "="
			if strings.HasPrefix(m[len(name):], "%3D") {
				sep = "%3D"
			}
			return name + sep + "REDACTED"
		})
	}
	return s
}
