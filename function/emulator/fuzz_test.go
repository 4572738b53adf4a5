package emulator_test

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/emulator"
	"github.com/ecs-image-lifecycle/image-lifecycle/internal/testenv"
)

// FuzzRequest sends the emulator any request an RPC client could: GET or
// POST, the fuzzer's parameters in the query or in a form body, signed
// (SignatureVersion 1.0, computed here from the protocol, not with the
// emulator's own code) so that the fuzzer reaches every action's parameter
// checks, or not. Whatever comes, the emulator must not panic and must answer
// as the service does: a JSON object with a RequestId, and on an error a
// status of 400 to 599 with a non-empty string Code and Message. Seeded with a
// request for each action the function makes, on each image of
// events/seed/demo.json, and from testdata/fuzz.
//
//	go test ./function/emulator -run '^$' -fuzz FuzzRequest -fuzztime 60s
func FuzzRequest(f *testing.F) {
	seed := testenv.DemoSeed(f)
	for _, img := range seed.Images {
		id := url.QueryEscape(img.ImageID)
		for _, params := range []string{
			"Action=DescribeImages&RegionId=cn-hangzhou&ImageId=" + id + "&Status=Creating,Available,Deprecated&ImageOwnerAlias=self",
			"Action=DescribeImages&RegionId=cn-hangzhou&ImageFamily=" + url.QueryEscape(img.Family) + "&PageSize=100&PageNumber=1",
			"Action=DescribeImageFromFamily&RegionId=cn-hangzhou&ImageFamily=" + url.QueryEscape(img.Family),
			"Action=ModifyImageAttribute&RegionId=cn-hangzhou&ImageId=" + id + "&Status=Deprecated",
			"Action=ModifyImageAttribute&RegionId=cn-hangzhou&ImageId=" + id + "&ImageName=web-2026&Features.ImdsSupport=v2&BootMode=UEFI",
			"Action=DescribeImageSharePermission&RegionId=cn-hangzhou&ImageId=" + id,
			"Action=ModifyImageSharePermission&RegionId=cn-hangzhou&ImageId=" + id + "&RemoveAccount.1=1234567890",
			"Action=DescribeInstances&RegionId=cn-hangzhou&ImageId=" + id + "&MaxResults=10",
		} {
			f.Add(params, true, false, true)
		}
	}
	f.Add("Action=DescribeImages&PageSize=-1&PageNumber=99999999999999999999", true, true, true)
	f.Add("Action=ModifyImageAttribute&ImageId=&Description=%ff%fe", true, false, false)
	f.Add("%zz&Action", false, true, true)
	f.Add("", false, false, false)

	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, params string, signed, inBody, post bool) {
		s, err := emulator.New(emulator.Options{Seed: seed, Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		method := http.MethodGet
		if post {
			method = http.MethodPost
		}
		encoded := params
		if signed {
			q, err := url.ParseQuery(params)
			if err != nil {
				return // nothing to sign; the unsigned case covers bad encodings
			}
			encoded = signV1(method, q, now)
		}
		body := ""
		if post && inBody {
			body = encoded
		}
		req := httptest.NewRequest(method, "http://ecs.emulator/", strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			// Set as it is: NewRequest would refuse (panic on) a query
			// with a space, which a server can still be sent.
			req.URL.RawQuery = encoded
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)

		var answer map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &answer); err != nil {
			t.Fatalf("%d answer is not a JSON object: %v\n%q", rec.Code, err, rec.Body.Bytes())
		}
		if id, _ := answer["RequestId"].(string); id == "" {
			t.Fatalf("%d answer without a RequestId: %s", rec.Code, rec.Body.Bytes())
		}
		if rec.Code == http.StatusOK {
			return
		}
		code, _ := answer["Code"].(string)
		msg, _ := answer["Message"].(string)
		if rec.Code < 400 || rec.Code > 599 || code == "" || msg == "" {
			t.Fatalf("error answer %d without a string Code and Message: %s", rec.Code, rec.Body.Bytes())
		}
	})
}

// signV1 completes q with the protocol parameters the fuzzer did not give
// and signs it (RPC SignatureVersion 1.0, HMAC-SHA1 with the emulator's
// default key). Each parameter keeps its first value: a signature covers one.
func signV1(method string, q url.Values, now time.Time) string {
	for k, v := range map[string]string{
		"Format": "JSON", "Version": "2014-05-26", "AccessKeyId": emulator.DefaultKey, "SignatureMethod": "HMAC-SHA1",
		"SignatureVersion": "1.0", "SignatureNonce": "fuzz-nonce", "Timestamp": now.Format("2006-01-02T15:04:05Z"),
	} {
		if _, ok := q[k]; !ok {
			q.Set(k, v)
		}
	}
	q.Del("Signature")
	keys := make([]string, 0, len(q))
	for k := range q {
		q[k] = q[k][:1]
		keys = append(keys, k)
	}
	slices.Sort(keys)
	pairs := make([]string, len(keys))
	for i, k := range keys {
		pairs[i] = rfc3986(k) + "=" + rfc3986(q.Get(k))
	}
	mac := hmac.New(sha1.New, []byte(emulator.DefaultKey+"&"))
	mac.Write([]byte(method + "&" + rfc3986("/") + "&" + rfc3986(strings.Join(pairs, "&"))))
	q.Set("Signature", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	return q.Encode()
}

// rfc3986 is the RPC protocol's percent-encoding.
func rfc3986(s string) string {
	return strings.NewReplacer("+", "%20", "*", "%2A", "%7E", "~").Replace(url.QueryEscape(s))
}
