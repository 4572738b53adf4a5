package emulator

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
)

// TestHandlerWithoutListener uses New as a plain http.Handler, with GET, which
// the service also accepts (the method is part of the string to sign).
func TestHandlerWithoutListener(t *testing.T) {
	t.Parallel()
	s, err := New(Options{Seed: seedOf(img("m-bp1a", "web-1", "web", "Available", day0))})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	defer hs.Close()
	u := signedURL(hs.URL, map[string]string{"Action": "DescribeImages"}, "get-1", time.Now())
	// signedURL signs for POST; re-sign for GET.
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	q := req.URL.Query()
	q.Del("Signature")
	q.Set("Signature", sign(DefaultKey, stringToSign(http.MethodGet, q)))
	req.URL.RawQuery = q.Encode()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || s.Calls("DescribeImages") != 1 || s.URL() != "" || s.Close() != nil {
		t.Fatalf("GET: %d, calls %d", resp.StatusCode, s.Calls("DescribeImages"))
	}
	if _, err := New(Options{CreatingCalls: -1}); err == nil {
		t.Fatal("negative CreatingCalls accepted")
	}
}

func benchServer(b *testing.B) (*Server, *ecs.Client) {
	b.Helper()
	seed := seedOf()
	for i := range 300 {
		seed.Images = append(seed.Images, img(fmt.Sprintf("m-bp1b%03d", i), fmt.Sprintf("b-%03d", i), fmt.Sprintf("f%d", i%10), "Available", day0.Add(time.Duration(i)*time.Minute)))
	}
	s, err := Start(Options{Seed: seed})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	c, err := ecs.NewClientWithAccessKey(testRegion, DefaultKey, DefaultKey)
	if err != nil {
		b.Fatal(err)
	}
	c.Domain = s.URL()[len("http://"):]
	return s, c
}

// BenchmarkDescribeImages is one 100-image page of a 300-image region through the real SDK.
func BenchmarkDescribeImages(b *testing.B) {
	_, c := benchServer(b)
	for b.Loop() {
		r := ecs.CreateDescribeImagesRequest()
		r.ImageOwnerAlias, r.PageSize = "self", requests.NewInteger(100)
		if _, err := c.DescribeImages(r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkModifyImageAttribute renames one image per call through the real SDK.
func BenchmarkModifyImageAttribute(b *testing.B) {
	_, c := benchServer(b)
	i := 0
	for b.Loop() {
		i++
		r := ecs.CreateModifyImageAttributeRequest()
		r.ImageId, r.Description = "m-bp1b001", fmt.Sprintf("run %d", i)
		if _, err := c.ModifyImageAttribute(r); err != nil {
			b.Fatal(err)
		}
	}
}
