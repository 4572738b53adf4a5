package invoke_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/config"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/emulator"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/invoke"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/queue"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/redact"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/report"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/retry"
	"github.com/ecs-image-lifecycle/image-lifecycle/internal/testenv"
	"github.com/ecs-image-lifecycle/image-lifecycle/tests/mnsfake"
)

// The invocation's STS credentials, as FC passes them. The secret and the
// token hold characters that each encoding changes, so that raw, URL-encoded,
// JSON-escaped and base64 are four different strings to look for.
const (
	stsKeyID  = "STS.hostile"
	stsSecret = `sk+/="<&>é 9Qv~*Hostile`
	stsToken  = `CAIS.tok/en+"X"&<y>==z%41Hostile`
)

// secretForms are the four encodings of each credential that must never
// appear, computed here independently of the redact package.
func secretForms() map[string]string {
	out := map[string]string{}
	for name, v := range map[string]string{"AccessKeySecret": stsSecret, "SecurityToken": stsToken} {
		j, _ := json.Marshal(v)
		out[name+" raw"] = v
		out[name+" URL-encoded"] = url.QueryEscape(v)
		out[name+" JSON-escaped"] = string(j[1 : len(j)-1])
		out[name+" base64"] = base64.StdEncoding.EncodeToString([]byte(v))
	}
	return out
}

// stsWorld is the handler with the invocation's own credentials against an
// emulator that demands them, logging at debug level (LOG_LEVEL=debug) as
// JSON lines, the way the binary does.
type stsWorld struct {
	emu  *emulator.Server
	mns  *mnsfake.Server
	h    *invoke.Handler
	logs *lockedBuffer
	env  invoke.Env
	// seen collects every report and error, for the final scan.
	seen bytes.Buffer
}

func newSTSWorld(t testing.TB, withDeadLetters bool) *stsWorld {
	t.Helper()
	emu := testenv.StartEmulator(t, emulator.Options{Seed: testenv.DemoSeed(t), Keys: map[string]string{stsKeyID: stsSecret}, SecurityToken: stsToken})
	cfg := config.Defaults()
	policy := retry.DefaultPolicy()
	policy.Base, policy.Cap, policy.SlowBase = time.Millisecond, 10*time.Millisecond, 5*time.Millisecond
	shares := retry.DefaultShares()
	shares.Calls.Max = 500 * time.Millisecond
	w := &stsWorld{emu: emu, logs: &lockedBuffer{}}
	w.h = &invoke.Handler{
		Region:          cfg.Region,
		Guards:          defaultGuards(cfg),
		Concurrency:     cfg.Concurrency,
		MaxPayloadBytes: cfg.MaxPayloadBytes,
		// The credentials come from the invocation, as under FC.
		NewAPI: func(c *ecsapi.Credentials) (ecsapi.API, error) {
			return ecsapi.New(ecsapi.Config{Region: cfg.Region, Endpoint: emu.URL(), Credentials: c})
		},
		Policy: policy,
		Shares: shares,
		Log:    slog.New(slog.NewJSONHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if withDeadLetters {
		w.mns = testenv.StartMNS(t, mnsfake.Options{}, retryQueue, deadQueue)
		// MNS takes only the invocation's STS credentials, as under FC.
		w.mns.SetKeys(map[string]string{stsKeyID: stsSecret}, map[string]string{stsKeyID: stsToken})
		q, err := queue.New(queue.Config{Endpoint: w.mns.Endpoint(), DeadLetterQueue: deadQueue, TimeoutSeconds: 2,
			MaxAttempts: cfg.MaxAttempts, MaxMessageAge: cfg.MaxMessageAge})
		if err != nil {
			t.Fatal(err)
		}
		w.h.Queue = q
	}
	w.env = invoke.Env{RequestID: "req-hostile", Region: "cn-hangzhou",
		Credentials: &ecsapi.Credentials{AccessKeyID: stsKeyID, AccessKeySecret: stsSecret, SecurityToken: stsToken}}
	return w
}

// handle runs one invocation and keeps its report (as JSON, the way FC
// returns it) and error for the scan.
func (w *stsWorld) handle(t testing.TB, payload []byte) (*report.Report, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := w.h.Handle(ctx, w.env, payload)
	if rep == nil {
		t.Fatalf("Handle returned no report (err %v)", err)
	}
	b, merr := json.Marshal(rep)
	if merr != nil {
		t.Fatal(merr)
	}
	w.seen.Write(b)
	if err != nil {
		fmt.Fprintln(&w.seen, err.Error())
	}
	return rep, err
}

// scan fails the test if any encoding of a credential is anywhere in what
// the handler logged, returned or sent to the dead-letter queue, and checks
// that every log line is JSON of a bounded size.
func (w *stsWorld) scan(t testing.TB) {
	t.Helper()
	w.logs.mu.Lock()
	logs := w.logs.b.String()
	w.logs.mu.Unlock()
	var letters strings.Builder
	if w.mns != nil {
		for _, m := range w.mns.Messages(deadQueue) {
			letters.WriteString(m.Body)
		}
	}
	for what, text := range map[string]string{"the logs": logs, "the reports": w.seen.String(), "the dead letters": letters.String()} {
		for form, v := range secretForms() {
			if strings.Contains(text, v) {
				t.Errorf("%s hold the %s %q", what, form, v)
			}
		}
	}
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(nil, 1<<26)
	lines := 0
	for sc.Scan() {
		lines++
		if n := len(sc.Bytes()); n > 16<<10 {
			t.Errorf("a log line of %d bytes: %.200s", n, sc.Bytes())
		}
		if !json.Valid(sc.Bytes()) {
			t.Errorf("a log line is not JSON: %.200q", sc.Bytes())
		}
	}
	if lines == 0 {
		t.Error("nothing was logged: the scan proves nothing")
	}
}

// An upstream error that quotes the invocation's credentials, in every
// encoding, on the prefetch read and on the write: the message still ends
// dead-lettered with the API's code, and neither the logs (at debug level),
// the report nor the dead letter holds a credential in any encoding.
func TestCredentialsQuotedUpstreamReachNoLogReportOrLetter(t *testing.T) {
	t.Parallel()
	w := newSTSWorld(t, true)
	w.emu.SetFaults("DescribeImages", emulator.Faults{FailNext: []string{emulator.FaultEchoCredentials}})
	w.emu.SetFaults("ModifyImageAttribute", emulator.Faults{FailNext: []string{emulator.FaultEchoCredentials}})

	rep, err := w.handle(t, []byte(`{"action":"deprecate","id":"echo-1","imageId":"m-bp1a2b3c4d5e6f7g8h9i"}`))
	if err != nil || rep.Counts[report.DeadLettered] != 1 {
		t.Fatalf("report %+v, err %v: want the message dead-lettered", rep, err)
	}
	m := rep.Messages[0]
	// The fault fired and its text came through, with the credentials out:
	// without that, the scan below would prove nothing.
	if m.Code != "InvalidParameter" || !strings.Contains(m.Error, redact.Placeholder) {
		t.Fatalf("message %+v: want the echoed error, redacted", m)
	}
	if w.emu.Calls("ModifyImageAttribute") != 1 {
		t.Fatalf("%d writes, want the one that failed", w.emu.Calls("ModifyImageAttribute"))
	}
	letters := w.mns.Messages(deadQueue)
	if len(letters) != 1 || !strings.Contains(letters[0].Body, redact.Placeholder) {
		t.Fatalf("dead letters %+v: want one, carrying the redacted error", letters)
	}
	if logs := w.logs.lines(t); !strings.Contains(fmt.Sprint(logs), "batch prefetch failed") {
		t.Errorf("the prefetch failure (the first echo) was not logged: %v", logs)
	}
	w.scan(t)
}
