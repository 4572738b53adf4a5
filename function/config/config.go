// Package config reads the function's configuration from its environment, once,
// and refuses a bad value with a message naming the variable.
package config

import (
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"
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
	RateLimit              float64       // ECS_RATE_LIMIT: calls per second per API
	MaxMessageAge          time.Duration // MAX_MESSAGE_AGE: older transient failures are dead-lettered
	MaxAttempts            int           // MAX_ATTEMPTS: deliveries before a transient failure is dead-lettered
	Concurrency            int           // BATCH_CONCURRENCY: messages worked on at once
	LogLevel               string        // LOG_LEVEL: debug, info, warn, error
	MaxPayloadBytes        int           // MAX_PAYLOAD_BYTES: larger payloads are refused before they are parsed
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
// map in tests) and reports every bad value at once.
func FromEnv(getenv func(string) string) (Config, error) {
	c := Defaults()
	var errs []string
	bad := func(name, value, want string) {
		errs = append(errs, fmt.Sprintf("%s=%q: %s", name, value, want))
	}
	if v := first(getenv("FC_REGION"), getenv("ALIBABA_CLOUD_REGION_ID")); v != "" {
		c.Region = v
	}
	c.ECSEndpoint = strings.TrimSpace(getenv("ECS_ENDPOINT"))
	if _, err := ParseECSEndpoint(c.ECSEndpoint); err != nil {
		errs = append(errs, "ECS_ENDPOINT: "+err.Error())
	}
	c.MNSEndpoint = strings.TrimSpace(getenv("MNS_ENDPOINT"))
	if c.MNSEndpoint != "" {
		if _, err := ParseMNSEndpoint(c.MNSEndpoint); err != nil {
			errs = append(errs, "MNS_ENDPOINT: "+err.Error())
		}
	}
	c.RetryQueue = strings.TrimSpace(getenv("RETRY_QUEUE"))
	c.DeadLetterQueue = strings.TrimSpace(getenv("DEAD_LETTER_QUEUE"))
	if (c.RetryQueue != "" || c.DeadLetterQueue != "") && c.MNSEndpoint == "" {
		bad("MNS_ENDPOINT", "", "required when RETRY_QUEUE or DEAD_LETTER_QUEUE is set")
	}
	if c.RetryQueue != "" && c.RetryQueue == c.DeadLetterQueue {
		bad("DEAD_LETTER_QUEUE", c.DeadLetterQueue, "must differ from RETRY_QUEUE")
	}
	if v := getenv("FAMILY_FLOOR"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 100 {
			bad("FAMILY_FLOOR", v, "want a whole number from 0 to 100")
		}
		c.FamilyFloor = n
	}
	c.AllowedRegions = list(getenv("ALLOWED_REGIONS"))
	c.AllowedFamilies = list(getenv("ALLOWED_FAMILIES"))
	for _, p := range c.AllowedFamilies {
		// The lifecycle matches families with path.Match, which reports a
		// malformed pattern only when it gets that far: check it whole here.
		if _, err := path.Match(p, ""); err != nil {
			bad("ALLOWED_FAMILIES", p, "not a valid family pattern (path.Match syntax: * ? [a-z], with \\ to escape)")
		}
	}
	if v := getenv("EXCLUDE_TAG"); v != "" {
		switch {
		case v == "none":
			c.ExcludeTag = ""
		case !strings.Contains(v, "="):
			bad("EXCLUDE_TAG", v, `want key=value, or "none"`)
		default:
			c.ExcludeTag = v
		}
	}
	if v := getenv("UNSHARE_BEFORE_DEPRECATE"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			bad("UNSHARE_BEFORE_DEPRECATE", v, "want true or false")
		}
		c.UnshareBeforeDeprecate = b
	}
	if v := getenv("ECS_RATE_LIMIT"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f <= 0 || f > 1000 {
			bad("ECS_RATE_LIMIT", v, "want calls per second, above 0 and at most 1000")
		}
		c.RateLimit = f
	}
	if v := getenv("MAX_MESSAGE_AGE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			bad("MAX_MESSAGE_AGE", v, "want a Go duration such as 168h")
		}
		c.MaxMessageAge = d
	}
	if v := getenv("MAX_ATTEMPTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			bad("MAX_ATTEMPTS", v, "want a whole number of at least 1")
		}
		c.MaxAttempts = n
	}
	if v := getenv("BATCH_CONCURRENCY"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 64 {
			bad("BATCH_CONCURRENCY", v, "want a whole number from 1 to 64")
		}
		c.Concurrency = n
	}
	if v := getenv("MAX_PAYLOAD_BYTES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1024 || n > FCSyncPayloadLimit {
			bad("MAX_PAYLOAD_BYTES", v, fmt.Sprintf("want a number of bytes from 1024 to %d (FC's synchronous limit)", FCSyncPayloadLimit))
		}
		c.MaxPayloadBytes = n
	}
	if v := getenv("LOG_LEVEL"); v != "" {
		switch strings.ToLower(v) {
		case "debug", "info", "warn", "error":
			c.LogLevel = strings.ToLower(v)
		default:
			bad("LOG_LEVEL", v, "want debug, info, warn or error")
		}
	}
	if len(errs) > 0 {
		return c, fmt.Errorf("configuration: %s", strings.Join(errs, "; "))
	}
	return c, nil
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
