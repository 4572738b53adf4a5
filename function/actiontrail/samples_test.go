package actiontrail

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// sampleDir holds the ActionTrail samples (actiontrail-*.json) among the
// trigger samples shared with the CLI and the end-to-end tests.
const sampleDir = "../../events/triggers"

func readSample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(sampleDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSamples(t *testing.T) {
	t.Parallel()
	tests := map[string]Record{
		"actiontrail-createimage.json": {
			Type: TypeAPICall, EventName: CreateImage,
			EventID: "6F3A2C1B-4D5E-4F60-8A7B-9C0D1E2F3A4B", RequestID: "8E2B1F0A-5C3D-4E6F-9A8B-7C6D5E4F3A2B",
			Region: "cn-hangzhou", ImageID: "m-bp1web0a1b2c3d4e5f6g", ImageName: "web-build-0412", ImageFamily: "web",
			TargetRegion: "cn-hangzhou",
		},
		"actiontrail-createimage-noresponse.json": {
			Type: TypeConsoleOperation, EventName: CreateImage,
			EventID: "3E9D7C5B-1A2F-4E6D-9C8B-7A6F5E4D3C2B", RequestID: "D4C3B2A1-0F9E-4D8C-B7A6-958473625140",
			Region: "cn-hangzhou", ImageName: "web-build-0412", ImageFamily: "web", TargetRegion: "cn-hangzhou",
			Absent: []string{FieldImageID},
		},
		"actiontrail-copyimage.json": {
			Type: TypeAPICall, EventName: CopyImage,
			EventID: "A1B2C3D4-E5F6-4A7B-8C9D-0E1F2A3B4C5D", RequestID: "3C4D5E6F-7A8B-4C9D-0E1F-2A3B4C5D6E7F",
			Region: "cn-hangzhou", ImageName: "web-2026-11-20-sh", TargetRegion: "cn-shanghai",
			SourceImageID: "m-bp1web9v0w1x2y3z4a5b",
			Absent:        []string{FieldImageFamily, FieldImageID},
		},
		"actiontrail-importimage.json": {
			Type: TypeConsoleOperation, EventName: ImportImage,
			EventID: "F0E1D2C3-B4A5-4968-8776-5F4E3D2C1B0A", RequestID: "9F8E7D6C-5B4A-4392-8170-6F5E4D3C2B1A",
			Region: "cn-hangzhou", ImageID: "m-bp1base9z8y7x6w5v4u3", ImageName: "base-import-ubuntu-2404",
			TargetRegion: "cn-hangzhou",
			Absent:       []string{FieldImageFamily},
		},
		"actiontrail-failed.json": {
			Type: TypeAPICall, EventName: CreateImage,
			EventID: "0A1B2C3D-4E5F-4061-8273-94A5B6C7D8E9", RequestID: "7B8C9D0E-1F2A-4B3C-8D4E-5F6A7B8C9D0E",
			Region: "cn-hangzhou", ErrorCode: "InvalidImageName.Duplicated", ErrorMessage: "The specified image name is already in use.",
			ImageName: "web-build-0412", ImageFamily: "web", TargetRegion: "cn-hangzhou",
			Absent: []string{FieldImageID},
		},
	}
	names, err := filepath.Glob(filepath.Join(sampleDir, "actiontrail-*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != len(tests) {
		t.Errorf("%d samples in %s, %d expected here: every sample needs its expectation", len(names), sampleDir, len(tests))
	}
	for name, want := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			raw := readSample(t, name)
			if !IsActionTrail(raw) {
				t.Error("IsActionTrail = false")
			}
			got, err := Decode(raw)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Decode =\n %+v\nwant\n %+v", got, want)
			}
			if got.Failed() != (name == "actiontrail-failed.json") {
				t.Errorf("Failed() = %v", got.Failed())
			}
		})
	}
}

// TestOtherSamplesAreNotActionTrail keeps the probe from taking any payload
// the trigger already understands for an ActionTrail event.
func TestOtherSamplesAreNotActionTrail(t *testing.T) {
	t.Parallel()
	var paths []string
	for _, pattern := range []string{"../../events/*.json", "../../events/triggers/*.json"} {
		p, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p...)
	}
	if len(paths) < 10 {
		t.Fatalf("only %d samples found", len(paths))
	}
	for _, p := range paths {
		if strings.Contains(filepath.Base(p), "actiontrail-") {
			continue // the samples above
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if IsActionTrail(raw) {
			t.Errorf("%s: IsActionTrail = true", p)
		}
		if _, err := Decode(raw); err == nil {
			t.Errorf("%s: Decode accepted it", p)
		}
	}
}
