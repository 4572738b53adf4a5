package intent

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

func TestDurationUnmarshal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    time.Duration
		wantErr string // substring of the error; "" for success
	}{
		{in: `"168h"`, want: 168 * time.Hour},
		{in: `"90m"`, want: 90 * time.Minute},
		{in: `"1h30m"`, want: 90 * time.Minute},
		{in: `"0"`, want: 0},
		{in: `"7d"`, want: 7 * 24 * time.Hour},
		{in: `"0d"`, want: 0},
		{in: `"+2d"`, want: 48 * time.Hour},
		{in: `7`, want: 7 * 24 * time.Hour},
		{in: ` 30 `, want: 30 * 24 * time.Hour},
		{in: `0`, want: 0},
		{in: `"-1h"`, want: -time.Hour}, // read; Validate reports it
		{in: `-2`, want: -48 * time.Hour},
		{in: `"106751d"`, want: 106751 * 24 * time.Hour},
		{in: `"1.5d"`, wantErr: "days must be whole"},
		{in: `1.5`, wantErr: "days must be whole"},
		{in: `"106752d"`, wantErr: "too long"},
		{in: `"7 days"`, wantErr: "not a duration"},
		{in: `"d"`, wantErr: "not a whole number of days"},
		{in: `""`, wantErr: "not a duration"},
		{in: `"7w"`, wantErr: "not a duration"},
		{in: `true`, wantErr: "must be a duration"},
		{in: `[]`, wantErr: "must be a duration"},
		{in: `{}`, wantErr: "must be a duration"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			var d Duration
			err := json.Unmarshal([]byte(tt.in), &d)
			switch {
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			case tt.wantErr == "" && err != nil:
				t.Fatalf("err = %v", err)
			case tt.wantErr == "" && d.Std() != tt.want:
				t.Fatalf("got %v, want %v", d.Std(), tt.want)
			}
		})
	}
}

func TestDurationNullKeepsValue(t *testing.T) {
	t.Parallel()
	d := Duration(time.Hour)
	if err := json.Unmarshal([]byte(`null`), &d); err != nil || d.Std() != time.Hour {
		t.Fatalf("after null: %v, %v; want 1h unchanged", d, err)
	}
}

func TestDurationRoundTrip(t *testing.T) {
	t.Parallel()
	for _, v := range []time.Duration{0, time.Nanosecond, 90 * time.Minute, 7 * 24 * time.Hour, -time.Hour, math.MaxInt64, math.MinInt64} {
		b, err := json.Marshal(Duration(v))
		if err != nil {
			t.Fatalf("Marshal(%v): %v", v, err)
		}
		if want := `"` + v.String() + `"`; string(b) != want {
			t.Errorf("Marshal(%v) = %s, want %s", v, b, want)
		}
		var back Duration
		if err := json.Unmarshal(b, &back); err != nil || back.Std() != v {
			t.Errorf("round trip of %v: got %v, %v", v, back.Std(), err)
		}
	}
}

func TestDurationOmittedWhenZero(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(Intent{Action: ActionRotate, ImageFamily: "web"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "minAge") {
		t.Errorf("zero minAge marshalled: %s", b)
	}
}
