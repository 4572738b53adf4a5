package deploy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/actiontrail"
	"github.com/ecs-image-lifecycle/image-lifecycle/internal/testenv"
)

// actionTrailPattern is the event pattern of the go1 resource's trigger on
// the default bus, parsed.
func actionTrailPattern(t *testing.T) map[string]any {
	t.Helper()
	for _, tr := range triggers(resolvedProps(t)["imageLifecycle"]) {
		cfg, _ := tr["triggerConfig"].(map[string]any)
		src, _ := cfg["eventSourceConfig"].(map[string]any)
		if src["eventSourceType"] != "Default" {
			continue
		}
		var p map[string]any
		if err := json.Unmarshal([]byte(cfg["eventRuleFilterPattern"].(string)), &p); err != nil {
			t.Fatalf("eventRuleFilterPattern: %v", err)
		}
		return p
	}
	t.Fatal("no EventBridge trigger with eventSourceType Default")
	return nil
}

// matches applies an EventBridge pattern made of exact-value lists and
// nested objects (the only forms this pattern uses) to an event.
func matches(pattern, event map[string]any) bool {
	for k, want := range pattern {
		switch w := want.(type) {
		case []any:
			if !slices.Contains(w, event[k]) {
				return false
			}
		case map[string]any:
			sub, ok := event[k].(map[string]any)
			if !ok || !matches(w, sub) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// TestActionTrailPattern: the rule asks for exactly the events the function
// reads (actiontrail's types and calls), and it lets through every
// ActionTrail sample and none of the other samples.
func TestActionTrailPattern(t *testing.T) {
	t.Parallel()
	p := actionTrailPattern(t)
	want := map[string]any{
		"source": []any{"acs.ecs"},
		"type":   []any{actiontrail.TypeAPICall, actiontrail.TypeConsoleOperation},
		"data":   map[string]any{"eventName": []any{actiontrail.CreateImage, actiontrail.CopyImage, actiontrail.ImportImage}},
	}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("pattern %v, want %v", p, want)
	}
	var samples []string
	for _, glob := range []string{"*.json", "triggers/*.json"} {
		m, err := filepath.Glob(filepath.Join(testenv.Root(t), "events", glob))
		if err != nil {
			t.Fatal(err)
		}
		samples = append(samples, m...)
	}
	trail := 0
	for _, path := range samples {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var event map[string]any
		_ = json.Unmarshal(raw, &event) // an array or no JSON: no event the rule could see
		isTrail := strings.Contains(filepath.Base(path), "actiontrail-")
		if isTrail {
			trail++
		}
		if got := event != nil && matches(p, event); got != isTrail {
			t.Errorf("%s: matched %v, want %v", filepath.Base(path), got, isTrail)
		}
	}
	if trail < 5 {
		t.Errorf("only %d ActionTrail samples", trail)
	}
}
