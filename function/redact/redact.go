// Package redact decides what of a value may be shown in a log line or a
// report: an invocation's secrets never, in any of the encodings they travel
// in, and a value echoed back from the input only up to a bound.
package redact

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Placeholder stands where a secret was.
const Placeholder = "[REDACTED]"

// Bounds on what is shown of a value that came from outside.
const (
	// EchoLimit bounds a value echoed back: an id, a name, an image id, a code.
	EchoLimit = 256
	// TextLimit bounds free text: an error message, a stack.
	TextLimit = 4096
)

// Clip returns s when it has at most n bytes; otherwise its first n bytes
// (never splitting a UTF-8 sequence) and "…(N bytes)", N being len(s). A 1 MB
// image id so costs a report 256 bytes, and still says how long it was.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && cut > n-utf8.UTFMax && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…(" + strconv.Itoa(len(s)) + " bytes)"
}

// Secrets replaces secret values wherever they occur in a string. The zero
// value and nil replace nothing.
type Secrets struct {
	r *strings.Replacer
}

// minEncodedLen keeps the base64 fragments of a short secret out of the
// patterns: a fragment of a few characters would match ordinary text.
const minEncodedLen = 8

// New returns a Secrets for values (empty ones are ignored). Each value is
// matched raw and in every encoding a secret is found in when an upstream
// service or library quotes it: URL-encoded (once, as in a query string, and
// twice, as in a signature's string-to-sign), JSON- and Go-escaped, and
// base64 (standard and URL alphabets, padded or not, and at each of the three
// alignments it can have inside a longer base64 text).
func New(values ...string) *Secrets {
	seen := map[string]bool{}
	var patterns []string
	add := func(p string, min int) {
		if len(p) >= min && !seen[p] {
			seen[p] = true
			patterns = append(patterns, p)
		}
	}
	for _, v := range values {
		if v == "" {
			continue
		}
		for _, form := range escapings(v) {
			add(form, 1)
		}
		for _, form := range base64Forms(v) {
			add(form, minEncodedLen)
		}
	}
	if len(patterns) == 0 {
		return &Secrets{}
	}
	// At one position the replacer takes the first pattern that matches: the
	// longest first, so that a longer encoding is never half replaced.
	slices.SortFunc(patterns, func(a, b string) int { return len(b) - len(a) })
	pairs := make([]string, 0, 2*len(patterns))
	for _, p := range patterns {
		pairs = append(pairs, p, Placeholder)
	}
	return &Secrets{r: strings.NewReplacer(pairs...)}
}

// String returns s with every secret replaced by Placeholder.
func (s *Secrets) String(v string) string {
	if s == nil || s.r == nil {
		return v
	}
	return s.r.Replace(v)
}

// Empty reports whether s replaces nothing.
func (s *Secrets) Empty() bool { return s == nil || s.r == nil }

// escapings are v and its text encodings.
func escapings(v string) []string {
	query := url.QueryEscape(v)
	// The RPC signature's percent-encoding: RFC 3986, so %20 and not '+'.
	rfc3986 := strings.NewReplacer("+", "%20", "*", "%2A", "%7E", "~").Replace(query)
	forms := []string{
		v,
		query, url.PathEscape(v), rfc3986,
		url.QueryEscape(query), strings.NewReplacer("+", "%20", "*", "%2A", "%7E", "~").Replace(url.QueryEscape(rfc3986)),
		unquote(strconv.Quote(v)), unquote(strconv.QuoteToASCII(v)),
	}
	if b, err := json.Marshal(v); err == nil { // escapes <, > and & as \u003c...
		forms = append(forms, unquote(string(b)))
	}
	var sb strings.Builder
	enc := json.NewEncoder(&sb)
	enc.SetEscapeHTML(false)
	if enc.Encode(v) == nil {
		forms = append(forms, unquote(strings.TrimSuffix(sb.String(), "\n")))
	}
	return forms
}

// base64Forms are v in base64: whole, and the part of it that stays the same
// wherever v sits in a longer encoded text. Three bytes make four characters,
// so once the text is aligned on v (at one of three offsets), the groups made
// only of v's bytes encode the same whatever surrounds them.
func base64Forms(v string) []string {
	var forms []string
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		forms = append(forms, enc.EncodeToString([]byte(v)))
	}
	for skip := range 3 {
		if skip >= len(v) {
			break
		}
		rest := v[skip:]
		whole := rest[:len(rest)/3*3]
		forms = append(forms, base64.RawStdEncoding.EncodeToString([]byte(whole)), base64.RawURLEncoding.EncodeToString([]byte(whole)))
	}
	return forms
}

func unquote(q string) string {
	if len(q) >= 2 {
		return q[1 : len(q)-1]
	}
	return q
}

type contextKey struct{}

// NewContext returns ctx carrying s, so that whatever settles a message of
// this invocation can hide the same secrets its logger hides.
func NewContext(ctx context.Context, s *Secrets) context.Context {
	return context.WithValue(ctx, contextKey{}, s)
}

// FromContext returns the Secrets carried by ctx, or nil (which hides nothing).
func FromContext(ctx context.Context) *Secrets {
	s, _ := ctx.Value(contextKey{}).(*Secrets)
	return s
}
