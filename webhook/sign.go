package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
)

// SignatureHeader is Ashby's signature header (https://developers.ashbyhq.com/docs/authenticating-webhooks).
const SignatureHeader = "Ashby-Signature"

// Sign returns the Ashby-Signature value for a request body:
// "sha256=" and the lower-case hex HMAC-SHA256 of the exact bytes sent,
// keyed with the setting's secret token (its UTF-8 bytes). No timestamp
// or header is covered: that is Ashby's format, and receivers written
// for Ashby compute exactly this.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether header is body's Ashby-Signature under secret,
// comparing in constant time. It is what a receiver runs on the raw body.
func Verify(secret string, body []byte, header string) bool {
	return hmac.Equal([]byte(Sign(secret, body)), []byte(strings.TrimSpace(header)))
}

// StandardSecret is the Standard Webhooks form of a secret token:
// "whsec_" and the base64 of its bytes. A Standard Webhooks library given
// this secret verifies the webhook-signature header Ashlar sends, which is
// keyed with the token's own bytes.
func StandardSecret(token string) string {
	return "whsec_" + base64.StdEncoding.EncodeToString([]byte(token))
}

// StandardSign returns the Standard Webhooks webhook-signature value:
// "v1," and the base64 HMAC-SHA256 of "id.timestamp.body" keyed with the
// token's bytes. Unlike Ashby's signature it covers the timestamp, so a
// receiver can reject replays; it is recomputed for every attempt.
func StandardSign(token, id string, timestamp int64, body []byte) string {
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(strconv.FormatInt(timestamp, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}
