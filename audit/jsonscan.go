package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"unicode/utf8"
)

// fields splits a JSON object into its top-level members, keeping each
// value's bytes as they are. Stored documents are written by
// encoding/json, so they are valid and compact; this scanner only finds
// the boundaries, which is what dominated the audit hook's time when it
// decoded every written document with encoding/json.
func fields(doc []byte) (map[string]json.RawMessage, error) {
	i := skipSpace(doc, 0)
	if i >= len(doc) || doc[i] != '{' {
		return nil, errNotObject
	}
	out := make(map[string]json.RawMessage, 16)
	i = skipSpace(doc, i+1)
	if i < len(doc) && doc[i] == '}' {
		return out, nil
	}
	for i < len(doc) {
		if doc[i] != '"' {
			return nil, errNotObject
		}
		end, err := skipString(doc, i)
		if err != nil {
			return nil, err
		}
		key, err := decodeKey(doc[i:end])
		if err != nil {
			return nil, err
		}
		i = skipSpace(doc, end)
		if i >= len(doc) || doc[i] != ':' {
			return nil, errNotObject
		}
		i = skipSpace(doc, i+1)
		vend, err := skipValue(doc, i)
		if err != nil {
			return nil, err
		}
		out[key] = doc[i:vend:vend]
		i = skipSpace(doc, vend)
		if i >= len(doc) {
			return nil, errNotObject
		}
		switch doc[i] {
		case ',':
			i = skipSpace(doc, i+1)
		case '}':
			return out, nil
		default:
			return nil, errNotObject
		}
	}
	return nil, errNotObject
}

var errNotObject = errors.New("not a JSON object")

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] ('"').
func skipString(b []byte, i int) (int, error) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1, nil
		}
	}
	return 0, errNotObject
}

// skipValue returns the index after the value starting at b[i].
func skipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errNotObject
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, err := skipString(b, j)
				if err != nil {
					return 0, err
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, errNotObject
	}
	// A number, true, false or null: up to the next delimiter.
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\n' && b[j] != '\t' && b[j] != '\r' {
		j++
	}
	if j == i {
		return 0, errNotObject
	}
	return j, nil
}

// decodeKey decodes a member name; only escaped or invalid UTF-8 names
// (which encoding/json never writes) need the full decoder.
func decodeKey(raw []byte) (string, error) {
	inner := raw[1 : len(raw)-1]
	if bytes.IndexByte(inner, '\\') >= 0 || !utf8.Valid(inner) {
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	}
	return string(inner), nil
}
