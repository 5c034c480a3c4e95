// Package email sends Ashlar's email: the messages themselves (MIME, with
// an HTML body and its plain-text alternative), Ashby's communication
// templates with their substitution tokens, delivery over SMTP (STARTTLS
// or implicit TLS), and the outbox every email is recorded in, delivered
// by the job queue with retries (docs/email.md).
package email

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"
)

// Message is one email.
type Message struct {
	From    mail.Address
	To      mail.Address
	ReplyTo *mail.Address
	Subject string
	// HTML is the body; Text its plain-text alternative.
	HTML, Text string
	// ID is the Message-ID (without angle brackets).
	ID   string
	Date time.Time
}

// NewMessageID makes a Message-ID at domain.
func NewMessageID(domain string) string {
	b := make([]byte, 16)
	rand.Read(b)
	if domain == "" {
		domain = "ashlar.invalid"
	}
	return hex.EncodeToString(b) + "@" + domain
}

// Bytes renders the message as RFC 5322 text with CRLF line ends: headers
// encoded for non-ASCII text (RFC 2047), and a multipart/alternative body
// of the plain text and the HTML, both quoted-printable.
func (m *Message) Bytes() []byte {
	var b bytes.Buffer
	h := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	h("From", m.From.String())
	h("To", m.To.String())
	if m.ReplyTo != nil {
		h("Reply-To", m.ReplyTo.String())
	}
	h("Subject", mime.QEncoding.Encode("utf-8", oneLine(m.Subject)))
	date := m.Date
	if date.IsZero() {
		date = time.Now()
	}
	h("Date", date.Format(time.RFC1123Z))
	if m.ID != "" {
		h("Message-ID", "<"+m.ID+">")
	}
	h("MIME-Version", "1.0")
	boundary := "ashlar-" + strings.ReplaceAll(m.ID, "@", "-")
	if m.ID == "" {
		boundary = "ashlar-alternative"
	}
	h("Content-Type", `multipart/alternative; boundary="`+boundary+`"`)
	b.WriteString("\r\n")
	part := func(ctype, body string) {
		fmt.Fprintf(&b, "--%s\r\nContent-Type: %s; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n", boundary, ctype)
		w := quotedprintable.NewWriter(&b)
		w.Write([]byte(strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\n", "\r\n")))
		w.Close()
		b.WriteString("\r\n")
	}
	part("text/plain", m.Text)
	part("text/html", m.HTML)
	fmt.Fprintf(&b, "--%s--\r\n", boundary)
	return b.Bytes()
}

// oneLine keeps a header value on one line: no header injection.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.NewReplacer("\r", " ", "\n", " ").Replace(s)), " ")
}
