package invoke

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/credential"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/queue"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/redact"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/report"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/trigger"
)

// CodePayloadTooLarge is the code of a payload refused for its size.
const CodePayloadTooLarge = "InvalidParameter.PayloadTooLarge"

// RefuseUnread settles an invocation whose payload a front door refused to
// read because it is larger than MaxPayloadBytes: size is its length (-1 if
// the front door only knows it is larger) and head its first bytes, if any
// were read. The one message is rejected (or dead-lettered, carrying head)
// with CodePayloadTooLarge.
func (h *Handler) RefuseUnread(ctx context.Context, env Env, size int64, head []byte) (*report.Report, error) {
	rep := report.New(env.RequestID)
	ctx, log := h.begin(ctx, env)
	return rep, h.refuseOversized(ctx, log, rep, size, head)
}

// refuseOversized settles a payload over MaxPayloadBytes without parsing it:
// one message, rejected (or dead-lettered, carrying the payload's first
// bytes) with CodePayloadTooLarge. Parsing is what would hold several copies
// of it; this holds none.
func (h *Handler) refuseOversized(ctx context.Context, log *slog.Logger, rep *report.Report, size int64, head []byte) error {
	sum := sha256.Sum256(head)
	msg := trigger.Message{
		ID:      "sha256:" + hex.EncodeToString(sum[:8]),
		Source:  trigger.SourceUnknown,
		Attempt: 1,
		// A dead letter holds at most queue.MaxBodyBytes: only the start
		// is worth carrying, and copying the rest would cost the memory
		// this refusal is there to save.
		Body: head[:min(len(head), queue.MaxBodyBytes)],
	}
	received := fmt.Sprintf("%d bytes received", size)
	if size < 0 {
		received = "its length unknown"
	}
	text := fmt.Sprintf("the payload was refused unread: %s, more than MAX_PAYLOAD_BYTES (%d)", received, h.MaxPayloadBytes)
	dl, _ := ctx.Deadline()
	inv := &invocation{ctx: ctx, budget: h.shares().Split(h.Clock, dl), log: log}
	m := h.settlePermanent(inv, msg, report.Message{ID: msg.ID, Source: msg.Source, Attempt: msg.Attempt}, nil, CodePayloadTooLarge, text)
	h.record(rep, log, shown(m, redact.FromContext(ctx)))
	return h.failure(rep)
}

// begin prepares what every invocation needs before it reads anything:
// whatever an upstream error quotes, the invocation's secrets go no further
// than this; its logger and everything that settles a message (through the
// returned ctx) hide them.
func (h *Handler) begin(ctx context.Context, env Env) (context.Context, *slog.Logger) {
	sec := invocationSecrets(env)
	log := slog.New(redact.NewHandler(h.logger().Handler(), sec)).With("requestId", env.RequestID)
	if env.Credentials != nil {
		// The queue signs its sends with what ctx carries, so a message is
		// deferred or dead-lettered with its own invocation's credentials.
		ctx = credential.NewContext(ctx, *env.Credentials)
	}
	return redact.NewContext(ctx, sec), log
}

// invocationSecrets are the values no log line or report of this invocation
// may show: its AccessKeySecret and SecurityToken (the AccessKeyId is not
// secret, and logs are the place to find it).
func invocationSecrets(env Env) *redact.Secrets {
	if env.Credentials == nil {
		return redact.New()
	}
	return redact.New(env.Credentials.AccessKeySecret, env.Credentials.SecurityToken)
}

// shown is m as a report or a log line may show it: no secret of the
// invocation in any field, whatever an upstream error quoted, and every
// value the sender chose (ids, names, codes) clipped to redact.EchoLimit,
// free text to redact.TextLimit.
func shown(m report.Message, sec *redact.Secrets) report.Message {
	echo := func(s string) string { return redact.Clip(sec.String(s), redact.EchoLimit) }
	m.ID, m.Source, m.Action, m.RegionID, m.ImageID = echo(m.ID), echo(m.Source), echo(m.Action), echo(m.RegionID), echo(m.ImageID)
	m.Code, m.DeferredTo, m.RetryDelay, m.DeadLetterID = echo(m.Code), echo(m.DeferredTo), echo(m.RetryDelay), echo(m.DeadLetterID)
	m.Error = redact.Clip(sec.String(m.Error), redact.TextLimit)
	m.Families = clipAll(m.Families, echo)
	m.RequestIDs = clipAll(m.RequestIDs, echo)
	return m
}

// maxListed bounds the entries shown of a list the sender chose.
const maxListed = 32

func clipAll(values []string, f func(string) string) []string {
	if values == nil {
		return nil
	}
	out := make([]string, 0, min(len(values), maxListed+1))
	for _, v := range values[:min(len(values), maxListed)] {
		out = append(out, f(v))
	}
	if len(values) > maxListed {
		out = append(out, fmt.Sprintf("…(%d more)", len(values)-maxListed))
	}
	return out
}
