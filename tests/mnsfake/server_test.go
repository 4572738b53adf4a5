package mnsfake_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	ali_mns "github.com/aliyun/aliyun-mns-go-sdk"
	gogaperrors "github.com/gogap/errors"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/credential"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/queue/mnsclient"
	"github.com/ecs-image-lifecycle/image-lifecycle/internal/testenv"
	"github.com/ecs-image-lifecycle/image-lifecycle/internal/testenv/fakeclock"
	"github.com/ecs-image-lifecycle/image-lifecycle/tests/mnsfake"
)

// client is the real SDK pointed at the fake's plain loopback endpoint, as
// the function's queue package points it.
func client(t *testing.T, s *mnsfake.Server, ak, sk, token string) ali_mns.MNSClient {
	t.Helper()
	ep, err := mnsclient.New(s.Endpoint(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ep.Client(credential.Credentials{AccessKeyID: ak, AccessKeySecret: sk, SecurityToken: token})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func sdkQueue(t *testing.T, s *mnsfake.Server, name string) ali_mns.AliMNSQueue {
	t.Helper()
	return ali_mns.NewMNSQueue(name, client(t, s, "mns", "mns", ""))
}

// receive runs the SDK's channel-based ReceiveMessage with one wait value.
func receive(t *testing.T, q ali_mns.AliMNSQueue, waitSeconds int64) (ali_mns.MessageReceiveResponse, error) {
	t.Helper()
	rc := make(chan ali_mns.MessageReceiveResponse, 1)
	ec := make(chan error, 1)
	go q.ReceiveMessage(rc, ec, waitSeconds)
	select {
	case r := <-rc:
		return r, nil
	case err := <-ec:
		return ali_mns.MessageReceiveResponse{}, err
	case <-time.After(time.Duration(waitSeconds+10) * time.Second):
		t.Fatal("ReceiveMessage did not answer")
		return ali_mns.MessageReceiveResponse{}, nil
	}
}

func wantCode(t *testing.T, err error, want gogaperrors.ErrCodeTemplate, name string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", name)
	}
	if !want.IsEqual(err) {
		t.Fatalf("got %v, want %s", err, name)
	}
}

func TestSendReceiveDelete(t *testing.T) {
	t.Parallel()
	s := testenv.StartMNS(t, mnsfake.Options{}, "q1")
	q := sdkQueue(t, s, "q1")

	body := `{"action":"rotate","imageFamily":"web"} <&> ü`
	sent, err := q.SendMessage(ali_mns.MessageSendRequest{MessageBody: body, Priority: 8})
	if err != nil {
		t.Fatalf("SendMessage: %v", err)
	}
	if sent.MessageId == "" || sent.RequestId == "" || sent.Code != "201" {
		t.Fatalf("send response = %+v, want id, request id and 201", sent)
	}

	got, err := receive(t, q, 1)
	if err != nil {
		t.Fatalf("ReceiveMessage: %v", err)
	}
	if got.MessageId != sent.MessageId || got.MessageBody != body || got.DequeueCount != 1 ||
		got.Priority != 8 || got.ReceiptHandle == "" || got.MessageBodyMD5 != sent.MessageBodyMD5 {
		t.Fatalf("received %+v, want the sent message dequeued once", got)
	}
	if got.FirstDequeueTime == 0 || got.NextVisibleTime-got.FirstDequeueTime != 30000 {
		t.Fatalf("times = first %d next %d, want next = first + 30s", got.FirstDequeueTime, got.NextVisibleTime)
	}

	// Invisible now: the queue looks empty.
	if _, err := receive(t, q, 1); !ali_mns.ERR_MNS_MESSAGE_NOT_EXIST.IsEqual(err) {
		t.Fatalf("second receive: %v, want MessageNotExist", err)
	}
	if err := q.DeleteMessage(got.ReceiptHandle); err != nil {
		t.Fatalf("DeleteMessage: %v", err)
	}
	if msgs := s.Messages("q1"); len(msgs) != 0 {
		t.Fatalf("after delete the queue holds %+v", msgs)
	}
	if n := s.Sends("q1"); n != 1 {
		t.Fatalf("Sends = %d, want 1", n)
	}
}

func TestSendRejections(t *testing.T) {
	t.Parallel()
	s := testenv.StartMNS(t, mnsfake.Options{}, "q1")
	tests := []struct {
		name  string
		queue string
		req   ali_mns.MessageSendRequest
		want  gogaperrors.ErrCodeTemplate
	}{
		{"priority 0, the SDK default", "q1", ali_mns.MessageSendRequest{MessageBody: "x"}, ali_mns.ERR_MNS_INVALID_ARGUMENT},
		{"priority 17", "q1", ali_mns.MessageSendRequest{MessageBody: "x", Priority: 17}, ali_mns.ERR_MNS_INVALID_ARGUMENT},
		{"delay past 7 days", "q1", ali_mns.MessageSendRequest{MessageBody: "x", Priority: 8, DelaySeconds: 604801}, ali_mns.ERR_MNS_INVALID_ARGUMENT},
		{"negative delay", "q1", ali_mns.MessageSendRequest{MessageBody: "x", Priority: 8, DelaySeconds: -1}, ali_mns.ERR_MNS_INVALID_ARGUMENT},
		{"body over 64 KiB", "q1", ali_mns.MessageSendRequest{MessageBody: strings.Repeat("a", 65537), Priority: 8}, ali_mns.ERR_MNS_INVALID_ARGUMENT},
		{"queue not found", "nope", ali_mns.MessageSendRequest{MessageBody: "x", Priority: 8}, ali_mns.ERR_MNS_QUEUE_NOT_EXIST},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := sdkQueue(t, s, tc.queue).SendMessage(tc.req)
			wantCode(t, err, tc.want, tc.name)
		})
	}
	if msgs := s.Messages("q1"); len(msgs) != 0 {
		t.Errorf("rejected sends stored %+v", msgs)
	}
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	c := fakeclock.New(time.Now())
	s := testenv.StartMNS(t, mnsfake.Options{
		Keys:   map[string]string{"ak": "secret", "sts-ak": "sts-secret"},
		Tokens: map[string]string{"sts-ak": "token-1"},
		Now:    c.Now,
	}, "q1")
	tests := []struct {
		name          string
		ak, sk, token string
		want          *gogaperrors.ErrCodeTemplate // nil = accepted
	}{
		{"right key", "ak", "secret", "", nil},
		{"wrong secret", "ak", "guess", "", &ali_mns.ERR_MNS_SIGNATURE_DOES_NOT_MATCH},
		{"unknown key", "who", "secret", "", &ali_mns.ERR_MNS_INVALID_ACCESS_KEY_ID},
		{"sts with its token", "sts-ak", "sts-secret", "token-1", nil},
		{"sts without token", "sts-ak", "sts-secret", "", &ali_mns.ERR_MNS_ACCESS_DENIED},
		{"sts with another token", "sts-ak", "sts-secret", "token-2", &ali_mns.ERR_MNS_ACCESS_DENIED},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			q := ali_mns.NewMNSQueue("q1", client(t, s, tc.ak, tc.sk, tc.token))
			_, err := q.SendMessage(ali_mns.MessageSendRequest{MessageBody: "x", Priority: 8})
			if tc.want == nil {
				if err != nil {
					t.Fatalf("SendMessage: %v", err)
				}
				return
			}
			wantCode(t, err, *tc.want, tc.name)
		})
	}
}

func TestDateSkewRejected(t *testing.T) {
	t.Parallel()
	c := fakeclock.New(time.Now())
	c.Advance(16 * time.Minute)
	s := testenv.StartMNS(t, mnsfake.Options{Now: c.Now}, "q1")
	_, err := sdkQueue(t, s, "q1").SendMessage(ali_mns.MessageSendRequest{MessageBody: "x", Priority: 8})
	wantCode(t, err, ali_mns.ERR_MNS_TIME_EXPIRED, "TimeExpired")
}

func TestDelayAndPriority(t *testing.T) {
	t.Parallel()
	c := fakeclock.New(time.Now())
	s := testenv.StartMNS(t, mnsfake.Options{Now: c.Now}, "q1")
	q := sdkQueue(t, s, "q1")

	send := func(body string, delay, priority int64) {
		t.Helper()
		if _, err := q.SendMessage(ali_mns.MessageSendRequest{MessageBody: body, DelaySeconds: delay, Priority: priority}); err != nil {
			t.Fatalf("SendMessage(%s): %v", body, err)
		}
	}
	send("delayed", 60, 1)
	send("low", 0, 16)
	send("high", 0, 2)

	msgs := s.Messages("q1")
	if len(msgs) != 3 || msgs[0].DelaySeconds != 60 || !msgs[0].VisibleAt.Equal(msgs[0].EnqueueTime.Add(60*time.Second)) {
		t.Fatalf("Messages = %+v, want the delayed one visible 60s after enqueue", msgs)
	}

	for _, want := range []string{"high", "low"} {
		got, err := receive(t, q, 1)
		if err != nil || got.MessageBody != want {
			t.Fatalf("receive = %q, %v; want %q (priority order, delayed one hidden)", got.MessageBody, err, want)
		}
	}
	if _, err := receive(t, q, 1); !ali_mns.ERR_MNS_MESSAGE_NOT_EXIST.IsEqual(err) {
		t.Fatalf("before the delay ends: %v, want MessageNotExist", err)
	}
	c.Advance(61 * time.Second)
	got, err := receive(t, q, 1)
	if err != nil || got.MessageBody != "delayed" {
		t.Fatalf("after the delay: %q, %v; want the delayed message", got.MessageBody, err)
	}
}

func TestVisibilityAndReceiptHandles(t *testing.T) {
	t.Parallel()
	c := fakeclock.New(time.Now())
	s := testenv.StartMNS(t, mnsfake.Options{Now: c.Now, VisibilityTimeout: 10 * time.Second}, "q1")
	q := sdkQueue(t, s, "q1")
	if _, err := q.SendMessage(ali_mns.MessageSendRequest{MessageBody: "m", Priority: 8}); err != nil {
		t.Fatalf("SendMessage: %v", err)
	}
	first, err := receive(t, q, 1)
	if err != nil {
		t.Fatalf("receive: %v", err)
	}

	changed, err := q.ChangeMessageVisibility(first.ReceiptHandle, 60)
	if err != nil {
		t.Fatalf("ChangeMessageVisibility: %v", err)
	}
	if changed.ReceiptHandle == first.ReceiptHandle || changed.NextVisibleTime != c.Now().Add(60*time.Second).UnixMilli() {
		t.Fatalf("change = %+v, want a new handle visible in 60s", changed)
	}
	if _, err := q.ChangeMessageVisibility(changed.ReceiptHandle, 0); !ali_mns.ERR_MNS_INVALID_ARGUMENT.IsEqual(err) {
		t.Fatalf("visibility 0: %v, want InvalidArgument", err)
	}
	wantCode(t, q.DeleteMessage(first.ReceiptHandle), ali_mns.ERR_MNS_MESSAGE_NOT_EXIST, "stale handle")
	wantCode(t, q.DeleteMessage("garbage"), ali_mns.ERR_MNS_RECEIPT_HANDLE_ERROR, "unknown handle")

	// Past the 10s queue timeout but within the new 60s: still hidden.
	c.Advance(30 * time.Second)
	if _, err := receive(t, q, 1); !ali_mns.ERR_MNS_MESSAGE_NOT_EXIST.IsEqual(err) {
		t.Fatalf("within the changed visibility: %v, want MessageNotExist", err)
	}
	c.Advance(31 * time.Second)
	wantCode(t, q.DeleteMessage(changed.ReceiptHandle), ali_mns.ERR_MNS_MESSAGE_NOT_EXIST, "expired handle")
	second, err := receive(t, q, 1)
	if err != nil || second.DequeueCount != 2 || second.FirstDequeueTime != first.FirstDequeueTime {
		t.Fatalf("redelivery = %+v, %v; want DequeueCount 2 and the first dequeue time kept", second, err)
	}
	if err := q.DeleteMessage(second.ReceiptHandle); err != nil {
		t.Fatalf("DeleteMessage: %v", err)
	}
}

func TestLongPollWakesOnSend(t *testing.T) {
	t.Parallel()
	s := testenv.StartMNS(t, mnsfake.Options{}, "q1")
	q := sdkQueue(t, s, "q1")
	go func() {
		time.Sleep(200 * time.Millisecond)
		// A second queue object: one AliMNSQueue per goroutine (mns.md 0).
		_, _ = sdkQueue(t, s, "q1").SendMessage(ali_mns.MessageSendRequest{MessageBody: "late", Priority: 8})
	}()
	began := time.Now()
	got, err := receive(t, q, 10)
	if err != nil || got.MessageBody != "late" {
		t.Fatalf("long poll = %q, %v; want the late message", got.MessageBody, err)
	}
	if waited := time.Since(began); waited > 3*time.Second {
		t.Fatalf("long poll took %v; it should end when the message arrives", waited)
	}
}

func TestLongPollTimesOut(t *testing.T) {
	t.Parallel()
	s := testenv.StartMNS(t, mnsfake.Options{}, "q1")
	began := time.Now()
	_, err := receive(t, sdkQueue(t, s, "q1"), 1)
	wantCode(t, err, ali_mns.ERR_MNS_MESSAGE_NOT_EXIST, "MessageNotExist")
	if waited := time.Since(began); waited < 900*time.Millisecond {
		t.Fatalf("empty long poll answered after %v, want about 1s", waited)
	}
}

func TestBatchSendReceive(t *testing.T) {
	t.Parallel()
	s := testenv.StartMNS(t, mnsfake.Options{}, "q1")
	q := sdkQueue(t, s, "q1")
	resp, err := q.BatchSendMessage(
		ali_mns.MessageSendRequest{MessageBody: "a", Priority: 8},
		ali_mns.MessageSendRequest{MessageBody: "b", Priority: 8},
	)
	if err != nil || len(resp.Messages) != 2 || resp.Messages[0].MessageId == "" {
		t.Fatalf("BatchSendMessage = %+v, %v", resp, err)
	}
	_, err = q.BatchSendMessage(
		ali_mns.MessageSendRequest{MessageBody: "c", Priority: 8},
		ali_mns.MessageSendRequest{MessageBody: "d"},
	)
	if err == nil {
		t.Fatal("a batch with priority 0 was accepted")
	}

	rc := make(chan ali_mns.BatchMessageReceiveResponse, 1)
	ec := make(chan error, 1)
	go q.BatchReceiveMessage(rc, ec, 16, 1)
	select {
	case got := <-rc:
		if len(got.Messages) != 3 {
			t.Fatalf("batch receive got %d messages, want a, b and c", len(got.Messages))
		}
		var handles []string
		for _, m := range got.Messages {
			handles = append(handles, m.ReceiptHandle)
		}
		if _, err := q.BatchDeleteMessage(handles...); err != nil {
			t.Fatalf("BatchDeleteMessage: %v", err)
		}
	case err := <-ec:
		t.Fatalf("BatchReceiveMessage: %v", err)
	}
	if msgs := s.Messages("q1"); len(msgs) != 0 {
		t.Fatalf("left in queue: %+v", msgs)
	}
}

func TestOutage(t *testing.T) {
	t.Parallel()
	s := testenv.StartMNS(t, mnsfake.Options{}, "q1")
	q := sdkQueue(t, s, "q1")
	s.SetDown("q1", true)
	_, err := q.SendMessage(ali_mns.MessageSendRequest{MessageBody: "x", Priority: 8})
	wantCode(t, err, ali_mns.ERR_UNMARSHAL_ERROR_RESPONSE_FAILED, "a non-XML 503")
	s.SetDown("q1", false)
	if _, err := q.SendMessage(ali_mns.MessageSendRequest{MessageBody: "x", Priority: 8}); err != nil {
		t.Fatalf("after the outage: %v", err)
	}
	if n, stored := s.Sends("q1"), len(s.Messages("q1")); n != 2 || stored != 1 {
		t.Fatalf("Sends = %d, stored = %d; want 2 attempts, 1 stored", n, stored)
	}
}

// TestRawProtocol checks, without the SDK, what the SDK cannot show: the
// error body's shape, the request id header and the Content-MD5 check.
func TestRawProtocol(t *testing.T) {
	t.Parallel()
	s := testenv.StartMNS(t, mnsfake.Options{}, "q1")
	body := []byte(`<Message><MessageBody>x</MessageBody><DelaySeconds>0</DelaySeconds><Priority>8</Priority></Message>`)
	tests := []struct {
		name       string
		md5        string
		wantStatus int
		wantCode   string
	}{
		{"valid", mnsfake.ContentMD5(body), http.StatusCreated, ""},
		{"body changed after signing", mnsfake.ContentMD5([]byte("other")), http.StatusBadRequest, "InvalidDegist"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req := signedRequest(t, context.Background(), s, http.MethodPost, "/queues/q1/messages", body, tc.md5)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.wantStatus || resp.Header.Get("x-mns-request-id") == "" {
				t.Fatalf("status %d, request id %q, body %s", resp.StatusCode, resp.Header.Get("x-mns-request-id"), raw)
			}
			if tc.wantCode == "" {
				return
			}
			var e struct {
				XMLName   xml.Name `xml:"Error"`
				Code      string   `xml:"Code"`
				RequestID string   `xml:"RequestId"`
			}
			if err := xml.Unmarshal(raw, &e); err != nil || e.Code != tc.wantCode || e.RequestID != resp.Header.Get("x-mns-request-id") {
				t.Fatalf("error body %s (%v), want code %s and the request id", raw, err, tc.wantCode)
			}
		})
	}
}

// signedRequest builds a request signed as the SDK signs it, with the given
// Content-MD5 (which may deliberately not match the body).
func signedRequest(t *testing.T, ctx context.Context, s *mnsfake.Server, method, resource string, body []byte, contentMD5 string) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, s.Endpoint()+resource, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("x-mns-version", mnsfake.APIVersion)
	req.Header.Set("Content-Type", "application/xml")
	req.Header.Set("Content-MD5", contentMD5)
	req.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	req.Header.Set("Authorization", "MNS mns:"+mnsfake.Sign("mns", mnsfake.StringToSign(method, req.Header, resource)))
	return req
}

// TestAbandonedPollTakesNothing: a long poll whose client goes away must not
// consume a message that arrives afterwards.
func TestAbandonedPollTakesNothing(t *testing.T) {
	t.Parallel()
	s := testenv.StartMNS(t, mnsfake.Options{}, "q1")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	req := signedRequest(t, ctx, s, http.MethodGet, "/queues/q1/messages?waitseconds=30", nil, mnsfake.ContentMD5(nil))
	began := time.Now()
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("the poll answered %d on an empty queue instead of waiting", resp.StatusCode)
	}
	if took := time.Since(began); took > 2*time.Second {
		t.Fatalf("the abandoned poll took %v", took)
	}
	time.Sleep(100 * time.Millisecond) // let the handler see the disconnect

	q := sdkQueue(t, s, "q1")
	if _, err := q.SendMessage(ali_mns.MessageSendRequest{MessageBody: "after", Priority: 8}); err != nil {
		t.Fatal(err)
	}
	if m := s.Messages("q1"); len(m) != 1 || m[0].DequeueCount != 0 {
		t.Fatalf("after the abandoned poll the queue holds %+v, want one undelivered message", m)
	}
	if got, err := receive(t, q, 1); err != nil || got.MessageBody != "after" {
		t.Fatalf("receive = %q, %v", got.MessageBody, err)
	}
}

// TestCloseEndsLongPolls: Close must not wait for a 30-second poll.
func TestCloseEndsLongPolls(t *testing.T) {
	t.Parallel()
	s := testenv.StartMNS(t, mnsfake.Options{}, "q1")
	q := sdkQueue(t, s, "q1")
	go func() {
		time.Sleep(200 * time.Millisecond)
		_ = s.Close()
	}()
	began := time.Now()
	_, err := receive(t, q, 30)
	if err == nil || ali_mns.ERR_MNS_MESSAGE_NOT_EXIST.IsEqual(err) {
		t.Fatalf("receive across Close = %v, want a transport error", err)
	}
	if took := time.Since(began); took > 5*time.Second {
		t.Fatalf("Close left the poll running for %v", took)
	}
}
