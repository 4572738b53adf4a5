// Package config reads the function's configuration from its environment, once,
// and refuses a bad value with a message naming the variable.
package config

import (
	"fmt"
	"math"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/policy"
)

// Config is everything the function reads from its environment. The ECS and MNS
// endpoints come only from here, never from a message.
type Config struct {
	Region                 string        // FC_REGION (set by FC) or ALIBABA_CLOUD_REGION_ID; intents may name another
	ECSEndpoint            string        // ECS_ENDPOINT: "" = the regional endpoint over HTTPS
	MNSEndpoint            string        // MNS_ENDPOINT
	RetryQueue             string        // RETRY_QUEUE: where deferred messages go ("" = no deferral)
	DeadLetterQueue        string        // DEAD_LETTER_QUEUE ("" = permanent failures are rejected)
	FamilyFloor            int           // FAMILY_FLOOR: Available images a family never goes below
	AllowedRegions         []string      // ALLOWED_REGIONS, comma-separated; empty = all
	AllowedFamilies        []string      // ALLOWED_FAMILIES, comma-separated globs; empty = all
	ExcludeTag             string        // EXCLUDE_TAG "key=value"; "none" turns it off
	UnshareBeforeDeprecate bool          // UNSHARE_BEFORE_DEPRECATE
	RateLimit              float64       // ECS_RATE_LIMIT: calls per second per API; 0: no client-side limit (ECS_RATE_LIMIT=off)
	MaxMessageAge          time.Duration // MAX_MESSAGE_AGE: older transient failures are dead-lettered
	MaxAttempts            int           // MAX_ATTEMPTS: deliveries before a transient failure is dead-lettered
	Concurrency            int           // BATCH_CONCURRENCY: messages worked on at once
	LogLevel               string        // LOG_LEVEL: debug, info, warn, error
	MaxPayloadBytes        int           // MAX_PAYLOAD_BYTES: larger payloads are refused before they are parsed
	// Policy is the lifecycle policy of POLICY_FILE or POLICY, validated;
	// nil when neither is set (the function then works from its messages alone).
	Policy *policy.Policy
}

// Defaults are the values used when a variable is unset.
func Defaults() Config {
	return Config{
		Region:        "cn-hangzhou",
		FamilyFloor:   1,
		ExcludeTag:    "lifecycle:keep=true",
		RateLimit:     16, // the documented 1000 calls per 60 s per API, rounded down
		MaxMessageAge: 7 * 24 * time.Hour,
		MaxAttempts:   20,
		Concurrency:   8,
		LogLevel:      "info",
		// See DefaultMaxPayloadBytes.
		MaxPayloadBytes: DefaultMaxPayloadBytes,
	}
}

// RateLimitOff is the ECS_RATE_LIMIT that turns the client-side rate limit
// off (Config.RateLimit 0).
const RateLimitOff = "off"

// FCSyncPayloadLimit is the largest event FC delivers to a synchronous
// invocation (32 MB); nothing larger can arrive, so no setting goes above it.
const FCSyncPayloadLimit = 32 << 20

// DefaultMaxPayloadBytes bounds the payload the function parses. The largest
// payload a trigger of this function sends is far smaller (an MNS batch of
// CountBasedWindow 10 messages of at most 64 KB each is under 1 MB), so the
// bound is set by memory: s.yaml gives the instance 128 MB, a 5,000-message
// batch peaks at 53 MiB, and parsing holds a few copies of the payload at
// once. tests/memory measures the peak RSS of the built binary for payloads
// up to FCSyncPayloadLimit: with this bound every one of them stays under
// 128 MB with room to spare (README, "Hostile input and limits").
const DefaultMaxPayloadBytes = 6 << 20

// FromEnv reads the configuration through getenv (os.Getenv in production, a
// map in tests) and reports every bad value at once. It is the one place that
// checks a value: the packages the configuration is handed to take it as
// valid (function/wire.go hands it out).
func FromEnv(getenv func(string) string) (Config, error) {
	return FromEnvFiles(getenv, os.ReadFile)
}

// FromEnvFiles is FromEnv reading the file POLICY_FILE names through
// readFile (a test maps the code package's /code to the repository).
func FromEnvFiles(getenv func(string) string, readFile func(string) ([]byte, error)) (Config, error) {
	r := &reader{getenv: getenv, c: Defaults()}
	r.policy(readFile)
	r.endpoints()
	r.queues()
	r.guards()
	r.limits()
	r.logLevel()
	if len(r.errs) > 0 {
		return r.c, fmt.Errorf("configuration: %s", strings.Join(r.errs, "; "))
	}
	return r.c, nil
}

// reader reads variables into c and collects what is wrong with them. A bad
// value leaves the default in place.
type reader struct {
	getenv func(string) string
	c      Config
	errs   []string
}

// bad records that name's value is not what is wanted. The value is shown as
// given: only the endpoints, which may carry a password, are shown redacted
// (by their own parsers).
func (r *reader) bad(name, value, want string) {
	r.errs = append(r.errs, fmt.Sprintf("%s=%q: %s", name, value, want))
}

// policy reads and validates the lifecycle policy: a bad one stops the
// start with every violation, each naming its field ("POLICY_FILE=/code/
// lifecycle-policy.json: InvalidParameter.Keep: families[0].keep: ...").
func (r *reader) policy(readFile func(string) ([]byte, error)) {
	p, err := policy.Load(r.getenv, readFile)
	if err != nil {
		r.errs = append(r.errs, err.Error())
		return
	}
	r.c.Policy = p
}

// endpoints reads the region and the ECS and MNS endpoints.
func (r *reader) endpoints() {
	if v := first(r.getenv("FC_REGION"), r.getenv("ALIBABA_CLOUD_REGION_ID")); v != "" {
		r.c.Region = v
	}
	r.c.ECSEndpoint = strings.TrimSpace(r.getenv("ECS_ENDPOINT"))
	if _, err := ParseECSEndpoint(r.c.ECSEndpoint); err != nil {
		r.errs = append(r.errs, "ECS_ENDPOINT: "+err.Error())
	}
	r.c.MNSEndpoint = strings.TrimSpace(r.getenv("MNS_ENDPOINT"))
	if r.c.MNSEndpoint != "" {
		if _, err := ParseMNSEndpoint(r.c.MNSEndpoint); err != nil {
			r.errs = append(r.errs, "MNS_ENDPOINT: "+err.Error())
		}
	}
}

// queueName is the MNS naming rule: letters, digits and hyphens, starting
// with a letter or digit, at most 120 characters. The length is checked
// apart: a repeat count of 119 in the pattern would compile to a program of
// a few thousand instructions at every start of the function.
var queueName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]*$`)

const maxQueueName = 120

// queues reads the retry and dead-letter queues: valid MNS names, an MNS
// endpoint to reach them, and two different queues, or dead letters would be
// retried.
func (r *reader) queues() {
	r.c.RetryQueue = strings.TrimSpace(r.getenv("RETRY_QUEUE"))
	r.c.DeadLetterQueue = strings.TrimSpace(r.getenv("DEAD_LETTER_QUEUE"))
	for _, q := range []struct{ name, value string }{{"RETRY_QUEUE", r.c.RetryQueue}, {"DEAD_LETTER_QUEUE", r.c.DeadLetterQueue}} {
		if q.value != "" && (len(q.value) > maxQueueName || !queueName.MatchString(q.value)) {
			r.bad(q.name, q.value, "not a valid MNS queue name (letters, digits and hyphens, starting with a letter or digit, at most 120)")
		}
	}
	if (r.c.RetryQueue != "" || r.c.DeadLetterQueue != "") && r.c.MNSEndpoint == "" {
		r.bad("MNS_ENDPOINT", "", "required when RETRY_QUEUE or DEAD_LETTER_QUEUE is set")
	}
	if r.c.RetryQueue != "" && r.c.RetryQueue == r.c.DeadLetterQueue {
		r.bad("DEAD_LETTER_QUEUE", r.c.DeadLetterQueue, "must differ from RETRY_QUEUE: dead letters would be retried")
	}
}

// guards reads the settings of the lifecycle's guards.
func (r *reader) guards() {
	r.intIn("FAMILY_FLOOR", &r.c.FamilyFloor, 0, 100, "want a whole number from 0 to 100")
	r.c.AllowedRegions = list(r.getenv("ALLOWED_REGIONS"))
	r.c.AllowedFamilies = list(r.getenv("ALLOWED_FAMILIES"))
	for _, p := range r.c.AllowedFamilies {
		// The lifecycle matches families with path.Match, which reports a
		// malformed pattern only when it gets that far: check it whole here.
		if _, err := path.Match(p, ""); err != nil {
			r.bad("ALLOWED_FAMILIES", p, "not a valid family pattern (path.Match syntax: * ? [a-z], with \\ to escape)")
		}
	}
	switch v := r.getenv("EXCLUDE_TAG"); {
	case v == "":
	case v == "none":
		r.c.ExcludeTag = ""
	case !strings.Contains(v, "="):
		r.bad("EXCLUDE_TAG", v, `want key=value, or "none"`)
	default:
		r.c.ExcludeTag = v
	}
	if v := r.getenv("UNSHARE_BEFORE_DEPRECATE"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			r.bad("UNSHARE_BEFORE_DEPRECATE", v, "want true or false")
			return
		}
		r.c.UnshareBeforeDeprecate = b
	}
}

// limits reads the rate limit, the retry limits, the batch concurrency and
// the payload limit.
func (r *reader) limits() {
	switch v := r.getenv("ECS_RATE_LIMIT"); {
	case v == "":
	case v == RateLimitOff:
		// No client-side limit at all: calls go as fast as they are made,
		// and only ECS's Throttling answers (retried) hold them back. A
		// number cannot say it: 0 would read as "no calls", 1000 still
		// learns from the answers.
		r.c.RateLimit = 0
	default:
		// Written as "not in range" so that NaN, which compares false with
		// everything, is refused too.
		if f, err := strconv.ParseFloat(v, 64); err != nil || !(f > 0 && f <= 1000) {
			r.bad("ECS_RATE_LIMIT", v, `want calls per second, above 0 and at most 1000, or "off"`)
		} else {
			r.c.RateLimit = f
		}
	}
	if v := r.getenv("MAX_MESSAGE_AGE"); v != "" {
		if d, err := time.ParseDuration(v); err != nil || d <= 0 {
			r.bad("MAX_MESSAGE_AGE", v, "want a Go duration such as 168h")
		} else {
			r.c.MaxMessageAge = d
		}
	}
	r.intIn("MAX_ATTEMPTS", &r.c.MaxAttempts, 1, math.MaxInt, "want a whole number of at least 1")
	r.intIn("BATCH_CONCURRENCY", &r.c.Concurrency, 1, 64, "want a whole number from 1 to 64")
	r.intIn("MAX_PAYLOAD_BYTES", &r.c.MaxPayloadBytes, 1024, FCSyncPayloadLimit,
		fmt.Sprintf("want a number of bytes from 1024 to %d (FC's synchronous limit)", FCSyncPayloadLimit))
}

// intIn reads name, when set, as a whole number from lo to hi into dst.
func (r *reader) intIn(name string, dst *int, lo, hi int, want string) {
	v := r.getenv(name)
	if v == "" {
		return
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		r.bad(name, v, want)
		return
	}
	*dst = n
}

func (r *reader) logLevel() {
	v := r.getenv("LOG_LEVEL")
	switch strings.ToLower(v) {
	case "":
	case "debug", "info", "warn", "error":
		r.c.LogLevel = strings.ToLower(v)
	default:
		r.bad("LOG_LEVEL", v, "want debug, info, warn or error")
	}
}

func list(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func first(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
