package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"time"

	"github.com/ashlarhq/ashlar/email"
	"github.com/ashlarhq/ashlar/server"
)

// emailConfig configures outbound email (docs/email.md).
type emailConfig struct {
	SMTPURL, From, CAFile string
	RetryBase             time.Duration
	smtp                  *email.SMTP
}

func (c *emailConfig) define(fs *flagSet) {
	fs.StringVar(&c.SMTPURL, "smtp-url", "", "send email through this SMTP server: smtp://USER:PASSWORD@HOST:587 (STARTTLS) or smtps://USER:PASSWORD@HOST:465 (implicit TLS); prefer the environment variable, which keeps the password out of process lists (off: emails are recorded as not sent)")
	fs.StringVar(&c.From, "mail-from", "", `the From of every email, e.g. "Northwind Recruiting <jobs@northwind.example>" (required with --smtp-url)`)
	fs.StringVar(&c.CAFile, "smtp-ca-file", "", "PEM file of certificate authorities to trust for the SMTP server's TLS certificate, besides the system's (a private relay)")
	fs.DurationVar(&c.RetryBase, "smtp-retry-base", time.Minute, "unit of the retry schedule of an email the server did not take: (2^n - 1) x this after the n-th failure; shorten it only for testing")
}

func (c *emailConfig) check() error {
	if c.SMTPURL == "" {
		if c.From != "" {
			return usageError{"--mail-from needs --smtp-url"}
		}
		return nil
	}
	s, err := email.ParseURL(c.SMTPURL)
	if err != nil {
		// The error never repeats the URL: it may hold the password.
		return usageError{"--smtp-url: " + err.Error()}
	}
	if c.From == "" {
		return usageError{"--smtp-url needs --mail-from: the address emails are sent from"}
	}
	if _, err := email.CheckAddress(c.From); err != nil {
		return usageError{"--mail-from: " + err.Error()}
	}
	if c.RetryBase <= 0 {
		return usageError{"--smtp-retry-base must be positive"}
	}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return usageError{"--smtp-ca-file: " + err.Error()}
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return usageError{"--smtp-ca-file: no PEM certificate in " + c.CAFile}
		}
		s.TLS = &tls.Config{RootCAs: pool}
	}
	c.smtp = s
	return nil
}

// startEmail makes the API's outbox send through the SMTP server and
// registers the deliveries' job kind; without --smtp-url emails are
// recorded as not sent.
func startEmail(e *env, srv *server.Server, c emailConfig) error {
	if c.smtp == nil {
		e.say("email: no SMTP server (--smtp-url): emails are recorded, not sent", "email not configured")
		return nil
	}
	from, _ := email.CheckAddress(c.From)
	out := srv.Service.Mail
	out.Configure(c.smtp, *from, srv.Log)
	if err := srv.Jobs.Register(out.WithBackoff(out.Kind(), c.RetryBase)); err != nil {
		return err
	}
	e.say(fmt.Sprintf("email: sending through %s from %s", c.smtp, from), "email configured", "smtp", c.smtp.String(), "from", from.String())
	return nil
}
