package trigger

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/actiontrail"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/intent"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json from what Decode returns now")

// fixtureDir holds the sample payloads shared with the CLI and end-to-end tests.
const fixtureDir = "../../events/triggers"

// goldenMessage is Message as a golden file records it: Err is kept as text,
// since Message itself does not marshal it.
type goldenMessage struct {
	ID      string          `json:"id"`
	Source  string          `json:"source"`
	Attempt int             `json:"attempt"`
	Body    json.RawMessage `json:"body,omitempty"`
	Event   bool            `json:"event,omitempty"`
	Err     string          `json:"err,omitempty"`
}

type golden struct {
	Shape    Shape           `json:"shape"`
	Messages []goldenMessage `json:"messages"`
}

func toGolden(payload []byte) golden {
	g := golden{Shape: detect(payload), Messages: []goldenMessage{}}
	for _, m := range Decode(payload) {
		gm := goldenMessage{ID: m.ID, Source: m.Source, Attempt: m.Attempt, Body: m.Body, Event: m.Event}
		if m.Err != nil {
			gm.Err = m.Err.Error()
		}
		g.Messages = append(g.Messages, gm)
	}
	return g
}

// TestFixturesGolden decodes every events/triggers/X.json and compares the
// result, as JSON, with testdata/X.golden.json. Run with -update to rewrite.
func TestFixturesGolden(t *testing.T) {
	t.Parallel()
	paths, err := filepath.Glob(filepath.Join(fixtureDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(paths))
	for _, p := range paths {
		names = append(names, strings.TrimSuffix(filepath.Base(p), ".json"))
	}
	// Every documented shape must have its fixture: a missing file must fail
	// here rather than silently shrink the test.
	for _, want := range []string{
		"mns-stream-batch", "mns-stream-single", "mns-event-driven", "mns-base64", "mns-rawdata",
		"eventbridge-custom", "eventbridge-custom-string", "timer", "timer-array", "direct", "direct-array",
		"malformed-body", "unknown-shape", "empty-array",
		"actiontrail-createimage", "actiontrail-createimage-noresponse", "actiontrail-copyimage", "actiontrail-importimage", "actiontrail-failed",
	} {
		if !slices.Contains(names, want) {
			t.Errorf("fixture %s.json is missing from %s", want, fixtureDir)
		}
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			payload, err := os.ReadFile(filepath.Join(fixtureDir, name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.MarshalIndent(toGolden(payload), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			goldenPath := filepath.Join("testdata", name+".golden.json")
			if *update {
				if err := os.WriteFile(goldenPath, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(goldenPath)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			assertSameJSON(t, got, want)
		})
	}
}

// assertSameJSON compares two JSON documents by value, so that formatting of
// the golden file does not matter.
func assertSameJSON(t *testing.T, got, want []byte) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("got is not JSON: %v", err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("golden is not JSON: %v", err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("decoded messages differ from the golden file\n got: %s\nwant: %s", compactJSON(got), compactJSON(want))
	}
}

func compactJSON(b []byte) string {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return string(b)
	}
	return buf.String()
}

// TestFixtureIntentsAreValid makes sure the sample payloads carry valid v1
// intents, so that the CLI and end-to-end tests can run them as they are: every
// message of every fixture that is not meant to be rejected must pass
// intent.Parse.
func TestFixtureIntentsAreValid(t *testing.T) {
	t.Parallel()
	rejected := map[string]bool{"malformed-body": true, "unknown-shape": true}
	paths, err := filepath.Glob(filepath.Join(fixtureDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		name := strings.TrimSuffix(filepath.Base(p), ".json")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			payload, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			for i, m := range Decode(payload) {
				if rejected[name] {
					if m.Err == nil {
						t.Errorf("message %d (%s) decoded, but this fixture must be rejected", i, m.ID)
					}
					continue
				}
				if m.Err != nil {
					t.Errorf("message %d (%s): %v", i, m.ID, m.Err)
					continue
				}
				if m.Event != strings.HasPrefix(name, "actiontrail-") {
					t.Errorf("message %d (%s): Event = %v", i, m.ID, m.Event)
				}
				if m.Event {
					rec, err := actiontrail.Decode(m.Body)
					if err != nil {
						t.Errorf("message %d (%s) is not an ActionTrail record of ours: %v", i, m.ID, err)
					} else if _, err := intent.FromEvent(rec, m.Body); err != nil {
						t.Errorf("message %d (%s) is not a valid promote: %v", i, m.ID, err)
					}
					continue
				}
				if _, err := intent.Parse(m.Body); err != nil {
					t.Errorf("message %d (%s) is not a valid intent: %v", i, m.ID, err)
				}
			}
		})
	}
}
