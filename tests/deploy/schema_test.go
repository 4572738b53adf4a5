package deploy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/config"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/intent"
	"github.com/ecs-image-lifecycle/image-lifecycle/internal/testenv"
)

// What the fc3 schema (testdata/fc3-schema.json, draft-07) really constrains,
// and what it leaves open:
//   - props: required region/functionName/runtime (+code, +handler for go1),
//     enums for region and runtime, ranges for timeout, memorySize (128..32768,
//     multiple of 64), instanceConcurrency; environmentVariables must be strings;
//     logConfig needs project and logstore (or "auto").
//   - It does NOT forbid unknown props: a misspelt "memorySise" passes it.
//   - triggerConfig is anyOf(... IOtsConfig ...) and IOtsConfig is {"type":
//     "object"}, so ANY object passes as a trigger config; the per-type
//     definitions (ITimerTriggerConfig, IEventBridge) are never enforced.
//   - IEventBridge leaves eventSourceParameters, deliveryOption and runOptions
//     open (additionalProperties: true, no properties).
//
// So the checks below are the schema plus: every prop and trigger key must be
// one the schema names; each trigger config is validated against its own
// definition; the EventBridge config is validated against fcAPIEventBridge,
// a closed schema of the FC 3.0 API names (EventBridgeTriggerConfig) with the
// values this deployment relies on.

// fcAPIEventBridge: FC 3.0 API JSON names (alibabacloud-go/fc-20230330), exact
// case, nothing else allowed, and the choices of this deployment pinned, one
// schema per eventSourceType this deployment uses: MNS (the intent queue, an
// event stream) and Default (Alibaba Cloud service events on the default bus:
// the ActionTrail records, pushed one at a time).
var fcAPIEventBridge = map[string]string{"MNS": fcAPIEventBridgeMNS, "Default": fcAPIEventBridgeDefault}

const fcAPIEventBridgeMNS = `{
  "type": "object", "additionalProperties": false,
  "required": ["triggerEnable", "asyncInvocationType", "eventRuleFilterPattern", "eventSourceConfig", "eventSinkConfig", "runOptions"],
  "properties": {
    "triggerEnable": {"type": "boolean"},
    "asyncInvocationType": {"type": "boolean"},
    "eventRuleFilterPattern": {"type": "string"},
    "eventSourceConfig": {
      "type": "object", "additionalProperties": false, "required": ["eventSourceType", "eventSourceParameters"],
      "properties": {
        "eventSourceType": {"const": "MNS"},
        "eventSourceParameters": {
          "type": "object", "additionalProperties": false, "required": ["sourceMNSParameters"],
          "properties": {
            "sourceMNSParameters": {
              "type": "object", "additionalProperties": false, "required": ["QueueName", "RegionId", "IsBase64Decode"],
              "properties": {
                "QueueName": {"type": "string", "minLength": 1},
                "RegionId": {"type": "string", "minLength": 1},
                "IsBase64Decode": {"const": false}
              }
            }
          }
        }
      }
    },
    "eventSinkConfig": {
      "type": "object", "additionalProperties": false, "required": ["deliveryOption"],
      "properties": {
        "deliveryOption": {
          "type": "object", "additionalProperties": false, "required": ["eventSchema"],
          "properties": {
            "eventSchema": {"const": "CloudEvents"},
            "concurrency": {"type": "integer", "minimum": 1}
          }
        }
      }
    },
    "runOptions": {
      "type": "object", "additionalProperties": false,
      "required": ["mode", "batchWindow", "retryStrategy", "errorsTolerance", "deadLetterQueue"],
      "properties": {
        "mode": {"const": "event-streaming"},
        "batchWindow": {
          "type": "object", "additionalProperties": false, "required": ["CountBasedWindow", "TimeBasedWindow"],
          "properties": {
            "CountBasedWindow": {"type": "integer", "minimum": 1, "maximum": 10000},
            "TimeBasedWindow": {"type": "integer", "minimum": 0, "maximum": 15}
          }
        },
        "retryStrategy": {"$ref": "fc-api-common.json#/$defs/retryStrategy"},
        "errorsTolerance": {"const": "ALL"},
        "deadLetterQueue": {"$ref": "fc-api-common.json#/$defs/deadLetterQueue"}
      }
    }
  }
}`

// fcAPIEventBridgeDefault: an event rule on the default bus. The fc3
// component's examples give only eventSourceType for it; its own schema
// (IEventBridge) requires eventSourceParameters, eventSinkConfig and
// runOptions all the same, so they are given: no parameters, CloudEvents,
// one event per push (a Default source is event-driven only), the dead-letter
// queue after the retries.
const fcAPIEventBridgeDefault = `{
  "type": "object", "additionalProperties": false,
  "required": ["triggerEnable", "asyncInvocationType", "eventRuleFilterPattern", "eventSourceConfig", "eventSinkConfig", "runOptions"],
  "properties": {
    "triggerEnable": {"type": "boolean"},
    "asyncInvocationType": {"type": "boolean"},
    "eventRuleFilterPattern": {"type": "string", "minLength": 3},
    "eventSourceConfig": {
      "type": "object", "additionalProperties": false, "required": ["eventSourceType", "eventSourceParameters"],
      "properties": {
        "eventSourceType": {"const": "Default"},
        "eventSourceParameters": {"type": "object", "maxProperties": 0}
      }
    },
    "eventSinkConfig": {
      "type": "object", "additionalProperties": false, "required": ["deliveryOption"],
      "properties": {
        "deliveryOption": {
          "type": "object", "additionalProperties": false, "required": ["eventSchema"],
          "properties": {"eventSchema": {"const": "CloudEvents"}}
        }
      }
    },
    "runOptions": {
      "type": "object", "additionalProperties": false,
      "required": ["mode", "retryStrategy", "errorsTolerance", "deadLetterQueue"],
      "properties": {
        "mode": {"const": "event-driven"},
        "retryStrategy": {"$ref": "fc-api-common.json#/$defs/retryStrategy"},
        "errorsTolerance": {"const": "ALL"},
        "deadLetterQueue": {"$ref": "fc-api-common.json#/$defs/deadLetterQueue"}
      }
    }
  }
}`

// fcAPICommon holds what both trigger schemas pin the same way, for their $refs.
const fcAPICommon = `{
  "$defs": {
    "retryStrategy": {
      "type": "object", "additionalProperties": false, "required": ["PushRetryStrategy"],
      "properties": {"PushRetryStrategy": {"enum": ["BACKOFF_RETRY", "EXPONENTIAL_DECAY_RETRY"]}}
    },
    "deadLetterQueue": {
      "type": "object", "additionalProperties": false, "required": ["Arn"],
      "properties": {"Arn": {"type": "string", "pattern": "^acs:mns:[a-z0-9-]+:[0-9]+:/queues/[A-Za-z0-9-]+$"}}
    }
  }
}`

// requiredEnv is the configuration DESIGN.md names, plus the unshare switch
// and the lifecycle policy. ECS_ENDPOINT is not among them: unset, each
// region's own endpoint serves its calls, as a copy in another region needs.
var requiredEnv = []string{
	"MNS_ENDPOINT", "RETRY_QUEUE", "DEAD_LETTER_QUEUE", "FAMILY_FLOOR", "ALLOWED_REGIONS",
	"ALLOWED_FAMILIES", "ECS_RATE_LIMIT", "MAX_MESSAGE_AGE", "LOG_LEVEL", "UNSHARE_BEFORE_DEPRECATE", "POLICY_FILE",
}

var envNameRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)

type propsValidator struct {
	props, timer, eventBridge    *jsonschema.Schema
	fcAPI                        map[string]*jsonschema.Schema // by eventSourceType
	knownProps, knownTriggerKeys map[string]bool
}

func schemaFile(t *testing.T) string {
	t.Helper()
	// A copy of the fc3 component's schema (MIT, licence beside it) lives in
	// testdata, so a clone with nothing beside it runs this test.
	p := filepath.Join("testdata", "fc3-schema.json")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("the fc3 schema is expected at tests/deploy/testdata/fc3-schema.json: %v", err)
	}
	return p
}

func newPropsValidator(t *testing.T) *propsValidator {
	t.Helper()
	file := schemaFile(t)
	c := jsonschema.NewCompiler()
	compile := func(loc string) *jsonschema.Schema {
		s, err := c.Compile(loc)
		if err != nil {
			t.Fatalf("compile %s: %v", loc, err)
		}
		return s
	}
	v := &propsValidator{
		props:       compile(file),
		timer:       compile(file + "#/definitions/ITimerTriggerConfig"),
		eventBridge: compile(file + "#/definitions/IEventBridge"),
		fcAPI:       map[string]*jsonschema.Schema{},
	}
	common, err := jsonschema.UnmarshalJSON(strings.NewReader(fcAPICommon))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddResource("https://image-lifecycle.invalid/fc-api-common.json", common); err != nil {
		t.Fatal(err)
	}
	for source, text := range fcAPIEventBridge {
		apiURL := "https://image-lifecycle.invalid/fc-api-eventbridge-" + strings.ToLower(source) + ".json"
		doc, err := jsonschema.UnmarshalJSON(strings.NewReader(text))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.AddResource(apiURL, doc); err != nil {
			t.Fatal(err)
		}
		v.fcAPI[source] = compile(apiURL)
	}

	// The names the schema knows, for the closed-world check it does not make itself.
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Properties  map[string]json.RawMessage `json:"properties"`
		Definitions struct {
			ITrigger struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"ITrigger"`
		} `json:"definitions"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	v.knownProps, v.knownTriggerKeys = keys(s.Properties), keys(s.Definitions.ITrigger.Properties)
	if len(v.knownProps) < 10 || len(v.knownTriggerKeys) < 3 {
		t.Fatalf("schema names %d props and %d trigger keys: not the fc3 schema this test was written for", len(v.knownProps), len(v.knownTriggerKeys))
	}
	return v
}

func keys(m map[string]json.RawMessage) map[string]bool {
	out := map[string]bool{}
	for k := range m {
		out[k] = true
	}
	return out
}

func validate(s *jsonschema.Schema, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return err
	}
	return s.Validate(inst)
}

// check returns every problem found in one resource's resolved props.
func (v *propsValidator) check(props map[string]any) error {
	var errs []error
	if err := validate(v.props, props); err != nil {
		errs = append(errs, fmt.Errorf("fc3 schema: %w", err))
	}
	for _, k := range sortedKeys(props) {
		if !v.knownProps[k] {
			errs = append(errs, fmt.Errorf("prop %q is not one the fc3 schema names (misspelt?)", k))
		}
	}
	for i, tr := range triggers(props) {
		where := fmt.Sprintf("triggers[%d] (%v)", i, tr["triggerName"])
		for _, k := range sortedKeys(tr) {
			if !v.knownTriggerKeys[k] {
				errs = append(errs, fmt.Errorf("%s: key %q is not one the fc3 schema names (misspelt?)", where, k))
			}
		}
		cfg := tr["triggerConfig"]
		switch tr["triggerType"] {
		case "timer":
			if err := validate(v.timer, cfg); err != nil {
				errs = append(errs, fmt.Errorf("%s: ITimerTriggerConfig: %w", where, err))
			}
			if m, _ := cfg.(map[string]any); m != nil {
				for _, k := range sortedKeys(m) {
					if k != "cronExpression" && k != "enable" && k != "payload" {
						errs = append(errs, fmt.Errorf("%s: timer config key %q is not cronExpression, enable or payload", where, k))
					}
				}
			}
		case "eventbridge":
			if err := validate(v.eventBridge, cfg); err != nil {
				errs = append(errs, fmt.Errorf("%s: IEventBridge: %w", where, err))
			}
			if err := v.checkEventBridgeAPI(cfg); err != nil {
				errs = append(errs, fmt.Errorf("%s: FC 3.0 EventBridgeTriggerConfig: %w", where, err))
			}
			if m, _ := cfg.(map[string]any); m != nil {
				if p, _ := m["eventRuleFilterPattern"].(string); !json.Valid([]byte(p)) {
					errs = append(errs, fmt.Errorf("%s: eventRuleFilterPattern %q is not JSON", where, p))
				}
			}
		default:
			errs = append(errs, fmt.Errorf("%s: trigger type %v has no check here; add one", where, tr["triggerType"]))
		}
	}
	errs = append(errs, checkEnv(props["environmentVariables"])...)
	return errors.Join(errs...)
}

// checkEventBridgeAPI validates an EventBridge trigger config against the
// closed schema of its eventSourceType.
func (v *propsValidator) checkEventBridgeAPI(cfg any) error {
	m, _ := cfg.(map[string]any)
	src, _ := m["eventSourceConfig"].(map[string]any)
	typ, _ := src["eventSourceType"].(string)
	schema, ok := v.fcAPI[typ]
	if !ok {
		return fmt.Errorf("eventSourceConfig.eventSourceType %q has no schema here (known: MNS, Default)", typ)
	}
	return validate(schema, cfg)
}

// checkEnv applies FC's rules for environment variables (names start with a
// letter, FC_ is reserved, 4 KB in all) and checks the configuration is there.
func checkEnv(v any) []error {
	env, ok := v.(map[string]any)
	if !ok {
		return []error{fmt.Errorf("environmentVariables is %T, want a map", v)}
	}
	var errs []error
	size := 0
	for _, k := range sortedKeys(env) {
		if !envNameRe.MatchString(k) {
			errs = append(errs, fmt.Errorf("environment variable %q: FC wants a letter, then letters, digits or _", k))
		}
		if strings.HasPrefix(strings.ToUpper(k), "FC_") {
			errs = append(errs, fmt.Errorf("environment variable %q: names starting with FC_ are reserved by FC", k))
		}
		if s, _ := env[k].(string); s == "" {
			// How FC treats an empty value is not documented in what we have; avoid relying on it.
			errs = append(errs, fmt.Errorf("environment variable %s is empty; give it an explicit value", k))
		}
		size += len(k) + len(fmt.Sprint(env[k]))
	}
	if size > 4096 {
		errs = append(errs, fmt.Errorf("environment variables take %d bytes; FC allows 4 KB", size))
	}
	for _, k := range requiredEnv {
		if _, ok := env[k]; !ok {
			errs = append(errs, fmt.Errorf("environment variable %s is missing", k))
		}
	}
	return errs
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// checkRotatePayload: the timer's payload is an intent, as the function reads it.
func checkRotatePayload(payload string, withPolicy bool) error {
	dec := json.NewDecoder(strings.NewReader(payload))
	dec.DisallowUnknownFields()
	var in intent.Intent
	if err := dec.Decode(&in); err != nil {
		return fmt.Errorf("payload %q is not an intent: %w", payload, err)
	}
	if dec.More() {
		return fmt.Errorf("payload %q has data after the intent", payload)
	}
	switch {
	case in.Action != intent.ActionRotate:
		return fmt.Errorf("payload %q: want a rotate intent", payload)
	case len(in.ImageFamilies)+len(in.ImageFamily) == 0 && !withPolicy:
		return fmt.Errorf("payload %q: a rotate naming no family needs POLICY_FILE (the policy's families)", payload)
	}
	return nil
}

func TestPropsMatchTheFC3Schema(t *testing.T) {
	t.Parallel()
	v := newPropsValidator(t)
	all := resolvedProps(t)
	if len(all) != 2 {
		t.Fatalf("found %d resources, want the go1 one and the commented custom runtime one", len(all))
	}
	for name, props := range all {
		if err := v.check(props); err != nil {
			t.Errorf("resource %s:\n%v", name, err)
		}
	}
}

// TestChecksCatchTypos mutates a copy of the go1 resource's props and expects
// each mistake to be refused, naming which check refuses it.
func TestChecksCatchTypos(t *testing.T) {
	t.Parallel()
	v := newPropsValidator(t)
	base := resolvedProps(t)["imageLifecycle"]
	if base == nil {
		t.Fatal("no imageLifecycle resource")
	}
	trigger := func(p map[string]any, typ string) map[string]any {
		for _, tr := range triggers(p) {
			if tr["triggerType"] == typ {
				return tr
			}
		}
		t.Fatalf("no %s trigger", typ)
		return nil
	}
	cfg := func(p map[string]any, typ string) map[string]any {
		return trigger(p, typ)["triggerConfig"].(map[string]any)
	}
	sub := func(m map[string]any, path ...string) map[string]any {
		for _, k := range path {
			m = m[k].(map[string]any)
		}
		return m
	}
	// events is the trigger config of the ActionTrail rule (eventSourceType Default).
	events := func(p map[string]any) map[string]any {
		for _, tr := range triggers(p) {
			c, _ := tr["triggerConfig"].(map[string]any)
			if src, _ := c["eventSourceConfig"].(map[string]any); src != nil && src["eventSourceType"] == "Default" {
				return c
			}
		}
		t.Fatal("no trigger with eventSourceType Default")
		return nil
	}
	tests := []struct {
		name   string
		mutate func(p map[string]any)
		want   string // part of the error, naming the check that refuses it
	}{
		{"events pushed as a stream", func(p map[string]any) { sub(events(p), "runOptions")["mode"] = "event-streaming" }, "/runOptions/mode"},
		{"events with source parameters", func(p map[string]any) {
			sub(events(p), "eventSourceConfig", "eventSourceParameters")["sourceMNSParameters"] = map[string]any{"QueueName": "q"}
		}, "/eventSourceConfig/eventSourceParameters"},
		{"events without a dead-letter queue", func(p map[string]any) { delete(sub(events(p), "runOptions"), "deadLetterQueue") }, "deadLetterQueue"},
		{"an event source type without a schema", func(p map[string]any) { sub(events(p), "eventSourceConfig")["eventSourceType"] = "Kafka" }, `"Kafka" has no schema here`},
		{"memorySize below the minimum", func(p map[string]any) { p["memorySize"] = 100 }, "/memorySize"},
		{"memorySize not a multiple of 64", func(p map[string]any) { p["memorySize"] = 1000 }, "/memorySize"},
		{"timeout zero", func(p map[string]any) { p["timeout"] = 0 }, "/timeout"},
		{"runtime misspelt", func(p map[string]any) { p["runtime"] = "golang1" }, "/runtime"},
		{"region misspelt", func(p map[string]any) { p["region"] = "cn-hangzou" }, "/region"},
		{"handler missing for go1", func(p map[string]any) { delete(p, "handler") }, "missing property 'handler'"},
		{"environment value not a string", func(p map[string]any) { sub(p, "environmentVariables")["FAMILY_FLOOR"] = 1 }, "/environmentVariables/FAMILY_FLOOR"},
		{"logstore misspelt", func(p map[string]any) {
			l := sub(p, "logConfig")
			l["logStore"] = l["logstore"]
			delete(l, "logstore")
		}, "/logConfig"},
		{"trigger type misspelt", func(p map[string]any) { trigger(p, "timer")["triggerType"] = "Timer" }, "/triggers/1/triggerType"},
		// The schema itself lets these through; the extra checks do not.
		{"prop misspelt", func(p map[string]any) { p["memorySise"] = p["memorySize"] }, `prop "memorySise" is not one the fc3 schema names`},
		{"trigger key misspelt", func(p map[string]any) { trigger(p, "timer")["qualifer"] = "LATEST" }, `key "qualifer"`},
		{"timer without enable", func(p map[string]any) { delete(cfg(p, "timer"), "enable") }, "ITimerTriggerConfig"},
		{"timer key misspelt", func(p map[string]any) { cfg(p, "timer")["cronExpresion"] = "0 0 3 * * *" }, `timer config key "cronExpresion"`},
		{"eventbridge IsBase64Decode misspelt", func(p map[string]any) {
			m := sub(cfg(p, "eventbridge"), "eventSourceConfig", "eventSourceParameters", "sourceMNSParameters")
			m["IsBase64decode"] = m["IsBase64Decode"]
			delete(m, "IsBase64Decode")
		}, "IsBase64decode"},
		{"eventbridge base64 decoding left on", func(p map[string]any) {
			sub(cfg(p, "eventbridge"), "eventSourceConfig", "eventSourceParameters", "sourceMNSParameters")["IsBase64Decode"] = true
		}, "IsBase64Decode"},
		{"eventbridge errorsTolerance NONE", func(p map[string]any) { sub(cfg(p, "eventbridge"), "runOptions")["errorsTolerance"] = "NONE" }, "errorsTolerance"},
		{"eventbridge batch window too long", func(p map[string]any) {
			sub(cfg(p, "eventbridge"), "runOptions", "batchWindow")["TimeBasedWindow"] = 60
		}, "TimeBasedWindow"},
		{"eventbridge filter not JSON", func(p map[string]any) { cfg(p, "eventbridge")["eventRuleFilterPattern"] = "{" }, "eventRuleFilterPattern"},
		{"eventbridge without asyncInvocationType", func(p map[string]any) { delete(cfg(p, "eventbridge"), "asyncInvocationType") }, "IEventBridge"},
		{"reserved FC_ variable", func(p map[string]any) { sub(p, "environmentVariables")["FC_REGION"] = "cn-hangzhou" }, "reserved by FC"},
		{"configuration empty", func(p map[string]any) { sub(p, "environmentVariables")["ALLOWED_FAMILIES"] = "" }, "ALLOWED_FAMILIES is empty"},
		{"configuration missing", func(p map[string]any) { delete(sub(p, "environmentVariables"), "RETRY_QUEUE") }, "RETRY_QUEUE is missing"},
		{"environment too large", func(p map[string]any) {
			sub(p, "environmentVariables")["ALLOWED_FAMILIES"] = strings.Repeat("f", 4096)
		}, "FC allows 4 KB"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := jsonValue(t, base) // a deep copy
			tc.mutate(p)
			err := v.check(p)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("refused, but not by the expected check (want %q in):\n%v", tc.want, err)
			}
			t.Log(err)
		})
	}
}

func TestCheckRotatePayload(t *testing.T) {
	t.Parallel()
	tests := []struct {
		payload string
		ok      bool
		policy  bool
	}{
		{`{"action":"rotate","imageFamilies":["web-*"],"keep":3,"minAge":"168h"}`, true, false},
		{`{"action":"rotate","imageFamily":"web","minAge":"7d"}`, true, false},
		{`{"action":"rotate","imageFamilies":["web-*"],"kep":3}`, false, true}, // unknown field
		{`{"action":"rotate"}`, false, false},                                  // no family, no policy
		{`{"action":"rotate"}`, true, true},                                    // the policy's families
		{`{"action":"deprecate","imageId":"m-1"}`, false, true},                // not a rotation
		{`{"action":"rotate","imageFamilies":["web-*"]}{}`, false, true},       // trailing data
		{`action: rotate`, false, true},
	}
	for _, tc := range tests {
		if err := checkRotatePayload(tc.payload, tc.policy); (err == nil) != tc.ok {
			t.Errorf("checkRotatePayload(%s, policy %v) = %v, want ok=%v", tc.payload, tc.policy, err, tc.ok)
		}
	}
}

// TestEnvironmentIsAValidConfiguration reads each resource's environment the
// way the function does at start (plus the FC_REGION FC injects), so a value
// the function would refuse fails here rather than on the first invocation.
func TestEnvironmentIsAValidConfiguration(t *testing.T) {
	t.Parallel()
	for name, props := range resolvedProps(t) {
		env, _ := props["environmentVariables"].(map[string]any)
		getenv := func(k string) string {
			if k == "FC_REGION" {
				return fmt.Sprint(props["region"])
			}
			s, _ := env[k].(string)
			return s
		}
		// The code package as FC unpacks it: /code/lifecycle-policy.json is
		// the copy the pre-deploy action makes (TestPolicyShipsWithTheCode).
		readFile := func(path string) ([]byte, error) {
			if path == PolicyFile {
				return os.ReadFile(filepath.Join(testenv.Root(t), filepath.FromSlash(PolicySource)))
			}
			return nil, fmt.Errorf("%s is not in the code package", path)
		}
		c, err := config.FromEnvFiles(getenv, readFile)
		if err != nil {
			t.Errorf("resource %s: %v", name, err)
			continue
		}
		if c.Policy == nil || len(c.Policy.Families()) == 0 {
			t.Errorf("resource %s: no lifecycle policy", name)
		}
		if c.RetryQueue == "" || c.DeadLetterQueue == "" || c.MNSEndpoint == "" {
			t.Errorf("resource %s: retry %q, dead-letter %q, MNS %q: deferral and dead-lettering must be on", name, c.RetryQueue, c.DeadLetterQueue, c.MNSEndpoint)
		}
	}
}
