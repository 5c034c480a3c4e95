package store

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash"
	"strings"
	"sync"
	"time"
)

// macs keeps HMACs keyed with the server secret for reuse: a list page
// signs its cursor on every request, and a new HMAC allocates its
// hashes anew.
type macs struct {
	key  []byte
	pool sync.Pool
}

// macSum appends body's HMAC under the server secret to dst.
func (db *DB) macSum(dst, body []byte) []byte {
	p := db.macs.Load()
	if p == nil || !bytes.Equal(p.key, db.secret) {
		key := bytes.Clone(db.secret)
		p = &macs{key: key, pool: sync.Pool{New: func() any { return hmac.New(sha256.New, key) }}}
		db.macs.Store(p)
	}
	m := p.pool.Get().(hash.Hash)
	m.Reset()
	m.Write(body)
	dst = m.Sum(dst)
	p.pool.Put(m)
	return dst
}

// Cursors and sync tokens are opaque to clients: a few varints, signed
// with the server secret so that a garbled or edited token is detected
// rather than misread. They bind to the organization, the endpoint and the
// request's filters (scope), so one list's token cannot page another.

const tokenVersion = 1

type tokenType byte

const (
	typeFullCursor tokenType = 'F'
	typeIncrCursor tokenType = 'I'
	typeSyncToken  tokenType = 'T'
)

type token struct {
	typ    tokenType
	scope  uint32
	issued int64 // unix seconds
	// sync token: from. incremental cursor: from, horizon, lastPos, lastID.
	// full cursor: horizon (the position the final sync token will carry),
	// lastPos (created_at), lastID.
	from, horizon, lastPos int64
	lastID                 string
}

var errBadToken = errors.New("bad token")

const macLen = 10

func (db *DB) encodeToken(t token) string {
	b := make([]byte, 0, 64)
	b = append(b, tokenVersion, byte(t.typ))
	b = binary.BigEndian.AppendUint32(b, t.scope)
	b = binary.AppendVarint(b, t.issued)
	switch t.typ {
	case typeSyncToken:
		b = binary.AppendVarint(b, t.from)
	case typeIncrCursor:
		b = binary.AppendVarint(b, t.from)
		fallthrough
	case typeFullCursor:
		b = binary.AppendVarint(b, t.horizon)
		b = binary.AppendVarint(b, t.lastPos)
		b = appendID(b, t.lastID)
	}
	b = db.macSum(b, b)[:len(b)+macLen]
	return base64.RawURLEncoding.EncodeToString(b)
}

func (db *DB) decodeToken(s string) (token, error) {
	var t token
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 2+4+1+macLen {
		return t, errBadToken
	}
	body, mac := b[:len(b)-macLen], b[len(b)-macLen:]
	var sum [sha256.Size]byte
	if !hmac.Equal(db.macSum(sum[:0], body)[:macLen], mac) || body[0] != tokenVersion {
		return t, errBadToken
	}
	t.typ = tokenType(body[1])
	t.scope = binary.BigEndian.Uint32(body[2:6])
	r := body[6:]
	next := func() int64 {
		v, n := binary.Varint(r)
		if n <= 0 {
			err = errBadToken
			return 0
		}
		r = r[n:]
		return v
	}
	t.issued = next()
	switch t.typ {
	case typeSyncToken:
		t.from = next()
	case typeIncrCursor:
		t.from = next()
		fallthrough
	case typeFullCursor:
		t.horizon = next()
		t.lastPos = next()
		if err == nil {
			t.lastID, r, err = readID(r)
		}
	default:
		return t, errBadToken
	}
	if err != nil || len(r) != 0 {
		return t, errBadToken
	}
	return t, nil
}

// Ids are UUIDs almost always; they travel as 16 raw bytes. Anything else
// travels as a length-prefixed string.
func appendID(b []byte, id string) []byte {
	if raw, ok := uuidBytes(id); ok {
		b = append(b, 16)
		return append(b, raw...)
	}
	b = append(b, 0)
	b = binary.AppendUvarint(b, uint64(len(id)))
	return append(b, id...)
}

func readID(r []byte) (string, []byte, error) {
	if len(r) == 0 {
		return "", nil, errBadToken
	}
	switch r[0] {
	case 16:
		if len(r) < 17 {
			return "", nil, errBadToken
		}
		h := hex.EncodeToString(r[1:17])
		return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], r[17:], nil
	case 0:
		n, k := binary.Uvarint(r[1:])
		if k <= 0 || uint64(len(r)-1-k) < n {
			return "", nil, errBadToken
		}
		start := 1 + k
		return string(r[start : start+int(n)]), r[start+int(n):], nil
	}
	return "", nil, errBadToken
}

func uuidBytes(id string) ([]byte, bool) {
	if len(id) != 36 || strings.ToLower(id) != id {
		return nil, false
	}
	raw, err := hex.DecodeString(strings.ReplaceAll(id, "-", ""))
	if err != nil || len(raw) != 16 || id[8] != '-' || id[13] != '-' || id[18] != '-' || id[23] != '-' {
		return nil, false
	}
	return raw, true
}

const (
	fnvOffset uint32 = 2166136261
	fnvPrime  uint32 = 16777619
)

// fnvAdd continues an FNV-1a hash (hash/fnv's New32a) over s.
func fnvAdd(h uint32, s string) uint32 {
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= fnvPrime
	}
	return h
}

// fnvPart adds one part of a scope: s and a NUL.
func fnvPart(h uint32, s string) uint32 { return fnvAdd(h, s) * fnvPrime } // ^= 0 is a no-op

func (db *DB) expired(t token, ttl time.Duration) bool {
	return ttl > 0 && db.Now().Sub(time.Unix(t.issued, 0)) > ttl
}
