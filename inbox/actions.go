package inbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ashlarhq/ashlar/client/webhooks"
)

func readAll(r *http.Request) ([]byte, error) { return io.ReadAll(r.Body) }

// Exec runs a shell command per event with the event's JSON on standard
// input and ASHBY_WEBHOOK_ACTION_ID and ASHBY_ACTION in its environment.
// A non-zero exit is a failure, retried later.
type Exec struct {
	Command string
}

// Run implements Action.
func (x *Exec) Run(ctx context.Context, ev *webhooks.Event, body []byte) error {
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", x.Command)
	cmd.Stdin = bytes.NewReader(body)
	cmd.Env = append(os.Environ(), "ASHBY_WEBHOOK_ACTION_ID="+ev.WebhookActionID, "ASHBY_ACTION="+ev.Action)
	var out tail
	cmd.Stdout, cmd.Stderr = &out, &out
	// A command that leaves children holding the pipes must not hang us
	// past its own end.
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("command: %w: %s", err, strings.TrimSpace(out.String()))
	}
	return nil
}

// tail keeps the last 1 KB written to it.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > 1024 {
		t.buf = t.buf[len(t.buf)-1024:]
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// DefaultTemplate is Forward's message: a Slack-compatible incoming
// webhook body naming the event and, for application events, the
// candidate, job and stage.
const DefaultTemplate = `{"text": {{ json (summary .) }}}`

// Forward POSTs a message made from each event with a text/template to
// an HTTP endpoint (a Slack incoming webhook, or anything taking JSON).
// A non-2xx answer or a network error is a failure, retried later.
type Forward struct {
	URL      string
	Template *template.Template
	Client   *http.Client
}

// TemplateData is what a Forward template sees: .WebhookActionID,
// .Action, .Data (the payload as maps and slices) and .Raw (the body).
type TemplateData struct {
	WebhookActionID string
	Action          string
	Data            map[string]any
	Raw             string
}

// ParseTemplate parses a Forward template. Besides text/template's own
// functions it has json (a value as JSON, e.g. a quoted, escaped string),
// get ("a.b.c" path into .Data, or "") and summary (one line describing
// the event).
func ParseTemplate(text string) (*template.Template, error) {
	return template.New("message").Option("missingkey=zero").Funcs(template.FuncMap{
		"json": func(v any) (string, error) {
			b, err := json.Marshal(v)
			return string(b), err
		},
		"get":     func(path string, data map[string]any) any { return lookupPath(data, path) },
		"summary": summary,
	}).Parse(text)
}

func lookupPath(v any, path string) any {
	for _, part := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = m[part]
	}
	if v == nil {
		return ""
	}
	return v
}

func summary(d TemplateData) string {
	s := "Ashby " + d.Action
	str := func(path string) string {
		v, _ := lookupPath(d.Data, path).(string)
		return v
	}
	switch {
	case str("application.id") != "":
		parts := []string{}
		for _, p := range []string{"application.candidate.name", "application.job.title", "application.currentInterviewStage.title", "application.status"} {
			if v := str(p); v != "" {
				parts = append(parts, v)
			}
		}
		s += ": " + strings.Join(parts, " · ")
	case str("job.id") != "":
		s += ": " + str("job.title") + " (" + str("job.status") + ")"
	case str("offer.id") != "":
		s += ": offer " + str("offer.id") + " " + str("offer.offerStatus")
	case str("interviewSchedule.id") != "":
		s += ": interview schedule " + str("interviewSchedule.id") + " " + str("interviewSchedule.status")
	}
	return s + " [" + d.WebhookActionID + "]"
}

// Run implements Action.
func (f *Forward) Run(ctx context.Context, ev *webhooks.Event, body []byte) error {
	data := TemplateData{WebhookActionID: ev.WebhookActionID, Action: ev.Action, Raw: string(body)}
	if err := json.Unmarshal(ev.Data, &data.Data); err != nil {
		return fmt.Errorf("decode data: %w", err)
	}
	var msg bytes.Buffer
	if err := f.Template.Execute(&msg, data); err != nil {
		return fmt.Errorf("template: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.URL, &msg)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "ashlar-listen/1")
	hc := f.Client
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("forward: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("forward: HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(b)))
	}
	return nil
}

// NATS publishes each event's body to a JetStream subject, with
// Nats-Msg-Id set to the webhookActionId so that JetStream drops a
// second copy within its duplicate window, and the action in the
// Ashby-Action header.
type NATS struct {
	js      jetstream.JetStream
	nc      *nats.Conn
	Subject string
}

// NewNATS connects to url. With stream non-empty, it makes sure a
// JetStream stream of that name captures subject (creating it if needed).
func NewNATS(ctx context.Context, url, subject, stream string) (*NATS, error) {
	nc, err := nats.Connect(url, nats.Name("ashlar listen"), nats.MaxReconnects(-1))
	if err != nil {
		return nil, fmt.Errorf("connect to NATS at %s: %w", url, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, err
	}
	if stream != "" {
		s, err := js.Stream(ctx, stream)
		switch {
		case errors.Is(err, jetstream.ErrStreamNotFound):
			_, err = js.CreateStream(ctx, jetstream.StreamConfig{Name: stream, Subjects: []string{subject}, Duplicates: 24 * time.Hour})
		case err == nil:
			cfg := s.CachedInfo().Config
			if !matchesAny(cfg.Subjects, subject) {
				cfg.Subjects = append(cfg.Subjects, subject)
				_, err = js.UpdateStream(ctx, cfg)
			}
		}
		if err != nil {
			nc.Close()
			return nil, fmt.Errorf("JetStream stream %s: %w", stream, err)
		}
	}
	return &NATS{js: js, nc: nc, Subject: subject}, nil
}

func matchesAny(subjects []string, s string) bool {
	for _, x := range subjects {
		if x == s {
			return true
		}
	}
	return false
}

// Close closes the connection.
func (n *NATS) Close() { n.nc.Close() }

// Run implements Action.
func (n *NATS) Run(ctx context.Context, ev *webhooks.Event, body []byte) error {
	msg := nats.NewMsg(n.Subject)
	msg.Data = body
	msg.Header.Set("Ashby-Action", ev.Action)
	msg.Header.Set(jetstream.MsgIDHeader, ev.WebhookActionID)
	if _, err := n.js.PublishMsg(ctx, msg); err != nil {
		return fmt.Errorf("publish to %s: %w", n.Subject, err)
	}
	return nil
}
