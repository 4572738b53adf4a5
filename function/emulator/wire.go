package emulator

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// wireTime is how the service writes times: UTC, whole seconds, a Z.
const wireTime = "2006-01-02T15:04:05Z"

// wireImage is one image in the JSON shape the SDK's ecs.Image decodes.
type wireImage struct {
	ImageID              string        `json:"ImageId"`
	ImageName            string        `json:"ImageName"`
	ImageFamily          string        `json:"ImageFamily"`
	Description          string        `json:"Description"`
	Status               string        `json:"Status"`
	Progress             string        `json:"Progress"`
	CreationTime         string        `json:"CreationTime"`
	ImageOwnerAlias      string        `json:"ImageOwnerAlias"`
	ImageOwnerID         int64         `json:"ImageOwnerId"`
	IsPublic             bool          `json:"IsPublic"`
	IsSelfShared         string        `json:"IsSelfShared"`
	BootMode             string        `json:"BootMode"`
	Usage                string        `json:"Usage"`
	OSType               string        `json:"OSType"`
	OSName               string        `json:"OSName"`
	OSNameEn             string        `json:"OSNameEn"`
	Platform             string        `json:"Platform"`
	Architecture         string        `json:"Architecture"`
	Size                 int           `json:"Size"`
	IsSupportIoOptimized bool          `json:"IsSupportIoOptimized"`
	IsSupportCloudinit   bool          `json:"IsSupportCloudinit"`
	IsCopied             bool          `json:"IsCopied"`
	Features             wireFeatures  `json:"Features"`
	Tags                 wireTags      `json:"Tags"`
	DiskDeviceMappings   wireDiskMaps  `json:"DiskDeviceMappings"`
	DetectionOptions     wireDetection `json:"DetectionOptions"`
}

type wireFeatures struct {
	NvmeSupport string `json:"NvmeSupport"`
	ImdsSupport string `json:"ImdsSupport"`
}

type wireTags struct {
	Tag []wireTag `json:"Tag"`
}

type wireTag struct {
	TagKey   string `json:"TagKey"`
	TagValue string `json:"TagValue"`
}

type wireDiskMaps struct {
	DiskDeviceMapping []wireDiskMap `json:"DiskDeviceMapping"`
}

type wireDiskMap struct {
	Device string `json:"Device"`
	Size   string `json:"Size"`
	Type   string `json:"Type"`
	Format string `json:"Format"`
}

type wireDetection struct {
	Status string `json:"Status"`
}

// render is img as DescribeImages and DescribeImageFromFamily return it.
func (s *Server) render(img *image) wireImage {
	snap := s.snapshot(img)
	w := wireImage{
		ImageID:              snap.ImageID,
		ImageName:            snap.Name,
		ImageFamily:          snap.Family,
		Description:          snap.Description,
		Status:               snap.Status,
		Progress:             strconv.Itoa(snap.Progress) + "%",
		CreationTime:         snap.CreationTime.UTC().Format(wireTime),
		ImageOwnerAlias:      snap.OwnerAlias,
		IsPublic:             snap.IsPublic,
		BootMode:             snap.BootMode,
		Usage:                snap.Usage,
		OSType:               img.osType,
		Architecture:         img.architecture,
		Size:                 40,
		IsSupportIoOptimized: true,
		IsSupportCloudinit:   true,
		Features:             wireFeatures{NvmeSupport: snap.NvmeSupport, ImdsSupport: snap.ImdsSupport},
		Tags:                 wireTags{Tag: []wireTag{}},
		DiskDeviceMappings: wireDiskMaps{DiskDeviceMapping: []wireDiskMap{
			{Device: "/dev/xvda", Size: "40", Type: "system", Format: ""}}},
	}
	w.OSName, w.OSNameEn, w.Platform = osNames(img.osType, img.architecture)
	// IsSelfShared is a string: "False" in the doc's sample of a custom
	// image, "" for images of others. "True" for one shared with accounts is
	// the service's spelling by inference (no captured sample shows it).
	if snap.OwnerAlias == "self" {
		w.ImageOwnerID = s.ownerID()
		w.IsSelfShared = "False"
		if len(img.sharedWith) > 0 {
			w.IsSelfShared = "True"
		}
	}
	keys := make([]string, 0, len(snap.Tags))
	for k := range snap.Tags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		w.Tags.Tag = append(w.Tags.Tag, wireTag{TagKey: k, TagValue: snap.Tags[k]})
	}
	return w
}

// osNames are the OS fields of a plausible image of that type and architecture.
func osNames(osType, arch string) (name, nameEn, platform string) {
	if osType == "windows" {
		return "Windows Server 2022 数据中心版 64位中文版", "Windows Server 2022 Datacenter 64-bit (Chinese)", "Windows Server 2022"
	}
	bits := "64"
	if arch == "i386" {
		bits = "32"
	}
	return "Alibaba Cloud Linux 3.2104 LTS " + bits + "位", "Alibaba Cloud Linux 3.2104 LTS " + bits + " bit", "Aliyun"
}

// paging reads PageNumber and PageSize (default 1 and 10, size at most 100).
func paging(f url.Values) (number, size int, err *apiError) {
	number, size = 1, 10
	if v := f.Get("PageNumber"); v != "" {
		n, perr := strconv.Atoi(v)
		if perr != nil || n < 1 {
			return 0, 0, invalidParam("PageNumber", v)
		}
		number = n
	}
	if v := f.Get("PageSize"); v != "" {
		n, perr := strconv.Atoi(v)
		if perr != nil || n < 1 || n > 100 {
			return 0, 0, invalidParam("PageSize", v)
		}
		size = n
	}
	return number, size, nil
}

// page returns the bounds of page number of size over n items.
func page(n, number, size int) (lo, hi int) {
	lo = min((number-1)*size, n)
	return lo, min(lo+size, n)
}

// boolParam reads an optional boolean parameter.
func boolParam(f url.Values, name string) (bool, *apiError) {
	switch v := f.Get(name); strings.ToLower(v) {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	default:
		return false, invalidParam(name, v)
	}
}

// repeated reads name.1 .. name.max; the service ignores N past max.
func repeated(f url.Values, name string, limit int) []string {
	var out []string
	for i := 1; i <= limit; i++ {
		if v := f.Get(name + "." + strconv.Itoa(i)); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func required(f url.Values, names ...string) *apiError {
	for _, n := range names {
		if f.Get(n) == "" {
			return missing(n)
		}
	}
	return nil
}

func imageNotFound() *apiError {
	return errorf(http.StatusNotFound, "InvalidImageId.NotFound", "The specified ImageId does not exist.")
}

// lookup finds an image of the region, or answers InvalidImageId.NotFound.
func (s *Server) lookup(region, id string) (*image, *apiError) {
	img, ok := s.images[id]
	if !ok || img.RegionID != region {
		return nil, imageNotFound()
	}
	return img, nil
}

func fmtTime(t time.Time) string { return t.UTC().Format(wireTime) }
