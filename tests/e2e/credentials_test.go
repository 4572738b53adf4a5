package e2e

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/credential"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/report"
	"github.com/ecs-image-lifecycle/image-lifecycle/tests/fcfake"
)

// TestECSCredentialsComeFromTheInvocation: the ECS key exists only in the
// invocation headers and the emulator demands its STS token, so a change
// succeeds only when the function uses the invocation's credentials, token
// included. Credentials that are missing or refused fail the message with
// the credential code, so that FC delivers it again, under either front
// door: they are never taken from the environment (where only a decoy key
// is), retried as a network fault, or dead-lettered.
func TestECSCredentialsComeFromTheInvocation(t *testing.T) {
	t.Parallel()
	for _, door := range []string{"go1", "serve"} {
		for _, tc := range []struct {
			name    string
			headers map[string]string
			outcome report.Outcome
			code    string
		}{
			{"STS credentials", credentialHeaders(), report.Applied, ""},
			{"no security token", map[string]string{"x-fc-access-key-id": ecsKeyID, "x-fc-access-key-secret": ecsKeySecret}, report.Failed, "InvalidSecurityToken.Malformed"},
			{"unknown key", fcfake.CredentialHeaders(mnsKeyID, mnsKeySecret, stsToken), report.Failed, "InvalidAccessKeyId.NotFound"},
			{"no credentials", map[string]string{}, report.Failed, credential.CodeNotFound},
		} {
			t.Run(door+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				w := newWorld(t, worldOptions{})
				d := startDoor(t, w, door)
				r := d.invoke(t, call{payload: sample(t, "01-modify.json"), headers: tc.headers})
				const api = "m-bp1api8c9d0e1f2g3h4i"
				wantDescription := "api server, go 1.26 runtime" // the seed's
				if tc.outcome == report.Applied {
					wantDescription = demoFinal[api].description
				}
				if got := w.image(t, api).Description; got != wantDescription {
					t.Errorf("api-2026-11-02 has description %q, want %q", got, wantDescription)
				}
				if n := len(w.mns.Messages(retryQueue)) + len(w.mns.Messages(deadLetterQueue)); n != 0 {
					t.Errorf("%d messages sent to MNS, want none", n)
				}
				if tc.outcome != report.Failed {
					checkReport(t, tc.name, r, []want{{"", tc.outcome, tc.code}})
					return
				}
				if !r.isError || !strings.Contains(r.errorMessage, "could not be settled") {
					t.Fatalf("the invocation did not fail, so FC would not deliver the message again: %s", r.raw)
				}
				if door == "serve" { // the custom runtime's error carries the report
					checkReport(t, tc.name, r, []want{{"", tc.outcome, tc.code}})
				}
				// Under go1 the error is only its text: the log line tells the code.
				if !waitLogLine(d, 5*time.Second, `"msg":"message settled"`, `"outcome":"failed"`, fmt.Sprintf(`"code":%q`, tc.code)) {
					t.Errorf("no log line of the message failed with %s:\n%s", tc.code, d.output())
				}
			})
		}
	}
}

// TestSettlingSignsWithEachInvocationsCredentials: under the go1 runtime the
// deferrals and dead letters of an invocation are signed with that
// invocation's credentials, and with the new ones once FC rotates them. MNS
// takes only the role's current key; the environment holds a decoy.
func TestSettlingSignsWithEachInvocationsCredentials(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{}) // the build stays Creating: its promote is deferred
	door := startGo1(t, w)
	payload := withInvalidMessage(t, sample(t, promoteSample))
	wants := []want{{promoteMessageID, report.Deferred, "InvalidStatus.ImageIsCreating"}, {"invalid-intent", report.DeadLettered, "InvalidParameter.Action"}}

	generations := []struct{ id, secret string }{{ecsKeyID, ecsKeySecret}, {rotatedKeyID, rotatedKeySecret}}
	for i, key := range generations {
		if i > 0 {
			// FC rotated the role's credentials: MNS takes only the new pair.
			w.mns.SetKeys(map[string]string{key.id: key.secret}, map[string]string{key.id: stsToken})
		}
		r := door.invoke(t, call{payload: payload, timeout: shortTimeout, headers: fcfake.CredentialHeaders(key.id, key.secret, stsToken)})
		if r.isError {
			t.Fatalf("invocation %d with %s: %s: %s", i+1, key.id, r.errorType, r.errorMessage)
		}
		checkReport(t, fmt.Sprintf("invocation %d with %s", i+1, key.id), r, wants)
	}
	for _, q := range []string{retryQueue, deadLetterQueue} {
		var signedBy []string
		for _, m := range w.mns.Messages(q) {
			signedBy = append(signedBy, m.AccessKeyID)
		}
		if !slices.Equal(signedBy, []string{ecsKeyID, rotatedKeyID}) {
			t.Errorf("%s: sends signed by %v, want %s then %s", q, signedBy, ecsKeyID, rotatedKeyID)
		}
	}
}

// waitLogLine reports whether door's output holds, within limit, a line that
// contains every one of parts.
func waitLogLine(door frontDoor, limit time.Duration, parts ...string) bool {
	deadline := time.Now().Add(limit)
	for {
		for _, line := range strings.Split(door.output(), "\n") {
			if !slices.ContainsFunc(parts, func(p string) bool { return !strings.Contains(line, p) }) {
				return true
			}
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// withInvalidMessage adds to a one-event MNS CloudEvent array a second event
// whose body is not a valid intent, so the batch has a message to dead-letter.
func withInvalidMessage(t *testing.T, envelope []byte) []byte {
	t.Helper()
	var events []map[string]any
	if err := json.Unmarshal(envelope, &events); err != nil || len(events) != 1 {
		t.Fatalf("not a one-event MNS CloudEvent array: %v", err)
	}
	bad := map[string]any{}
	for k, v := range events[0] {
		bad[k] = v
	}
	data := map[string]any{}
	for k, v := range events[0]["data"].(map[string]any) {
		data[k] = v
	}
	data["messageId"], data["messageBody"] = "invalid-intent", `{"action":"shred","imageId":"m-1"}`
	bad["data"], bad["id"] = data, "invalid-intent-event"
	b, err := json.Marshal(append(events, bad))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
