package ecsapi

import "testing"

// ApplyTo changes what the call sent and nothing else: an empty field is one
// ModifyImageAttribute leaves alone.
func TestChangesApplyTo(t *testing.T) {
	img := Image{ImageID: "m-1", Name: "old", Description: "d", Family: "web", Status: StatusAvailable,
		BootMode: "BIOS", NvmeSupport: "unsupported", ImdsSupport: "v1"}
	Changes{Name: "new", Status: StatusDeprecated, ImdsSupport: "v2", LicenseType: "BYOL"}.ApplyTo(&img)
	want := Image{ImageID: "m-1", Name: "new", Description: "d", Family: "web", Status: StatusDeprecated,
		BootMode: "BIOS", NvmeSupport: "unsupported", ImdsSupport: "v2"}
	if img.ImageID != want.ImageID || img.Name != want.Name || img.Description != want.Description ||
		img.Family != want.Family || img.Status != want.Status || img.BootMode != want.BootMode ||
		img.NvmeSupport != want.NvmeSupport || img.ImdsSupport != want.ImdsSupport {
		t.Errorf("after ApplyTo: %+v\nwant %+v", img, want)
	}
}
