package emulator_test

// The cross-SDK suite: every check runs through alibaba-cloud-sdk-go (HMAC-SHA1),
// the Tea SDK in its default V3 mode (ACS3-HMAC-SHA256) and the Tea SDK in V1
// mode (SignatureAlgorithm "v2"). The Tea SDK is a test-only dependency, kept
// in this external test package; binary_test.go checks it stays out of the
// function's binary.

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	ecsv7 "github.com/alibabacloud-go/ecs-20140526/v7/client"
	"github.com/alibabacloud-go/tea/tea"
	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	classic "github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/emulator"
)

const region = "cn-hangzhou"

// creds are what a client signs with.
type creds struct{ ak, sk, token string }

var defaultCreds = creds{emulator.DefaultKey, emulator.DefaultKey, ""}

// sdk is one way to call the emulator.
type sdk struct {
	name string
	dial func(t *testing.T, endpoint string, c creds) client
}

var sdks = []sdk{
	{"classic", dialClassic},
	{"tea-v3", dialTea("")},
	{"tea-v1", dialTea("v2")},
}

// forEachSDK runs check once per SDK, in parallel.
func forEachSDK(t *testing.T, check func(t *testing.T, d sdk)) {
	t.Helper()
	for _, d := range sdks {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			check(t, d)
		})
	}
}

// The requests of the suite, in neutral terms.
type (
	imagesQuery struct {
		Region, ImageID, Name, Family, Alias, Status, Usage, OSType, Arch, SnapshotID string
		Tags, Filters                                                                 [][2]string
		ShowExpired                                                                   *bool
		Page, Size                                                                    int
	}
	modification struct {
		Region, ImageID, Name, Description, Family, Status, BootMode, LicenseType, Nvme, Imds string
		DryRun                                                                                bool
	}
	instancesQuery struct {
		ImageID           string
		Page, Size, Max   int
		NextToken, Status string
	}
)

// The answers, decoded by each SDK and then read through JSON with the
// wire's field names, so every SDK's decoding is checked the same way.
type (
	imageView struct {
		ImageId, ImageName, ImageFamily, Description, Status, Progress, CreationTime string
		ImageOwnerAlias, Usage, IsSelfShared, OSType, Architecture, BootMode         string
		ImageOwnerId                                                                 int64
		IsPublic                                                                     bool
		Features                                                                     struct{ NvmeSupport, ImdsSupport string }
		Tags                                                                         struct {
			Tag []struct{ TagKey, TagValue string }
		}
	}
	imagesPage struct {
		RequestId, RegionId              string
		TotalCount, PageNumber, PageSize int
		Images                           struct{ Image []imageView }
	}
	familyAnswer struct {
		RequestId string
		Image     imageView
	}
	sharesPage struct {
		ImageId                string
		TotalCount, PageNumber int
		Accounts               struct {
			Account []struct{ AliyunId, SharedTime string }
		}
		ShareGroups struct{ ShareGroup []struct{ Group string } }
	}
	instancesPage struct {
		TotalCount, PageNumber int
		NextToken              string
		Instances              struct {
			Instance []struct{ InstanceId, ImageId, Status string }
		}
	}
)

// client is what the suite calls; each SDK implements it with its own request types.
type client interface {
	DescribeImages(q imagesQuery) (imagesPage, error)
	ModifyImageAttribute(m modification) error
	DescribeImageFromFamily(family string) (familyAnswer, error)
	DescribeImageSharePermission(imageID string, page, size int) (sharesPage, error)
	ModifyImageSharePermission(imageID string, add, remove []string, public *bool) error
	DescribeInstances(q instancesQuery) (instancesPage, error)
	DeleteImage(imageID string) error // an action the emulator does not serve
}

// convert reads what an SDK decoded into the suite's view of it.
func convert[T any](src any, err error) (T, error) {
	var dst T
	if err != nil {
		return dst, err
	}
	b, merr := json.Marshal(src)
	if merr != nil {
		return dst, merr
	}
	return dst, json.Unmarshal(b, &dst)
}

// ---- alibaba-cloud-sdk-go ----

type classicClient struct{ c *classic.Client }

func dialClassic(t *testing.T, endpoint string, cr creds) client {
	t.Helper()
	var c *classic.Client
	var err error
	if cr.token != "" {
		c, err = classic.NewClientWithStsToken(region, cr.ak, cr.sk, cr.token)
	} else {
		c, err = classic.NewClientWithAccessKey(region, cr.ak, cr.sk)
	}
	if err != nil {
		t.Fatal(err)
	}
	c.Domain = strings.TrimPrefix(endpoint, "http://")
	c.GetConfig().WithAutoRetry(false).WithScheme("HTTP")
	c.SetReadTimeout(5 * time.Second)
	return classicClient{c}
}

func classicInt(n int) requests.Integer {
	if n == 0 {
		return ""
	}
	return requests.NewInteger(n)
}

func (k classicClient) DescribeImages(q imagesQuery) (imagesPage, error) {
	r := classic.CreateDescribeImagesRequest()
	r.RegionId, r.ImageId, r.ImageName, r.ImageFamily, r.ImageOwnerAlias = q.Region, q.ImageID, q.Name, q.Family, q.Alias
	r.Status, r.Usage, r.OSType, r.Architecture, r.SnapshotId = q.Status, q.Usage, q.OSType, q.Arch, q.SnapshotID
	r.PageNumber, r.PageSize = classicInt(q.Page), classicInt(q.Size)
	if q.ShowExpired != nil {
		r.ShowExpired = requests.NewBoolean(*q.ShowExpired)
	}
	if len(q.Tags) > 0 {
		tags := []classic.DescribeImagesTag{}
		for _, kv := range q.Tags {
			tags = append(tags, classic.DescribeImagesTag{Key: kv[0], Value: kv[1]})
		}
		r.Tag = &tags
	}
	if len(q.Filters) > 0 {
		filters := []classic.DescribeImagesFilter{}
		for _, kv := range q.Filters {
			filters = append(filters, classic.DescribeImagesFilter{Key: kv[0], Value: kv[1]})
		}
		r.Filter = &filters
	}
	return convert[imagesPage](k.c.DescribeImages(r))
}

func (k classicClient) ModifyImageAttribute(m modification) error {
	r := classic.CreateModifyImageAttributeRequest()
	r.RegionId, r.ImageId, r.ImageName, r.Description, r.ImageFamily = m.Region, m.ImageID, m.Name, m.Description, m.Family
	r.Status, r.BootMode, r.LicenseType, r.Features.NvmeSupport, r.Features.ImdsSupport = m.Status, m.BootMode, m.LicenseType, m.Nvme, m.Imds
	if m.DryRun {
		r.QueryParams["DryRun"] = "true" // the classic request type has no DryRun field
	}
	_, err := k.c.ModifyImageAttribute(r)
	return err
}

func (k classicClient) DescribeImageFromFamily(family string) (familyAnswer, error) {
	r := classic.CreateDescribeImageFromFamilyRequest()
	r.ImageFamily = family
	return convert[familyAnswer](k.c.DescribeImageFromFamily(r))
}

func (k classicClient) DescribeImageSharePermission(imageID string, page, size int) (sharesPage, error) {
	r := classic.CreateDescribeImageSharePermissionRequest()
	r.ImageId, r.PageNumber, r.PageSize = imageID, classicInt(page), classicInt(size)
	return convert[sharesPage](k.c.DescribeImageSharePermission(r))
}

func (k classicClient) ModifyImageSharePermission(imageID string, add, remove []string, public *bool) error {
	r := classic.CreateModifyImageSharePermissionRequest()
	r.ImageId = imageID
	if len(add) > 0 {
		r.AddAccount = &add
	}
	if len(remove) > 0 {
		r.RemoveAccount = &remove
	}
	if public != nil {
		r.IsPublic = requests.NewBoolean(*public)
	}
	_, err := k.c.ModifyImageSharePermission(r)
	return err
}

func (k classicClient) DescribeInstances(q instancesQuery) (instancesPage, error) {
	r := classic.CreateDescribeInstancesRequest()
	r.ImageId, r.Status, r.NextToken = q.ImageID, q.Status, q.NextToken
	r.PageNumber, r.PageSize, r.MaxResults = classicInt(q.Page), classicInt(q.Size), classicInt(q.Max)
	return convert[instancesPage](k.c.DescribeInstances(r))
}

func (k classicClient) DeleteImage(imageID string) error {
	r := classic.CreateDeleteImageRequest()
	r.ImageId = imageID
	_, err := k.c.DeleteImage(r)
	return err
}

// ---- Tea / Darabonba SDK (ecs-20140526/v7) ----

type teaClient struct{ c *ecsv7.Client }

// dialTea builds the Tea client. An empty algorithm is the SDK's default,
// V3 (ACS3-HMAC-SHA256); "v2" is its switch to the HMAC-SHA1 RPC signature.
func dialTea(algorithm string) func(t *testing.T, endpoint string, cr creds) client {
	return func(t *testing.T, endpoint string, cr creds) client {
		t.Helper()
		host := strings.TrimPrefix(endpoint, "http://")
		cfg := &openapi.Config{
			AccessKeyId: tea.String(cr.ak), AccessKeySecret: tea.String(cr.sk),
			Endpoint: tea.String(host), Protocol: tea.String("HTTP"), RegionId: tea.String(region),
			NoProxy: tea.String(host), ReadTimeout: tea.Int(5000),
		}
		if cr.token != "" {
			cfg.SecurityToken = tea.String(cr.token)
		}
		if algorithm != "" {
			cfg.SignatureAlgorithm = tea.String(algorithm)
		}
		c, err := ecsv7.NewClient(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return teaClient{c}
	}
}

// str and i32 leave a zero value out of the request, as the classic SDK does.
func str(s string) *string {
	if s == "" {
		return nil
	}
	return tea.String(s)
}

func i32(n int) *int32 {
	if n == 0 {
		return nil
	}
	return tea.Int32(int32(n))
}

// teaBody reads the Body of a Tea response (its JSON key is "body").
func teaBody[T any](resp any, err error) (T, error) {
	w, err := convert[struct{ Body T }](resp, err)
	return w.Body, err
}

func (k teaClient) DescribeImages(q imagesQuery) (imagesPage, error) {
	r := &ecsv7.DescribeImagesRequest{RegionId: str(q.Region), ImageId: str(q.ImageID), ImageName: str(q.Name),
		ImageFamily: str(q.Family), ImageOwnerAlias: str(q.Alias), Status: str(q.Status), Usage: str(q.Usage),
		OSType: str(q.OSType), Architecture: str(q.Arch), SnapshotId: str(q.SnapshotID),
		PageNumber: i32(q.Page), PageSize: i32(q.Size), ShowExpired: q.ShowExpired}
	if r.RegionId == nil {
		r.RegionId = tea.String(region)
	}
	for _, kv := range q.Tags {
		r.Tag = append(r.Tag, &ecsv7.DescribeImagesRequestTag{Key: str(kv[0]), Value: str(kv[1])})
	}
	for _, kv := range q.Filters {
		r.Filter = append(r.Filter, &ecsv7.DescribeImagesRequestFilter{Key: str(kv[0]), Value: str(kv[1])})
	}
	return teaBody[imagesPage](k.c.DescribeImages(r))
}

func (k teaClient) ModifyImageAttribute(m modification) error {
	r := &ecsv7.ModifyImageAttributeRequest{RegionId: str(m.Region), ImageId: str(m.ImageID), ImageName: str(m.Name),
		Description: str(m.Description), ImageFamily: str(m.Family), Status: str(m.Status), BootMode: str(m.BootMode),
		LicenseType: str(m.LicenseType)}
	if r.RegionId == nil {
		r.RegionId = tea.String(region)
	}
	if m.Nvme != "" || m.Imds != "" {
		r.Features = &ecsv7.ModifyImageAttributeRequestFeatures{NvmeSupport: str(m.Nvme), ImdsSupport: str(m.Imds)}
	}
	if m.DryRun {
		r.DryRun = tea.Bool(true)
	}
	_, err := k.c.ModifyImageAttribute(r)
	return err
}

func (k teaClient) DescribeImageFromFamily(family string) (familyAnswer, error) {
	return teaBody[familyAnswer](k.c.DescribeImageFromFamily(&ecsv7.DescribeImageFromFamilyRequest{
		RegionId: tea.String(region), ImageFamily: str(family)}))
}

func (k teaClient) DescribeImageSharePermission(imageID string, page, size int) (sharesPage, error) {
	return teaBody[sharesPage](k.c.DescribeImageSharePermission(&ecsv7.DescribeImageSharePermissionRequest{
		RegionId: tea.String(region), ImageId: str(imageID), PageNumber: i32(page), PageSize: i32(size)}))
}

func (k teaClient) ModifyImageSharePermission(imageID string, add, remove []string, public *bool) error {
	_, err := k.c.ModifyImageSharePermission(&ecsv7.ModifyImageSharePermissionRequest{RegionId: tea.String(region),
		ImageId: str(imageID), AddAccount: tea.StringSlice(add), RemoveAccount: tea.StringSlice(remove), IsPublic: public})
	return err
}

func (k teaClient) DescribeInstances(q instancesQuery) (instancesPage, error) {
	return teaBody[instancesPage](k.c.DescribeInstances(&ecsv7.DescribeInstancesRequest{RegionId: tea.String(region),
		ImageId: str(q.ImageID), Status: str(q.Status), PageNumber: i32(q.Page), PageSize: i32(q.Size),
		MaxResults: i32(q.Max), NextToken: str(q.NextToken)}))
}

func (k teaClient) DeleteImage(imageID string) error {
	_, err := k.c.DeleteImage(&ecsv7.DeleteImageRequest{RegionId: tea.String(region), ImageId: str(imageID)})
	return err
}

// ---- shared helpers ----

// apiError reads the code, HTTP status and request id from either SDK's error.
func apiError(err error) (code string, status int, requestID string, ok bool) {
	var se *sdkerrors.ServerError
	if errors.As(err, &se) {
		return se.ErrorCode(), se.HttpStatus(), se.RequestId(), true
	}
	var te *tea.SDKError
	if errors.As(err, &te) {
		var data struct{ RequestId string }
		if te.Data != nil {
			_ = json.Unmarshal([]byte(*te.Data), &data)
		}
		return tea.StringValue(te.Code), tea.IntValue(te.StatusCode), data.RequestId, true
	}
	return "", 0, "", false
}

// wantError asserts err is the API error code at status, with a request id.
func wantError(t *testing.T, err error, code string, status int) {
	t.Helper()
	got, st, id, ok := apiError(err)
	if !ok {
		t.Fatalf("want %d %s, got %T %v", status, code, err, err)
	}
	if got != code || st != status || id == "" {
		t.Fatalf("want %d %s with a request id, got %d %s (request id %q): %v", status, code, st, got, id, err)
	}
}

func ids(images []imageView) string {
	var out []string
	for _, im := range images {
		out = append(out, im.ImageId)
	}
	return strings.Join(out, ",")
}
