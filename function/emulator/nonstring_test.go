package emulator

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestNonStringCodePanicsTheSDK: the fault exists to make the real ECS SDK
// panic (it asserts that an error body's Code is a string), so the test holds
// only if the panic really happens, once, and the next call is answered normally.
func TestNonStringCodePanicsTheSDK(t *testing.T) {
	t.Parallel()
	s := start(t, Options{})
	s.SetFaults("DescribeImages", Faults{FailNext: []string{FaultNonStringCode}})
	c := defaultClient(t, s)

	recovered := func() (p any) {
		defer func() { p = recover() }()
		_ = describeOne(c)
		return nil
	}()
	if recovered == nil {
		t.Fatal("DescribeImages did not panic on a non-string Code")
	}
	if msg := fmt.Sprint(recovered); !strings.Contains(msg, "not string") {
		t.Errorf("panic %q, want the SDK's failed string assertion", msg)
	}
	if got := s.Calls("DescribeImages"); got != 1 {
		t.Errorf("Calls = %d, want 1: the faulted call counts", got)
	}
	if err := describeOne(c); err != nil {
		t.Errorf("the call after the fault: %v, want a normal answer", err)
	}
}

// TestNonStringCodeBody pins the wire answer itself, without the SDK: 400,
// JSON, Code and Message as numbers, RequestId still a string.
func TestNonStringCodeBody(t *testing.T) {
	t.Parallel()
	s := start(t, Options{})
	s.SetFaults("", Faults{FailNext: []string{FaultNonStringCode}})
	u := signedURL(s.URL(), map[string]string{"Action": "DescribeImages"}, "nonce-nonstring", time.Now())
	status, _, body := post(t, u)
	if status != 400 {
		t.Errorf("status %d, want 400", status)
	}
	// JSON numbers decode as float64: exactly what the SDK's assertion trips on.
	if code, ok := body["Code"].(float64); !ok || code != 400 {
		t.Errorf("Code %#v, want the number 400", body["Code"])
	}
	if msg, ok := body["Message"].(float64); !ok || msg != 1 {
		t.Errorf("Message %#v, want the number 1", body["Message"])
	}
	if id, ok := body["RequestId"].(string); !ok || id == "" {
		t.Errorf("RequestId %#v, want a string", body["RequestId"])
	}
}
