package config

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaults(t *testing.T) {
	t.Parallel()
	c, err := FromEnv(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.FamilyFloor != 1 || c.RateLimit != 16 || c.ExcludeTag != "lifecycle:keep=true" || c.MaxMessageAge != 168*time.Hour {
		t.Fatalf("unexpected defaults: %+v", c)
	}
}

func TestFromEnvReadsEveryVariable(t *testing.T) {
	t.Parallel()
	c, err := FromEnv(env(map[string]string{
		"FC_REGION": "cn-shanghai", "ECS_ENDPOINT": "http://127.0.0.1:8080", "MNS_ENDPOINT": "http://1.mns.cn-shanghai.aliyuncs.com/",
		"RETRY_QUEUE": "intents", "DEAD_LETTER_QUEUE": "intents-dlq", "FAMILY_FLOOR": "2",
		"ALLOWED_REGIONS": "cn-shanghai, cn-beijing", "ALLOWED_FAMILIES": "web-*,api", "EXCLUDE_TAG": "none",
		"UNSHARE_BEFORE_DEPRECATE": "true", "ECS_RATE_LIMIT": "5", "MAX_MESSAGE_AGE": "48h", "MAX_ATTEMPTS": "3",
		"BATCH_CONCURRENCY": "2", "LOG_LEVEL": "DEBUG",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Region != "cn-shanghai" || c.FamilyFloor != 2 || len(c.AllowedRegions) != 2 || c.AllowedRegions[1] != "cn-beijing" ||
		c.ExcludeTag != "" || !c.UnshareBeforeDeprecate || c.RateLimit != 5 || c.MaxMessageAge != 48*time.Hour ||
		c.MaxAttempts != 3 || c.Concurrency != 2 || c.LogLevel != "debug" || c.RetryQueue != "intents" {
		t.Fatalf("not read as set: %+v", c)
	}
}

// ECS_RATE_LIMIT=off turns the client-side limit off: RateLimit 0, which the
// wiring hands to retry.NewLimiter, which then limits nothing.
func TestRateLimitOff(t *testing.T) {
	t.Parallel()
	c, err := FromEnv(env(map[string]string{"ECS_RATE_LIMIT": "off"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.RateLimit != 0 {
		t.Fatalf("ECS_RATE_LIMIT=off: RateLimit %v, want 0 (no limit)", c.RateLimit)
	}
}

func TestFromEnvRejectsBadValues(t *testing.T) {
	t.Parallel()
	cases := map[string]map[string]string{
		"FAMILY_FLOOR":             {"FAMILY_FLOOR": "-1"},
		"ECS_RATE_LIMIT":           {"ECS_RATE_LIMIT": "fast"},
		"MAX_MESSAGE_AGE":          {"MAX_MESSAGE_AGE": "7 days"},
		"MAX_ATTEMPTS":             {"MAX_ATTEMPTS": "0"},
		"LOG_LEVEL":                {"LOG_LEVEL": "loud"},
		"EXCLUDE_TAG":              {"EXCLUDE_TAG": "keep"},
		"UNSHARE_BEFORE_DEPRECATE": {"UNSHARE_BEFORE_DEPRECATE": "maybe"},
		"MNS_ENDPOINT":             {"RETRY_QUEUE": "q"},
		"DEAD_LETTER_QUEUE":        {"RETRY_QUEUE": "q", "DEAD_LETTER_QUEUE": "q", "MNS_ENDPOINT": "http://1.mns.cn-hangzhou.aliyuncs.com"},
		"BATCH_CONCURRENCY":        {"BATCH_CONCURRENCY": "100"},
		"ECS_ENDPOINT":             {"ECS_ENDPOINT": "http://10.0.0.1:8080"},
		"ALLOWED_FAMILIES":         {"ALLOWED_FAMILIES": "["},
	}
	for name, vars := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := FromEnv(env(vars))
			if err == nil || !strings.Contains(err.Error(), name) {
				t.Fatalf("want an error naming %s, got %v", name, err)
			}
		})
	}
}

// TestBadValuesStopTheStart: each value is refused at start, naming the
// variable, instead of failing every message later.
func TestBadValuesStopTheStart(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, value, want string }{
		{"ECS_ENDPOINT", "http://10.0.0.1:8080", "plain http is allowed only for a loopback host"},
		{"ECS_ENDPOINT", "http://ecs.cn-hangzhou.aliyuncs.com", "plain http"},
		{"ECS_ENDPOINT", "ftp://ecs.cn-hangzhou.aliyuncs.com", "scheme must be https"},
		{"ECS_ENDPOINT", "https://ecs.cn-hangzhou.aliyuncs.com/path", "scheme and host only"},
		{"ECS_ENDPOINT", "https://user:hunter2@ecs.cn-hangzhou.aliyuncs.com", "scheme and host only"},
		{"ECS_ENDPOINT", "http://a b", "not a URL"},
		{"ALLOWED_FAMILIES", "[", "not a valid family pattern"},
		{"ALLOWED_FAMILIES", "web-*, api-[", `"api-["`},
		{"MNS_ENDPOINT", "http://127.0.0.1:9/fake.mns", "without a path"},
		{"MNS_ENDPOINT", "http://mns.cn-hangzhou.aliyuncs.com", "exactly 5"},
		{"MNS_ENDPOINT", "http://u:hunter2@1.mns.cn-hangzhou.aliyuncs.com", "user information"},
	} {
		t.Run(tc.name+"="+tc.value, func(t *testing.T) {
			t.Parallel()
			_, err := FromEnv(env(map[string]string{tc.name: tc.value}))
			if err == nil || !strings.Contains(err.Error(), tc.name) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error naming %s and saying %q", err, tc.name, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("the error shows the password: %v", err)
			}
		})
	}
}

func TestLoopbackEndpointsAreAccepted(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"http://127.0.0.1:8080", "http://localhost:8080", "http://[::1]:8080", "http://LOCALHOST:1", "http://127.0.0.2:9"} {
		c, err := FromEnv(env(map[string]string{"ECS_ENDPOINT": u, "MNS_ENDPOINT": u, "RETRY_QUEUE": "q"}))
		if err != nil {
			t.Errorf("%s: %v", u, err)
			continue
		}
		if c.ECSEndpoint != u || c.MNSEndpoint != u {
			t.Errorf("%s: read as %q and %q", u, c.ECSEndpoint, c.MNSEndpoint)
		}
	}
}

func TestIsLoopback(t *testing.T) {
	t.Parallel()
	for host, want := range map[string]bool{
		"localhost": true, "LocalHost": true, "127.0.0.1": true, "127.1.2.3": true, "::1": true,
		"10.0.0.1": false, "0.0.0.0": false, "localhost.example.com": false, "[::1]": false, "": false,
		"ecs.cn-hangzhou.aliyuncs.com": false,
	} {
		if got := IsLoopback(host); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestParseEndpoints(t *testing.T) {
	t.Parallel()
	for raw, want := range map[string]Endpoint{
		"":                                      {},
		"ecs-vpc.cn-hangzhou.aliyuncs.com":      {Scheme: "https", Host: "ecs-vpc.cn-hangzhou.aliyuncs.com"},
		"HTTPS://ecs.cn-hangzhou.aliyuncs.com/": {Scheme: "https", Host: "ecs.cn-hangzhou.aliyuncs.com"},
		"http://[::1]:8080":                     {Scheme: "http", Host: "[::1]:8080"},
		"http://localhost:8080":                 {Scheme: "http", Host: "localhost:8080"},
	} {
		got, err := ParseECSEndpoint(raw)
		if err != nil || got != want {
			t.Errorf("ParseECSEndpoint(%q) = %+v, %v; want %+v", raw, got, err, want)
		}
	}
	for raw, want := range map[string]string{
		"http://1234567890.mns.cn-hangzhou-internal.aliyuncs.com": "http://1234567890.mns.cn-hangzhou-internal.aliyuncs.com",
		"https://1234567890.mns.cn-hangzhou.aliyuncs.com/":        "https://1234567890.mns.cn-hangzhou.aliyuncs.com",
		"http://127.0.0.1:8080":                                   "http://127.0.0.1:8080",
		"http://[::1]:8080/":                                      "http://[::1]:8080",
	} {
		got, err := ParseMNSEndpoint(raw)
		if err != nil || got.URL() != want {
			t.Errorf("ParseMNSEndpoint(%q) = %s, %v; want %s", raw, got.URL(), err, want)
		}
	}
}

// TestFromEnvRefusesWhatNoPackageChecksAgain: the rules of the queues and the
// retry limits live here alone (queue.New takes its values as valid), so
// each refusal names the variable and says what is wanted.
func TestFromEnvRefusesWhatNoPackageChecksAgain(t *testing.T) {
	t.Parallel()
	const mns = "http://1234567890.mns.cn-hangzhou-internal.aliyuncs.com"
	for _, tc := range []struct {
		name string
		vars map[string]string
		want string
	}{
		{"bad retry queue name", map[string]string{"MNS_ENDPOINT": mns, "RETRY_QUEUE": "retry_queue"}, `RETRY_QUEUE="retry_queue": not a valid MNS queue name`},
		{"bad dead-letter queue name", map[string]string{"MNS_ENDPOINT": mns, "DEAD_LETTER_QUEUE": "-dlq"}, `DEAD_LETTER_QUEUE="-dlq": not a valid MNS queue name`},
		{"queue name too long", map[string]string{"MNS_ENDPOINT": mns, "RETRY_QUEUE": "q" + strings.Repeat("1", 120)}, "RETRY_QUEUE"},
		{"same queue twice", map[string]string{"MNS_ENDPOINT": mns, "RETRY_QUEUE": "q", "DEAD_LETTER_QUEUE": "q"}, "must differ from RETRY_QUEUE"},
		{"negative age", map[string]string{"MAX_MESSAGE_AGE": "-1h"}, "MAX_MESSAGE_AGE"},
		{"zero age", map[string]string{"MAX_MESSAGE_AGE": "0s"}, "MAX_MESSAGE_AGE"},
		{"negative attempts", map[string]string{"MAX_ATTEMPTS": "-1"}, "MAX_ATTEMPTS"},
		{"rate not a number", map[string]string{"ECS_RATE_LIMIT": "NaN"}, "ECS_RATE_LIMIT"},
		{"rate infinite", map[string]string{"ECS_RATE_LIMIT": "+Inf"}, "ECS_RATE_LIMIT"},
		{"rate zero", map[string]string{"ECS_RATE_LIMIT": "0"}, "ECS_RATE_LIMIT"},
		{"rate off, not quite", map[string]string{"ECS_RATE_LIMIT": "OFF"}, `or "off"`},
		{"floor above 100", map[string]string{"FAMILY_FLOOR": "101"}, "FAMILY_FLOOR"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := FromEnv(env(tc.vars))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error saying %q", err, tc.want)
			}
		})
	}
	for _, q := range []string{"image-intents", "q", "0-dlq", strings.Repeat("q", 120)} {
		if _, err := FromEnv(env(map[string]string{"MNS_ENDPOINT": mns, "RETRY_QUEUE": q})); err != nil {
			t.Errorf("RETRY_QUEUE=%s: %v", q, err)
		}
	}
}

func TestFromEnvReadsThePolicy(t *testing.T) {
	t.Parallel()
	const text = `{"version":1,"families":[{"match":"web","keep":3}]}`
	files := map[string]string{"/code/lifecycle-policy.json": text, "/code/bad.json": `{"version":1,"families":[{"match":"web","keep":0}]}`}
	readFile := func(name string) ([]byte, error) {
		if s, ok := files[name]; ok {
			return []byte(s), nil
		}
		return nil, fmt.Errorf("open %s: no such file or directory", name)
	}
	tests := []struct {
		name string
		vars map[string]string
		keep int      // of web; 0 = no policy
		says []string // in the error; none = no error
	}{
		{"none", nil, 0, nil},
		{"a file", map[string]string{"POLICY_FILE": "/code/lifecycle-policy.json"}, 3, nil},
		{"inline", map[string]string{"POLICY": text}, 3, nil},
		{"a bad file names the file and the field", map[string]string{"POLICY_FILE": "/code/bad.json"}, 0,
			[]string{"POLICY_FILE=/code/bad.json", "InvalidParameter.Keep", "families[0].keep"}},
		{"a file that is not there", map[string]string{"POLICY_FILE": "/code/gone.json"}, 0,
			[]string{"POLICY_FILE=/code/gone.json", "InvalidParameter.PolicyFile", "no such file"}},
		{"a bad inline policy", map[string]string{"POLICY": `{"version":1,"families":[],"nmes":[]}`}, 0,
			[]string{"POLICY: ", "InvalidParameter.UnknownField", "nmes"}},
		{"both", map[string]string{"POLICY": text, "POLICY_FILE": "/code/lifecycle-policy.json"}, 0,
			[]string{"InvalidParameter.PolicyConflict", "POLICY_FILE and POLICY are both set"}},
		{"with another bad value, both are reported", map[string]string{"POLICY_FILE": "/code/bad.json", "FAMILY_FLOOR": "-1"}, 0,
			[]string{"families[0].keep", "FAMILY_FLOOR"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := FromEnvFiles(env(tt.vars), readFile)
			if len(tt.says) > 0 {
				if err == nil {
					t.Fatal("accepted")
				}
				for _, s := range tt.says {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error does not say %q: %v", s, err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			rule, ok := c.Policy.Family("web")
			if got := map[bool]int{true: rule.Keep}[ok]; got != tt.keep {
				t.Errorf("keep of web = %d (covered %v), want %d", got, ok, tt.keep)
			}
		})
	}
}
