package intent

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/strictjson"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/trigger"
)

// marshalWithRetry is the intent as JSON with its retry object set to r, as
// a deferred message carries it (queue.Defer sets the object in the body as
// received, which the trigger layer hands over unchanged).
func marshalWithRetry(in Intent, r Retry) ([]byte, error) {
	in.Retry = &r
	return json.Marshal(in)
}

func TestMarshalWithRetryRoundTrip(t *testing.T) {
	t.Parallel()
	for _, name := range fixtures(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			orig, err := Parse(fixture(t, name))
			if err != nil {
				t.Fatal(err)
			}
			r := Retry{
				Attempt:   4,
				FirstSeen: time.Date(2026, 11, 27, 9, 15, 30, 123456789, time.UTC),
				LastError: "InvalidStatus.ImageIsCreating",
				MessageID: "5F2B6C0F1A2B3C4D-1-18D",
			}
			body, err := marshalWithRetry(orig, r)
			if err != nil {
				t.Fatal(err)
			}
			back, err := Parse(body)
			if err != nil {
				t.Fatalf("re-enqueued body %s does not parse: %v", body, err)
			}
			if back.Retry == nil || *back.Retry != r {
				t.Errorf("retry read back as %+v, want %+v", back.Retry, r)
			}
			back.Retry = orig.Retry
			if !reflect.DeepEqual(back, orig) {
				t.Errorf("intent changed on the round trip:\n got  %+v\n want %+v", back, orig)
			}
			if again, _ := Parse(fixture(t, name)); !reflect.DeepEqual(again, orig) {
				t.Errorf("marshalWithRetry changed its argument")
			}
		})
	}
}

func TestMarshalWithRetryReplacesRetry(t *testing.T) {
	t.Parallel()
	orig, err := Parse(fixture(t, "deferred.json"))
	if err != nil {
		t.Fatal(err)
	}
	next := *orig.Retry
	next.Attempt++
	body, err := marshalWithRetry(orig, next)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	if back.Retry.Attempt != 4 || !back.Retry.FirstSeen.Equal(orig.Retry.FirstSeen) || back.Retry.MessageID != orig.Retry.MessageID {
		t.Errorf("retry = %+v, want attempt 4 and the original firstSeen and messageId", back.Retry)
	}
	if orig.Retry.Attempt != 3 {
		t.Errorf("the receiver's retry changed to %+v", orig.Retry)
	}
}

// FuzzParse checks that Parse never panics, that a refusal is always Errors
// with codes and messages, that an accepted body passes the strict reading
// every envelope gets, that what Decode accepts reads as encoding/json reads
// it (the strings, which are slices of one copy of the body, included), and
// that an accepted intent re-marshals and re-parses to the same value (what
// the retry queue relies on). Seeded from testdata, from every intent the
// samples in events/ carry (as the trigger layer cuts them out), and from
// testdata/fuzz.
//
//	go test ./function/intent -run '^$' -fuzz FuzzParse -fuzztime 60s
func FuzzParse(f *testing.F) {
	for _, name := range fixtures(f) {
		f.Add(fixture(f, name))
	}
	for _, body := range sampleIntents(f) {
		f.Add(body)
	}
	for _, s := range []string{
		``, `[]`, `null`, `{}`, `{"action":"rotate","imageFamily":"web"} {}`,
		`{"action":"rotate","imageFamily":"web","minAge":7,"keep":0}`,
		`{"action":"rotate","imageFamilies":[],"imageFamily":"web","minAge":"1.5d"}`,
		`{"action":"modify","imageId":"m-1","attributes":{"imageName":"镜像","features":{}}}`,
		`{"action":"promote","imageId":"m-1","attributes":{},"retry":{"attempt":1,"firstSeen":"2026-11-27T17:30:00.5+08:00"}}`,
		`{"Action":"modify","attributes":{"ImageName":"x"}}`,
		`{"action":"deprecate","imageId":"m-1","id":"\ud800"}`,
		`{"action":"modify","imageId":"m-1","attributes":{"description":"\xff\xfe"}}`,
		` { "id" : "a" , "action":"modify","imageId":"m-1","attributes":{"imageName":"a\u00e9b","description":"",` +
			`"imageFamily":"f\"g","status":"Available","features":{"nvmeSupport":"supported"}},"regionId" :"cn-hangzhou"} `,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if in, err := Decode(body); err == nil {
			if want := asEncodingJSON(t, body); !reflect.DeepEqual(in, want) {
				t.Fatalf("body %q reads as\n %#v\nencoding/json reads it as\n %#v", body, in, want)
			}
		}
		in, err := Parse(body)
		if err == nil && strictjson.Check(body) != nil {
			t.Fatalf("accepted a body the strict reading refuses: %v", strictjson.Check(body))
		}
		if err != nil {
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("error %v is not a non-empty Errors", err)
			}
			for _, e := range es {
				if e.Code == "" || e.Message == "" {
					t.Fatalf("violation without code or message: %#v", e)
				}
			}
			return
		}
		again, err := json.Marshal(in)
		if err != nil {
			t.Fatalf("accepted intent %+v does not marshal: %v", in, err)
		}
		back, err := Parse(again)
		if err != nil {
			t.Fatalf("re-marshalled %s does not parse: %v", again, err)
		}
		if !reflect.DeepEqual(back, in) {
			t.Fatalf("round trip changed the intent:\n body %q\n got  %#v\n want %#v", again, back, in)
		}
	})
}

// asEncodingJSON is body, an intent Decode accepts, as encoding/json reads it,
// with Decode's two normalisations (no empty imageFamilies, firstSeen in UTC).
func asEncodingJSON(t *testing.T, body []byte) Intent {
	var in Intent
	if err := json.Unmarshal(body, &in); err != nil {
		t.Fatalf("encoding/json refuses %q: %v", body, err)
	}
	if len(in.ImageFamilies) == 0 {
		in.ImageFamilies = nil
	}
	if in.Retry != nil {
		in.Retry.FirstSeen = in.Retry.FirstSeen.UTC()
	}
	return in
}

// sampleIntents are the bodies of every message in events/ and
// events/triggers/, cut out by the trigger layer.
func sampleIntents(f *testing.F) [][]byte {
	var out [][]byte
	for _, pattern := range []string{filepath.Join("..", "..", "events", "*.json"), filepath.Join("..", "..", "events", "triggers", "*.json")} {
		paths, _ := filepath.Glob(pattern)
		for _, p := range paths {
			payload, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			for _, m := range trigger.Decode(payload) {
				out = append(out, m.Body)
			}
		}
	}
	if len(out) == 0 {
		f.Fatal("no intents found in events/")
	}
	return out
}

func BenchmarkParse(b *testing.B) {
	for _, name := range []string{"modify.json", "rotate.json"} {
		body := fixture(b, name)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
