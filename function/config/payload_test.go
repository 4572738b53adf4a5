package config

import (
	"strings"
	"testing"
)

func TestMaxPayloadBytes(t *testing.T) {
	t.Parallel()
	c, err := FromEnv(env(nil))
	if err != nil || c.MaxPayloadBytes != DefaultMaxPayloadBytes || c.MaxPayloadBytes > FCSyncPayloadLimit {
		t.Fatalf("default %d, err %v", c.MaxPayloadBytes, err)
	}
	c, err = FromEnv(env(map[string]string{"MAX_PAYLOAD_BYTES": "1048576"}))
	if err != nil || c.MaxPayloadBytes != 1<<20 {
		t.Fatalf("got %d, err %v", c.MaxPayloadBytes, err)
	}
	for _, bad := range []string{"1MB", "-1", "0", "1023", "33554433"} {
		if _, err := FromEnv(env(map[string]string{"MAX_PAYLOAD_BYTES": bad})); err == nil || !strings.Contains(err.Error(), "MAX_PAYLOAD_BYTES") {
			t.Errorf("MAX_PAYLOAD_BYTES=%s: %v", bad, err)
		}
	}
}
