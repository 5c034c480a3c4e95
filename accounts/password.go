package accounts

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Passwords are hashed with argon2id at OWASP's recommended minimum cost
// (19 MiB, two passes, one lane): enough to make a stolen hash slow to
// crack, cheap enough for a 2-core server to sign people in.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
	saltLen      = 16
)

// Password rules: NIST SP 800-63B's (a minimum length, no composition
// rules, and a refusal of passwords known to be common).
const (
	MinPasswordLength = 10
	MaxPasswordLength = 256
)

//go:embed common-passwords.txt
var commonList []byte

var common = sync.OnceValue(func() map[string]bool {
	m := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(commonList))
	for sc.Scan() {
		if line := sc.Text(); line != "" && !strings.HasPrefix(line, "#") {
			m[strings.ToLower(line)] = true
		}
	}
	return m
})

// ErrWeakPassword wraps the reason a password is refused.
var ErrWeakPassword = errors.New("password refused")

// CheckStrength refuses passwords that are too short or too long, common,
// or the account's own email address.
func CheckStrength(password, email string) error {
	n := utf8.RuneCountInString(password)
	switch {
	case n < MinPasswordLength:
		return fmt.Errorf("%w: a password must be at least %d characters long", ErrWeakPassword, MinPasswordLength)
	case n > MaxPasswordLength:
		return fmt.Errorf("%w: a password must be at most %d characters long", ErrWeakPassword, MaxPasswordLength)
	case common()[strings.ToLower(password)]:
		return fmt.Errorf("%w: this password is one of the most common passwords; choose one that is harder to guess", ErrWeakPassword)
	case email != "" && strings.EqualFold(password, email):
		return fmt.Errorf("%w: a password must not be your email address", ErrWeakPassword)
	}
	return nil
}

// HashPassword returns the argon2id hash of password in the PHC string
// format ($argon2id$v=19$m=…,t=…,p=…$salt$hash).
func HashPassword(password string) string {
	salt := make([]byte, saltLen)
	rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// VerifyPassword reports whether password matches hash, in constant time.
// The cost parameters come from the hash, so raising them later leaves
// existing hashes valid.
func VerifyPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || t == 0 || p == 0 || m > 1<<22 || t > 100 {
		return false
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return false
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is verified against when an email has no account, so that a
// sign-in takes as long whether or not the address exists.
var dummyHash = sync.OnceValue(func() string { return HashPassword("not a password of anyone's") })
