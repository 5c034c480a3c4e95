// Package jsonscan reads members out of compact JSON documents, such as
// the documents the store keeps, without decoding the rest: it finds
// value boundaries byte by byte, with no reflection and no allocation
// for the members it skips. Pages that read thousands of documents for a
// few fields each (a job's pipeline) use it where encoding/json's full
// decode dominated their time.
//
// It expects valid JSON (the store's documents are written by
// encoding/json) and reports malformed input as an error rather than
// validating it completely.
package jsonscan

import (
	"bytes"
	"encoding/json"
	"errors"
	"unicode/utf8"
)

// ErrSyntax is returned for input that is not the JSON expected.
var ErrSyntax = errors.New("jsonscan: malformed JSON")

// Members calls fn with the name and the value's bytes of each member of
// the JSON object doc, in order, until fn returns false. The name is the
// raw bytes between the quotes (encoding/json writes names unescaped).
func Members(doc []byte, fn func(name, value []byte) bool) error {
	i := skipSpace(doc, 0)
	if i >= len(doc) || doc[i] != '{' {
		return ErrSyntax
	}
	i = skipSpace(doc, i+1)
	if i < len(doc) && doc[i] == '}' {
		return nil
	}
	for i < len(doc) {
		if doc[i] != '"' {
			return ErrSyntax
		}
		end, err := skipString(doc, i)
		if err != nil {
			return err
		}
		name := doc[i+1 : end-1]
		i = skipSpace(doc, end)
		if i >= len(doc) || doc[i] != ':' {
			return ErrSyntax
		}
		i = skipSpace(doc, i+1)
		vend, err := skipValue(doc, i)
		if err != nil {
			return err
		}
		if !fn(name, doc[i:vend:vend]) {
			return nil
		}
		i = skipSpace(doc, vend)
		if i >= len(doc) {
			return ErrSyntax
		}
		switch doc[i] {
		case ',':
			i = skipSpace(doc, i+1)
		case '}':
			return nil
		default:
			return ErrSyntax
		}
	}
	return ErrSyntax
}

// String decodes a JSON string value; null is "".
func String(raw []byte) (string, error) {
	if len(raw) == 4 && string(raw) == "null" {
		return "", nil
	}
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", ErrSyntax
	}
	inner := raw[1 : len(raw)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return string(inner), nil
	}
	var s string
	err := json.Unmarshal(raw, &s)
	return s, err
}

// IsObject reports whether a value is a JSON object (not null).
func IsObject(raw []byte) bool { return len(raw) > 0 && raw[0] == '{' }

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
	return 0, ErrSyntax
}

// skipValue returns the index after the value starting at b[i].
func skipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, ErrSyntax
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
		return 0, ErrSyntax
	}
	// A number, true, false or null: up to the next delimiter.
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\n' && b[j] != '\t' && b[j] != '\r' {
		j++
	}
	if j == i {
		return 0, ErrSyntax
	}
	return j, nil
}
