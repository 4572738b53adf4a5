package emulator

import (
	"strings"
	"testing"
	"time"
)

// TestUnsupportedParametersAreRefused: a parameter an action does not honour
// is named in the answer, never ignored; the owner parameters every SDK
// model carries pass.
func TestUnsupportedParametersAreRefused(t *testing.T) {
	t.Parallel()
	s := start(t, Options{Seed: modifySeed()})
	cases := []struct {
		params map[string]string
		status int
		code   string
		names  string
	}{
		{map[string]string{"Action": "DescribeImages", "InstanceType": "ecs.g7.large"}, 400, "UnsupportedParameter", "InstanceType"},
		{map[string]string{"Action": "DescribeImages", "ImageNmae": "web"}, 400, "UnsupportedParameter", "ImageNmae"},
		{map[string]string{"Action": "DescribeImages", "Filter.1.Key": "NetworkType", "Filter.1.Value": "vpc"}, 400, "UnsupportedParameter", "NetworkType"},
		{map[string]string{"Action": "DescribeImages", "Tag.21.Key": "k"}, 400, "InvalidTagCount", ""},
		{map[string]string{"Action": "ModifyImageAttribute", "ImageId": "m-bp1aaaa", "Features.CpuOnlineUpgrade": "supported"}, 400, "UnsupportedParameter", "Features.CpuOnlineUpgrade"},
		{map[string]string{"Action": "ModifyImageSharePermission", "ImageId": "m-bp1aaaa", "LaunchPermission": "HIDDEN"}, 400, "UnsupportedParameter", "LaunchPermission"},
		{map[string]string{"Action": "DescribeInstances", "InstanceIds": `["i-1"]`}, 400, "UnsupportedParameter", "InstanceIds"},
		{map[string]string{"Action": "DescribeImageFromFamily", "ImageFamily": "web", "ImageId": "m-1"}, 400, "UnsupportedParameter", "ImageId"},
		{map[string]string{"Action": "DescribeImages", "OwnerId": "1", "ResourceOwnerAccount": "x", "Tag.2.Key": "team"}, 200, "", ""},
	}
	for i, tc := range cases {
		st, _, body := post(t, signedURL(s.URL(), tc.params, "p"+string(rune('a'+i)), time.Now()))
		msg, _ := body["Message"].(string)
		if st != tc.status || (tc.code != "" && body["Code"] != tc.code) || !strings.Contains(msg, tc.names) {
			t.Errorf("%v: got %d %v, want %d %s naming %q", tc.params, st, body, tc.status, tc.code, tc.names)
		}
	}
}

func TestParamPattern(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"Tag.3.Key": "Tag.#.Key", "AddAccount.10": "AddAccount.#", "Features.NvmeSupport": "Features.NvmeSupport",
		"Tag.0.Key": "Tag.0.Key", "Tag.01.Key": "Tag.01.Key", "1.Key": "1.Key", "Tag.-1.Key": "Tag.-1.Key",
	} {
		if got := paramPattern(in); got != want {
			t.Errorf("paramPattern(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestEveryActionHasAHandler: the parameter table and dispatch name the same actions.
func TestEveryActionHasAHandler(t *testing.T) {
	t.Parallel()
	s, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	for action := range actionParams {
		if _, aerr := s.dispatch(action, nil); aerr != nil && aerr.code == "InternalError" {
			t.Errorf("%s: %v", action, aerr)
		}
	}
}
