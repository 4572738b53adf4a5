package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
)

// Seed is the emulator's initial state, usually read from a JSON file such as
// events/seed/demo.json.
type Seed struct {
	Region    string         `json:"regionId"`
	AccountID string         `json:"accountId"`
	Images    []SeedImage    `json:"images"`
	Instances []SeedInstance `json:"instances"`
}

// SeedImage is one image of the seed: the image as DescribeImages shows it plus
// the state the emulator keeps beside it.
type SeedImage struct {
	ecsapi.Image
	SharedWith   []string `json:"sharedWith,omitempty"` // account ids the image is shared with
	LicenseType  string   `json:"licenseType,omitempty"`
	OSType       string   `json:"osType,omitempty"`       // linux (default) or windows
	Architecture string   `json:"architecture,omitempty"` // x86_64 (default), i386 or arm64
}

// SeedInstance is an instance created from an image; it makes the image "in use"
// (Usage=instance, DescribeInstances, OperationDeined.ImageUsingByInstance).
type SeedInstance struct {
	InstanceID string `json:"instanceId"`
	ImageID    string `json:"imageId"`
	RegionID   string `json:"regionId,omitempty"` // default: the seed's region
	Status     string `json:"status,omitempty"`   // default: Running
}

// LoadSeed reads and checks a seed file.
func LoadSeed(path string) (*Seed, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("emulator seed: %w", err)
	}
	s, err := ParseSeed(b)
	if err != nil {
		return nil, fmt.Errorf("emulator seed %s: %w", path, err)
	}
	return s, nil
}

// ParseSeed decodes a seed, rejecting unknown fields (a misspelt field would
// otherwise silently drop state) and images without an id.
func ParseSeed(b []byte) (*Seed, error) {
	var s Seed
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("decode seed: %w", err)
	}
	seen := map[string]bool{}
	for i, img := range s.Images {
		if img.ImageID == "" {
			return nil, fmt.Errorf("seed image %d: imageId is required", i)
		}
		if seen[img.ImageID] {
			return nil, fmt.Errorf("seed image %d: duplicate imageId %s", i, img.ImageID)
		}
		seen[img.ImageID] = true
		if !slices.Contains([]string{"", "linux", "windows"}, img.OSType) {
			return nil, fmt.Errorf("seed image %s: osType %q: want linux or windows", img.ImageID, img.OSType)
		}
		if !slices.Contains([]string{"", "x86_64", "i386", "arm64"}, img.Architecture) {
			return nil, fmt.Errorf("seed image %s: architecture %q: want x86_64, i386 or arm64", img.ImageID, img.Architecture)
		}
	}
	for i, in := range s.Instances {
		if in.InstanceID == "" || in.ImageID == "" {
			return nil, fmt.Errorf("seed instance %d: instanceId and imageId are required", i)
		}
	}
	return &s, nil
}
