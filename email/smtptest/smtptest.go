// Package smtptest runs a real SMTP server for tests (github.com/emersion/go-smtp):
// plain, STARTTLS or implicit TLS, with AUTH PLAIN, that keeps what it
// receives and can refuse deliveries on demand.
package smtptest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Options configure a server.
type Options struct {
	// TLS: "" plain SMTP (STARTTLS not offered), "starttls", or
	// "implicit".
	TLS string
	// User and Password, when set, are required (AUTH PLAIN).
	User, Password string
}

// Mail is one message the server accepted.
type Mail struct {
	From string
	To   []string
	Data string
	// Msg is Data parsed.
	Msg *mail.Message
	// Authenticated is the user who logged in ("" without AUTH).
	Authenticated string
}

// Server is a running SMTP server.
type Server struct {
	Addr string
	// Pool trusts the server's certificate (TLS modes).
	Pool *x509.CertPool
	mu   sync.Mutex
	mail []Mail
	// refuse counts deliveries still to refuse, and with which code.
	refuse     int
	refuseCode int
	attempts   int
	arrived    chan struct{}
	opts       Options
}

// Start starts a server on a loopback port; it stops when the test ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	return StartOn(t, "127.0.0.1:0", o)
}

// StartOn starts a server listening on addr.
func StartOn(t testing.TB, addr string, o Options) *Server {
	t.Helper()
	s := &Server{opts: o, arrived: make(chan struct{}, 1000)}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &session{s: s}, nil }))
	srv.Domain = "smtptest.localhost"
	srv.AllowInsecureAuth = o.TLS == ""
	srv.ReadTimeout, srv.WriteTimeout = 30*time.Second, 30*time.Second
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if o.TLS != "" {
		cert, pool := selfSigned(t)
		s.Pool = pool
		conf := &tls.Config{Certificates: []tls.Certificate{cert}}
		srv.TLSConfig = conf
		if o.TLS == "implicit" {
			ln = tls.NewListener(ln, conf)
		}
	}
	s.Addr = ln.Addr().String()
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

// Refuse makes the next n deliveries fail with code (4xx: try again
// later; 5xx: refused for good), at DATA.
func (s *Server) Refuse(n, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuse, s.refuseCode = n, code
}

// Attempts counts deliveries tried (refused ones included).
func (s *Server) Attempts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts
}

// Mail returns what the server has accepted.
func (s *Server) Mail() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mail...)
}

// Wait returns the first n messages once they have arrived, or fails the
// test after timeout.
func (s *Server) Wait(t testing.TB, n int, timeout time.Duration) []Mail {
	t.Helper()
	deadline := time.After(timeout)
	for {
		if m := s.Mail(); len(m) >= n {
			return m[:n]
		}
		select {
		case <-s.arrived:
		case <-deadline:
			t.Fatalf("smtptest: %d messages arrived in %v, want %d (%d attempts)", len(s.Mail()), timeout, n, s.Attempts())
		}
	}
}

type session struct {
	s    *Server
	from string
	to   []string
	user string
}

func (x *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (x *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != x.s.opts.User || password != x.s.opts.Password {
			return smtp.ErrAuthFailed // 535, as real servers answer
		}
		x.user = username
		return nil
	}), nil
}

func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	if x.s.opts.User != "" && x.user == "" {
		return smtp.ErrAuthRequired
	}
	x.from = from
	return nil
}

func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.to = append(x.to, to)
	return nil
}

func (x *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s := x.s
	s.mu.Lock()
	s.attempts++
	if s.refuse > 0 {
		s.refuse--
		code := s.refuseCode
		s.mu.Unlock()
		return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{code / 100, 3, 0}, Message: "smtptest refuses this delivery"}
	}
	m := Mail{From: x.from, To: x.to, Data: string(b), Authenticated: x.user}
	m.Msg, _ = mail.ReadMessage(strings.NewReader(m.Data))
	s.mail = append(s.mail, m)
	s.mu.Unlock()
	select {
	case s.arrived <- struct{}{}:
	default:
	}
	return nil
}

func (x *session) Reset() { x.from, x.to = "", nil }

func (x *session) Logout() error { return nil }

// selfSigned makes a certificate for 127.0.0.1 and localhost, and a pool
// that trusts it.
func selfSigned(t testing.TB) (tls.Certificate, *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "smtptest"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: c}, pool
}
