package rpc

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"net/http"
	"time"
)

// NewRequestID returns a ULID: 48 bits of milliseconds and 80 random
// bits in Crockford base32, like Ashby's x-ashby-request-id values.
func NewRequestID() string {
	var b [16]byte
	ms := uint64(time.Now().UnixMilli())
	binary.BigEndian.PutUint16(b[0:2], uint16(ms>>32))
	binary.BigEndian.PutUint32(b[2:6], uint32(ms))
	rand.Read(b[6:])
	const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	var out [26]byte
	// 128 bits → 26 base32 digits (the first carries only 3 bits).
	hi := binary.BigEndian.Uint64(b[0:8])
	lo := binary.BigEndian.Uint64(b[8:16])
	for i := 25; i >= 0; i-- {
		out[i] = alphabet[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

type requestIDKey struct{}

// RequestIDFrom returns the request id ContextWithRequestID gave ctx
// (the server does for every request it serves).
func RequestIDFrom(ctx context.Context) (string, bool) {
	id, ok := ctx.Value(requestIDKey{}).(string)
	return id, ok
}

// ContextWithRequestID returns ctx carrying the request's id, for
// RequestIDFrom. Whoever assigns it also sets the x-ashby-request-id
// response header (SetRequestIDHeader).
func ContextWithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// SetRequestIDHeader sets the x-ashby-request-id response header.
func SetRequestIDHeader(h http.Header, id string) {
	h["X-Ashby-Request-Id"] = []string{id} // as h.Set would, without canonicalizing each time
}
