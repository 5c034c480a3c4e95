package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/ashlarhq/ashlar/jsonscan"
)

// fields splits a JSON object into its top-level members, keeping each
// value's bytes as they are. Stored documents are written by
// encoding/json, so they are valid and compact; package jsonscan only
// finds the boundaries, which is what dominated the audit hook's time when
// it decoded every written document with encoding/json.
func fields(doc []byte) (map[string]json.RawMessage, error) {
	out := make(map[string]json.RawMessage, 16)
	var keyErr error
	err := jsonscan.Members(doc, func(name, value []byte) bool {
		key, err := decodeKey(name)
		if err != nil {
			keyErr = err
			return false
		}
		out[key] = value[:len(value):len(value)]
		return true
	})
	if err == nil {
		err = keyErr
	}
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	return out, nil
}

// decodeKey decodes a member name given as the bytes between its quotes;
// only escaped or invalid UTF-8 names (which encoding/json never writes)
// need the full decoder.
func decodeKey(inner []byte) (string, error) {
	if bytes.IndexByte(inner, '\\') >= 0 || !utf8.Valid(inner) {
		var s string
		err := json.Unmarshal(append(append([]byte{'"'}, inner...), '"'), &s)
		return s, err
	}
	return string(inner), nil
}
