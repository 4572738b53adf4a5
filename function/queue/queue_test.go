package queue_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/config"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/credential"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/intent"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/queue"
	"github.com/ecs-image-lifecycle/image-lifecycle/internal/testenv"
	"github.com/ecs-image-lifecycle/image-lifecycle/tests/mnsfake"
)

// now is the fixed clock of the tests that assert exact delays.
var now = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

const intentBody = `{"action":"rotate","imageFamily":"web <prod> & co","keep":3,"dryRun":false}`

// newQueue builds a Queue against the endpoint with the fake's default key.
func newQueue(t *testing.T, endpoint string, edit func(*queue.Config)) *queue.Queue {
	t.Helper()
	defaults := config.Defaults()
	cfg := queue.Config{
		Endpoint:        endpoint,
		RetryQueue:      "retry",
		DeadLetterQueue: "dlq",
		MaxMessageAge:   defaults.MaxMessageAge,
		MaxAttempts:     defaults.MaxAttempts,
		Credentials:     &credential.Credentials{AccessKeyID: "mns", AccessKeySecret: "mns"},
		TimeoutSeconds:  2,
	}
	if edit != nil {
		edit(&cfg)
	}
	q, err := queue.New(cfg)
	if err != nil {
		t.Fatalf("queue.New: %v", err)
	}
	return q
}

// only returns the single message in the fake queue.
func only(t *testing.T, s *mnsfake.Server, name string) mnsfake.Message {
	t.Helper()
	msgs := s.Messages(name)
	if len(msgs) != 1 {
		t.Fatalf("queue %s holds %d messages, want 1: %+v", name, len(msgs), msgs)
	}
	return msgs[0]
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	tests := []struct {
		attempt int
		want    time.Duration
	}{
		{0, 30 * time.Second},
		{1, 30 * time.Second},
		{2, 60 * time.Second},
		{3, 120 * time.Second},
		{15, 491520 * time.Second},
		{16, 604800 * time.Second},
		{1000, 604800 * time.Second},
	}
	for _, tc := range tests {
		if got := queue.Backoff(tc.attempt); got != tc.want {
			t.Errorf("Backoff(%d) = %v, want %v", tc.attempt, got, tc.want)
		}
	}
}

func TestDeferEnqueuesIntentWithRetry(t *testing.T) {
	t.Parallel()
	s := testenv.StartMNS(t, mnsfake.Options{})
	tests := []struct {
		name      string
		attempt   int
		firstSeen time.Time
		maxAge    time.Duration // 0: MAX_MESSAGE_AGE's default
		wantDelay int64         // seconds
	}{
		{"first attempt waits the base delay", 1, now, 0, 30},
		{"third attempt waits four times the base", 3, now.Add(-time.Hour), 0, 120},
		{"capped at the MNS maximum of 7 days", 17, now, 30 * 24 * time.Hour, 604800},
		{"bounded by the remaining age", 5, now.Add(-(7*24*time.Hour - 100*time.Second)), 0, 100},
		{"partial seconds of remaining age round down", 5, now.Add(-(7*24*time.Hour - 100700*time.Millisecond)), 0, 100},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			retryQueue := fmt.Sprintf("retry-%d", i)
			s.CreateQueue(retryQueue)
			q := newQueue(t, s.Endpoint(), func(c *queue.Config) {
				c.RetryQueue, c.MaxAttempts = retryQueue, 50
				if tc.maxAge != 0 {
					c.MaxMessageAge = tc.maxAge
				}
			})

			id, delay, err := q.Defer(context.Background(), queue.Deferral{
				MessageID: "msg-1", Body: []byte(intentBody), Attempt: tc.attempt,
				FirstSeen: tc.firstSeen, LastError: "InvalidStatus.ImageIsCreating", Now: now,
			})
			if err != nil {
				t.Fatalf("Defer: %v", err)
			}
			if delay != time.Duration(tc.wantDelay)*time.Second {
				t.Errorf("delay = %v, want %ds", delay, tc.wantDelay)
			}
			got := only(t, s, retryQueue)
			if got.ID != id || got.DelaySeconds != tc.wantDelay || got.Priority != queue.Priority {
				t.Errorf("stored id %s delay %d priority %d; want id %s, delay %d, priority 8", got.ID, got.DelaySeconds, got.Priority, id, tc.wantDelay)
			}

			var fields map[string]json.RawMessage
			if err := json.Unmarshal([]byte(got.Body), &fields); err != nil {
				t.Fatalf("stored body %q: %v", got.Body, err)
			}
			var retry intent.Retry
			if err := json.Unmarshal(fields["retry"], &retry); err != nil {
				t.Fatalf("retry object %s: %v", fields["retry"], err)
			}
			want := intent.Retry{Attempt: tc.attempt, FirstSeen: tc.firstSeen, LastError: "InvalidStatus.ImageIsCreating", MessageID: "msg-1"}
			if retry != want {
				t.Errorf("retry = %+v, want %+v", retry, want)
			}
			delete(fields, "retry")
			var original map[string]json.RawMessage
			_ = json.Unmarshal([]byte(intentBody), &original)
			if fmt.Sprint(fields) != fmt.Sprint(original) {
				t.Errorf("other fields changed: %s, want %s", fields, original)
			}
			if !strings.Contains(got.Body, "web <prod> & co") {
				t.Errorf("body %s was HTML-escaped", got.Body)
			}
		})
	}
}

func TestDeferKeepsTheOriginalIdentity(t *testing.T) {
	t.Parallel()
	s := testenv.StartMNS(t, mnsfake.Options{}, "retry")
	q := newQueue(t, s.Endpoint(), nil)
	firstSeen := now.Add(-2 * time.Hour)
	body := fmt.Sprintf(`{"action":"deprecate","imageId":"m-1","retry":{"attempt":3,"firstSeen":%q,"lastError":"Throttling","messageId":"original"}}`,
		firstSeen.Format(time.RFC3339))

	_, delay, err := q.Defer(context.Background(), queue.Deferral{
		MessageID: "redelivered", Body: []byte(body), Attempt: 4, LastError: "InvalidStatus.ImageIsCreating", Now: now,
	})
	if err != nil {
		t.Fatalf("Defer: %v", err)
	}
	var got struct{ Retry intent.Retry }
	if err := json.Unmarshal([]byte(only(t, s, "retry").Body), &got); err != nil {
		t.Fatal(err)
	}
	want := intent.Retry{Attempt: 4, FirstSeen: firstSeen, LastError: "InvalidStatus.ImageIsCreating", MessageID: "original"}
	if got.Retry != want || delay != 240*time.Second {
		t.Fatalf("retry = %+v, delay %v; want %+v, 240s", got.Retry, delay, want)
	}
}

func TestDeferExhausted(t *testing.T) {
	t.Parallel()
	s := testenv.StartMNS(t, mnsfake.Options{}, "retry")
	q := newQueue(t, s.Endpoint(), func(c *queue.Config) { c.MaxAttempts, c.MaxMessageAge = 5, 24*time.Hour })
	tests := []struct {
		name      string
		attempt   int
		firstSeen time.Time
	}{
		{"attempt limit reached", 5, now},
		{"attempt limit passed", 9, now},
		{"age reached", 2, now.Add(-24 * time.Hour)},
		{"age passed", 2, now.Add(-48 * time.Hour)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := q.Defer(context.Background(), queue.Deferral{
				MessageID: "m", Body: []byte(intentBody), Attempt: tc.attempt, FirstSeen: tc.firstSeen, Now: now,
			})
			if !errors.Is(err, queue.ErrExhausted) {
				t.Fatalf("Defer: %v, want ErrExhausted", err)
			}
		})
	}
	t.Cleanup(func() {
		if n := s.Sends("retry"); n != 0 {
			t.Errorf("exhausted deferrals sent %d messages", n)
		}
	})
}

func TestDeferRejectsWhatCannotBeDeferred(t *testing.T) {
	t.Parallel()
	s := testenv.StartMNS(t, mnsfake.Options{}, "retry")
	withRetry := newQueue(t, s.Endpoint(), nil)
	noRetry := newQueue(t, s.Endpoint(), func(c *queue.Config) { c.RetryQueue = "" })
	huge := `{"description":"` + strings.Repeat("x", queue.MaxBodyBytes) + `"}`
	tests := []struct {
		name string
		q    *queue.Queue
		body string
		want error
	}{
		{"array", withRetry, `[1,2]`, queue.ErrNotObject},
		{"null", withRetry, `null`, queue.ErrNotObject},
		{"not JSON", withRetry, `rotate web please`, queue.ErrNotObject},
		{"too large", withRetry, huge, queue.ErrTooLarge},
		{"no retry queue", noRetry, intentBody, queue.ErrNoRetryQueue},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := tc.q.Defer(context.Background(), queue.Deferral{MessageID: "m", Body: []byte(tc.body), Attempt: 1, Now: now})
			if !errors.Is(err, tc.want) {
				t.Fatalf("Defer: %v, want %v", err, tc.want)
			}
		})
	}
	if noRetry.CanDefer() || !withRetry.CanDefer() {
		t.Error("CanDefer does not follow RetryQueue")
	}
}

func TestDeadLetter(t *testing.T) {
	t.Parallel()
	s := testenv.StartMNS(t, mnsfake.Options{})
	notUTF8 := []byte{0xff, 0xfe, 'x'}
	tests := []struct {
		name         string
		body         []byte
		wantEncoding string
		wantOriginal string // the originalBody JSON value, exactly
	}{
		{"JSON kept byte for byte", []byte("{ \"action\": \"rotate\",\n  \"imageFamily\": \"a<b\" }"), "json", "{ \"action\": \"rotate\",\n  \"imageFamily\": \"a<b\" }"},
		{"text carried as a string", []byte("rotate <web>\tnow"), "string", `"rotate <web>\tnow"`},
		{"bytes carried as base64", notUTF8, "base64", `"` + base64.StdEncoding.EncodeToString(notUTF8) + `"`},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dlq := fmt.Sprintf("dlq-%d", i)
			s.CreateQueue(dlq)
			q := newQueue(t, s.Endpoint(), func(c *queue.Config) { c.DeadLetterQueue = dlq })
			id, err := q.DeadLetter(context.Background(), queue.Letter{
				MessageID: "msg-7", Body: tc.body, Code: "InvalidParameter.ImageFamily", Message: "no such family",
				Attempt: 2, FirstSeen: now.Add(-time.Minute), Now: now,
			})
			if err != nil {
				t.Fatalf("DeadLetter: %v", err)
			}
			got := only(t, s, dlq)
			if got.ID != id || got.DelaySeconds != 0 || got.Priority != queue.Priority {
				t.Errorf("stored %+v, want id %s, no delay, priority 8", got, id)
			}
			var letter map[string]json.RawMessage
			if err := json.Unmarshal([]byte(got.Body), &letter); err != nil {
				t.Fatalf("letter %q: %v", got.Body, err)
			}
			if string(letter["originalBody"]) != tc.wantOriginal {
				t.Errorf("originalBody = %s, want %s", letter["originalBody"], tc.wantOriginal)
			}
			wantFields := map[string]string{
				"originalBodyEncoding": `"` + tc.wantEncoding + `"`,
				"messageId":            `"msg-7"`,
				"code":                 `"InvalidParameter.ImageFamily"`,
				"message":              `"no such family"`,
				"attempt":              `2`,
				"firstSeen":            `"2026-11-27T09:59:00Z"`,
				"deadLetteredAt":       `"2026-11-27T10:00:00Z"`,
			}
			for k, want := range wantFields {
				if string(letter[k]) != want {
					t.Errorf("%s = %s, want %s", k, letter[k], want)
				}
			}
			// No field that is always empty: the function keeps no history of
			// the attempts (the retry object carries only the last error).
			if v, ok := letter["attempts"]; ok {
				t.Errorf("the letter has an attempts field (%s) that nothing fills", v)
			}
		})
	}
}

func TestDeadLetterCutsWhatDoesNotFit(t *testing.T) {
	t.Parallel()
	s := testenv.StartMNS(t, mnsfake.Options{}, "dlq")
	q := newQueue(t, s.Endpoint(), nil)
	body := `{"description":"` + strings.Repeat("é", 32760) + `"}` // 65554 bytes
	if _, err := q.DeadLetter(context.Background(), queue.Letter{MessageID: "big", Body: []byte(body), Code: "InvalidIntent", Now: now}); err != nil {
		t.Fatalf("DeadLetter: %v", err)
	}
	got := only(t, s, "dlq")
	var letter struct {
		OriginalBody          string
		OriginalBodyEncoding  string
		OriginalBodyTruncated bool
		OriginalBodySize      int
	}
	if err := json.Unmarshal([]byte(got.Body), &letter); err != nil {
		t.Fatal(err)
	}
	if len(got.Body) > queue.MaxBodyBytes || !letter.OriginalBodyTruncated || letter.OriginalBodySize != len(body) ||
		letter.OriginalBodyEncoding != "string" || !strings.HasPrefix(body, letter.OriginalBody) || len(letter.OriginalBody) < 60000 {
		t.Fatalf("letter of %d bytes: encoding %s truncated %v size %d, kept %d bytes",
			len(got.Body), letter.OriginalBodyEncoding, letter.OriginalBodyTruncated, letter.OriginalBodySize, len(letter.OriginalBody))
	}
}

// A blast-radius refusal is dead-lettered with its plan and the ids to
// confirm; when the body and the plan do not fit together, the plan is left
// out (and the letter says so), never the body or the ids.
func TestDeadLetterCarriesThePlanAndWhatToConfirm(t *testing.T) {
	t.Parallel()
	s := testenv.StartMNS(t, mnsfake.Options{}, "dlq")
	q := newQueue(t, s.Endpoint(), nil)
	confirm := &intent.Confirm{Deprecate: []string{"m-bp1a", "m-bp1b"}}
	small := json.RawMessage(`{"action":"rotate","steps":[{"imageId":"m-bp1a"}]}`)
	large := json.RawMessage(`{"action":"rotate","note":"` + strings.Repeat("x", 40000) + `"}`)
	body := `{"action":"rotate","imageFamily":"web","pad":"` + strings.Repeat("p", 30000) + `"}`
	tests := []struct {
		name    string
		plan    json.RawMessage
		omitted bool
	}{{"a plan that fits", small, false}, {"a plan that does not", large, true}}
	for _, tt := range tests {
		if _, err := q.DeadLetter(context.Background(), queue.Letter{MessageID: tt.name, Body: []byte(body), Code: "Forbidden.BlastRadius",
			Now: now, Plan: tt.plan, Confirm: confirm}); err != nil {
			t.Fatalf("%s: DeadLetter: %v", tt.name, err)
		}
	}
	msgs := s.Messages("dlq")
	if len(msgs) != len(tests) {
		t.Fatalf("%d letters", len(msgs))
	}
	for i, tt := range tests {
		var letter struct {
			OriginalBody          json.RawMessage
			OriginalBodyTruncated bool
			Confirm               *intent.Confirm
			Plan                  json.RawMessage
			PlanOmitted           bool
		}
		if err := json.Unmarshal([]byte(msgs[i].Body), &letter); err != nil {
			t.Fatal(err)
		}
		if len(msgs[i].Body) > queue.MaxBodyBytes || string(letter.OriginalBody) != body || letter.OriginalBodyTruncated ||
			letter.Confirm == nil || !slices.Equal(letter.Confirm.Deprecate, confirm.Deprecate) || letter.PlanOmitted != tt.omitted {
			t.Errorf("%s: letter of %d bytes: confirm %+v, omitted %v, truncated %v", tt.name, len(msgs[i].Body), letter.Confirm, letter.PlanOmitted, letter.OriginalBodyTruncated)
		}
		if !tt.omitted && string(letter.Plan) != string(tt.plan) || tt.omitted && letter.Plan != nil {
			t.Errorf("%s: plan %.80s", tt.name, letter.Plan)
		}
	}
}

func TestDeadLetterWithoutQueue(t *testing.T) {
	t.Parallel()
	q := newQueue(t, "http://123.mns.cn-hangzhou.aliyuncs.com", func(c *queue.Config) { c.DeadLetterQueue = "" })
	if q.HasDeadLetter() {
		t.Error("HasDeadLetter with no queue")
	}
	if _, err := q.DeadLetter(context.Background(), queue.Letter{MessageID: "m", Body: []byte("{}")}); !errors.Is(err, queue.ErrNoDeadLetterQueue) {
		t.Fatalf("DeadLetter: %v, want ErrNoDeadLetterQueue", err)
	}
}

// settle runs Defer or DeadLetter, whichever op names.
func settle(ctx context.Context, q *queue.Queue, op string) error {
	if op == "defer" {
		_, _, err := q.Defer(ctx, queue.Deferral{MessageID: "m", Body: []byte(intentBody), Attempt: 1, Now: time.Now()})
		return err
	}
	_, err := q.DeadLetter(ctx, queue.Letter{MessageID: "m", Body: []byte(intentBody), Code: "InvalidIntent"})
	return err
}

func TestQueueOutages(t *testing.T) {
	t.Parallel()
	down := testenv.StartMNS(t, mnsfake.Options{}, "retry", "dlq")
	down.SetDown("retry", true)
	down.SetDown("dlq", true)
	closed := testenv.StartMNS(t, mnsfake.Options{})
	closedEndpoint := closed.Endpoint()
	_ = closed.Close()
	empty := testenv.StartMNS(t, mnsfake.Options{}) // no queues at all

	tests := []struct {
		name     string
		endpoint string
		wantCode string
	}{
		{"queue answers 503", down.Endpoint(), queue.CodeInvalidResponse},
		{"server closed", closedEndpoint, queue.CodeSendRequestFailed},
		{"queue does not exist", empty.Endpoint(), "QueueNotExist"},
	}
	for _, tc := range tests {
		for _, op := range []string{"defer", "dead-letter"} {
			t.Run(tc.name+"/"+op, func(t *testing.T) {
				t.Parallel()
				q := newQueue(t, tc.endpoint, nil)
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				defer cancel()
				began := time.Now()
				err := settle(ctx, q, op)
				var qerr *queue.Error
				if !errors.As(err, &qerr) || qerr.Code != tc.wantCode || qerr.Op != op {
					t.Fatalf("err = %v, want a %s *queue.Error with code %s", err, op, tc.wantCode)
				}
				if took := time.Since(began); took > 3*time.Second {
					t.Fatalf("took %v, past the context deadline", took)
				}
			})
		}
	}
	// Parallel subtests finish before Cleanup, not before this line.
	t.Cleanup(func() {
		if n := down.Sends("retry") + down.Sends("dlq"); n != 2 {
			t.Errorf("the down queues saw %d sends, want one per call", n)
		}
	})
}

// TestSendAbandonedAtDeadline points the queue at a server that accepts
// connections and never answers: the call must return at ctx's deadline, not
// after the SDK's own timeout.
func TestSendAbandonedAtDeadline(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never answered
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	q := newQueue(t, "http://"+ln.Addr().String(), func(c *queue.Config) { c.TimeoutSeconds = 30 })

	for _, op := range []string{"defer", "dead-letter"} {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		began := time.Now()
		err := settle(ctx, q, op)
		took := time.Since(began)
		cancel()
		var qerr *queue.Error
		if !errors.As(err, &qerr) || qerr.Code != queue.CodeAbandoned || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("%s: err = %v, want Abandoned wrapping DeadlineExceeded", op, err)
		}
		// Not before the deadline, and far short of the 30 s the SDK's own
		// timeout would wait: a bound a busy machine cannot trip.
		if took < 250*time.Millisecond || took > 15*time.Second {
			t.Fatalf("%s returned after %v, want the 300ms deadline, not the SDK's 30 s timeout", op, took)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := settle(ctx, q, "defer"); !errors.Is(err, context.Canceled) {
		t.Fatalf("with a cancelled context: %v, want context.Canceled", err)
	}
}

func TestSTSCredentials(t *testing.T) {
	t.Parallel()
	const (
		keyID  = "STS.NUx8kKXyz"
		secret = "s3cret-never-shown"
		token  = "t0ken-never-shown"
	)
	s := testenv.StartMNS(t, mnsfake.Options{
		Keys:   map[string]string{keyID: secret},
		Tokens: map[string]string{keyID: token},
	}, "retry")
	tests := []struct {
		name     string
		token    string
		wantCode string // "" = accepted
	}{
		{"token sent as security-token", token, ""},
		{"token missing", "", "AccessDenied"},
		{"another token", "t0ken-of-someone-else", "AccessDenied"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			creds := &credential.Credentials{AccessKeyID: keyID, AccessKeySecret: secret, SecurityToken: tc.token}
			q := newQueue(t, s.Endpoint(), func(c *queue.Config) { c.Credentials = creds })
			err := settle(context.Background(), q, "defer")
			if tc.wantCode == "" {
				if err != nil {
					t.Fatalf("Defer: %v", err)
				}
				return
			}
			var qerr *queue.Error
			if !errors.As(err, &qerr) || qerr.Code != tc.wantCode {
				t.Fatalf("Defer: %v, want code %s", err, tc.wantCode)
			}
			for _, shown := range []string{err.Error(), fmt.Sprintf("%+v", queue.Config{Credentials: creds}), fmt.Sprintf("%#v", *creds)} {
				if strings.Contains(shown, secret) || (tc.token != "" && strings.Contains(shown, tc.token)) {
					t.Fatalf("a credential leaked: %s", shown)
				}
			}
		})
	}
}

func TestNewRejectsBadConfiguration(t *testing.T) {
	t.Parallel()
	const good = "http://1234567890.mns.cn-hangzhou-internal.aliyuncs.com"
	creds := &credential.Credentials{AccessKeyID: "ak", AccessKeySecret: "sk"}
	tests := []struct {
		name string
		cfg  queue.Config
		want string // in the error
	}{
		{"empty endpoint", queue.Config{}, "MNS_ENDPOINT is empty"},
		{"loopback with a path", queue.Config{Endpoint: "http://127.0.0.1:1/fake.mns"}, "without a path"},
		{"no scheme", queue.Config{Endpoint: "1234567890.mns.cn-hangzhou.aliyuncs.com"}, "http:// or https://"},
		{"other scheme", queue.Config{Endpoint: "ftp://1234567890.mns.cn-hangzhou.aliyuncs.com"}, "http:// or https://"},
		{"not a URL", queue.Config{Endpoint: "http://a b\x7f.mns"}, "not a URL"},
		{"queue URL", queue.Config{Endpoint: good + "/queues/q1"}, "without a path"},
		{"query", queue.Config{Endpoint: good + "?x=1"}, "query"},
		{"six parts", queue.Config{Endpoint: "http://a.b.mns.cn-hangzhou.aliyuncs.com"}, "has 6 dot-separated parts"},
		{"user info", queue.Config{Endpoint: "http://u:hunter2@1234567890.mns.cn-hangzhou.aliyuncs.com"}, "user information"},
		{"empty key id", queue.Config{Endpoint: good, Credentials: &credential.Credentials{AccessKeySecret: "sk"}}, "AccessKeyId"},
		{"empty secret", queue.Config{Endpoint: good, Credentials: &credential.Credentials{AccessKeyID: "ak"}}, "AccessKeySecret"},
		// Queue names and two different queues are config.FromEnv's rules
		// (config_test.go); the limits it reads are asserted here.
		{"negative age", queue.Config{Endpoint: good, Credentials: creds, MaxMessageAge: -time.Hour, MaxAttempts: 1}, "MaxMessageAge"},
		{"negative attempts", queue.Config{Endpoint: good, Credentials: creds, MaxAttempts: -1, MaxMessageAge: time.Hour}, "MaxAttempts"},
		{"no limits", queue.Config{Endpoint: good, Credentials: creds}, "must be positive"},
		{"negative timeout", queue.Config{Endpoint: good, Credentials: creds, TimeoutSeconds: -1}, "timeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			q, err := queue.New(tc.cfg)
			if err == nil || q != nil {
				t.Fatalf("New = %v, %v; want an error", q, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("error %q shows the password", err)
			}
		})
	}
}

func TestNewAcceptsGoodConfiguration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  queue.Config
	}{
		{"VPC endpoint, default credential chain", queue.Config{Endpoint: "http://1234567890.mns.cn-hangzhou-internal.aliyuncs.com", RetryQueue: "image-intents"}},
		{"https with a trailing slash", queue.Config{Endpoint: "https://1234567890.mns.cn-hangzhou.aliyuncs.com/", DeadLetterQueue: "image-dlq",
			Credentials: &credential.Credentials{AccessKeyID: "ak", AccessKeySecret: "sk", SecurityToken: "tok"}}},
		{"plain loopback", queue.Config{Endpoint: "http://127.0.0.1:1"}},
		{"localhost", queue.Config{Endpoint: "http://localhost:1", DeadLetterQueue: "dlq"}},
		{"IPv6 loopback", queue.Config{Endpoint: "http://[::1]:1", RetryQueue: "retry"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, defaults := tc.cfg, config.Defaults()
			cfg.MaxAttempts, cfg.MaxMessageAge = defaults.MaxAttempts, defaults.MaxMessageAge
			if _, err := queue.New(cfg); err != nil {
				t.Fatalf("New: %v", err)
			}
		})
	}
}

// TestConcurrentDefers shares one Queue between goroutines, as concurrent
// messages of one invocation do; run it with -race.
func TestConcurrentDefers(t *testing.T) {
	t.Parallel()
	s := testenv.StartMNS(t, mnsfake.Options{}, "retry")
	q := newQueue(t, s.Endpoint(), nil)
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			_, _, err := q.Defer(context.Background(), queue.Deferral{
				MessageID: fmt.Sprintf("m%d", i), Body: []byte(intentBody), Attempt: 1, Now: time.Now(),
			})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	ids := map[string]bool{}
	for _, m := range s.Messages("retry") {
		var b struct{ Retry intent.Retry }
		if err := json.Unmarshal([]byte(m.Body), &b); err != nil {
			t.Fatal(err)
		}
		ids[b.Retry.MessageID] = true
	}
	if len(ids) != n {
		t.Fatalf("retry queue holds %d distinct messages, want %d", len(ids), n)
	}
}

// TestLetterBodyIsExact guards the promise that a JSON body reaches the
// dead-letter queue byte for byte, whitespace included.
func TestLetterBodyIsExact(t *testing.T) {
	t.Parallel()
	s := testenv.StartMNS(t, mnsfake.Options{}, "dlq")
	q := newQueue(t, s.Endpoint(), nil)
	body := []byte("{\"a\" : [1, 2 ],\t\"b\":\"\\u00e9\"}")
	if _, err := q.DeadLetter(context.Background(), queue.Letter{MessageID: "m", Body: body, Code: "InvalidIntent", Now: now}); err != nil {
		t.Fatal(err)
	}
	if got := only(t, s, "dlq").Body; !bytes.HasPrefix([]byte(got), append([]byte(`{"originalBody":`), body...)) {
		t.Fatalf("letter %s does not start with the exact body", got)
	}
}

// TestSendsAreSignedWithTheInvocationsCredentials: the fake knows only the
// current invocation's STS key, as MNS knows only the role's current one; a
// send is signed with the credentials in its context, and with the new ones
// once they rotate. The Queue's own fallback key is one the fake refuses.
func TestSendsAreSignedWithTheInvocationsCredentials(t *testing.T) {
	t.Parallel()
	a := credential.Credentials{AccessKeyID: "STS.A", AccessKeySecret: "secret-a", SecurityToken: "token-a"}
	b := credential.Credentials{AccessKeyID: "STS.B", AccessKeySecret: "secret-b", SecurityToken: "token-b"}
	s := testenv.StartMNS(t, mnsfake.Options{Keys: map[string]string{a.AccessKeyID: a.AccessKeySecret},
		Tokens: map[string]string{a.AccessKeyID: a.SecurityToken}}, "retry", "dlq")
	q := newQueue(t, s.Endpoint(), func(c *queue.Config) {
		c.Credentials = &credential.Credentials{AccessKeyID: "default-chain", AccessKeySecret: "refused"}
	})
	invocation := func(c credential.Credentials) context.Context {
		return credential.NewContext(context.Background(), c)
	}

	if err := settle(invocation(a), q, "defer"); err != nil {
		t.Fatalf("invocation 1, defer with key A: %v", err)
	}
	if err := settle(invocation(a), q, "dead-letter"); err != nil {
		t.Fatalf("invocation 1, dead letter with key A: %v", err)
	}
	// FC rotates the role's credentials: MNS now takes only B.
	s.SetKeys(map[string]string{b.AccessKeyID: b.AccessKeySecret}, map[string]string{b.AccessKeyID: b.SecurityToken})
	if err := settle(invocation(b), q, "defer"); err != nil {
		t.Fatalf("invocation 2, defer with key B: %v", err)
	}
	if err := settle(invocation(b), q, "dead-letter"); err != nil {
		t.Fatalf("invocation 2, dead letter with key B: %v", err)
	}
	var qerr *queue.Error
	if err := settle(invocation(a), q, "defer"); !errors.As(err, &qerr) || qerr.Code != "InvalidAccessKeyId" {
		t.Fatalf("a send with the retired key A: %v, want InvalidAccessKeyId", err)
	}
	for _, name := range []string{"retry", "dlq"} {
		var keys []string
		for _, m := range s.Messages(name) {
			keys = append(keys, m.AccessKeyID)
		}
		if strings.Join(keys, ",") != "STS.A,STS.B" {
			t.Errorf("%s was sent with keys %v, want STS.A then STS.B", name, keys)
		}
	}
}

// TestInvocationWithoutCredentials: FC sent none (the function has no role).
// The send fails with the credential code and never leaves the machine.
func TestInvocationWithoutCredentials(t *testing.T) {
	t.Parallel()
	s := testenv.StartMNS(t, mnsfake.Options{}, "retry", "dlq")
	q := newQueue(t, s.Endpoint(), nil) // its fallback key is one the fake accepts
	ctx := credential.NewContext(context.Background(), credential.Credentials{})
	for _, op := range []string{"defer", "dead-letter"} {
		var qerr *queue.Error
		if err := settle(ctx, q, op); !errors.As(err, &qerr) || qerr.Code != credential.CodeNotFound {
			t.Fatalf("%s: %v, want %s", op, err, credential.CodeNotFound)
		}
	}
	if n := s.Sends("retry") + s.Sends("dlq"); n != 0 {
		t.Fatalf("%d sends reached MNS", n)
	}
}

// TestConcurrentInvocationsKeepTheirCredentials: invocations that share a
// Queue (instance concurrency) each sign with their own key; run with -race.
func TestConcurrentInvocationsKeepTheirCredentials(t *testing.T) {
	t.Parallel()
	keys, tokens := map[string]string{}, map[string]string{}
	const n = 6 // more sets than the Queue keeps clients for
	for i := range n {
		keys[fmt.Sprintf("STS.%d", i)] = fmt.Sprintf("secret-%d", i)
		tokens[fmt.Sprintf("STS.%d", i)] = fmt.Sprintf("token-%d", i)
	}
	s := testenv.StartMNS(t, mnsfake.Options{Keys: keys, Tokens: tokens}, "retry")
	q := newQueue(t, s.Endpoint(), nil)
	var wg sync.WaitGroup
	errs := make(chan error, 4*n)
	for i := range 4 * n {
		wg.Go(func() {
			k := fmt.Sprintf("STS.%d", i%n)
			ctx := credential.NewContext(context.Background(), credential.Credentials{AccessKeyID: k, AccessKeySecret: keys[k], SecurityToken: tokens[k]})
			_, _, err := q.Defer(ctx, queue.Deferral{MessageID: k, Body: []byte(intentBody), Attempt: 1})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range s.Messages("retry") {
		var b struct{ Retry intent.Retry }
		if err := json.Unmarshal([]byte(m.Body), &b); err != nil {
			t.Fatal(err)
		}
		if b.Retry.MessageID != m.AccessKeyID {
			t.Errorf("the message of %s was signed by %s", b.Retry.MessageID, m.AccessKeyID)
		}
	}
}
