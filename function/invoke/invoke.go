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
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/credential"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/intent"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/lifecycle"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/policy"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/queue"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/redact"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/report"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/retry"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/trigger"
)

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
	Queue Settler
	// Policy is the retry policy of the calls to ECS.
	Policy retry.Policy
	// LifecyclePolicy is the lifecycle policy (POLICY_FILE or POLICY), nil
	// for none; the engine is the one that reads it.
	LifecyclePolicy *policy.Policy
	// Shares split each invocation's deadline (time kept to settle, kept
	// back from the calls, kept from a Creating wait); zero means
	// retry.DefaultShares.
	Shares retry.Shares
	// Clock is the one clock of the deadline budget, the retries and the
	// Creating waits; nil means the real one.
	Clock retry.Clock
	// Quota is the process's retry budget; nil means one of
	// retry.DefaultQuota tokens, made on first use.
	Quota *retry.Quota
	Log   *slog.Logger
	// Now tells the date for messages (firstSeen) and for minAge; time.Now when nil.
	Now func() time.Time
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

	quotaOnce sync.Once
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
	ctx, log := h.begin(ctx, env)
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
		h.failWithoutClient(rep, log, sec, msgs, err)
		return rep, h.failure(rep)
	}
	region := h.Region
	if env.Region != "" {
		region = env.Region
	}
	// The invocation's deadline is divided once, here; every layer below
	// reads its own line of this budget.
	dl, _ := ctx.Deadline()
	b := h.shares().Split(h.Clock, dl)
	engine := h.engine(api, region, b)
	workCtx, cancel := b.WorkContext(ctx)
	defer cancel()
	inv := &invocation{ctx: ctx, work: workCtx, budget: b, engine: engine, log: log}
	// Parse every message first: that is cheap, and it lets one DescribeImages
	// read the images of the whole batch (up to 100 ids a call) before any intent runs.
	parsed, valid := parseAll(msgs)
	h.prefetch(inv, valid)
	for _, m := range h.processAll(inv, msgs, parsed, region) {
		h.record(rep, log, shown(m, sec))
	}
	return rep, h.failure(rep)
}

// failWithoutClient fails every message when there is no ECS client to work
// them with. Nothing can run without one (a configuration problem, such as no
// credentials), so the platform must keep the messages until it is fixed.
func (h *Handler) failWithoutClient(rep *report.Report, log *slog.Logger, sec *redact.Secrets, msgs []trigger.Message, err error) {
	for _, m := range msgs {
		h.record(rep, log, shown(report.Message{ID: m.ID, IntentID: m.IntentID, Source: m.Source, Attempt: m.Attempt,
			Outcome: report.Failed, Code: credential.Code(err), Error: "ECS client: " + err.Error()}, sec))
	}
}

// parseAll parses every message of the batch, and returns with them the
// intents that parsed, which the batch prefetch reads the images of.
func parseAll(msgs []trigger.Message) (parsed []parsedMessage, valid []intent.Intent) {
	parsed = make([]parsedMessage, len(msgs))
	for i, msg := range msgs {
		parsed[i] = parse(msg)
		// An event is not read ahead: most need no read at all (a failed
		// call, a family the policy does not cover), and costing them none
		// is the point.
		if parsed[i].err == nil && parsed[i].skip == "" && parsed[i].in.Event == nil {
			valid = append(valid, parsed[i].in)
		}
	}
	return parsed, valid
}

// processAll works the batch's messages concurrently, up to h.Concurrency at
// once, then makes the batch's one read after its writes (restoreFloors),
// and returns the messages' outcomes in the order the messages came.
func (h *Handler) processAll(inv *invocation, msgs []trigger.Message, parsed []parsedMessage, region string) []report.Message {
	out := make([]report.Message, len(msgs))
	runs := make([]*lifecycle.Result, len(msgs))
	g := new(errgroup.Group)
	g.SetLimit(max(h.Concurrency, 1)) // a zero limit would run nothing at all
	ids := make([]string, len(msgs))
	for i, msg := range msgs {
		ids[i] = msg.ID
	}
	for _, idxs := range orderedGroups(parsed, ids, region, inv.engine.FamilyOf) {
		g.Go(func() error {
			// Within one family, messages run in the order they arrived.
			for _, i := range idxs {
				out[i], runs[i] = h.processSafely(inv, msgs[i], parsed[i])
			}
			return nil
		})
	}
	_ = g.Wait() // processSafely never returns an error: every message has an outcome
	h.restoreFloors(inv, msgs, parsed, out, runs)
	return out
}

// engine is one invocation's lifecycle engine: api behind the retry layer,
// both bounded by the invocation's budget b.
func (h *Handler) engine(api ecsapi.API, region string, b retry.Budget) *lifecycle.Engine {
	engine := lifecycle.NewEngine(retry.New(api, retry.Config{
		Policy: h.Policy, Limiter: h.Limiter, Quota: h.retryQuota(), Budget: b,
	}), h.Guards, region)
	engine.Budget = b
	engine.Policy = h.LifecyclePolicy
	engine.DeferFloor = true // one read after the writes for the whole batch: processAll
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
	return engine
}

// invocation is what every message of one invocation shares.
type invocation struct {
	// ctx is the invocation's own; settling derives its context from it.
	ctx context.Context
	// work ends at the budget's Work line: planning and applying stop there.
	work   context.Context
	budget retry.Budget
	engine *lifecycle.Engine
	log    *slog.Logger
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
func (h *Handler) prefetch(inv *invocation, ins []intent.Intent) {
	defer func() {
		if r := recover(); r != nil {
			inv.log.Error("panic while prefetching the batch", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
	}()
	if err := inv.engine.Prefetch(inv.work, ins); err != nil {
		inv.log.Warn("batch prefetch failed", "error", err.Error())
	}
}

// parsedMessage is a message's intent, or why it has none: an error, or a
// reason to leave it alone (skip).
type parsedMessage struct {
	in   intent.Intent
	err  error
	code string
	skip string
}

func parse(msg trigger.Message) parsedMessage {
	switch {
	case msg.Err != nil:
		return parsedMessage{err: msg.Err, code: trigger.Code(msg.Err)}
	case msg.Event:
		return parseEvent(msg)
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
func (h *Handler) processSafely(inv *invocation, msg trigger.Message, p parsedMessage) (m report.Message, res *lifecycle.Result) {
	defer func() {
		if r := recover(); r != nil {
			inv.log.Error("panic while working a message", "messageId", msg.ID, "intentId", msg.IntentID, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			m = report.Message{ID: msg.ID, IntentID: msg.IntentID, Source: msg.Source, Attempt: msg.Attempt, Outcome: report.Failed,
				Code: "InternalError.Panic", Error: fmt.Sprintf("panic: %v", r)}
			describe(&m, p.in)
		}
	}()
	return h.process(inv, msg, p)
}

// process takes one message to exactly one outcome, and returns with it the
// engine's result, if it ran.
func (h *Handler) process(inv *invocation, msg trigger.Message, p parsedMessage) (report.Message, *lifecycle.Result) {
	m := report.Message{ID: msg.ID, IntentID: msg.IntentID, Source: msg.Source, Attempt: msg.Attempt}
	in := p.in
	describe(&m, in)
	if p.skip != "" {
		m.Outcome, m.Reason = report.Unchanged, p.skip
		return m, nil
	}
	if p.err != nil {
		if msg.Err != nil {
			return h.settlePermanent(inv, msg, m, nil, p.code, p.err.Error()), nil
		}
		return h.settlePermanent(inv, msg, m, &in, p.code, p.err.Error()), nil
	}
	if h.DryRun {
		in.DryRun = true
	}

	res, err := inv.engine.Run(inv.work, in)
	describeResult(&m, in, res)
	if err == nil {
		switch {
		case in.DryRun:
			m.Outcome = report.Planned
		case res != nil && res.Changed:
			m.Outcome = report.Applied
		default:
			m.Outcome = report.Unchanged
		}
		return m, res
	}
	class, code := verdict(err)
	m.Confirm = toConfirm(err)
	h.logChangeFailure(inv.log, m, err, class, code)
	return h.settle(inv, msg, m, &in, class, code, err), res
}

// describeResult puts in m what the engine's run planned, applied and held.
func describeResult(m *report.Message, in intent.Intent, res *lifecycle.Result) {
	if res == nil {
		return
	}
	m.Plan, m.Held = res.Plan, res.Held
	describePlanned(m, in, res.Plan)
	m.RequestIDs = nil
	for _, a := range res.Applied {
		if a.RequestID != "" {
			m.RequestIDs = append(m.RequestIDs, a.RequestID)
		}
	}
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
	// Typed attributes, not key-value pairs: the line is written for every
	// message, and pairs box each value.
	log.LogAttrs(context.Background(), level, "message settled",
		slog.String("messageId", m.ID), slog.String("intentId", m.IntentID), slog.String("source", m.Source),
		slog.Int("attempt", m.Attempt), slog.String("action", m.Action), slog.String("imageId", m.ImageID),
		slog.String("outcome", string(m.Outcome)), slog.Int("held", len(m.Held)), slog.String("code", m.Code),
		slog.String("error", m.Error), slog.String("deferredMessageId", m.DeferredTo),
		slog.String("deadLetterMessageId", m.DeadLetterID))
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
func (h *Handler) logChangeFailure(log *slog.Logger, m report.Message, err error, class retry.Class, code string) {
	var ae *ecsapi.Error
	requestID := ""
	if errors.As(err, &ae) {
		requestID = ae.RequestID
	}
	m = shown(m, nil) // the logger hides the secrets; this clips what the sender chose
	log.Warn("image change failed", "messageId", m.ID, "intentId", m.IntentID, "action", m.Action, "imageId", m.ImageID,
		"code", code, "ecsRequestId", requestID, "attempts", retry.Attempts(err),
		"class", class.String(), "error", err.Error())
}

// retryQuota is built on first use, like the rate limiter, and lives as long
// as the Handler: every invocation of the process draws on it.
func (h *Handler) retryQuota() *retry.Quota {
	h.quotaOnce.Do(func() {
		if h.Quota == nil {
			h.Quota = retry.NewQuota(retry.DefaultQuota)
		}
	})
	return h.Quota
}

func (h *Handler) shares() retry.Shares {
	if h.Shares == (retry.Shares{}) {
		return retry.DefaultShares()
	}
	return h.Shares
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
