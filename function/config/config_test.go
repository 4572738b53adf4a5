package config

import (
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
		"FC_REGION": "cn-shanghai", "ECS_ENDPOINT": "http://127.0.0.1:8080", "MNS_ENDPOINT": "http://1.mns.cn-shanghai.aliyuncs.com",
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
