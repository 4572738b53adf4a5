package redact

import (
	"context"
	"fmt"
	"log/slog"
)

// NewHandler wraps next so that no record reaches it with a secret of s in
// its message or in any attribute (nested groups included), and no string
// longer than TextLimit. Values that are not strings, numbers, booleans,
// times or durations (errors, structs, slices) are written as their text, so
// that what they print passes through the same filter.
func NewHandler(next slog.Handler, s *Secrets) slog.Handler {
	return &handler{next: next, s: s}
}

type handler struct {
	next slog.Handler
	s    *Secrets
}

func (h *handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, h.text(r.Message), r.PC)
	// Gathered, then added at once: a record grows its attributes by as
	// many as each AddAttrs adds, so one at a time regrows them per attribute.
	var buf [16]slog.Attr
	attrs := buf[:0]
	r.Attrs(func(a slog.Attr) bool {
		attrs = append(attrs, h.attr(a))
		return true
	})
	out.AddAttrs(attrs...)
	return h.next.Handle(ctx, out)
}

func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		clean[i] = h.attr(a)
	}
	return &handler{next: h.next.WithAttrs(clean), s: h.s}
}

func (h *handler) WithGroup(name string) slog.Handler {
	return &handler{next: h.next.WithGroup(h.text(name)), s: h.s}
}

func (h *handler) attr(a slog.Attr) slog.Attr {
	key := h.text(a.Key)
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(key, h.text(v.String()))
	case slog.KindGroup:
		group := v.Group()
		clean := make([]any, len(group))
		for i, g := range group {
			clean[i] = h.attr(g)
		}
		return slog.Group(key, clean...)
	case slog.KindAny:
		return slog.String(key, h.text(fmt.Sprint(v.Any())))
	default:
		return slog.Attr{Key: key, Value: v}
	}
}

// text is what may be shown of one string: secrets out first (so that a cut
// can never leave half a secret behind), then cut to TextLimit.
func (h *handler) text(v string) string {
	return Clip(h.s.String(v), TextLimit)
}
