package store

import (
	"testing"
)

// FuzzDecodeToken feeds arbitrary strings to cursor and token decoding:
// it must never panic, and nothing but what the server signed may decode.
func FuzzDecodeToken(f *testing.F) {
	db := &DB{secret: []byte("fuzz-secret")}
	for _, t := range []token{
		{typ: typeSyncToken, scope: 1, issued: 1700000000, from: 42},
		{typ: typeFullCursor, scope: 2, issued: 1700000000, horizon: 9, lastPos: 1700000000123, lastID: "6f1c0d4e-8f7a-4a3b-9c2d-1e2f3a4b5c6d"},
		{typ: typeIncrCursor, scope: 3, issued: 1, from: 5, horizon: 10, lastPos: 7, lastID: "not-a-uuid"},
	} {
		f.Add(db.encodeToken(t))
	}
	for _, s := range []string{"", "qA", "G8", "jYnEBmjzR", "AAAA", "!!!!", "AVT-9ciS_K_KsA0EY0kp9qNHnhEDqQ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := db.decodeToken(s)
		if err != nil {
			return
		}
		// A token that decodes must be exactly what the server would issue.
		if again := db.encodeToken(tok); again != s {
			t.Fatalf("decoded %q but it re-encodes as %q", s, again)
		}
	})
}

// FuzzTokenRoundTrip checks that every token the server issues decodes to
// the same fields.
func FuzzTokenRoundTrip(f *testing.F) {
	f.Add(byte('F'), uint32(7), int64(1700000000), int64(3), int64(9), int64(-5), "6f1c0d4e-8f7a-4a3b-9c2d-1e2f3a4b5c6d")
	f.Add(byte('I'), uint32(0), int64(0), int64(0), int64(0), int64(0), "")
	f.Add(byte('T'), uint32(1), int64(1), int64(1), int64(1), int64(1), "x")
	db := &DB{secret: []byte("k")}
	f.Fuzz(func(t *testing.T, typ byte, scope uint32, issued, from, horizon, last int64, id string) {
		in := token{typ: tokenType(typ), scope: scope, issued: issued}
		switch in.typ {
		case typeSyncToken:
			in.from = from
		case typeIncrCursor:
			in.from = from
			fallthrough
		case typeFullCursor:
			in.horizon, in.lastPos, in.lastID = horizon, last, id
		default:
			return
		}
		out, err := db.decodeToken(db.encodeToken(in))
		if err != nil || out != in {
			t.Fatalf("round trip: %+v → %+v (%v)", in, out, err)
		}
	})
}
