package ecsapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/credential"
)

// fakeECS answers like the ECS RPC endpoint: one JSON body per action, and it
// records the query of every request it saw.
type fakeECS struct {
	t       *testing.T
	srv     *httptest.Server
	mu      sync.Mutex
	seen    []url.Values
	handler func(w http.ResponseWriter, form url.Values)
}

func newFakeECS(t *testing.T, handler func(w http.ResponseWriter, form url.Values)) *fakeECS {
	t.Helper()
	f := &fakeECS{t: t, handler: handler}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.seen = append(f.seen, r.Form)
		f.mu.Unlock()
		f.handler(w, r.Form)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeECS) requests() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.seen)
}

func (f *fakeECS) client(t *testing.T, mutate ...func(*Config)) *Client {
	t.Helper()
	cfg := Config{
		Region:      "cn-hangzhou",
		Endpoint:    f.srv.URL,
		Credentials: &Credentials{AccessKeyID: "testak", AccessKeySecret: "testsecret"},
	}
	for _, m := range mutate {
		m(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// errorBody is an ECS error answer; Code, Message and RequestId are always strings.
func errorBody(code, msg string) string {
	return fmt.Sprintf(`{"RequestId":"REQ-ERR","HostId":"ecs.aliyuncs.com","Code":%q,"Message":%q,"Recommend":"https://api.aliyun.com/troubleshoot?q=%s"}`, code, msg, code)
}

const describeImagesBody = `{
  "RequestId": "REQ-DI", "RegionId": "cn-hangzhou", "TotalCount": 42, "PageNumber": 2, "PageSize": 2,
  "Images": {"Image": [
    {"ImageId": "m-1", "ImageName": "web-20261101", "Description": "nightly", "ImageFamily": "web",
     "Status": "Creating", "Progress": "40%", "CreationTime": "2026-11-01T06:07:05Z", "ImageOwnerAlias": "self",
     "IsPublic": false, "BootMode": "UEFI", "Usage": "instance",
     "Features": {"NvmeSupport": "supported", "ImdsSupport": "v2"},
     "Tags": {"Tag": [{"TagKey": "team", "TagValue": "web"}, {"TagKey": "env", "TagValue": "prod"}]}},
    {"ImageId": "m-2", "ImageName": "web-20261001", "ImageFamily": "web", "Status": "Deprecated",
     "Progress": "100%", "CreationTime": "2026-10-01T00:00Z", "ImageOwnerAlias": "self", "IsPublic": true,
     "Usage": "none", "Features": {}, "Tags": {"Tag": []}}
  ]}}`

func TestDescribeImagesMapsRequestAndResponse(t *testing.T) {
	t.Parallel()
	f := newFakeECS(t, func(w http.ResponseWriter, form url.Values) { writeJSON(w, 200, describeImagesBody) })
	page, err := f.client(t).DescribeImages(context.Background(), DescribeImagesInput{
		ImageIDs: []string{"m-1", "m-2"}, Family: "web", Statuses: []string{"Available", "Deprecated"},
		OwnerAlias: "self", PageNumber: 2, PageSize: 2,
	})
	if err != nil {
		t.Fatalf("DescribeImages: %v", err)
	}
	q := f.requests()[0]
	for k, want := range map[string]string{
		"Action": "DescribeImages", "ImageId": "m-1,m-2", "ImageFamily": "web", "Status": "Available,Deprecated",
		"ImageOwnerAlias": "self", "PageNumber": "2", "PageSize": "2", "RegionId": "cn-hangzhou", "AccessKeyId": "testak",
	} {
		if got := q.Get(k); got != want {
			t.Errorf("query %s = %q, want %q", k, got, want)
		}
	}
	if q.Has("SecurityToken") {
		t.Errorf("SecurityToken sent for a plain access key")
	}
	if page.TotalCount != 42 || page.PageNumber != 2 || page.PageSize != 2 || page.RequestID != "REQ-DI" {
		t.Errorf("page header = %+v", page)
	}
	want := []Image{{
		ImageID: "m-1", RegionID: "cn-hangzhou", Name: "web-20261101", Description: "nightly", Family: "web",
		Status: "Creating", Progress: 40, CreationTime: time.Date(2026, 11, 1, 6, 7, 5, 0, time.UTC),
		OwnerAlias: "self", BootMode: "UEFI", NvmeSupport: "supported", ImdsSupport: "v2", Usage: "instance",
		Tags: map[string]string{"team": "web", "env": "prod"},
	}, {
		ImageID: "m-2", RegionID: "cn-hangzhou", Name: "web-20261001", Family: "web", Status: "Deprecated",
		Progress: 100, CreationTime: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), OwnerAlias: "self",
		IsPublic: true, Usage: "none",
	}}
	if fmt.Sprintf("%+v", page.Images) != fmt.Sprintf("%+v", want) {
		t.Errorf("images:\n got %+v\nwant %+v", page.Images, want)
	}
}

func TestDescribeImagesMalformedAnswer(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, image string }{
		{"progress", `{"ImageId":"m-1","Progress":"forty"}`},
		{"creation time", `{"ImageId":"m-1","CreationTime":"yesterday"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeECS(t, func(w http.ResponseWriter, _ url.Values) {
				writeJSON(w, 200, `{"RequestId":"R","Images":{"Image":[`+tc.image+`]}}`)
			})
			_, err := f.client(t).DescribeImages(context.Background(), DescribeImagesInput{})
			var e *Error
			if !errors.As(err, &e) || e.Code != "" || e.HTTPStatus != 200 || !strings.Contains(e.Message, "m-1") {
				t.Fatalf("err = %#v, want *Error with status 200 naming the image", err)
			}
		})
	}
}

func TestModifyImageAttributeSendsChanges(t *testing.T) {
	t.Parallel()
	f := newFakeECS(t, func(w http.ResponseWriter, form url.Values) {
		if form.Get("DryRun") == "true" {
			writeJSON(w, 400, errorBody("DryRunOperation", "Request validation has been passed with DryRun flag set."))
			return
		}
		writeJSON(w, 200, `{"RequestId":"REQ-MIA"}`)
	})
	c := f.client(t)
	in := ModifyInput{RegionID: "cn-beijing", ImageID: "m-1", Changes: Changes{
		Name: "web-1", Description: "the web image", Family: "web", BootMode: "UEFI", LicenseType: "BYOL",
		Status: StatusDeprecated, NvmeSupport: "supported", ImdsSupport: "v2",
	}}
	id, err := c.ModifyImageAttribute(context.Background(), in)
	if err != nil || id != "REQ-MIA" {
		t.Fatalf("ModifyImageAttribute = %q, %v", id, err)
	}
	q := f.requests()[0]
	for k, want := range map[string]string{
		"Action": "ModifyImageAttribute", "RegionId": "cn-beijing", "ImageId": "m-1", "ImageName": "web-1",
		"Description": "the web image", "ImageFamily": "web", "BootMode": "UEFI", "LicenseType": "BYOL",
		"Status": "Deprecated", "Features.NvmeSupport": "supported", "Features.ImdsSupport": "v2",
	} {
		if got := q.Get(k); got != want {
			t.Errorf("query %s = %q, want %q", k, got, want)
		}
	}
	if q.Has("DryRun") {
		t.Errorf("DryRun sent on a real call")
	}

	// Only what changes is sent, and a passing dry run is a success.
	in = ModifyInput{ImageID: "m-1", Changes: Changes{Status: StatusAvailable}, DryRun: true}
	if id, err = c.ModifyImageAttribute(context.Background(), in); err != nil || id != "REQ-ERR" {
		t.Fatalf("dry run = %q, %v; want the request id and nil", id, err)
	}
	q = f.requests()[1]
	if q.Get("DryRun") != "true" || q.Get("RegionId") != "cn-hangzhou" || q.Has("ImageName") || q.Has("Features.NvmeSupport") {
		t.Errorf("dry-run query = %v", q)
	}
}

func TestRemoveImageSharesInChunksOfTen(t *testing.T) {
	t.Parallel()
	f := newFakeECS(t, func(w http.ResponseWriter, _ url.Values) { writeJSON(w, 200, `{"RequestId":"R"}`) })
	var accounts []string
	for i := range 23 {
		accounts = append(accounts, fmt.Sprintf("1%03d", i))
	}
	if err := f.client(t).RemoveImageShares(context.Background(), "", "m-1", accounts); err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	var sent []string
	for i, q := range reqs {
		n := 0
		for k := range q {
			if strings.HasPrefix(k, "RemoveAccount.") {
				n++
			}
		}
		if want := []int{10, 10, 3}[i]; n != want {
			t.Errorf("request %d carries %d accounts, want %d", i, n, want)
		}
		for j := 1; j <= n; j++ {
			sent = append(sent, q.Get(fmt.Sprintf("RemoveAccount.%d", j)))
		}
		if q.Get("Action") != "ModifyImageSharePermission" || q.Get("ImageId") != "m-1" {
			t.Errorf("request %d = %v", i, q)
		}
	}
	if !slices.Equal(sent, accounts) {
		t.Errorf("sent %v, want %v", sent, accounts)
	}
}

func TestDescribeImageSharePermission(t *testing.T) {
	t.Parallel()
	f := newFakeECS(t, func(w http.ResponseWriter, _ url.Values) {
		writeJSON(w, 200, `{"RequestId":"R","ImageId":"m-1","TotalCount":2,"PageNumber":1,"PageSize":100,
			"ShareGroups":{"ShareGroup":[{"Group":"all"}]},
			"Accounts":{"Account":[{"AliyunId":"1234","SharedTime":"2026-01-01T00:00:00Z"},{"AliyunId":"5678"}]}}`)
	})
	got, err := f.client(t).DescribeImageSharePermission(context.Background(), "", "m-1")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"all", "1234", "5678"}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if q := f.requests()[0]; q.Get("ImageId") != "m-1" || q.Get("PageSize") != "100" {
		t.Errorf("query = %v", q)
	}
}

func TestCountInstancesUsingImage(t *testing.T) {
	t.Parallel()
	f := newFakeECS(t, func(w http.ResponseWriter, _ url.Values) {
		writeJSON(w, 200, `{"RequestId":"R","TotalCount":7,"PageNumber":1,"PageSize":1,"Instances":{"Instance":[{"InstanceId":"i-1","ImageId":"m-1"}]}}`)
	})
	n, err := f.client(t).CountInstancesUsingImage(context.Background(), "", "m-1")
	if err != nil || n != 7 {
		t.Fatalf("count = %d, %v; want 7", n, err)
	}
	if q := f.requests()[0]; q.Get("Action") != "DescribeInstances" || q.Get("ImageId") != "m-1" || q.Has("NextToken") || q.Has("MaxResults") {
		t.Errorf("query = %v", q)
	}
}

func TestErrorsMapToAPIError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		respond    func(w http.ResponseWriter)
		wantCode   string
		wantStatus int
		wantMsg    string
		wantErr    bool // Err set (transport)
	}{
		{
			name: "image is creating",
			respond: func(w http.ResponseWriter) {
				writeJSON(w, 403, errorBody("InvalidStatus.ImageIsCreating", "The image is creating."))
			},
			wantCode: "InvalidStatus.ImageIsCreating", wantStatus: 403, wantMsg: "The image is creating.",
		},
		{
			name: "throttling",
			respond: func(w http.ResponseWriter) {
				writeJSON(w, 400, errorBody("Throttling.User", "Request was denied due to user flow control."))
			},
			wantCode: "Throttling.User", wantStatus: 400, wantMsg: "user flow control",
		},
		{
			name: "forbidden",
			respond: func(w http.ResponseWriter) {
				writeJSON(w, 403, errorBody("Forbidden.RAM", "User not authorized to operate on the specified resource."))
			},
			wantCode: "Forbidden.RAM", wantStatus: 403, wantMsg: "not authorized",
		},
		{
			name: "gateway html",
			respond: func(w http.ResponseWriter) {
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(502)
				io.WriteString(w, "<html><body>502 Bad Gateway</body></html>")
			},
			wantStatus: 502, wantMsg: "502 Bad Gateway",
		},
		{
			name: "connection reset",
			respond: func(w http.ResponseWriter) {
				conn, _, err := http.NewResponseController(w).Hijack()
				if err == nil {
					conn.Close()
				}
			},
			wantErr: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeECS(t, func(w http.ResponseWriter, _ url.Values) { tc.respond(w) })
			_, err := f.client(t).ModifyImageAttribute(context.Background(), ModifyInput{ImageID: "m-1", Changes: Changes{Status: StatusDeprecated}})
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %#v, want *Error", err)
			}
			if e.Action != "ModifyImageAttribute" || e.Code != tc.wantCode || e.HTTPStatus != tc.wantStatus ||
				!strings.Contains(e.Message, tc.wantMsg) || (e.Err != nil) != tc.wantErr {
				t.Errorf("got %#v", e)
			}
			if tc.wantCode != "" && e.RequestID != "REQ-ERR" {
				t.Errorf("RequestID = %q", e.RequestID)
			}
			if strings.Contains(err.Error(), "testak") || strings.Contains(err.Error(), "Signature=") {
				t.Errorf("credentials in error text: %s", err)
			}
		})
	}
}

func TestCredentialsNeverInErrorText(t *testing.T) {
	t.Parallel()
	const token = "CAIS/sts+token&secret=="
	var sts string
	f := newFakeECS(t, func(w http.ResponseWriter, form url.Values) {
		// The service quotes its string to sign, which holds the key id and the token.
		keys := slices.Sorted(func(yield func(string) bool) {
			for k := range form {
				if !yield(k) {
					return
				}
			}
		})
		var parts []string
		for _, k := range keys {
			parts = append(parts, url.QueryEscape(k)+"="+url.QueryEscape(form.Get(k)))
		}
		sts = "POST&%2F&" + url.QueryEscape(strings.Join(parts, "&"))
		writeJSON(w, 400, errorBody("SignatureDoesNotMatch", "Specified signature is not matched with our calculation. server string to sign is:"+sts))
	})
	c := f.client(t, func(cfg *Config) {
		cfg.Credentials = &Credentials{AccessKeyID: "STS.keyid", AccessKeySecret: "topsecret", SecurityToken: token}
	})
	_, err := c.ModifyImageAttribute(context.Background(), ModifyInput{ImageID: "m-1", Changes: Changes{Status: StatusDeprecated}})
	if Code(err) != "SignatureDoesNotMatch" || !strings.Contains(sts, "STS.keyid") {
		t.Fatalf("err = %v (server saw %q)", err, sts)
	}
	for _, secret := range []string{"STS.keyid", "topsecret", "CAIS", "sts%252Btoken", url.QueryEscape(url.QueryEscape(token))} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error text holds %q: %s", secret, err)
		}
	}
	if !strings.Contains(err.Error(), "SecurityToken%3DREDACTED") {
		t.Errorf("error text lost its shape: %s", err)
	}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"x?AccessKeyId=ak&SecurityToken=a%2Fb%26c&Signature=s%3D&Action=Y", "x?AccessKeyId=REDACTED&SecurityToken=REDACTED&Signature=REDACTED&Action=Y"},
		{"POST&%2F&AccessKeyId%3Dak%26SecurityToken%3Da%252Fb%2526c%26SignatureMethod%3DHMAC-SHA1", "POST&%2F&AccessKeyId%3DREDACTED%26SecurityToken%3DREDACTED%26SignatureMethod%3DHMAC-SHA1"},
		{"nothing secret here", "nothing secret here"},
	}
	for _, tc := range tests {
		if got := redact(tc.in); got != tc.want {
			t.Errorf("redact(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

func TestSlowAnswerEndsByContextDeadline(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	f := newFakeECS(t, func(w http.ResponseWriter, _ url.Values) {
		select {
		case <-release:
		case <-time.After(5 * time.Second):
		}
		writeJSON(w, 200, `{"RequestId":"late"}`)
	})
	t.Cleanup(func() { close(release) }) // runs before the server's Close, which waits for handlers
	tests := []struct {
		name        string
		ctxLeft     time.Duration
		read        time.Duration
		wantCtxDone bool
	}{
		// The context ends first: the call returns by its deadline, marked as
		// cut by its caller's context (retry.Classify: out of time).
		{"context deadline", 300 * time.Millisecond, 10 * time.Second, true},
		// The read timeout ends first: a transport timeout, not the caller's.
		{"read timeout", 10 * time.Second, 300 * time.Millisecond, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := f.client(t, func(cfg *Config) { cfg.ReadTimeout = tc.read })
			ctx, cancel := context.WithTimeout(context.Background(), tc.ctxLeft)
			defer cancel()
			start := time.Now()
			_, err := c.DescribeImages(ctx, DescribeImagesInput{})
			elapsed := time.Since(start)
			if limit := min(tc.ctxLeft, tc.read) + 250*time.Millisecond; elapsed > limit {
				t.Errorf("returned after %v, want by %v", elapsed, limit)
			}
			var e *Error
			if !errors.As(err, &e) || e.Err == nil || e.HTTPStatus != 0 {
				t.Fatalf("err = %#v, want a transport *Error", err)
			}
			if got := errors.Is(err, ErrContextDone); got != tc.wantCtxDone {
				t.Errorf("errors.Is(%v, ErrContextDone) = %t, want %t", err, got, tc.wantCtxDone)
			}
		})
	}
}

func TestDoneContextMakesNoRequest(t *testing.T) {
	t.Parallel()
	f := newFakeECS(t, func(w http.ResponseWriter, _ url.Values) { writeJSON(w, 200, `{"RequestId":"R"}`) })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := f.client(t).ModifyImageAttribute(ctx, ModifyInput{ImageID: "m-1", Changes: Changes{Status: StatusDeprecated}})
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, context.Canceled) || !errors.Is(err, ErrContextDone) {
		t.Fatalf("err = %#v, want *Error wrapping context.Canceled", err)
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

func TestCancelAbortsCallInFlight(t *testing.T) {
	t.Parallel()
	arrived, release := make(chan struct{}, 1), make(chan struct{})
	f := newFakeECS(t, func(w http.ResponseWriter, _ url.Values) {
		arrived <- struct{}{}
		select {
		case <-release:
		case <-time.After(3 * time.Second):
		}
	})
	t.Cleanup(func() { close(release) })
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-arrived; cancel() }()
	start := time.Now()
	_, err := f.client(t).DescribeImages(ctx, DescribeImagesInput{})
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Errorf("cancel took %v to end the call", elapsed)
	}
	if !errors.Is(err, context.Canceled) || !errors.Is(err, ErrContextDone) {
		t.Errorf("err = %v, want a call cut by its cancelled context", err)
	}
}

func TestSecurityTokenSent(t *testing.T) {
	f := newFakeECS(t, func(w http.ResponseWriter, _ url.Values) { writeJSON(w, 200, `{"RequestId":"R"}`) })
	call := func(t *testing.T, c *Client) url.Values {
		t.Helper()
		before := len(f.requests())
		if _, err := c.ModifyImageAttribute(context.Background(), ModifyInput{ImageID: "m-1", Changes: Changes{Status: StatusDeprecated}}); err != nil {
			t.Fatal(err)
		}
		return f.requests()[before]
	}
	t.Run("static STS credentials", func(t *testing.T) {
		c := f.client(t, func(cfg *Config) {
			cfg.Credentials = &Credentials{AccessKeyID: "STS.ak", AccessKeySecret: "sk", SecurityToken: "tok/en+1"}
		})
		if q := call(t, c); q.Get("SecurityToken") != "tok/en+1" || q.Get("AccessKeyId") != "STS.ak" {
			t.Errorf("query = %v", q)
		}
	})
	t.Run("default chain from the environment", func(t *testing.T) {
		// Not parallel: the environment is process-wide.
		t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "STS.envak")
		t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "envsk")
		t.Setenv("ALIBABA_CLOUD_SECURITY_TOKEN", "env-token")
		t.Setenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
		c := f.client(t, func(cfg *Config) { cfg.Credentials = nil })
		if q := call(t, c); q.Get("SecurityToken") != "env-token" || q.Get("AccessKeyId") != "STS.envak" {
			t.Errorf("query = %v", q)
		}
	})
}

// captureTransport records the request the SDK would send and answers an
// error, so nothing leaves the machine and no name is ever resolved.
type captureTransport struct {
	mu   sync.Mutex
	urls []*url.URL
}

var errCaptured = errors.New("captured, not sent")

func (c *captureTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.urls = append(c.urls, r.URL)
	return nil, errCaptured
}

func TestEndpointSchemeAndHost(t *testing.T) {
	t.Parallel()
	tests := []struct {
		endpoint, region, callRegion string
		wantURL                      string // scheme://host of the request, "" when New must fail
		wantErr                      string
	}{
		{endpoint: "http://ecs.cn-hangzhou.aliyuncs.com", region: "cn-hangzhou", wantErr: "plain http is allowed only for a loopback host"},
		{endpoint: "http://10.0.0.1:8080", region: "cn-hangzhou", wantErr: "plain http"},
		{endpoint: "ftp://ecs.cn-hangzhou.aliyuncs.com", region: "cn-hangzhou", wantErr: "scheme must be https"},
		{endpoint: "https://ecs.cn-hangzhou.aliyuncs.com/some/path", region: "cn-hangzhou", wantErr: "scheme and host only"},
		{endpoint: "", region: "", wantErr: "Region is required"},
		{endpoint: "ecs.cn-hangzhou.aliyuncs.com", region: "cn-hangzhou", wantURL: "https://ecs.cn-hangzhou.aliyuncs.com"},
		{endpoint: "https://ecs-vpc.cn-hangzhou.aliyuncs.com", region: "cn-hangzhou", wantURL: "https://ecs-vpc.cn-hangzhou.aliyuncs.com"},
		{endpoint: "", region: "cn-hangzhou", wantURL: "https://ecs-cn-hangzhou.aliyuncs.com"},
		{endpoint: "", region: "cn-hangzhou", callRegion: "ap-southeast-1", wantURL: "https://ecs.ap-southeast-1.aliyuncs.com"},
		{endpoint: "", region: "cn-hangzhou", callRegion: "xx-nowhere-9", wantURL: "https://ecs.xx-nowhere-9.aliyuncs.com"},
		{endpoint: "http://127.0.0.1:8080", region: "cn-hangzhou", wantURL: "http://127.0.0.1:8080"},
		{endpoint: "http://localhost:8080", region: "cn-hangzhou", wantURL: "http://localhost:8080"},
		{endpoint: "http://[::1]:8080", region: "cn-hangzhou", wantURL: "http://[::1]:8080"},
	}
	for _, tc := range tests {
		t.Run(tc.endpoint+"/"+tc.region+"/"+tc.callRegion, func(t *testing.T) {
			t.Parallel()
			capture := &captureTransport{}
			c, err := New(Config{Region: tc.region, Endpoint: tc.endpoint, Transport: capture,
				Credentials: &Credentials{AccessKeyID: "ak", AccessKeySecret: "sk"}})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("New err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.DescribeImages(context.Background(), DescribeImagesInput{RegionID: tc.callRegion})
			var e *Error
			if !errors.Is(err, errCaptured) || !errors.As(err, &e) || e.Code != "" || e.HTTPStatus != 0 {
				t.Errorf("err = %v, want the captured transport error, as a transport failure", err)
			}
			if len(capture.urls) != 1 {
				t.Fatalf("%d requests captured", len(capture.urls))
			}
			u := capture.urls[0]
			if got := u.Scheme + "://" + u.Host; got != tc.wantURL {
				t.Errorf("request went to %s, want %s", got, tc.wantURL)
			}
		})
	}
}

func TestConcurrentCallsWithDifferentTimeouts(t *testing.T) {
	// Not parallel: the shared default chain reads the process environment.
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "envak")
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "envsk")
	t.Setenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
	f := newFakeECS(t, func(w http.ResponseWriter, form url.Values) {
		if form.Get("ImageId") == "slow" {
			time.Sleep(400 * time.Millisecond)
		}
		writeJSON(w, 200, `{"RequestId":"R-`+form.Get("ImageId")+`"}`)
	})
	c := f.client(t, func(cfg *Config) { cfg.Credentials = nil }) // the shared, locked default chain too
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 32 {
		wg.Go(func() {
			image, left := "fast", 5*time.Second
			if i%2 == 0 {
				image, left = "slow", 100*time.Millisecond
			}
			ctx, cancel := context.WithTimeout(context.Background(), left)
			defer cancel()
			id, err := c.ModifyImageAttribute(ctx, ModifyInput{ImageID: image, Changes: Changes{Status: StatusDeprecated}})
			switch {
			case image == "fast" && (err != nil || id != "R-fast"):
				errs <- fmt.Errorf("fast call: %q, %v", id, err)
			case image == "slow" && !errors.Is(err, context.DeadlineExceeded):
				errs <- fmt.Errorf("slow call: %q, %v; want the context deadline", id, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// BenchmarkSDKClientPerCall measures what building the per-call SDK client and
// request costs (no request is sent).
func BenchmarkSDKClientPerCall(b *testing.B) {
	c, err := New(Config{Region: "cn-hangzhou", Endpoint: "http://127.0.0.1:1",
		Credentials: &Credentials{AccessKeyID: "ak", AccessKeySecret: "sk"}})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		req := ecs.CreateModifyImageAttributeRequest()
		if _, err := c.prepare(ctx, "ModifyImageAttribute", "", req); err != nil {
			b.Fatal(err)
		}
	}
}

// TestNoCredentialsIsNotANetworkFault: when the default chain finds nothing,
// a call fails at once with credential.CodeNotFound, not as a transport
// failure (retry.Classify: Credential, never retried), and no request leaves.
func TestNoCredentialsIsNotANetworkFault(t *testing.T) {
	// Not parallel: the default chain reads the process environment.
	t.Setenv("HOME", t.TempDir())
	for _, k := range []string{"ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_PROFILE",
		"ALIBABA_CLOUD_CREDENTIALS_FILE", "ALIBABA_CLOUD_CREDENTIALS_URI", "ALIBABA_CLOUD_ROLE_ARN", "ALIBABA_CLOUD_OIDC_PROVIDER_ARN"} {
		t.Setenv(k, "")
	}
	t.Setenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true") // the metadata lookup is credential's to test
	f := newFakeECS(t, func(w http.ResponseWriter, form url.Values) { writeJSON(w, 200, `{"RequestId":"R"}`) })
	c := f.client(t, func(cfg *Config) { cfg.Credentials = nil })
	_, err := c.DescribeImages(context.Background(), DescribeImagesInput{RegionID: "cn-hangzhou", ImageIDs: []string{"m-1"}})
	var e *Error
	if Code(err) != credential.CodeNotFound || !errors.As(err, &e) || e.Err != nil || e.HTTPStatus != 0 {
		t.Fatalf("err %#v (code %q), want %s and no transport error", err, Code(err), credential.CodeNotFound)
	}
	if !strings.Contains(err.Error(), "ALIBABA_CLOUD_ACCESS_KEY_ID") {
		t.Errorf("the error does not say what to set: %v", err)
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("%d requests sent without credentials", n)
	}
}

func TestEmptyCredentialsAreRefusedAtNew(t *testing.T) {
	t.Parallel()
	_, err := New(Config{Region: "cn-hangzhou", Credentials: &Credentials{SecurityToken: "t"}})
	if credential.Code(err) != credential.CodeNotFound {
		t.Fatalf("New: %v, want %s", err, credential.CodeNotFound)
	}
}
