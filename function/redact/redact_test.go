package redact

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

// The test secrets hold characters that every encoding changes, so that each
// form is a different string to find.
const (
	testSecret = `sk+/="<&>é 9Qv~*`
	testToken  = `CAIS.tok/en+"X"&<y>==z%41`
)

// encodings are the four forms the issue names, as a reader would compute
// them independently of this package.
func encodings(v string) map[string]string {
	j, _ := json.Marshal(v)
	return map[string]string{
		"raw":          v,
		"url-encoded":  url.QueryEscape(v),
		"json-escaped": string(j[1 : len(j)-1]),
		"base64":       base64.StdEncoding.EncodeToString([]byte(v)),
	}
}

// leaks lists every encoding of every secret found in out.
func leaks(out string, secrets ...string) []string {
	var found []string
	for _, s := range secrets {
		for name, form := range encodings(s) {
			if strings.Contains(out, form) {
				found = append(found, fmt.Sprintf("%s %q", name, form))
			}
		}
	}
	return found
}

func TestClip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"m-bp1", 256, "m-bp1"},
		{strings.Repeat("a", 256), 256, strings.Repeat("a", 256)},
		{strings.Repeat("a", 300), 256, strings.Repeat("a", 256) + "…(300 bytes)"},
		// "é" is two bytes: a cut inside it moves back to before it.
		{"ab" + "é", 3, "ab…(4 bytes)"},
		{"", 0, ""},
	}
	for _, tt := range tests {
		if got := Clip(tt.in, tt.n); got != tt.want {
			t.Errorf("Clip(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
		if got := Clip(tt.in, tt.n); !utf8.ValidString(got) {
			t.Errorf("Clip(%q, %d) = %q is not UTF-8", tt.in, tt.n, got)
		}
	}
}

func TestSecretsHideEveryEncoding(t *testing.T) {
	t.Parallel()
	s := New(testSecret, testToken, "")
	for _, secret := range []string{testSecret, testToken} {
		for name, form := range encodings(secret) {
			text := "upstream said: " + form + " (quoted)"
			got := s.String(text)
			if len(leaks(got, testSecret, testToken)) > 0 || !strings.Contains(got, Placeholder) {
				t.Errorf("%s form %q: String gave %q", name, form, got)
			}
		}
	}
	// Forms the scan does not name, but upstream services use.
	for name, form := range map[string]string{
		"twice URL-encoded (a string-to-sign)": url.QueryEscape(url.QueryEscape(testToken)),
		"RFC 3986":                             strings.ReplaceAll(url.QueryEscape(testToken), "+", "%20"),
		"Go %q":                                fmt.Sprintf("%q", testToken),
		"URL-safe base64, no padding":          base64.RawURLEncoding.EncodeToString([]byte(testToken)),
	} {
		if got := s.String(form); strings.Contains(got, testToken) || got == form {
			t.Errorf("%s %q: String gave %q", name, form, got)
		}
	}
}

// A secret inside a longer base64 text (an encoded header, a JSON body) is
// found at each of the three alignments it can have.
func TestSecretsHideBase64InsideLongerText(t *testing.T) {
	t.Parallel()
	s := New(testToken)
	for prefix := range 3 {
		plain := strings.Repeat("p", prefix) + `{"SecurityToken":"` + testToken + `"}`
		encoded := base64.StdEncoding.EncodeToString([]byte(plain))
		got := s.String(encoded)
		if !strings.Contains(got, Placeholder) {
			t.Errorf("prefix %d: %q was not redacted", prefix, encoded)
		}
		// What is left around the placeholder carries at most two bytes of
		// the token at each end: too little to use it.
		for _, part := range strings.Split(got, Placeholder) {
			if dec, err := base64.StdEncoding.DecodeString(part); err == nil && strings.Contains(string(dec), testToken[2:len(testToken)-2]) {
				t.Errorf("prefix %d: the token survives in %q", prefix, part)
			}
		}
	}
}

func TestSecretsLeaveOtherTextAlone(t *testing.T) {
	t.Parallel()
	text := "InvalidImageName.Malformed: attributes.imageName: must not start with \"aliyun\""
	for _, s := range []*Secrets{nil, {}, New(), New(""), New(testSecret)} {
		if got := s.String(text); got != text {
			t.Errorf("String changed unrelated text to %q", got)
		}
	}
	if !New().Empty() || New(testSecret).Empty() {
		t.Error("Empty is wrong")
	}
}

func TestContext(t *testing.T) {
	t.Parallel()
	s := New(testSecret)
	if FromContext(NewContext(context.Background(), s)) != s {
		t.Error("FromContext lost the Secrets")
	}
	if FromContext(context.Background()) != nil {
		t.Error("FromContext of a bare context is not nil")
	}
}

// Every path a value takes into a log line: the message, attributes given to
// the call, to With and to a group, nested groups, errors, structs, and
// LogValuers.
func TestHandlerScrubsEveryAttribute(t *testing.T) {
	t.Parallel()
	for _, format := range []string{"json", "text"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			opts := &slog.HandlerOptions{Level: slog.LevelDebug}
			var base slog.Handler = slog.NewJSONHandler(&out, opts)
			if format == "text" {
				base = slog.NewTextHandler(&out, opts)
			}
			log := slog.New(NewHandler(base, New(testSecret, testToken)))
			for _, secret := range []string{testSecret, testToken} {
				for _, form := range encodings(secret) {
					log.With("with", form).WithGroup("g"+form).Debug("message "+form,
						"string", form,
						"error", errors.New("upstream: "+form),
						"struct", struct{ Token string }{form},
						"group", slog.GroupValue(slog.String("inner", form), slog.Group("deeper", "x", form)),
						"valuer", valuer(form),
						form, "as a key")
				}
			}
			if found := leaks(out.String(), testSecret, testToken); len(found) > 0 {
				t.Errorf("log output holds %v:\n%s", found, out.String())
			}
			if !strings.Contains(out.String(), Placeholder) {
				t.Errorf("nothing was replaced:\n%s", out.String())
			}
		})
	}
}

type valuer string

func (v valuer) LogValue() slog.Value { return slog.StringValue("valuer " + string(v)) }

func TestHandlerClipsLongStrings(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	log := slog.New(NewHandler(slog.NewJSONHandler(&out, nil), nil))
	log.Info(strings.Repeat("m", 2*TextLimit), "imageId", strings.Repeat("i", 1<<20), "attempts", 3)
	if out.Len() > 3*TextLimit {
		t.Errorf("a log line of %d bytes", out.Len())
	}
	var line map[string]any
	if err := json.Unmarshal(out.Bytes(), &line); err != nil {
		t.Fatal(err)
	}
	if id, _ := line["imageId"].(string); !strings.HasSuffix(id, "…(1048576 bytes)") {
		t.Errorf("imageId = %.40q…, want it clipped with its length", id)
	}
	if line["attempts"] != 3.0 {
		t.Errorf("a number attribute changed: %v", line["attempts"])
	}
}

func BenchmarkSecretsString(b *testing.B) {
	s := New(testSecret, testToken)
	text := strings.Repeat("The request processing has failed due to some unknown error. ", 64)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		_ = s.String(text)
	}
}
