package email

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// SMTP delivers messages to one SMTP server.
type SMTP struct {
	// Host and Port of the server.
	Host string
	Port int
	// ImplicitTLS connects with TLS from the start (smtps://, usually port
	// 465); otherwise the connection is upgraded with STARTTLS when the
	// server offers it, which it must when credentials are sent, unless
	// the server is on this machine's loopback.
	ImplicitTLS bool
	User        string
	password    string
	// TLS is the TLS configuration (nil: the system's roots, ServerName
	// Host).
	TLS *tls.Config
	// Timeout bounds one delivery, connection included (default 30 s).
	Timeout time.Duration
	// Helo is the name given in EHLO (default "localhost").
	Helo string
}

// ParseURL reads smtp://user:pass@host:587 (STARTTLS) or
// smtps://user:pass@host:465 (implicit TLS). User and password are
// URL-encoded.
func ParseURL(s string) (*SMTP, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("not a URL: %v", redact(err))
	}
	c := &SMTP{Host: u.Hostname()}
	switch u.Scheme {
	case "smtp":
		c.Port = 587
	case "smtps":
		c.Port, c.ImplicitTLS = 465, true
	default:
		return nil, fmt.Errorf("use smtp://HOST:PORT (STARTTLS) or smtps://HOST:PORT (implicit TLS), not %q", u.Scheme)
	}
	if c.Host == "" {
		return nil, errors.New("the URL names no host")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("port %q is not a port number", p)
		}
		c.Port = n
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" {
		return nil, errors.New("give only user, password, host and port")
	}
	if u.User != nil {
		c.User = u.User.Username()
		c.password, _ = u.User.Password()
	}
	return c, nil
}

// redact removes what looks like a password from a URL parse error.
func redact(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return "malformed"
}

// SetPassword sets the password used with User.
func (c *SMTP) SetPassword(p string) { c.password = p }

// String describes the server without its password (logs, status lines).
func (c *SMTP) String() string {
	scheme := "smtp"
	if c.ImplicitTLS {
		scheme = "smtps"
	}
	who := ""
	if c.User != "" {
		who = c.User + ":***@"
	}
	return scheme + "://" + who + net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
}

// SendError is a failed delivery. Permanent failures (the server refused
// the message or a recipient with a 5xx reply) are not worth retrying;
// anything else (4xx replies, connection or TLS failures) may pass later.
type SendError struct {
	Permanent bool
	Err       error
}

func (e *SendError) Error() string { return e.Err.Error() }
func (e *SendError) Unwrap() error { return e.Err }

func classify(stage string, err error) error {
	if err == nil {
		return nil
	}
	var tp *textproto.Error
	permanent := errors.As(err, &tp) && tp.Code >= 500
	return &SendError{Permanent: permanent, Err: fmt.Errorf("%s: %w", stage, err)}
}

// Send delivers a message: envelope from From, to To.
func (c *SMTP) Send(ctx context.Context, m *Message) error {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	addr := net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
	tlsConf := c.TLS
	if tlsConf == nil {
		tlsConf = &tls.Config{}
	}
	tlsConf = tlsConf.Clone()
	if tlsConf.ServerName == "" {
		tlsConf.ServerName = c.Host
	}
	d := &net.Dialer{}
	var conn net.Conn
	var err error
	if c.ImplicitTLS {
		conn, err = (&tls.Dialer{NetDialer: d, Config: tlsConf}).DialContext(ctx, "tcp", addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return classify("connect to "+addr, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	cl, err := smtp.NewClient(conn, c.Host)
	if err != nil {
		conn.Close()
		return classify("greeting", err)
	}
	defer cl.Close()
	helo := c.Helo
	if helo == "" {
		helo = "localhost"
	}
	if err := cl.Hello(helo); err != nil {
		return classify("EHLO", err)
	}
	secure := c.ImplicitTLS
	if !secure {
		if ok, _ := cl.Extension("STARTTLS"); ok {
			if err := cl.StartTLS(tlsConf); err != nil {
				return classify("STARTTLS", err)
			}
			secure = true
		}
	}
	if c.User != "" {
		if !secure && !loopback(c.Host) {
			return &SendError{Permanent: true, Err: fmt.Errorf("%s offers no STARTTLS: Ashlar does not send the SMTP password unencrypted (use smtps:// or a server with STARTTLS)", addr)}
		}
		if ok, _ := cl.Extension("AUTH"); !ok {
			return &SendError{Permanent: true, Err: fmt.Errorf("%s does not offer AUTH, but the SMTP URL has credentials", addr)}
		}
		// net/smtp's PlainAuth refuses an unencrypted connection itself
		// except to localhost; TLS here is checked above.
		if err := cl.Auth(plainAuth{user: c.User, pass: c.password, host: c.Host, secure: secure}); err != nil {
			return classify("AUTH", err)
		}
	}
	if err := cl.Mail(m.From.Address); err != nil {
		return classify("MAIL FROM", err)
	}
	if err := cl.Rcpt(m.To.Address); err != nil {
		return classify("RCPT TO", err)
	}
	w, err := cl.Data()
	if err != nil {
		return classify("DATA", err)
	}
	if _, err := w.Write(m.Bytes()); err != nil {
		return classify("DATA", err)
	}
	if err := w.Close(); err != nil {
		return classify("DATA", err)
	}
	if err := cl.Quit(); err != nil {
		// The message was accepted (DATA's reply came); a failed QUIT does
		// not undo that.
		return nil
	}
	return nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// plainAuth is AUTH PLAIN (RFC 4616), sent only over TLS or to loopback
// (Send checks which).
type plainAuth struct {
	user, pass, host string
	secure           bool
}

func (a plainAuth) Start(server *smtp.ServerInfo) (string, []byte, error) {
	if !a.secure && !loopback(a.host) {
		return "", nil, errors.New("unencrypted connection")
	}
	return "PLAIN", []byte("\x00" + a.user + "\x00" + a.pass), nil
}

func (a plainAuth) Next(fromServer []byte, more bool) ([]byte, error) {
	if more {
		return nil, errors.New("unexpected server challenge")
	}
	return nil, nil
}

// CheckAddress parses an email address as a mailbox.
func CheckAddress(s string) (*mail.Address, error) {
	a, err := mail.ParseAddress(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("%q is not an email address", s)
	}
	return a, nil
}
