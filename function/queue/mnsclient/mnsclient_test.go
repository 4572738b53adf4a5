package mnsclient_test

import (
	"net"
	"strings"
	"testing"
	"time"

	ali_mns "github.com/aliyun/aliyun-mns-go-sdk"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/credential"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/queue/mnsclient"
	"github.com/ecs-image-lifecycle/image-lifecycle/internal/testenv"
	"github.com/ecs-image-lifecycle/image-lifecycle/tests/mnsfake"
)

var key = credential.Credentials{AccessKeyID: "mns", AccessKeySecret: "mns"}

// TestPlainLoopbackEndpoints: each plain loopback form reaches the fake with
// the real SDK, which alone panics on every one of them (mns.md 1.1).
func TestPlainLoopbackEndpoints(t *testing.T) {
	t.Parallel()
	v4 := testenv.StartMNS(t, mnsfake.Options{})
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(v4.Endpoint(), "http://"))
	cases := map[string]*mnsfake.Server{
		v4.Endpoint():                    v4, // http://127.0.0.1:PORT
		"http://localhost:" + port:       v4,
		"http://LOCALHOST:" + port + "/": v4,
	}
	if v6, err := mnsfake.Start(mnsfake.Options{Addr: "[::1]:0"}); err == nil {
		t.Cleanup(func() { _ = v6.Close() })
		cases[v6.Endpoint()] = v6 // http://[::1]:PORT
	} else {
		t.Logf("no IPv6 loopback here, [::1] not tried: %v", err)
	}
	for endpoint, fake := range cases {
		t.Run(endpoint, func(t *testing.T) {
			t.Parallel()
			queueName := "q" + strings.NewReplacer(":", "", "/", "", ".", "", "[", "", "]", "").Replace(endpoint)
			fake.CreateQueue(queueName)
			ep, err := mnsclient.New(endpoint, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			c, err := ep.Client(key)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := ali_mns.NewMNSQueue(queueName, c).SendMessage(ali_mns.MessageSendRequest{MessageBody: "hello", Priority: 8})
			if err != nil {
				t.Fatalf("SendMessage: %v", err)
			}
			msgs := fake.Messages(queueName)
			if len(msgs) != 1 || msgs[0].ID != resp.MessageId || msgs[0].Body != "hello" || msgs[0].AccessKeyID != key.AccessKeyID {
				t.Fatalf("the fake holds %+v, want the message %s", msgs, resp.MessageId)
			}
		})
	}
}

func TestEveryClientSignsWithItsOwnCredentials(t *testing.T) {
	t.Parallel()
	fake := testenv.StartMNS(t, mnsfake.Options{Keys: map[string]string{"A": "a", "B": "b"}, Tokens: map[string]string{"A": "ta", "B": "tb"}}, "q")
	ep, err := mnsclient.New(fake.Endpoint(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []credential.Credentials{
		{AccessKeyID: "A", AccessKeySecret: "a", SecurityToken: "ta"},
		{AccessKeyID: "B", AccessKeySecret: "b", SecurityToken: "tb"},
	} {
		cl, err := ep.Client(c)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ali_mns.NewMNSQueue("q", cl).SendMessage(ali_mns.MessageSendRequest{MessageBody: c.AccessKeyID, Priority: 8}); err != nil {
			t.Fatalf("%s: %v", c.AccessKeyID, err)
		}
	}
	for _, m := range fake.Messages("q") {
		if m.AccessKeyID != m.Body {
			t.Errorf("message %q was signed by %q", m.Body, m.AccessKeyID)
		}
	}
}

func TestClientRefusesEmptyCredentials(t *testing.T) {
	t.Parallel()
	ep, err := mnsclient.New("https://1234567890.mns.cn-hangzhou.aliyuncs.com", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ep.Client(credential.Credentials{AccessKeySecret: "s"}); credential.Code(err) != credential.CodeNotFound {
		t.Fatalf("Client: %v, want %s", err, credential.CodeNotFound)
	}
}

func TestNewRefusesWhatConfigRefuses(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{"", "http://127.0.0.1:1/fake.mns", "http://mns.cn-hangzhou.aliyuncs.com", "ftp://127.0.0.1:1"} {
		if _, err := mnsclient.New(raw, time.Second); err == nil || !strings.Contains(err.Error(), "MNS_ENDPOINT") {
			t.Errorf("New(%q): %v, want an error naming MNS_ENDPOINT", raw, err)
		}
	}
}
