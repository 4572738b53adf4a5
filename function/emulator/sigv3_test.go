package emulator

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestV3CanonicalRequestIgnoresSpaceSpelling: Go's url.Values writes a space
// as + and Node's SDK as %20; both must give the canonical request written
// out here by hand.
func TestV3CanonicalRequestIgnoresSpaceSpelling(t *testing.T) {
	t.Parallel()
	header := http.Header{}
	header.Set("x-acs-action", "DescribeImages")
	header.Set("x-acs-date", "2026-11-27T09:05:15Z")
	header.Set("X-Acs-Version", "2014-05-26")
	header.Set("Accept", "application/json") // not signed
	signed := []string{"host", "x-acs-action", "x-acs-date", "x-acs-version"}
	want := "POST\n/\n" +
		"ImageName=a%20b%2Ac~%C3%BC&RegionId=cn-hangzhou&Tag.1.Key=k%3Dv%26%2B\n" +
		"host:127.0.0.1:8080\nx-acs-action:DescribeImages\nx-acs-date:2026-11-27T09:05:15Z\nx-acs-version:2014-05-26\n" +
		"\nhost;x-acs-action;x-acs-date;x-acs-version\n" +
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	for _, raw := range []string{
		"RegionId=cn-hangzhou&ImageName=a+b%2Ac~%C3%BC&Tag.1.Key=k%3Dv%26%2B",     // Go
		"ImageName=a%20b%2Ac%7E%C3%BC&RegionId=cn-hangzhou&Tag.1.Key=k%3Dv%26%2B", // Node
		"Tag.1.Key=k%3dv%26%2b&ImageName=a%20b*c~%c3%bc&RegionId=cn-hangzhou",     // lower-case hex, * and ~ bare
	} {
		req, aerr := parseRequest("POST", "127.0.0.1:8080", "/", raw, header, nil)
		if aerr != nil {
			t.Fatal(aerr)
		}
		if got := canonicalRequestV3(req, signed, hexSHA256("")); got != want {
			t.Errorf("query %s:\n got %q\nwant %q", raw, got, want)
		}
	}
}

// v3Call is a hand-built V3 request: the test states the canonical query
// itself, so the emulator's canonicalisation is checked, not reused.
type v3Call struct {
	action, rawQuery, canonicalQuery string
	body, contentType                string
	ak, sk, token, nonce, algorithm  string
	date                             time.Time
	unsigned                         []string // headers sent but left out of SignedHeaders
	drop                             string   // a header not sent at all
	payloadHash                      string   // overrides the body's hash
}

func (c v3Call) do(t *testing.T, base string) (int, map[string]any) {
	t.Helper()
	host := strings.TrimPrefix(base, "http://")
	sum := sha256.Sum256([]byte(c.body))
	hash := hex.EncodeToString(sum[:])
	if c.payloadHash != "" {
		hash = c.payloadHash
	}
	h := map[string]string{
		"host": host, "x-acs-action": c.action, "x-acs-version": apiVersion,
		"x-acs-date": c.date.UTC().Format(wireTime), "x-acs-signature-nonce": c.nonce, "x-acs-content-sha256": hash,
	}
	if c.contentType != "" {
		h["content-type"] = c.contentType
	}
	if c.token != "" {
		h["x-acs-security-token"] = c.token
	}
	delete(h, c.drop)
	var names []string
	for k := range h {
		if !slices.Contains(c.unsigned, k) {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	canon := "POST\n/\n" + c.canonicalQuery + "\n"
	for _, k := range names {
		canon += k + ":" + h[k] + "\n"
	}
	canon += "\n" + strings.Join(names, ";") + "\n" + hash
	sts := "ACS3-HMAC-SHA256\n" + hexSHA256(canon)
	mac := hmac.New(sha256.New, []byte(c.sk))
	mac.Write([]byte(sts))
	alg := c.algorithm
	if alg == "" {
		alg = "ACS3-HMAC-SHA256"
	}
	req, err := http.NewRequest(http.MethodPost, base+"/?"+c.rawQuery, strings.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		if k != "host" {
			req.Header.Set(k, v)
		}
	}
	req.Header.Set("Authorization", alg+" Credential="+c.ak+",SignedHeaders="+strings.Join(names, ";")+",Signature="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var body map[string]any
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatalf("body %q: %v", b, err)
	}
	return resp.StatusCode, body
}

// nodeNonce is the 64 hex characters the Node SDK sends (Go sends 32).
func nodeNonce(i int) string { return strings.Repeat("a1b2c3d4", 7) + "0000000" + string(rune('a'+i)) }

func TestV3RawRequests(t *testing.T) {
	t.Parallel()
	s := start(t, Options{SecurityToken: "CAIS+tok/en==", Seed: seedOf(img("m-bp1a", "web-1", "web", "Available", day0))})
	modify := func(i int) v3Call {
		return v3Call{action: "ModifyImageAttribute",
			rawQuery:       "ImageId=m-bp1a&RegionId=cn-hangzhou&Description=node%20style%2A~",
			canonicalQuery: "Description=node%20style%2A~&ImageId=m-bp1a&RegionId=cn-hangzhou",
			ak:             DefaultKey, sk: DefaultKey, token: "CAIS+tok/en==", nonce: nodeNonce(i), date: time.Now()}
	}
	cases := []struct {
		name   string
		change func(c *v3Call)
		status int
		code   string
	}{
		{"node encoding, 64-hex nonce", func(c *v3Call) {}, 200, ""},
		{"form body", func(c *v3Call) {
			c.rawQuery, c.canonicalQuery = "RegionId=cn-hangzhou", "RegionId=cn-hangzhou"
			c.body, c.contentType = "ImageId=m-bp1a&Description=from+a+form%21", "application/x-www-form-urlencoded"
		}, 200, ""},
		{"body changed after signing", func(c *v3Call) {
			c.body, c.contentType = "Description=x", "application/x-www-form-urlencoded"
			c.payloadHash = hexSHA256("Description=y")
		}, 400, "SignatureDoesNotMatch"},
		{"query changed after signing", func(c *v3Call) { c.rawQuery += "&Status=Deprecated" }, 400, "SignatureDoesNotMatch"},
		{"wrong secret", func(c *v3Call) { c.sk = "wrong" }, 400, "SignatureDoesNotMatch"},
		{"unknown key", func(c *v3Call) { c.ak = "nobody" }, 404, "InvalidAccessKeyId.NotFound"},
		{"no nonce", func(c *v3Call) { c.drop = "x-acs-signature-nonce" }, 400, "MissingParameter"},
		{"no body hash", func(c *v3Call) { c.drop = "x-acs-content-sha256" }, 400, "MissingParameter"},
		{"date not signed", func(c *v3Call) { c.unsigned = []string{"x-acs-date"} }, 400, "IncompleteSignature"},
		{"token not signed", func(c *v3Call) { c.unsigned = []string{"x-acs-security-token"} }, 400, "IncompleteSignature"},
		{"SM3", func(c *v3Call) { c.algorithm = "ACS3-HMAC-SM3" }, 400, "InvalidParameter"},
		{"no token", func(c *v3Call) { c.token = "" }, 400, "InvalidSecurityToken.Malformed"},
		{"other token", func(c *v3Call) { c.token = "other" }, 400, "InvalidSecurityToken.MismatchWithAccessKey"},
		{"20 minutes late", func(c *v3Call) { c.date = time.Now().Add(-20 * time.Minute) }, 400, "IllegalTimestamp"},
		{"20 minutes early", func(c *v3Call) { c.date = time.Now().Add(20 * time.Minute) }, 400, "IllegalTimestamp"},
	}
	for i, tc := range cases {
		c := modify(i)
		tc.change(&c)
		st, body := c.do(t, s.URL())
		if st != tc.status || (tc.code != "" && body["Code"] != tc.code) {
			t.Errorf("%s: got %d %v, want %d %s", tc.name, st, body, tc.status, tc.code)
		}
	}
	if got, _ := s.Image("m-bp1a"); got.Description != "from a form!" {
		t.Errorf("Description %q: the form body's value did not apply", got.Description)
	}
	// Only the two good calls reached the action.
	if n := s.Calls("ModifyImageAttribute"); n != 2 {
		t.Errorf("Calls = %d, want 2", n)
	}
}

func TestV3WrongSecretNamesStringToSign(t *testing.T) {
	t.Parallel()
	s := start(t, Options{})
	c := v3Call{action: "DescribeImages", rawQuery: "RegionId=cn-hangzhou", canonicalQuery: "RegionId=cn-hangzhou",
		ak: DefaultKey, sk: "wrong", nonce: "n1", date: time.Now()}
	st, body := c.do(t, s.URL())
	msg, _ := body["Message"].(string)
	if st != 400 || !strings.Contains(msg, "server StringToSign is [ACS3-HMAC-SHA256\n") {
		t.Fatalf("got %d %q", st, msg)
	}
	for _, k := range []string{"RequestId", "HostId", "Code", "Message", "Recommend"} {
		if v, ok := body[k].(string); !ok || v == "" {
			t.Fatalf("error body field %s = %#v", k, body[k])
		}
	}
}

func TestV3NonceReuse(t *testing.T) {
	t.Parallel()
	s := start(t, Options{})
	c := v3Call{action: "DescribeImages", rawQuery: "RegionId=cn-hangzhou", canonicalQuery: "RegionId=cn-hangzhou",
		ak: DefaultKey, sk: DefaultKey, nonce: "0123456789abcdef0123456789abcdef", date: time.Now()}
	if st, body := c.do(t, s.URL()); st != 200 {
		t.Fatalf("first: %d %v", st, body)
	}
	if st, body := c.do(t, s.URL()); st != 400 || body["Code"] != "SignatureNonceUsed" {
		t.Fatalf("replay: %d %v", st, body)
	}
}

func TestV3VersionAndAuthorizationShape(t *testing.T) {
	t.Parallel()
	s := start(t, Options{})
	for name, tc := range map[string]struct {
		header map[string]string
		code   string
	}{
		"no Authorization": {map[string]string{"x-acs-signature-nonce": "n"}, "MissingParameter"},
		"no credential":    {map[string]string{"Authorization": "ACS3-HMAC-SHA256 SignedHeaders=host,Signature=00"}, "IncompleteSignature"},
		"no algorithm":     {map[string]string{"Authorization": "Credential=emulator,SignedHeaders=host,Signature=00"}, "IncompleteSignature"},
		"other API version": {map[string]string{"Authorization": "ACS3-HMAC-SHA256 Credential=emulator,SignedHeaders=host,Signature=00",
			"x-acs-action": "DescribeImages", "x-acs-version": "2016-01-01", "x-acs-date": "2026-01-01T00:00:00Z",
			"x-acs-signature-nonce": "n", "x-acs-content-sha256": hexSHA256("")}, "InvalidVersion"},
	} {
		req, _ := http.NewRequest(http.MethodPost, s.URL()+"/?RegionId=cn-hangzhou", nil)
		for k, v := range tc.header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != 400 || body["Code"] != tc.code {
			t.Errorf("%s: %d %v, want 400 %s", name, resp.StatusCode, body, tc.code)
		}
	}
}
