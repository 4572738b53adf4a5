package trigger

import "testing"

// TestWrongTypedMembersAreReadLeniently pins readWire's one leniency: a member
// of the wrong type reads as empty, so the element is still located, named
// by the next id it carries, and kept, instead of failing as a whole.
func TestWrongTypedMembersAreReadLeniently(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, payload string
		shape         Shape
		id            string
		attempt       int
	}{
		{"numeric MNS messageId: the CloudEvent id names it",
			`{"specversion":"1.0","id":"ce-1","type":"mns:Queue:SendMessage","data":{"messageId":4,"messageBody":` + quote(deprecateIntent) + `}}`,
			ShapeMNSEvent, "ce-1", 1},
		{"numeric specversion is still a CloudEvent",
			`{"specversion":1,"id":"ev-1","type":"t","source":"s","data":` + deprecateIntent + `}`,
			ShapeEventBridge, "ev-1", 1},
		{"timer name and time of other types still make a timer",
			`{"triggerTime":1,"triggerName":{},"payload":` + quote(deprecateIntent) + `}`,
			ShapeTimer, "timer:::0", 1},
		{"retry that is not an object keeps the intent id",
			`{"action":"activate","id":"act-9","retry":3}`,
			ShapeDirect, "act-9", 1},
		{"retry that is an array keeps the intent id",
			`{"action":"activate","id":"act-9","retry":[{"attempt":2}]}`,
			ShapeDirect, "act-9", 1},
		{"numeric intent id: named by its hash",
			`{"action":"activate","id":7,"retry":{"attempt":2}}`,
			ShapeDirect, hashOf(`{"action":"activate","id":7,"retry":{"attempt":2}}`), 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Detect([]byte(tt.payload)); got != tt.shape {
				t.Errorf("Detect = %q, want %q", got, tt.shape)
			}
			msgs := Decode([]byte(tt.payload))
			if len(msgs) != 1 || msgs[0].Err != nil || msgs[0].ID != tt.id || msgs[0].Attempt != tt.attempt {
				t.Fatalf("got %+v, want one usable message with ID %q, attempt %d", msgs, tt.id, tt.attempt)
			}
		})
	}
}
