package email_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/ashlarhq/ashlar/email"
	"github.com/ashlarhq/ashlar/email/smtptest"
)

func message() *email.Message {
	return &email.Message{From: mail.Address{Name: "Northwind Recruiting", Address: "jobs@northwind.example"},
		To: mail.Address{Name: "Zoë Jemison", Address: "zoe@example.com"}, ReplyTo: &mail.Address{Address: "riley@northwind.example"},
		Subject: "Your application to Robot Whisperer — thank you", HTML: "<p>Hi Zoë,</p><p>Thank you &amp; good luck.</p>",
		Text: "Hi Zoë,\n\nThank you & good luck.", ID: email.NewMessageID("northwind.example"), Date: time.Date(2026, 12, 4, 9, 32, 0, 0, time.UTC)}
}

// checkReceived parses what the server got: headers decoded, both parts.
func checkReceived(t *testing.T, got smtptest.Mail, m *email.Message) {
	t.Helper()
	if got.From != m.From.Address || len(got.To) != 1 || got.To[0] != m.To.Address || got.Msg == nil {
		t.Fatalf("envelope %s → %v", got.From, got.To)
	}
	dec := new(mime.WordDecoder)
	subj, _ := dec.DecodeHeader(got.Msg.Header.Get("Subject"))
	to, _ := got.Msg.Header.AddressList("To")
	if subj != m.Subject || len(to) != 1 || to[0].Name != "Zoë Jemison" || got.Msg.Header.Get("Message-Id") != "<"+m.ID+">" ||
		got.Msg.Header.Get("Reply-To") != "<riley@northwind.example>" {
		t.Fatalf("headers: subject %q to %v\n%s", subj, to, got.Data)
	}
	_, params, err := mime.ParseMediaType(got.Msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	r := multipart.NewReader(got.Msg.Body, params["boundary"])
	parts := map[string]string{}
	for {
		p, err := r.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p) // the reader decodes quoted-printable
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		parts[ct] = strings.ReplaceAll(string(b), "\r\n", "\n")
	}
	if parts["text/html"] != m.HTML || parts["text/plain"] != m.Text {
		t.Fatalf("parts: %q", parts)
	}
}

func TestSendPlainLoopback(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{User: "ashlar", Password: "p@ss word"})
	c, err := email.ParseURL("smtp://ashlar:p%40ss%20word@" + srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	m := message()
	if err := c.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	got := srv.Wait(t, 1, 5*time.Second)
	if got[0].Authenticated != "ashlar" {
		t.Fatalf("authenticated as %q", got[0].Authenticated)
	}
	checkReceived(t, got[0], m)
	if s := c.String(); strings.Contains(s, "p@ss") || strings.Contains(s, "word") || !strings.Contains(s, "ashlar:***@") {
		t.Fatalf("String shows the password: %s", s)
	}
}

func TestSendSTARTTLS(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{TLS: "starttls", User: "u", Password: "secret"})
	c, err := email.ParseURL("smtp://u:secret@" + srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	// An untrusted certificate is a failure worth retrying (it may be
	// renewed), never a downgrade to plain text.
	err = c.Send(context.Background(), message())
	var se *email.SendError
	if !errors.As(err, &se) || se.Permanent || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("untrusted certificate: %v", err)
	}
	c.TLS = &tls.Config{RootCAs: srv.Pool}
	m := message()
	if err := c.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	checkReceived(t, srv.Wait(t, 1, 5*time.Second)[0], m)
}

func TestSendImplicitTLS(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{TLS: "implicit", User: "u", Password: "secret"})
	c, err := email.ParseURL("smtps://u:secret@" + srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	c.TLS = &tls.Config{RootCAs: srv.Pool}
	if err := c.Send(context.Background(), message()); err != nil {
		t.Fatal(err)
	}
	if got := srv.Wait(t, 1, 5*time.Second); got[0].Authenticated != "u" {
		t.Fatalf("authenticated as %q", got[0].Authenticated)
	}
}

func TestSendRefusals(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	c, _ := email.ParseURL("smtp://" + srv.Addr)
	var se *email.SendError
	srv.Refuse(1, 451)
	if err := c.Send(context.Background(), message()); !errors.As(err, &se) || se.Permanent {
		t.Fatalf("451: %v", err)
	}
	srv.Refuse(1, 550)
	if err := c.Send(context.Background(), message()); !errors.As(err, &se) || !se.Permanent {
		t.Fatalf("550: %v", err)
	}
	// Wrong password: refused for good (5xx), and the password is in no error.
	auth := smtptest.Start(t, smtptest.Options{User: "u", Password: "right"})
	c, _ = email.ParseURL("smtp://u:wrong-password@" + auth.Addr)
	err := c.Send(context.Background(), message())
	if !errors.As(err, &se) || !se.Permanent || strings.Contains(err.Error(), "wrong-password") {
		t.Fatalf("wrong password: %v", err)
	}
	// Nobody listening: try again later.
	c, _ = email.ParseURL("smtp://127.0.0.1:1")
	if err := c.Send(context.Background(), message()); !errors.As(err, &se) || se.Permanent {
		t.Fatalf("connection refused: %v", err)
	}
}

// Credentials never travel unencrypted to another machine: a server
// without STARTTLS that is not on loopback gets no password.
func TestNoPasswordInTheClear(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{User: "u", Password: "p"})
	c, _ := email.ParseURL("smtp://u:p@" + srv.Addr)
	if err := c.Send(context.Background(), message()); err != nil {
		t.Fatalf("loopback without TLS: %v", err)
	}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok || ipn.IP.IsLoopback() || ipn.IP.To4() == nil {
			continue
		}
		// A relay on this machine's network address, without STARTTLS.
		relay := smtptest.StartOn(t, ipn.IP.String()+":0", smtptest.Options{User: "u", Password: "p"})
		c, _ := email.ParseURL("smtp://u:p@" + relay.Addr)
		var se *email.SendError
		if err := c.Send(context.Background(), message()); !errors.As(err, &se) || !se.Permanent || !strings.Contains(err.Error(), "unencrypted") {
			t.Fatalf("credentials over plain SMTP to %s: %v", relay.Addr, err)
		}
		if relay.Attempts() != 0 {
			t.Fatal("the message was sent")
		}
		return
	}
	t.Skip("no non-loopback IPv4 address on this machine")
}

func TestParseURL(t *testing.T) {
	for in, want := range map[string]string{
		"smtp://mail.example.com":                 "smtp://mail.example.com:587",
		"smtps://a%40b:pw@mail.example.com":       "smtps://a@b:***@mail.example.com:465",
		"smtp://user:pass@mail.example.com:2525/": "smtp://user:***@mail.example.com:2525",
	} {
		c, err := email.ParseURL(in)
		if err != nil || c.String() != want {
			t.Errorf("%s: %v %v", in, c, err)
		}
	}
	for _, bad := range []string{"http://mail.example.com", "smtp://", "smtp://h:99999", "smtp://h/path", "smtp://user:secret@h?x=1", "::"} {
		if _, err := email.ParseURL(bad); err == nil || strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: %v", bad, err)
		}
	}
}
