package intent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

const day = 24 * time.Hour

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// String returns the Go duration form, e.g. "168h0m0s".
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON writes a Go duration string, which UnmarshalJSON reads back
// exactly.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a Go duration ("168h", "90m"), whole days with a "d"
// suffix ("7d"), or a JSON integer of days (7). Fractions of a day are
// refused rather than guessed at: "1.5d" is written "36h". null leaves d as
// it is, like encoding/json does for other types. Negative values are read
// so that Validate can report them with the field's own code.
func (d *Duration) UnmarshalJSON(b []byte) error {
	b = bytes.Trim(b, jsonSpace) // only JSON whitespace: anything else is not a duration
	switch {
	case string(b) == "null":
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v, err := parseDuration(s)
		if err != nil {
			return err
		}
		*d = Duration(v)
		return nil
	case len(b) > 0 && (b[0] == '-' || (b[0] >= '0' && b[0] <= '9')):
		v, err := daysToDuration(string(b))
		if err != nil {
			return err
		}
		*d = Duration(v)
		return nil
	default:
		return errors.New(`must be a duration such as "168h" or "7d", or a number of days`)
	}
}

// parseDuration reads "<n>d" as whole days and anything else as a Go duration.
func parseDuration(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		return daysToDuration(n)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf(`%q is not a duration: use a Go duration such as "168h" or whole days such as "7d"`, echo(s))
	}
	return v, nil
}

// daysToDuration converts a decimal integer of days, refusing fractions and
// values that overflow a time.Duration (about 106751 days).
func daysToDuration(n string) (time.Duration, error) {
	days, err := strconv.ParseInt(n, 10, 64)
	if err != nil {
		if _, ferr := strconv.ParseFloat(n, 64); ferr == nil {
			return 0, fmt.Errorf("%s days: days must be whole; write fractions as hours, e.g. \"36h\"", echo(n))
		}
		return 0, fmt.Errorf("%q is not a whole number of days", echo(n))
	}
	if days > math.MaxInt64/int64(day) || days < math.MinInt64/int64(day) {
		return 0, fmt.Errorf("%d days is too long", days)
	}
	return time.Duration(days) * day, nil
}
