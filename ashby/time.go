package ashby

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"
)

// Time is a timestamp in Ashby's wire format: ISO-8601 in UTC with
// milliseconds and a Z suffix ("2022-07-21T17:32:28.123Z"). Input accepts
// any RFC 3339 form, with or without fractional seconds or offset.
type Time struct{ time.Time }

const wireTimeLayout = "2006-01-02T15:04:05.000Z07:00"

// NewTime truncates t to milliseconds, the precision Ashby carries.
func NewTime(t time.Time) Time { return Time{t.UTC().Truncate(time.Millisecond)} }

// Now is the current time at wire precision.
func Now() Time { return NewTime(time.Now()) }

// TimeFromMillis converts epoch milliseconds.
func TimeFromMillis(ms int64) Time { return Time{time.UnixMilli(ms).UTC()} }

// Ptr returns a pointer to t, for optional fields.
func (t Time) Ptr() *Time { return &t }

func (t Time) String() string { return t.UTC().Format(wireTimeLayout) }

func (t Time) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, len(wireTimeLayout)+2)
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, wireTimeLayout)
	return append(b, '"'), nil
}

func (t *Time) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	if len(b) < 2 || b[0] != '"' {
		return &json.UnmarshalTypeError{Value: jsonKind(b), Type: reflect.TypeFor[Time]()}
	}
	p, err := ParseTime(string(b[1 : len(b)-1]))
	if err != nil {
		return &json.UnmarshalTypeError{Value: "string " + string(b), Type: reflect.TypeFor[Time]()}
	}
	*t = p
	return nil
}

// ParseTime accepts RFC 3339 with or without fractional seconds, a bare
// date-time without offset (taken as UTC), or a date (midnight UTC).
func ParseTime(s string) (Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05Z0700", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return NewTime(t), nil
		}
	}
	return Time{}, fmt.Errorf("not an ISO-8601 datetime: %q", s)
}

// Date is a calendar date on the wire as "YYYY-MM-DD".
type Date string

// Valid reports whether d is a real calendar date.
func (d Date) Valid() bool {
	_, err := time.Parse("2006-01-02", string(d))
	return err == nil
}

// jsonKind names the kind of a raw JSON value for error messages.
func jsonKind(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return "empty"
	}
	switch b[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	}
	return "number"
}
