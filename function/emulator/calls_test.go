package emulator

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
)

// syncBuffer is a log destination the handlers may write to concurrently.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

func TestCallsEndpoint(t *testing.T) {
	t.Parallel()
	s := start(t, Options{Seed: modifySeed(), Keys: map[string]string{DefaultKey: DefaultKey}})
	c := defaultClient(t, s)
	s.SetFaults("DescribeImages", Faults{FailNext: []string{"Throttling.User"}})
	_ = describeOne(c)
	if err := describeOne(c); err != nil {
		t.Fatal(err)
	}
	for _, status := range []string{"Deprecated", "Deprecated"} {
		r := ecs.CreateModifyImageAttributeRequest()
		r.ImageId, r.Status = "m-bp1aaaa", status
		_, _ = c.ModifyImageAttribute(r)
	}
	_, _ = client(t, s, DefaultKey, "wrong").DescribeImages(ecs.CreateDescribeImagesRequest())

	resp, err := http.Get(s.URL() + "/_emulator/calls")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var view CallView
	if err := json.NewDecoder(resp.Body).Decode(&view); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%d %v", resp.StatusCode, err)
	}
	if view.Calls["DescribeImages"] != 2 || view.Calls["ModifyImageAttribute"] != 2 || view.Total != 4 ||
		view.Rejected["SignatureDoesNotMatch"] != 1 || len(view.Rejected) != 1 {
		t.Fatalf("counts: %+v", view)
	}
	if len(view.ModifyImageAttribute) != 2 {
		t.Fatalf("modify log: %+v", view.ModifyImageAttribute)
	}
	first, second := view.ModifyImageAttribute[0], view.ModifyImageAttribute[1]
	if first.ImageID != "m-bp1aaaa" || first.Params["Status"] != "Deprecated" || first.HTTPStatus != 200 || first.Code != "" ||
		first.RegionID != testRegion || first.Signature != "v1" || first.RequestID == "" || first.Time.IsZero() {
		t.Fatalf("first modify: %+v", first)
	}
	if second.HTTPStatus != 403 || second.Code != "ImageStatus.NotAvailable" {
		t.Fatalf("second modify: %+v", second)
	}
	// The endpoint is read-only and is not an API call.
	for method, want := range map[string]int{http.MethodPost: 405, http.MethodDelete: 405} {
		req, _ := http.NewRequest(method, s.URL()+"/_emulator/calls", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s: %d, want %d", method, resp.StatusCode, want)
		}
	}
	if resp, err := http.Get(s.URL() + "/_emulator/other"); err != nil || resp.StatusCode != 404 {
		t.Fatalf("unknown view: %v %v", err, resp)
	}
	if got := s.CallView(); got.Total != 4 {
		t.Fatalf("the views were counted as calls: %+v", got.Calls)
	}
	s.ResetCalls()
	if got := s.CallView(); got.Total != 0 || len(got.ModifyImageAttribute) != 0 || len(got.Rejected) != 0 || s.Calls("DescribeImages") != 0 {
		t.Fatalf("after ResetCalls: %+v", got)
	}
}

func TestModifyLogIsBounded(t *testing.T) {
	t.Parallel()
	s, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	total := 3*maxModifyLog + 7
	for i := range total {
		s.record(call{authenticated: true, action: "ModifyImageAttribute", requestID: strconv.Itoa(i)},
			&recorder{status: 200}, time.Millisecond)
	}
	v := s.CallView()
	kept := v.ModifyImageAttribute
	if len(kept) > maxModifyLog || len(kept) < maxModifyLog/2 || len(kept)+v.Dropped != total ||
		kept[len(kept)-1].RequestID != strconv.Itoa(total-1) || kept[0].RequestID != strconv.Itoa(v.Dropped) {
		t.Fatalf("kept %d (%s..%s), dropped %d", len(kept), kept[0].RequestID, kept[len(kept)-1].RequestID, v.Dropped)
	}
}

func TestLogLines(t *testing.T) {
	t.Parallel()
	var out syncBuffer
	s := start(t, Options{Seed: modifySeed(), Log: &out, SecurityToken: "CAIS-secret-token"})
	sts, err := ecs.NewClientWithStsToken(testRegion, DefaultKey, DefaultKey, "CAIS-secret-token")
	if err != nil {
		t.Fatal(err)
	}
	point(t, sts, s)
	r := ecs.CreateModifyImageAttributeRequest()
	r.ImageId, r.Status, r.Description = "m-bp1shared", "Deprecated", "a long description: "+strings.Repeat("x", 100)
	_, _ = sts.ModifyImageAttribute(r)
	// A fresh request each time: the SDK leaves the signing parameters in a used one.
	describe := func() *ecs.DescribeImagesRequest {
		d := ecs.CreateDescribeImagesRequest()
		d.ImageFamily, d.Status = "web", "Available,Deprecated"
		return d
	}
	if _, err := sts.DescribeImages(describe()); err != nil {
		t.Fatal(err)
	}
	s.SetFaults("DescribeImages", Faults{FailNext: []string{FaultReset}})
	_, _ = sts.DescribeImages(describe())
	// The reset's line is written when its handler returns, which the client,
	// seeing the connection closed, does not wait for: let it land first.
	waitLines := func(n int) {
		for i := 0; i < 250 && strings.Count(out.String(), "\n") < n; i++ {
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitLines(3)
	_, _ = defaultClient(t, s).DescribeImages(describe()) // no token
	waitLines(4)
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d lines:\n%s", len(lines), out.String())
	}
	for i, want := range []string{
		` v1 ModifyImageAttribute Description="a long description: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx..." ImageId=m-bp1shared Status=Deprecated -> 403 ImageUseShared `,
		` v1 DescribeImages ImageFamily=web Status=Available,Deprecated -> 200 OK `,
		` v1 DescribeImages ImageFamily=web Status=Available,Deprecated -> connection reset `,
		` v1 DescribeImages ImageFamily=web Status=Available,Deprecated -> 400 InvalidSecurityToken.Malformed `,
	} {
		if !strings.Contains(lines[i], want) {
			t.Errorf("line %d:\n got %s\nwant …%s…", i, lines[i], want)
		}
	}
	if strings.Contains(out.String(), "CAIS-secret-token") || strings.Contains(out.String(), "Signature") {
		t.Fatalf("the log carries a token or signature:\n%s", out.String())
	}
}

func TestModifyLogOfUnansweredCalls(t *testing.T) {
	t.Parallel()
	s := start(t, Options{Seed: modifySeed()})
	s.SetFaults("ModifyImageAttribute", Faults{FailNext: []string{FaultReset, FaultSlow}, SlowDelay: 5 * time.Second})
	c := defaultClient(t, s)
	c.SetReadTimeout(200 * time.Millisecond)
	for range 2 {
		r := ecs.CreateModifyImageAttributeRequest()
		r.ImageId, r.Status = "m-bp1aaaa", "Deprecated"
		if _, err := c.ModifyImageAttribute(r); err == nil {
			t.Fatal("a faulted call succeeded")
		}
	}
	deadline := time.Now().Add(5 * time.Second) // the slow call is recorded when its handler gives up
	for len(s.CallView().ModifyImageAttribute) < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	log := s.CallView().ModifyImageAttribute
	if len(log) != 2 || log[0].Code != FaultReset || log[0].HTTPStatus != 0 || log[1].Code != clientGone || log[1].HTTPStatus != 0 {
		t.Fatalf("log: %+v", log)
	}
	if got, _ := s.Image("m-bp1aaaa"); got.Status != "Available" {
		t.Fatalf("an unanswered call changed the image: %s", got.Status)
	}
}
