package emulator

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
)

func TestSignatureTestVector(t *testing.T) {
	t.Parallel()
	f := url.Values{}
	for k, v := range map[string]string{"AccessKeyId": "testid", "Action": "DescribeRegions", "Format": "XML",
		"SignatureMethod": "HMAC-SHA1", "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
		"SignatureVersion": "1.0", "Timestamp": "2016-02-23T12:46:24Z", "Version": "2014-05-26"} {
		f.Set(k, v)
	}
	if got := sign("testsecret", stringToSign("GET", f)); got != "OLeaidS1JvxuMvnyHOwuJ+uX5qY=" {
		t.Fatalf("signature %s, want the documented OLeaidS1JvxuMvnyHOwuJ+uX5qY=", got)
	}
}

func TestRealSDKSignaturePasses(t *testing.T) {
	t.Parallel()
	s := start(t, Options{Seed: seedOf(img("m-bp1a", "web-1", "web", "Available", day0))})
	req := ecs.CreateModifyImageAttributeRequest()
	req.ImageId = "m-bp1a"
	// Characters that differ between form encoding and RFC 3986.
	req.Description = "a b*c~d!'()&e=f/+:ü"
	if _, err := defaultClient(t, s).ModifyImageAttribute(req); err != nil {
		t.Fatalf("ModifyImageAttribute: %v", err)
	}
	if got, _ := s.Image("m-bp1a"); got.Description != req.Description {
		t.Fatalf("description %q, want %q", got.Description, req.Description)
	}
}

func TestAuthFailures(t *testing.T) {
	t.Parallel()
	s := start(t, Options{Keys: map[string]string{"ak": "right"}})
	cases := []struct {
		name, ak, sk, code string
		status             int
	}{
		{"wrong secret", "ak", "wrong", "SignatureDoesNotMatch", 400},
		{"unknown key", "nobody", "right", "InvalidAccessKeyId.NotFound", 404},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := client(t, s, tc.ak, tc.sk).DescribeImages(ecs.CreateDescribeImagesRequest())
			se := serverError(t, err, tc.code, tc.status)
			if tc.code == "SignatureDoesNotMatch" && !strings.Contains(se.Message(), "server string to sign is:POST&%2F&AccessKeyId%3Dak") {
				t.Fatalf("message lacks the string to sign: %s", se.Message())
			}
			// The SDK recognises our string to sign as its own and blames the secret.
			if tc.code == "SignatureDoesNotMatch" && !strings.Contains(se.Recommend(), "InvalidAccessKeySecret") {
				t.Fatalf("SDK did not match the string to sign: %s", se.Recommend())
			}
		})
	}
	if n := s.Calls("DescribeImages"); n != 0 {
		t.Fatalf("unauthenticated calls counted: %d", n)
	}
}

func TestTimestampSkew(t *testing.T) {
	t.Parallel()
	for _, shift := range []time.Duration{-20 * time.Minute, 20 * time.Minute} {
		s := start(t, Options{Now: func() time.Time { return time.Now().Add(shift) }})
		_, err := defaultClient(t, s).DescribeImages(ecs.CreateDescribeImagesRequest())
		serverError(t, err, "IllegalTimestamp", 400)
	}
	s := start(t, Options{Now: func() time.Time { return time.Now().Add(10 * time.Minute) }})
	if _, err := defaultClient(t, s).DescribeImages(ecs.CreateDescribeImagesRequest()); err != nil {
		t.Fatalf("10 minutes skew is inside the window: %v", err)
	}
}

func TestSecurityToken(t *testing.T) {
	t.Parallel()
	s := start(t, Options{SecurityToken: "CAIS+tok/en=="})
	newSTS := func(token string) *ecs.Client {
		c, err := ecs.NewClientWithStsToken(testRegion, DefaultKey, DefaultKey, token)
		if err != nil {
			t.Fatal(err)
		}
		point(t, c, s)
		return c
	}
	if _, err := newSTS("CAIS+tok/en==").DescribeImages(ecs.CreateDescribeImagesRequest()); err != nil {
		t.Fatalf("right token: %v", err)
	}
	_, err := newSTS("other").DescribeImages(ecs.CreateDescribeImagesRequest())
	serverError(t, err, "InvalidSecurityToken.MismatchWithAccessKey", 400)
	_, err = defaultClient(t, s).DescribeImages(ecs.CreateDescribeImagesRequest())
	serverError(t, err, "InvalidSecurityToken.Malformed", 400)
}

// signedURL builds a request the way the SDK signs it, for raw net/http replays.
func signedURL(base string, params map[string]string, nonce string, ts time.Time) string {
	f := url.Values{}
	for k, v := range map[string]string{"Version": apiVersion, "Format": "JSON", "AccessKeyId": DefaultKey,
		"SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0", "SignatureType": "", "SignatureNonce": nonce,
		"Timestamp": ts.UTC().Format(wireTime), "RegionId": testRegion} {
		f.Set(k, v)
	}
	for k, v := range params {
		f.Set(k, v)
	}
	f.Set("Signature", sign(DefaultKey, stringToSign(http.MethodPost, f)))
	return base + "/?" + f.Encode()
}

func post(t *testing.T, u string) (int, http.Header, map[string]any) {
	t.Helper()
	resp, err := http.Post(u, "application/x-www-form-urlencoded", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var body map[string]any
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatalf("body %q: %v", b, err)
	}
	return resp.StatusCode, resp.Header, body
}

func TestNonceReuse(t *testing.T) {
	t.Parallel()
	s := start(t, Options{})
	u := signedURL(s.URL(), map[string]string{"Action": "DescribeImages"}, "nonce-1", time.Now())
	if st, hdr, body := post(t, u); st != 200 || hdr.Get("Content-Type") != "application/json" || body["RequestId"] == "" {
		t.Fatalf("first use: %d %v %v", st, hdr, body)
	}
	st, _, body := post(t, u)
	if st != 400 || body["Code"] != "SignatureNonceUsed" {
		t.Fatalf("replay: %d %v", st, body)
	}
	for _, k := range []string{"RequestId", "HostId", "Code", "Message", "Recommend"} {
		if v, ok := body[k].(string); !ok || v == "" {
			t.Fatalf("error body field %s = %#v", k, body[k])
		}
	}
}

func TestNonceMemoryForgetsOldNonces(t *testing.T) {
	t.Parallel()
	m := nonceMemory{seen: map[string]time.Time{}}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 1000 {
		m.remember(strings.Repeat("x", i%7)+time.Duration(i).String(), t0.Add(skewWindow), t0)
	}
	if !m.remember("late", t0.Add(time.Hour+skewWindow), t0.Add(time.Hour)) || len(m.seen) != 1 {
		t.Fatalf("expired nonces kept: %d", len(m.seen))
	}
	if m.remember("late", t0.Add(time.Hour+skewWindow), t0.Add(time.Hour)) {
		t.Fatal("nonce reused inside the window accepted")
	}
}

func TestProtocolParameters(t *testing.T) {
	t.Parallel()
	s := start(t, Options{})
	cases := []struct {
		name   string
		params map[string]string
		status int
		code   string
	}{
		{"version", map[string]string{"Action": "DescribeImages", "Version": "2016-01-01"}, 400, "InvalidVersion"},
		{"method", map[string]string{"Action": "DescribeImages", "SignatureMethod": "HMAC-SHA256"}, 400, "InvalidParameter"},
		{"signature version", map[string]string{"Action": "DescribeImages", "SignatureVersion": "2.0"}, 400, "InvalidParameter"},
		{"unknown action", map[string]string{"Action": "DeleteImage"}, 404, "InvalidAction"},
		{"no action", map[string]string{"Action": ""}, 400, "MissingParameter"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, _, body := post(t, signedURL(s.URL(), tc.params, "n"+string(rune('a'+i)), time.Now()))
			if st != tc.status || body["Code"] != tc.code {
				t.Fatalf("got %d %v, want %d %s", st, body, tc.status, tc.code)
			}
		})
	}
}

func TestRequestIDsUnique(t *testing.T) {
	t.Parallel()
	s := start(t, Options{})
	c := defaultClient(t, s)
	seen := map[string]bool{}
	for range 20 {
		resp, err := c.DescribeImages(ecs.CreateDescribeImagesRequest())
		if err != nil {
			t.Fatal(err)
		}
		if resp.RequestId == "" || seen[resp.RequestId] {
			t.Fatalf("request id %q empty or repeated", resp.RequestId)
		}
		seen[resp.RequestId] = true
	}
}
