// Package invoke is the function's one handler: it turns the raw payload of an
// invocation, from whichever front door, into messages, works each intent
// through the lifecycle engine, settles every message in exactly one outcome
// and returns the report.
package invoke

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/credential"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/intent"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/lifecycle"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/queue"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/redact"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/report"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/retry"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/trigger"
)

// settleTime is kept back from the invocation deadline so that a message that
// ran out of time can still be deferred or dead-lettered before FC stops us.
const settleTime = 3 * time.Second

// Env is what a front door knows about one invocation.
type Env struct {
	RequestID string
	// Credentials sign every call of the invocation, ECS and MNS alike.
	// Under FC they are the invocation's STS credentials, empty when FC sent
	// none (every message then fails with credential.CodeNotFound); nil means
	// a front door without an invocation, and the default chain.
	Credentials *credential.Credentials
	// Region is the function's region when the front door knows it.
	Region string
}

// Settler sends messages that cannot be finished now to MNS. *queue.Queue is one.
type Settler interface {
	CanDefer() bool
	HasDeadLetter() bool
	Defer(ctx context.Context, d queue.Deferral) (messageID string, delay time.Duration, err error)
	DeadLetter(ctx context.Context, l queue.Letter) (messageID string, err error)
}

// Handler handles invocations. It is safe for concurrent use, and meant to be
// built once per process (function/wire.go builds the production one): its
// rate limiter must see every call the process makes.
//
// Its settings are taken as they are: config.FromEnv is the one place that
// defaults and checks them.
type Handler struct {
	// Region is the region of intents that name none, when the front door
	// knows none either (the function's region: FC_REGION).
	Region string
	// Guards are the lifecycle's safety rules (FAMILY_FLOOR, EXCLUDE_TAG, ...).
	Guards lifecycle.Guards
	// Concurrency is how many messages are worked on at once
	// (BATCH_CONCURRENCY); less than 1 counts as 1.
	Concurrency int
	// MaxPayloadBytes is the largest payload Handle parses
	// (MAX_PAYLOAD_BYTES); a larger one is refused unread, so a Handler
	// without it refuses everything rather than parse without a bound. A
	// front door that reads the payload itself (serve) reads at most one
	// byte more.
	MaxPayloadBytes int
	// Limiter is the client-side rate limit every ECS call of the process
	// waits for (ECS_RATE_LIMIT); nil means none.
	Limiter *retry.Limiter
	// NewAPI builds the ECS client for one invocation.
	NewAPI func(creds *credential.Credentials) (ecsapi.API, error)
	// Queue is nil when neither RETRY_QUEUE nor DEAD_LETTER_QUEUE is configured.
	Queue  Settler
	Policy retry.Policy
	Log    *slog.Logger
	Now    func() time.Time
	// DryRun makes every intent a dry run (the CLI's plan command).
	DryRun bool
	// CreatingBackoff, when set, replaces how long a promote waits between
	// reads of an image still Creating (the demo shortens it).
	CreatingBackoff func(progress int) time.Duration
	// MaxCreatingWait, when set, bounds how long a promote waits for an image
	// still Creating (the CLI's --max-wait); the invocation's deadline bounds
	// it further.
	MaxCreatingWait time.Duration
	// OnCreatingWait, when set, is told each time a promote finds its image
	// still Creating (the CLI prints it as progress). It must not block.
	OnCreatingWait func(lifecycle.CreatingWait)
}

// FailedError is returned, with the report, when some message could not be
// settled: the platform must deliver the batch again. Redoing what was already
// applied is harmless, because every intent is level-based.
type FailedError struct {
	Failed, Received int
	IDs              []string
}

func (e *FailedError) Error() string {
	return fmt.Sprintf("%d of %d messages could not be settled and must be delivered again: %s",
		e.Failed, e.Received, strings.Join(e.IDs, ", "))
}

// Handle works one invocation's payload. The report is always returned; the
// error is non-nil only when a message ended as failed (or nothing could run).
func (h *Handler) Handle(ctx context.Context, env Env, payload []byte) (*report.Report, error) {
	rep := report.New(env.RequestID)
	ctx, log := h.invocation(ctx, env)
	sec := redact.FromContext(ctx)
	if len(payload) > h.MaxPayloadBytes {
		return rep, h.refuseOversized(ctx, log, rep, int64(len(payload)), payload)
	}
	msgs := trigger.Decode(payload)
	if len(msgs) == 0 {
		return rep, nil
	}
	api, err := h.NewAPI(env.Credentials)
	if err != nil {
		// Nothing can run without a client (a configuration problem, such as
		// no credentials): fail every message so the platform keeps them
		// until it is fixed.
		for _, m := range msgs {
			h.record(rep, log, shown(report.Message{ID: m.ID, IntentID: m.IntentID, Source: m.Source, Attempt: m.Attempt,
				Outcome: report.Failed, Code: credential.Code(err), Error: "ECS client: " + err.Error()}, sec))
		}
		return rep, h.failure(rep)
	}
	region := h.Region
	if env.Region != "" {
		region = env.Region
	}
	engine := lifecycle.NewEngine(retry.New(api, h.Policy, h.Limiter), h.Guards, region)
	if h.Now != nil {
		engine.Now = h.Now
	}

	if h.CreatingBackoff != nil {
		engine.CreatingBackoff = h.CreatingBackoff
	}
	if h.MaxCreatingWait > 0 {
		engine.MaxCreatingWait = h.MaxCreatingWait
	}
	engine.OnCreatingWait = h.OnCreatingWait

	workCtx, cancel := workContext(ctx)
	defer cancel()
	// Parse every message first: that is cheap, and it lets one DescribeImages
	// read the images of the whole batch (up to 100 ids a call) before any intent runs.
	parsed := make([]parsedMessage, len(msgs))
	var valid []intent.Intent
	for i, msg := range msgs {
		parsed[i] = parse(msg)
		if parsed[i].err == nil {
			valid = append(valid, parsed[i].in)
		}
	}
	h.prefetch(workCtx, engine, valid, log)

	results := make([]report.Message, len(msgs))
	g := new(errgroup.Group)
	g.SetLimit(max(h.Concurrency, 1)) // a zero limit would run nothing at all
	ids := make([]string, len(msgs))
	for i, msg := range msgs {
		ids[i] = msg.ID
	}
	for _, idxs := range orderedGroups(parsed, ids, region, engine.FamilyOf) {
		g.Go(func() error {
			// Within one family, messages run in the order they arrived.
			for _, i := range idxs {
				results[i] = h.processSafely(ctx, workCtx, engine, msgs[i], parsed[i], log)
			}
			return nil
		})
	}
	_ = g.Wait() // processSafely never returns an error: every message has an outcome
	for _, m := range results {
		h.record(rep, log, shown(m, sec))
	}
	return rep, h.failure(rep)
}

// workContext ends settleTime before the invocation's deadline, so settling
// still has time after the work ran out of it.
func workContext(ctx context.Context) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok || time.Until(dl) < 2*settleTime {
		return context.WithCancel(ctx)
	}
	return context.WithDeadline(ctx, dl.Add(-settleTime))
}

func (h *Handler) failure(rep *report.Report) error {
	if rep.Failed() == 0 {
		return nil
	}
	e := &FailedError{Failed: rep.Failed(), Received: rep.Received}
	for _, m := range rep.Messages {
		if m.Outcome == report.Failed {
			e.IDs = append(e.IDs, m.ID)
		}
	}
	return e
}

// prefetch reads the batch's images in as few calls as possible. It is only
// an optimisation: on an error, or a panic inside the SDK, each intent reads
// what it needs itself and settles with its own outcome, so the batch still
// gets a report.
func (h *Handler) prefetch(ctx context.Context, engine *lifecycle.Engine, ins []intent.Intent, log *slog.Logger) {
	defer func() {
		if r := recover(); r != nil {
			log.Error("panic while prefetching the batch", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
	}()
	if err := engine.Prefetch(ctx, ins); err != nil {
		log.Warn("batch prefetch failed", "error", err.Error())
	}
}

// parsedMessage is a message's intent, or why it has none.
type parsedMessage struct {
	in   intent.Intent
	err  error
	code string
}

func parse(msg trigger.Message) parsedMessage {
	if msg.Err != nil {
		return parsedMessage{err: msg.Err, code: trigger.Code(msg.Err)}
	}
	in, err := intent.Parse(msg.Body)
	if err != nil {
		return parsedMessage{in: in, err: err, code: intentCode(err)}
	}
	if in.ID == "" {
		in.ID = msg.ID
	}
	return parsedMessage{in: in}
}

// processSafely turns a panic while working one message into that message's
// failure: a worker goroutine's panic would otherwise end the whole process
// (the runtime SDK recovers only the handler's own goroutine), losing the batch.
func (h *Handler) processSafely(ctx, workCtx context.Context, engine *lifecycle.Engine, msg trigger.Message, p parsedMessage, log *slog.Logger) (m report.Message) {
	defer func() {
		if r := recover(); r != nil {
			log.Error("panic while working a message", "messageId", msg.ID, "intentId", msg.IntentID, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			m = report.Message{ID: msg.ID, IntentID: msg.IntentID, Source: msg.Source, Attempt: msg.Attempt, Outcome: report.Failed,
				Code: "InternalError.Panic", Error: fmt.Sprintf("panic: %v", r)}
			describe(&m, p.in)
		}
	}()
	return h.process(ctx, workCtx, engine, msg, p, log)
}

// process takes one message to exactly one outcome.
func (h *Handler) process(ctx, workCtx context.Context, engine *lifecycle.Engine, msg trigger.Message, p parsedMessage, log *slog.Logger) report.Message {
	m := report.Message{ID: msg.ID, IntentID: msg.IntentID, Source: msg.Source, Attempt: msg.Attempt}
	in := p.in
	describe(&m, in)
	if p.err != nil {
		if msg.Err != nil {
			return h.settlePermanent(ctx, msg, m, nil, p.code, p.err.Error())
		}
		return h.settlePermanent(ctx, msg, m, &in, p.code, p.err.Error())
	}
	if h.DryRun {
		in.DryRun = true
	}

	res, err := engine.Run(workCtx, in)
	if res != nil {
		m.Plan, m.Held = res.Plan, res.Held
		for _, a := range res.Applied {
			if a.RequestID != "" {
				m.RequestIDs = append(m.RequestIDs, a.RequestID)
			}
		}
	}
	if err == nil {
		switch {
		case in.DryRun:
			m.Outcome = report.Planned
		case res != nil && res.Changed:
			m.Outcome = report.Applied
		default:
			m.Outcome = report.Unchanged
		}
		return m
	}

	code := ecsapi.Code(err)
	h.logChangeFailure(log, m, err)
	if credential.IsCredentialCode(code) {
		// Missing or refused credentials are the configuration's fault, not
		// the message's: fail it, so the platform delivers it again once they
		// are right, rather than dead-letter it (which the same credentials
		// could not do either).
		m.Outcome, m.Code, m.Error = report.Failed, code, err.Error()
		return m
	}
	switch classify(err) {
	case ecsapi.AlreadyDone:
		m.Outcome = report.Unchanged
		if res != nil && res.Changed {
			m.Outcome = report.Applied
		}
		return m
	case ecsapi.Transient:
		if code == "" {
			code = transientCode(err)
		}
		return h.settleTransient(ctx, msg, m, &in, code, err)
	default:
		return h.settlePermanent(ctx, msg, m, &in, code, err.Error())
	}
}

// classify adds to the API's classes the one thing only the handler knows:
// running out of invocation time (or being stopped) is worth another try later,
// never a reason to dead-letter.
func classify(err error) ecsapi.Class {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return ecsapi.Transient
	}
	return ecsapi.Classify(err)
}

func transientCode(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "DeadlineExceeded"
	}
	return "TransportError"
}

func (h *Handler) settleTransient(ctx context.Context, msg trigger.Message, m report.Message, in *intent.Intent, code string, cause error) report.Message {
	sec := redact.FromContext(ctx) // what goes to MNS hides the secrets too
	code = sec.String(code)
	m.Code, m.Error = code, sec.String(cause.Error())
	if h.Queue == nil || !h.Queue.CanDefer() {
		m.Outcome = report.Failed
		m.Error = "transient, and no RETRY_QUEUE to defer it to: " + m.Error
		return m
	}
	sctx, cancel := settleContext(ctx)
	defer cancel()
	now := h.now()
	firstSeen, originalID := now, msg.ID
	if in.Retry != nil {
		firstSeen = in.Retry.FirstSeen
		if in.Retry.MessageID != "" {
			originalID = in.Retry.MessageID
		}
	}
	id, delay, err := h.Queue.Defer(sctx, queue.Deferral{
		MessageID: redact.Clip(originalID, redact.EchoLimit), Body: msg.Body, Attempt: msg.Attempt,
		FirstSeen: firstSeen, LastError: redact.Clip(code, redact.EchoLimit), Now: now,
	})
	switch {
	case err == nil:
		m.Outcome, m.DeferredTo, m.RetryDelay = report.Deferred, id, delay.String()
		return m
	case errors.Is(err, queue.ErrExhausted):
		return h.settlePermanent(ctx, msg, m, in, code, "retries exhausted: "+err.Error()+"; last error: "+m.Error)
	default:
		m.Outcome = report.Failed
		m.Error = "could not defer: " + err.Error() + "; cause: " + m.Error
		return m
	}
}

func (h *Handler) settlePermanent(ctx context.Context, msg trigger.Message, m report.Message, in *intent.Intent, code, text string) report.Message {
	sec := redact.FromContext(ctx) // what goes to MNS hides the secrets too
	code, text = sec.String(code), sec.String(text)
	m.Code, m.Error = code, text
	if h.Queue == nil || !h.Queue.HasDeadLetter() {
		m.Outcome = report.Rejected
		return m
	}
	sctx, cancel := settleContext(ctx)
	defer cancel()
	firstSeen, originalID := h.now(), msg.ID
	if in != nil && in.Retry != nil {
		firstSeen = in.Retry.FirstSeen
		if in.Retry.MessageID != "" {
			originalID = in.Retry.MessageID
		}
	}
	id, err := h.Queue.DeadLetter(sctx, queue.Letter{
		// Clipped: a sender's 1 MB id would make the letter larger than MNS
		// takes, and a letter that cannot be sent fails the batch for ever.
		MessageID: redact.Clip(originalID, redact.EchoLimit), Body: msg.Body,
		Code: redact.Clip(code, redact.EchoLimit), Message: redact.Clip(text, redact.TextLimit),
		Attempt: msg.Attempt, FirstSeen: firstSeen, Now: h.now(),
	})
	if err != nil {
		m.Outcome = report.Failed
		m.Error = "could not dead-letter: " + err.Error() + "; cause: " + text
		return m
	}
	m.Outcome, m.DeadLetterID = report.DeadLettered, id
	return m
}

// settleContext survives the work context running out, but not the invocation.
func settleContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok {
		return context.WithDeadline(context.WithoutCancel(ctx), dl)
	}
	return context.WithTimeout(context.WithoutCancel(ctx), 2*settleTime)
}

func describe(m *report.Message, in intent.Intent) {
	m.Action, m.RegionID, m.ImageID, m.Families = in.Action, in.RegionID, in.ImageID, in.Families()
}

func intentCode(err error) string {
	var e *intent.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return "InvalidParameter"
}

func (h *Handler) record(rep *report.Report, log *slog.Logger, m report.Message) {
	rep.Add(m)
	level := slog.LevelInfo
	switch m.Outcome {
	case report.Failed:
		level = slog.LevelError
	case report.Rejected, report.DeadLettered, report.Deferred:
		level = slog.LevelWarn
	}
	// A held change is not an error (the next run settles it), but an
	// operator must be able to find it: one line per image, with the reason.
	for _, held := range m.Held {
		log.Info("image change held", "messageId", m.ID, "intentId", m.IntentID, "action", m.Action,
			"imageId", held.ImageID, "changes", describeChanges(held.Changes), "reason", held.Reason)
	}
	log.Log(context.Background(), level, "message settled",
		"messageId", m.ID, "intentId", m.IntentID, "source", m.Source, "attempt", m.Attempt, "action", m.Action,
		"imageId", m.ImageID, "outcome", string(m.Outcome), "held", len(m.Held), "code", m.Code, "error", m.Error,
		"deferredMessageId", m.DeferredTo, "deadLetterMessageId", m.DeadLetterID)
}

// describeChanges writes changes as "field from -> to", comma-separated.
func describeChanges(changes []lifecycle.FieldChange) string {
	parts := make([]string, len(changes))
	for i, c := range changes {
		from := c.From
		if from == "" {
			from = "-"
		}
		parts[i] = c.Field + " " + from + " -> " + c.To
	}
	return strings.Join(parts, ", ")
}

// logChangeFailure writes the one line an operator searches for when an image
// change failed: which image, the API's code, its request id and the attempts.
func (h *Handler) logChangeFailure(log *slog.Logger, m report.Message, err error) {
	var ae *ecsapi.Error
	requestID := ""
	if errors.As(err, &ae) {
		requestID = ae.RequestID
	}
	m = shown(m, nil) // the logger hides the secrets; this clips what the sender chose
	log.Warn("image change failed", "messageId", m.ID, "intentId", m.IntentID, "action", m.Action, "imageId", m.ImageID,
		"code", ecsapi.Code(err), "ecsRequestId", requestID, "attempts", retry.Attempts(err),
		"class", classify(err).String(), "error", err.Error())
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *Handler) logger() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return slog.Default()
}
