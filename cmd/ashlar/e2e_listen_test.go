package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/client"
	"github.com/ashlarhq/ashlar/client/webhooks"
	"github.com/ashlarhq/ashlar/inbox"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/store/storetest"
	"github.com/ashlarhq/ashlar/testserver"
	"github.com/ashlarhq/ashlar/webhook"
)

// listener is a running `ashlar listen`.
type listener struct {
	t    *testing.T
	cmd  *exec.Cmd
	URL  string
	mu   sync.Mutex
	logs bytes.Buffer
	done chan struct{}
}

var listenURLRe = regexp.MustCompile(`listening on (http://\S+)`)

// startListen runs `ashlar listen` in a process group of its own, so that
// kill -9 also takes the commands it runs.
func startListen(t *testing.T, env []string, args ...string) *listener {
	t.Helper()
	l := &listener{t: t, done: make(chan struct{})}
	l.cmd = exec.Command(testserver.Binary(t), append([]string{"listen", "--addr", "127.0.0.1:0"}, args...)...)
	l.cmd.Env = append(os.Environ(), env...)
	l.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := l.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := l.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			l.mu.Lock()
			l.logs.WriteString(sc.Text() + "\n")
			l.mu.Unlock()
			if m := listenURLRe.FindStringSubmatch(sc.Text()); m != nil {
				urlc <- m[1]
			}
		}
		l.cmd.Wait()
		close(l.done)
	}()
	t.Cleanup(l.kill)
	select {
	case l.URL = <-urlc:
	case <-l.done:
		t.Fatalf("ashlar listen exited:\n%s", l.Logs())
	case <-time.After(time.Minute):
		t.Fatalf("ashlar listen did not start:\n%s", l.Logs())
	}
	return l
}

func (l *listener) Logs() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.logs.String()
}

// kill sends SIGKILL to the listener and everything it started.
func (l *listener) kill() {
	select {
	case <-l.done:
		return
	default:
	}
	syscall.Kill(-l.cmd.Process.Pid, syscall.SIGKILL)
	<-l.done
}

func deliveries(t *testing.T, c *client.Client, params map[string]any) []webhook.Delivery {
	t.Helper()
	var ds []webhook.Delivery
	if _, err := c.Call(context.Background(), "webhook.listDeliveries", params, &ds); err != nil {
		t.Fatal(err)
	}
	return ds
}

// newApplication creates a candidate (named name) and an application,
// which emits applicationSubmit.
func newApplication(t *testing.T, c *client.Client, name string) ashby.Application {
	t.Helper()
	ctx := context.Background()
	cand, _, err := c.Candidates.Create(ctx, &client.CandidateCreate{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	var job ashby.Job
	for j, err := range c.Jobs.List(ctx, &client.JobListOptions{Status: []string{"Open"}}) {
		if err != nil {
			t.Fatal(err)
		}
		job = j
		break
	}
	app, _, err := c.Applications.Create(ctx, &client.ApplicationCreate{CandidateID: cand.ID, JobID: job.ID})
	if err != nil {
		t.Fatal(err)
	}
	return *app
}

// appOfEvent maps a webhookActionId to the application its event was
// about, as read from the --exec outputs.
var appOfEvent sync.Map

// outputs counts the files the --exec command wrote per webhookActionId,
// recording which application each event was about.
func outputs(t *testing.T, dir string) map[string]int {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, f := range files {
		id := strings.SplitN(filepath.Base(f), ".", 2)[0]
		out[id]++
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var ev struct {
			Data struct {
				Application struct{ ID string } `json:"application"`
			} `json:"data"`
		}
		if json.Unmarshal(b, &ev) == nil && ev.Data.Application.ID != "" {
			appOfEvent.Store(id, ev.Data.Application.ID)
		}
	}
	return out
}

const execWrite = `cat > "$OUT/$ASHBY_WEBHOOK_ACTION_ID.$$.json"`

func openInbox(t *testing.T, dsn string) *inbox.Store {
	t.Helper()
	s, err := inbox.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func inboxEvent(t *testing.T, s *inbox.Store, id string) inbox.EventState {
	t.Helper()
	evs, err := s.Events(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if e.WebhookActionID == id {
			return e
		}
	}
	return inbox.EventState{}
}

func TestListenEndToEnd(t *testing.T) {
	t.Parallel()
	testserver.Engines(t, func(t *testing.T, engine store.Engine) {
		srv, key := demoServer(t, engine, webhookServerArgs...)
		c := srv.Client(key)
		ctx := context.Background()
		const secret = "listen-test-secret"

		t.Run("verify, dedupe, process once", func(t *testing.T) {
			out, db := t.TempDir(), storetest.DSN(t, engine)
			l := startListen(t, []string{"OUT=" + out}, "--secret", secret, "--db", db, "--exec", execWrite, "--max-body", "200000")
			good, _, err := c.Webhooks.Create(ctx, &client.WebhookCreate{WebhookType: "applicationSubmit", RequestURL: l.URL + "/ashby", SecretToken: secret})
			if err != nil {
				t.Fatal(err)
			}
			bad, _, err := c.Webhooks.Create(ctx, &client.WebhookCreate{WebhookType: "applicationSubmit", RequestURL: l.URL + "/forged", SecretToken: "not-the-secret"})
			if err != nil {
				t.Fatal(err)
			}
			app := newApplication(t, c, "Zelda Privatename")
			var id string
			waitUntil(t, "the event to be processed", time.Minute, func() bool {
				for aid, n := range outputs(t, out) {
					if v, _ := appOfEvent.Load(aid); v == app.ID && n > 0 {
						id = aid
						return true
					}
				}
				return false
			})
			// Ashlar records the 200 once it has the answer, which may be
			// after the event was already processed.
			waitUntil(t, "the delivery to be recorded as acknowledged", time.Minute, func() bool {
				for _, d := range deliveries(t, c, map[string]any{"webhookActionId": id, "webhookId": good.ID}) {
					if d.Status == "succeeded" && d.Attempts[len(d.Attempts)-1].StatusCode == 200 {
						return true
					}
				}
				return false
			})
			// The forged one: 401, which Ashby's (and Ashlar's) sender does
			// not retry.
			waitUntil(t, "the forged delivery to fail", time.Minute, func() bool {
				for _, d := range deliveries(t, c, map[string]any{"webhookActionId": id, "webhookId": bad.ID}) {
					if d.Status == "failed" && d.AttemptCount == 1 && d.Attempts[0].StatusCode == http.StatusUnauthorized {
						return true
					}
				}
				return false
			})
			if logs := l.Logs(); !strings.Contains(logs, "bad signature") || strings.Contains(logs, "Privatename") {
				t.Fatalf("the refusal must be logged without the body:\n%s", logs)
			}

			// Redelivered: acknowledged, counted, not processed again.
			if _, err := c.Call(ctx, "webhook.redeliver", map[string]any{"webhookActionId": id}, nil); err != nil {
				t.Fatal(err)
			}
			s := openInbox(t, db)
			waitUntil(t, "the redeliveries to be acknowledged", time.Minute, func() bool {
				return inboxEvent(t, s, id).Duplicates >= 1
			})
			if e := inboxEvent(t, s, id); e.Status != "done" || e.Attempts != 1 {
				t.Fatalf("inbox row %+v", e)
			}
			if n := outputs(t, out)[id]; n != 1 {
				t.Fatalf("event %s processed %d times, want once", id, n)
			}

			// Straight at the endpoint: a body over --max-body, and no
			// signature.
			big := []byte(`{"webhookActionId":"big","action":"ping","data":{"x":"` + strings.Repeat("a", 300000) + `"}}`)
			req, _ := http.NewRequest("POST", l.URL+"/ashby", bytes.NewReader(big))
			req.Header.Set(webhooks.SignatureHeader, webhooks.Sign(secret, big))
			if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusRequestEntityTooLarge {
				t.Fatalf("big body: %v %v", resp, err)
			}
			resp, err := http.Post(l.URL+"/ashby", "application/json", strings.NewReader(`{"webhookActionId":"x","action":"ping","data":{}}`))
			if err != nil || resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("unsigned: %v %v", resp, err)
			}
			for _, w := range []string{good.ID, bad.ID} {
				c.Call(ctx, "webhook.update", map[string]any{"webhookId": w, "enabled": false}, nil)
			}
		})

		t.Run("kill -9 after the acknowledgement loses nothing", func(t *testing.T) {
			out, db := t.TempDir(), storetest.DSN(t, engine)
			// Receiving only: the event is acknowledged and queued, then
			// the process dies before any worker could touch it.
			l := startListen(t, []string{"OUT=" + out}, "--secret", secret, "--db", db, "--exec", execWrite, "--workers", "0")
			w, _, err := c.Webhooks.Create(ctx, &client.WebhookCreate{WebhookType: "applicationSubmit", RequestURL: l.URL + "/a", SecretToken: secret})
			if err != nil {
				t.Fatal(err)
			}
			newApplication(t, c, "Acked Notprocessed")
			var id string
			waitUntil(t, "the delivery to be acknowledged", time.Minute, func() bool {
				for _, d := range deliveries(t, c, map[string]any{"webhookId": w.ID, "status": "succeeded"}) {
					if d.Action == "applicationSubmit" {
						id = d.WebhookActionID
						return true
					}
				}
				return false
			})
			c.Call(ctx, "webhook.update", map[string]any{"webhookId": w.ID, "enabled": false}, nil)
			s := openInbox(t, db)
			if e := inboxEvent(t, s, id); e.Status != "pending" || e.Attempts != 0 {
				t.Fatalf("acknowledged event before the kill: %+v", e)
			}
			l.kill()
			startListen(t, []string{"OUT=" + out}, "--secret", secret, "--db", db, "--exec", execWrite)
			waitUntil(t, "the event to be processed after the restart", time.Minute, func() bool { return outputs(t, out)[id] == 1 })
			waitUntil(t, "the event to be recorded done", time.Minute, func() bool { return inboxEvent(t, s, id).Status == "done" })
		})

		t.Run("kill -9 during the action: claimed again", func(t *testing.T) {
			out, db := t.TempDir(), storetest.DSN(t, engine)
			gate := filepath.Join(t.TempDir(), "gate")
			// The first process's command waits for a gate that never opens.
			blocking := `while [ ! -e "$GATE" ]; do sleep 0.05; done; ` + execWrite
			l := startListen(t, []string{"OUT=" + out, "GATE=" + gate}, "--secret", secret, "--db", db, "--exec", blocking, "--timeout", "2s")
			w, _, err := c.Webhooks.Create(ctx, &client.WebhookCreate{WebhookType: "applicationSubmit", RequestURL: l.URL + "/b", SecretToken: secret})
			if err != nil {
				t.Fatal(err)
			}
			newApplication(t, c, "Killed Midaction")
			s := openInbox(t, db)
			var id string
			waitUntil(t, "a worker to claim the event", time.Minute, func() bool {
				evs, _ := s.Events(ctx)
				for _, e := range evs {
					if e.Action == "applicationSubmit" && e.Status == "processing" {
						id = e.WebhookActionID
						return true
					}
				}
				return false
			})
			c.Call(ctx, "webhook.update", map[string]any{"webhookId": w.ID, "enabled": false}, nil)
			l.kill()
			if n := outputs(t, out)[id]; n != 0 {
				t.Fatalf("the blocked action wrote %d outputs", n)
			}
			// The next process takes the event once the dead worker's claim
			// (twice --timeout) has expired.
			startListen(t, []string{"OUT=" + out, "GATE=" + gate}, "--secret", secret, "--db", db, "--exec", execWrite, "--timeout", "2s")
			waitUntil(t, "the event to be processed by the next process", time.Minute, func() bool { return outputs(t, out)[id] == 1 })
			waitUntil(t, "the event to be recorded done", time.Minute, func() bool {
				e := inboxEvent(t, s, id)
				return e.Status == "done" && e.Attempts == 2
			})
		})
	})
}

func TestListenForwardRetries(t *testing.T) {
	t.Parallel()
	srv, key := demoServer(t, store.SQLite, webhookServerArgs...)
	c := srv.Client(key)
	ctx := context.Background()
	var mu sync.Mutex
	var got []string
	slack := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if !strings.Contains(string(b), "applicationSubmit") {
			io.WriteString(w, "ok") // the ping sent when the setting is created
			return
		}
		got = append(got, string(b))
		if len(got) == 1 {
			http.Error(w, "try later", http.StatusInternalServerError)
			return
		}
		io.WriteString(w, "ok")
	}))
	defer slack.Close()
	db := storetest.DSN(t, store.SQLite)
	l := startListen(t, nil, "--secret", "s", "--db", db, "--forward", slack.URL, "--retry-base", "100ms")
	if _, _, err := c.Webhooks.Create(ctx, &client.WebhookCreate{WebhookType: "applicationSubmit", RequestURL: l.URL, SecretToken: "s"}); err != nil {
		t.Fatal(err)
	}
	newApplication(t, c, "Forward Tester")
	waitUntil(t, "the message to be forwarded after a retry", time.Minute, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) >= 2
	})
	mu.Lock()
	defer mu.Unlock()
	var msg struct{ Text string }
	last := got[len(got)-1]
	if err := json.Unmarshal([]byte(last), &msg); err != nil || !strings.HasPrefix(msg.Text, "Ashby applicationSubmit: Forward Tester") {
		t.Fatalf("message %s (%v)", last, err)
	}
	if len(got) != 2 || got[0] != last {
		t.Fatalf("the retry sent a different message:\n%s\n%s", got[0], last)
	}
}

func TestListenNATS(t *testing.T) {
	t.Parallel()
	natsURL := os.Getenv("NATS_URL")
	if natsURL == "" {
		natsURL = "nats://127.0.0.1:4222"
	}
	if conn, err := net.DialTimeout("tcp", strings.TrimPrefix(natsURL, "nats://"), 2*time.Second); err != nil {
		if os.Getenv("ASHLAR_REQUIRE_NATS") == "1" {
			t.Fatalf("NATS is required (ASHLAR_REQUIRE_NATS=1) but unreachable at %s: %v", natsURL, err)
		}
		t.Skipf("NATS unreachable at %s (%v); set ASHLAR_REQUIRE_NATS=1 to fail instead", natsURL, err)
	} else {
		conn.Close()
	}
	srv, key := demoServer(t, store.SQLite, webhookServerArgs...)
	c := srv.Client(key)
	ctx := context.Background()
	suffix := fmt.Sprintf("%d", time.Now().UnixNano())
	subject, streamName := "ashlar.test."+suffix, "ASHLAR_TEST_"+suffix
	nc, err := nats.Connect(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { js.DeleteStream(context.Background(), streamName) })

	db := storetest.DSN(t, store.SQLite)
	l := startListen(t, []string{"NATS_URL=" + natsURL}, "--secret", "s", "--db", db, "--nats", subject, "--nats-stream", streamName)
	w, _, err := c.Webhooks.Create(ctx, &client.WebhookCreate{WebhookType: "applicationSubmit", RequestURL: l.URL, SecretToken: "s"})
	if err != nil {
		t.Fatal(err)
	}
	app := newApplication(t, c, "Nats Subscriber")
	stream, err := js.Stream(ctx, streamName)
	if err != nil {
		t.Fatal(err)
	}
	// The messages of the stream, by Nats-Msg-Id.
	read := func() map[string][]jetstream.Msg {
		cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
		if err != nil {
			t.Fatal(err)
		}
		info, err := stream.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][]jetstream.Msg{}
		if info.State.Msgs == 0 {
			return out
		}
		batch, err := cons.Fetch(int(info.State.Msgs), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		for m := range batch.Messages() {
			out[m.Headers().Get(jetstream.MsgIDHeader)] = append(out[m.Headers().Get(jetstream.MsgIDHeader)], m)
		}
		return out
	}
	var id string
	waitUntil(t, "the event on the JetStream subject", time.Minute, func() bool {
		for mid, ms := range read() {
			var ev webhooks.Event
			json.Unmarshal(ms[0].Data(), &ev)
			if ev.Action != "applicationSubmit" {
				continue
			}
			if d, err := ev.Decode(); err == nil && d.(*webhooks.ApplicationEvent).Application.ID == app.ID {
				id = mid
				if ev.WebhookActionID != mid || ms[0].Headers().Get("Ashby-Action") != "applicationSubmit" || ms[0].Subject() != subject {
					t.Fatalf("message %s: headers %v, event %+v", mid, ms[0].Headers(), ev)
				}
				return true
			}
		}
		return false
	})
	if _, err := c.Call(ctx, "webhook.redeliver", map[string]any{"webhookActionId": id}, nil); err != nil {
		t.Fatal(err)
	}
	s := openInbox(t, db)
	waitUntil(t, "the redelivery to be acknowledged", time.Minute, func() bool { return inboxEvent(t, s, id).Duplicates == 1 })
	if ms := read()[id]; len(ms) != 1 {
		t.Fatalf("event %s published %d times, want once", id, len(ms))
	}
	c.Call(ctx, "webhook.update", map[string]any{"webhookId": w.ID, "enabled": false}, nil)
}
