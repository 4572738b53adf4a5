package invoke

import (
	"context"
	"encoding/json"
	"errors"

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

// verdict is what a run that failed is worth, and the code to report: the
// one place where an error becomes a way of settling. Credentials come first
// (retry.Classify says so, whatever else happened); then the engine's own
// answers, a NotYet (deferred) or a Refusal (final); then the class the retry
// chain gives an error of the API.
func verdict(err error) (retry.Class, string) {
	class := retry.Classify(err)
	var notYet *lifecycle.NotYet
	var refused *lifecycle.Refusal
	switch {
	case class == retry.Credential:
	case errors.As(err, &notYet):
		return retry.Transient, notYet.Code
	case errors.As(err, &refused):
		return retry.Permanent, refused.Code
	}
	code := ecsapi.Code(err)
	if code == "" {
		code = credential.Code(err)
	}
	if code == "" && class.Retryable() {
		code = noCode(err)
	}
	return class, code
}

// noCode names a passing failure that carries no code of the API's.
func noCode(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "DeadlineExceeded"
	}
	return "TransportError"
}

// letterPlan is the plan a dead letter carries, as JSON, with the secrets
// hidden as everywhere else; nil without a plan.
func letterPlan(p *lifecycle.Plan, sec *redact.Secrets) json.RawMessage {
	if p == nil {
		return nil
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil
	}
	return json.RawMessage(sec.String(string(b)))
}

// toConfirm is what a person adds to a message whose plan the blast radius
// refused, to approve exactly that plan; nil for any other failure.
func toConfirm(err error) *intent.Confirm {
	var refused *lifecycle.Refusal
	if !errors.As(err, &refused) || len(refused.Confirm) == 0 {
		return nil
	}
	return &intent.Confirm{Deprecate: refused.Confirm}
}

// settle ends a message whose run failed, by its class.
func (h *Handler) settle(inv *invocation, msg trigger.Message, m report.Message, in *intent.Intent,
	class retry.Class, code string, cause error) report.Message {
	switch {
	case class == retry.Credential:
		// Missing or refused credentials are the configuration's fault, not
		// the message's: fail it, so the platform delivers it again once they
		// are right, rather than dead-letter it (which the same credentials
		// could not do either).
		m.Outcome, m.Code, m.Error = report.Failed, code, cause.Error()
		return m
	case class.Retryable():
		return h.settleTransient(inv, msg, m, in, code, cause)
	default:
		return h.settlePermanent(inv, msg, m, in, code, cause.Error())
	}
}

func (h *Handler) settleTransient(inv *invocation, msg trigger.Message, m report.Message, in *intent.Intent, code string, cause error) report.Message {
	sec := redact.FromContext(inv.ctx) // what goes to MNS hides the secrets too
	code = sec.String(code)
	m.Code, m.Error = code, sec.String(cause.Error())
	if h.Queue == nil || !h.Queue.CanDefer() {
		m.Outcome = report.Failed
		m.Error = "transient, and no RETRY_QUEUE to defer it to: " + m.Error
		return m
	}
	sctx, cancel := inv.budget.SettleContext(inv.ctx)
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
		return h.settlePermanent(inv, msg, m, in, code, "retries exhausted: "+err.Error()+"; last error: "+m.Error)
	default:
		m.Outcome = report.Failed
		m.Error = "could not defer: " + err.Error() + "; cause: " + m.Error
		return m
	}
}

func (h *Handler) settlePermanent(inv *invocation, msg trigger.Message, m report.Message, in *intent.Intent, code, text string) report.Message {
	sec := redact.FromContext(inv.ctx) // what goes to MNS hides the secrets too
	code, text = sec.String(code), sec.String(text)
	m.Code, m.Error = code, text
	if h.Queue == nil || !h.Queue.HasDeadLetter() {
		m.Outcome = report.Rejected
		return m
	}
	sctx, cancel := inv.budget.SettleContext(inv.ctx)
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
		Plan: letterPlan(m.Plan, sec), Confirm: m.Confirm,
	})
	if err != nil {
		m.Outcome = report.Failed
		m.Error = "could not dead-letter: " + err.Error() + "; cause: " + text
		return m
	}
	m.Outcome, m.DeadLetterID = report.DeadLettered, id
	return m
}
