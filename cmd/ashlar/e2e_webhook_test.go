package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/client"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/store/storetest"
	"github.com/ashlarhq/ashlar/testserver"
	"github.com/ashlarhq/ashlar/webhook"
)

// hookReceiver is a real HTTP receiver that records what it gets and
// answers with status(path) (200 by default).
type hookReceiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []hookHit
	status func(path string) int
}

type hookHit struct {
	Path      string
	Body      []byte
	Signature string
	At        time.Time
	env       struct {
		WebhookActionID string          `json:"webhookActionId"`
		Action          string          `json:"action"`
		Data            json.RawMessage `json:"data"`
	}
}

func newHookReceiver(t *testing.T) *hookReceiver {
	rc := &hookReceiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h := hookHit{Path: r.URL.Path, Body: body, Signature: r.Header.Get("Ashby-Signature"), At: time.Now()}
		if err := json.Unmarshal(body, &h.env); err != nil {
			t.Errorf("receiver: body is not JSON: %q", body)
		}
		rc.mu.Lock()
		rc.got = append(rc.got, h)
		st := rc.status
		rc.mu.Unlock()
		if st != nil {
			w.WriteHeader(st(r.URL.Path))
		}
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *hookReceiver) hits(action string) []hookHit {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []hookHit
	for _, h := range rc.got {
		if action == "" || h.env.Action == action {
			out = append(out, h)
		}
	}
	return out
}

func waitUntil(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// webhookServerArgs shorten the schedule and lease for tests and let the
// dispatcher reach the receivers on 127.0.0.1.
var webhookServerArgs = []string{"--webhook-allow-private", "--webhook-retry-base", "50ms", "--webhook-poll", "200ms",
	"--webhook-timeout", "2s", "--webhook-lease", "4s"}

func TestE2EWebhookSettings(t *testing.T) {
	t.Parallel()
	testserver.Engines(t, func(t *testing.T, engine store.Engine) {
		srv := testserver.Start(t, engine, testserver.Options{Args: webhookServerArgs})
		slug, key := srv.NewOrg()
		c := srv.Client(key)
		rc := newHookReceiver(t)

		// create: the setting, its secret, and a signed ping to the URL.
		var w ashby.WebhookSetting
		must(t, c, "webhook.create", map[string]any{"webhookType": "applicationSubmit", "requestUrl": rc.URL + "/submit", "secretToken": "tok-1"}, &w)
		if !ashby.IsUUID(w.ID) || !w.Enabled || w.SecretToken != "tok-1" || w.WebhookType != "applicationSubmit" || w.RequestURL != rc.URL+"/submit" {
			t.Fatalf("created %+v", w)
		}
		waitUntil(t, "the creation ping", 10*time.Second, func() bool { return len(rc.hits("ping")) == 1 })
		ping := rc.hits("ping")[0]
		if string(ping.env.Data) != `{"webhookActionType":"ping"}` || !webhook.Verify("tok-1", ping.Body, ping.Signature) || ping.Path != "/submit" {
			t.Fatalf("ping %s %s (signature %s)", ping.Path, ping.Body, ping.Signature)
		}

		// info omits the secret; create and update return it.
		var raw map[string]any
		must(t, c, "webhook.info", map[string]any{"webhookId": w.ID}, &raw)
		if _, has := raw["secretToken"]; has || raw["id"] != w.ID || raw["enabled"] != true {
			t.Fatalf("info %v", raw)
		}
		// Every type Ashby documents a payload for is accepted, beyond the spec's 17.
		var job ashby.WebhookSetting
		must(t, c, "webhook.create", map[string]any{"webhookType": "jobCreate", "requestUrl": rc.URL + "/jobs", "secretToken": "tok-2", "standardWebhooks": true}, &job)
		if !job.StandardWebhooks || job.StandardWebhooksSecret != webhook.StandardSecret("tok-2") {
			t.Fatalf("standard webhooks: %+v", job)
		}

		// Bad input gets Ashby's error shape, naming the field.
		bad := []struct {
			req   map[string]any
			field string
		}{
			{map[string]any{"requestUrl": rc.URL, "secretToken": "x"}, "webhookType"},
			{map[string]any{"webhookType": "candidateLunch", "requestUrl": rc.URL, "secretToken": "x"}, "webhookType"},
			{map[string]any{"webhookType": "jobUpdate", "requestUrl": "ftp://example.com/x", "secretToken": "x"}, "requestUrl"},
			{map[string]any{"webhookType": "jobUpdate", "requestUrl": "/relative", "secretToken": "x"}, "requestUrl"},
			{map[string]any{"webhookType": "jobUpdate", "requestUrl": rc.URL}, "secretToken"},
			{map[string]any{"webhookType": "jobUpdate", "requestUrl": rc.URL, "secretToken": "  "}, "secretToken"},
		}
		for _, b := range bad {
			_, err := c.Call(context.Background(), "webhook.create", b.req, nil)
			var ce *client.Error
			if client.Code(err) != "invalid_input" || !errorAs(err, &ce) || ce.Meta["field"] != b.field {
				t.Fatalf("create %v: %v, want invalid_input naming %s", b.req, err, b.field)
			}
		}
		_, err := c.Call(context.Background(), "webhook.create", map[string]any{"webhookType": "applicationSubmit", "requestUrl": rc.URL + "/submit", "secretToken": "other"}, nil)
		if client.Code(err) != ashby.CodeDuplicateWebhook || !strings.Contains(err.Error(), "Duplicate webhook") {
			t.Fatalf("duplicate: %v", err)
		}
		wantCode(t, c, "webhook.update", map[string]any{"webhookId": w.ID}, "invalid_input")
		wantCode(t, c, "webhook.update", map[string]any{"webhookId": w.ID, "requestUrl": "nope"}, "invalid_input")
		wantCode(t, c, "webhook.info", map[string]any{"webhookId": "not-a-uuid"}, "invalid_input")
		for _, ep := range []string{"webhook.info", "webhook.delete", "webhook.ping"} {
			wantCode(t, c, ep, map[string]any{"webhookId": ashby.NewID()}, ashby.CodeWebhookNotFound)
		}
		wantCode(t, c, "webhook.update", map[string]any{"webhookId": ashby.NewID(), "enabled": false}, ashby.CodeWebhookNotFound)

		// Another organization sees none of it.
		_, key2 := srv.NewOrg()
		c2 := srv.Client(key2)
		for _, ep := range []string{"webhook.info", "webhook.delete"} {
			wantCode(t, c2, ep, map[string]any{"webhookId": w.ID}, ashby.CodeWebhookNotFound)
		}
		wantCode(t, c2, "webhook.update", map[string]any{"webhookId": w.ID, "enabled": false}, ashby.CodeWebhookNotFound)
		var none []ashby.WebhookSetting
		must(t, c2, "webhook.list", nil, &none)
		if len(none) != 0 {
			t.Fatalf("another organization lists %d webhooks", len(none))
		}
		// Read-only keys cannot manage webhooks.
		ro := srv.Client(srv.Key(slug, "apiKeysRead"))
		wantCode(t, ro, "webhook.create", map[string]any{"webhookType": "jobUpdate", "requestUrl": rc.URL, "secretToken": "x"}, ashby.CodeMissingEndpointPermission)
		must(t, ro, "webhook.info", map[string]any{"webhookId": w.ID}, nil)

		// update: disable, change URL and secret; a URL colliding with
		// another setting of the same type is a duplicate.
		var upd ashby.WebhookSetting
		must(t, c, "webhook.update", map[string]any{"webhookId": w.ID, "enabled": false, "requestUrl": rc.URL + "/moved", "secretToken": "tok-3"}, &upd)
		if upd.Enabled || upd.RequestURL != rc.URL+"/moved" || upd.SecretToken != "tok-3" {
			t.Fatalf("updated %+v", upd)
		}
		var dup ashby.WebhookSetting
		must(t, c, "webhook.create", map[string]any{"webhookType": "jobCreate", "requestUrl": rc.URL + "/jobs2", "secretToken": "x"}, &dup)
		wantCode(t, c, "webhook.update", map[string]any{"webhookId": dup.ID, "requestUrl": rc.URL + "/jobs"}, ashby.CodeDuplicateWebhook)

		// list (Ashlar extension) shows disabled settings, never secrets.
		var list []map[string]any
		must(t, c, "webhook.list", nil, &list)
		if len(list) != 3 {
			t.Fatalf("list: %d settings", len(list))
		}
		for _, s := range list {
			if _, has := s["secretToken"]; has {
				t.Fatalf("list returns a secret: %v", s)
			}
		}

		// ping on demand, and the deliveries endpoint shows it.
		var pd webhook.Delivery
		must(t, c, "webhook.ping", map[string]any{"webhookId": job.ID}, &pd)
		if pd.Action != "ping" || pd.Status != webhook.StatePending || pd.WebhookID != job.ID {
			t.Fatalf("ping delivery %+v", pd)
		}
		wantCode(t, c, "webhook.ping", map[string]any{"webhookId": w.ID}, "invalid_input") // disabled
		waitUntil(t, "the on-demand ping", 10*time.Second, func() bool {
			var ds []webhook.Delivery
			must(t, c, "webhook.listDeliveries", map[string]any{"webhookId": job.ID, "status": "succeeded"}, &ds)
			return len(ds) == 2 // its creation ping and this one
		})
		var ds []webhook.Delivery
		must(t, c, "webhook.listDeliveries", map[string]any{"webhookActionId": pd.WebhookActionID}, &ds)
		if len(ds) != 1 || len(ds[0].Attempts) != 1 || ds[0].Attempts[0].StatusCode != 200 || ds[0].Attempts[0].LatencyMs < 0 {
			t.Fatalf("deliveries of the ping: %+v", ds)
		}
		wantCode(t, c, "webhook.listDeliveries", map[string]any{"cursor": "bogus"}, ashby.CodeInvalidNextCursor)
		wantCode(t, c, "webhook.listDeliveries", map[string]any{"status": "lost"}, "invalid_input")
		var again []webhook.Delivery
		must(t, c, "webhook.redeliver", map[string]any{"deliveryId": ds[0].ID}, &again)
		if len(again) != 1 || again[0].WebhookActionID != pd.WebhookActionID {
			t.Fatalf("redeliver %+v", again)
		}
		wantCode(t, c, "webhook.redeliver", map[string]any{"deliveryId": ashby.NewID()}, "webhook_delivery_not_found")
		wantCode(t, c, "webhook.redeliver", map[string]any{}, "invalid_input")

		// delete.
		var del map[string]string
		must(t, c, "webhook.delete", map[string]any{"webhookId": dup.ID}, &del)
		if del["webhookId"] != dup.ID {
			t.Fatalf("delete returned %v", del)
		}
		wantCode(t, c, "webhook.info", map[string]any{"webhookId": dup.ID}, ashby.CodeWebhookNotFound)

		// /openapi.json documents the extensions as such.
		resp, err := http.Get(srv.URL + "/openapi.json")
		if err != nil {
			t.Fatal(err)
		}
		var spec struct {
			Paths map[string]map[string]map[string]any `json:"paths"`
		}
		json.NewDecoder(resp.Body).Decode(&spec)
		resp.Body.Close()
		if spec.Paths["/webhook.list"]["post"]["x-ashlar-extension"] != true || spec.Paths["/webhook.create"]["post"]["x-ashlar-extension"] != nil {
			t.Fatalf("openapi extension flags: %v / %v", spec.Paths["/webhook.list"]["post"]["x-ashlar-extension"], spec.Paths["/webhook.create"]["post"]["x-ashlar-extension"])
		}
	})
}

func errorAs(err error, target **client.Error) bool {
	ce, ok := err.(*client.Error)
	if ok {
		*target = ce
	}
	return ok
}

// A hire fires candidateHire, candidateStageChange and applicationUpdate
// (Ashby's fan-out), each its own event, to the settings subscribed.
func TestE2EWebhookHireFanOut(t *testing.T) {
	t.Parallel()
	testserver.Engines(t, func(t *testing.T, engine store.Engine) {
		srv := testserver.Start(t, engine, testserver.Options{Args: webhookServerArgs})
		_, key := srv.NewOrg()
		c := srv.Client(key)
		rc := newHookReceiver(t)
		f := newFixture(t, c)
		settings := map[string]string{}
		for _, typ := range []string{"applicationSubmit", "applicationUpdate", "candidateStageChange", "candidateHire", "jobCreate"} {
			var w ashby.WebhookSetting
			must(t, c, "webhook.create", map[string]any{"webhookType": typ, "requestUrl": rc.URL + "/" + typ, "secretToken": "s-" + typ}, &w)
			settings[typ] = w.ID
		}
		var cand ashby.Candidate
		must(t, c, "candidate.create", map[string]any{"name": "Grace Hopper", "email": "grace@example.com"}, &cand)
		var app ashby.Application
		must(t, c, "application.create", map[string]any{"candidateId": cand.ID, "jobId": f.job.ID}, &app)
		must(t, c, "application.changeStage", map[string]any{"applicationId": app.ID, "interviewStageId": f.stageByTyp["Hired"].ID}, &app)
		if app.Status != "Hired" {
			t.Fatalf("status %s", app.Status)
		}
		waitUntil(t, "the hire's events", 15*time.Second, func() bool {
			return len(rc.hits("candidateHire")) == 1 && len(rc.hits("candidateStageChange")) == 1 &&
				len(rc.hits("applicationUpdate")) == 1 && len(rc.hits("applicationSubmit")) == 1
		})
		ids := map[string]bool{}
		for _, typ := range []string{"applicationSubmit", "applicationUpdate", "candidateStageChange", "candidateHire"} {
			h := rc.hits(typ)[0]
			if h.Path != "/"+typ || !webhook.Verify("s-"+typ, h.Body, h.Signature) {
				t.Fatalf("%s went to %s, signature ok %v", typ, h.Path, webhook.Verify("s-"+typ, h.Body, h.Signature))
			}
			var data struct {
				Application ashby.Application `json:"application"`
			}
			if err := json.Unmarshal(h.env.Data, &data); err != nil || data.Application.ID != app.ID {
				t.Fatalf("%s data %s", typ, h.env.Data)
			}
			if typ != "applicationSubmit" && data.Application.Status != "Hired" {
				t.Fatalf("%s: application status %s", typ, data.Application.Status)
			}
			ids[h.env.WebhookActionID] = true
		}
		if len(ids) != 4 {
			t.Fatalf("the four events share webhookActionIds: %v", ids)
		}
		// The job was created before any setting existed: no jobCreate.
		// Events fan out in commit order, so once a job created now has
		// its delivery, the fixture's job was decided earlier, and its
		// delivery, had it one, would be listed (pending or not).
		var later ashby.Job
		must(t, c, "job.create", map[string]any{"title": "Later", "teamId": f.job.DepartmentID, "locationId": f.job.LocationID}, &later)
		waitUntil(t, "the later job's jobCreate", 15*time.Second, func() bool { return len(rc.hits("jobCreate")) >= 1 })
		var ds []webhook.Delivery
		must(t, c, "webhook.listDeliveries", map[string]any{"webhookId": settings["jobCreate"]}, &ds)
		events := 0 // the setting's ping is listed too
		for _, d := range ds {
			if d.Action == "jobCreate" {
				events++
			}
		}
		if events != 1 || len(rc.hits("jobCreate")) != 1 || !strings.Contains(string(rc.hits("jobCreate")[0].Body), later.ID) {
			t.Fatalf("%d jobCreate deliveries (%d received), want only the later job's", events, len(rc.hits("jobCreate")))
		}
	})
}

func TestE2EWebhookCLIAndMetrics(t *testing.T) {
	t.Parallel()
	// The commands check URLs as the API does: the receiver is on 127.0.0.1.
	srv := testserver.Start(t, store.SQLite, testserver.Options{Args: webhookServerArgs, Env: []string{"ASHLAR_WEBHOOK_ALLOW_PRIVATE=true"}})
	slug, key := srv.NewOrg()
	c := srv.Client(key)
	rc := newHookReceiver(t)
	rc.mu.Lock()
	rc.status = func(path string) int {
		if path == "/gone" {
			return 410
		}
		return 200
	}
	rc.mu.Unlock()
	out := srv.CLI("webhook", "create", "--org", slug, "--type", "jobCreate", "--url", rc.URL+"/cli", "--secret", "cli-secret")
	if !strings.Contains(out, "created webhook") {
		t.Fatalf("create: %s", out)
	}
	srv.CLI("webhook", "create", "--org", slug, "--type", "jobCreate", "--url", rc.URL+"/gone", "--secret", "x")
	var settings []ashby.WebhookSetting
	for _, line := range strings.Split(strings.TrimSpace(srv.CLI("webhook", "list", "--org", slug, "--json")), "\n") {
		var w ashby.WebhookSetting
		if err := json.Unmarshal([]byte(line), &w); err != nil {
			t.Fatalf("list --json: %q", line)
		}
		settings = append(settings, w)
	}
	if len(settings) != 2 {
		t.Fatalf("list: %+v", settings)
	}
	if _, errOut, err := srv.TryCLI("webhook", "create", "--org", slug, "--type", "jobCreate", "--url", rc.URL+"/cli", "--secret", "y"); err == nil || !strings.Contains(errOut, "Duplicate webhook") {
		t.Fatalf("duplicate through the CLI: %v %s", err, errOut)
	}
	var job ashby.Job
	var plans []ashby.InterviewPlan
	must(t, c, "interviewPlan.list", nil, &plans)
	var d ashby.Department
	must(t, c, "department.create", map[string]any{"name": "Ops"}, &d)
	var l ashby.Location
	must(t, c, "location.create", map[string]any{"name": "Lisbon", "type": "Location"}, &l)
	must(t, c, "job.create", map[string]any{"title": "SRE", "teamId": d.ID, "locationId": l.ID}, &job)
	waitUntil(t, "jobCreate to reach both settings", 10*time.Second, func() bool { return len(rc.hits("jobCreate")) == 2 })

	var ds []webhook.Delivery
	for _, line := range strings.Split(strings.TrimSpace(srv.CLI("webhook", "deliveries", "--org", slug, "--json", "--status", "failed")), "\n") {
		var d webhook.Delivery
		if err := json.Unmarshal([]byte(line), &d); err != nil {
			t.Fatalf("deliveries --json: %q", line)
		}
		ds = append(ds, d)
	}
	// The 410 receiver's ping and jobCreate failed at once.
	if len(ds) != 2 || ds[0].AttemptCount != 1 || ds[0].Attempts[0].StatusCode != 410 {
		t.Fatalf("failed deliveries: %+v", ds)
	}
	table := srv.CLI("webhook", "deliveries", "--org", slug)
	if !strings.Contains(table, "WEBHOOK_ACTION_ID") || !strings.Contains(table, "rejected") {
		t.Fatalf("deliveries table:\n%s", table)
	}
	var jobEvent string
	for _, h := range rc.hits("jobCreate") {
		if h.Path == "/cli" {
			jobEvent = h.env.WebhookActionID
		}
	}
	out = srv.CLI("webhook", "redeliver", "--org", slug, jobEvent)
	if strings.Count(out, "queued delivery") != 2 {
		t.Fatalf("redeliver by webhookActionId: %s", out)
	}
	waitUntil(t, "the redelivery", 10*time.Second, func() bool {
		n := 0
		for _, h := range rc.hits("jobCreate") {
			if h.env.WebhookActionID == jobEvent && h.Path == "/cli" {
				n++
			}
		}
		return n == 2
	})
	srv.CLI("webhook", "update", "--org", slug, settings[1].ID, "--enabled", "false")
	srv.CLI("webhook", "ping", "--org", slug, settings[0].ID)
	srv.CLI("webhook", "delete", "--org", slug, settings[1].ID)
	if _, _, err := srv.TryCLI("webhook", "delete", "--org", slug, settings[1].ID); err == nil {
		t.Fatal("deleting twice succeeded")
	}
	for _, sub := range append([]string{""}, webhookSubs...) {
		args := []string{"webhook", "--help"}
		if sub != "" {
			args = []string{"webhook", sub, "--help"}
		}
		out, errOut, err := srv.TryCLI(args...) // help: on stdout, exit 0
		if err != nil || !strings.Contains(out, "Usage") {
			t.Fatalf("ashlar %s: %v\n%s%s", strings.Join(args, " "), err, out, errOut)
		}
	}

	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, m := range []string{"ashlar_webhook_queue_depth", "ashlar_webhook_oldest_pending_event_age_seconds", `ashlar_webhook_attempts_total{outcome="success"}`,
		`ashlar_webhook_attempts_total{outcome="rejected"}`, "ashlar_webhook_delivery_latency_seconds_bucket", "ashlar_webhook_events_pending_fanout"} {
		if !strings.Contains(string(body), m) {
			t.Fatalf("/metrics lacks %s:\n%s", m, body)
		}
	}
}

// The crash test: under a steady stream of writes, the server is killed
// with SIGKILL at random moments and restarted. In the end every
// acknowledged change's event has arrived at least once, duplicates
// share a webhookActionId, and every event delivered belongs to a change
// that is in the database.
func TestE2EWebhookCrash(t *testing.T) {
	t.Parallel()
	testserver.Engines(t, func(t *testing.T, engine store.Engine) {
		srv := testserver.Start(t, engine, testserver.Options{Args: []string{"--webhook-allow-private", "--webhook-retry-base", "100ms",
			"--webhook-poll", "200ms", "--webhook-timeout", "1s", "--webhook-lease", "2s"}})
		_, key := srv.NewOrg()
		rc := newHookReceiver(t)
		c := srv.Client(key)
		c.MaxRetries = 0 // an interrupted write is not acknowledged; it is not retried either
		var d ashby.Department
		must(t, c, "department.create", map[string]any{"name": "Crash"}, &d)
		var l ashby.Location
		must(t, c, "location.create", map[string]any{"name": "Nowhere", "type": "Location"}, &l)
		must(t, c, "webhook.create", map[string]any{"webhookType": "jobCreate", "requestUrl": rc.URL + "/jobs", "secretToken": "crash"}, nil)

		var mu sync.Mutex
		acked := map[string]bool{} // job ids whose job.create returned
		stop := make(chan struct{})
		var writers sync.WaitGroup
		for w := range 2 {
			writers.Add(1)
			go func() {
				defer writers.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					var job ashby.Job
					mu.Lock()
					cl := srv.Client(key)
					mu.Unlock()
					cl.MaxRetries = 0
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					_, err := cl.Call(ctx, "job.create", map[string]any{"title": fmt.Sprintf("crash %d-%d", w, i), "teamId": d.ID, "locationId": l.ID}, &job)
					cancel()
					if err != nil {
						time.Sleep(20 * time.Millisecond) // the server is down
						continue
					}
					mu.Lock()
					acked[job.ID] = true
					mu.Unlock()
				}
			}()
		}
		rnd := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 5))
		ackedNow := func() int {
			mu.Lock()
			defer mu.Unlock()
			return len(acked)
		}
		const kills = 4
		for k := range kills {
			// Kill only once the (re)started server has acknowledged a few
			// writes, then at a random moment: on a slow machine a fixed
			// delay could kill it before it ever answered.
			before := ackedNow()
			waitUntil(t, "writes acknowledged by the restarted server", 60*time.Second, func() bool { return ackedNow() >= before+5 })
			time.Sleep(time.Duration(rnd.IntN(600)) * time.Millisecond)
			mu.Lock()
			srv.Kill()
			n := len(acked)
			mu.Unlock()
			t.Logf("kill %d: %d acknowledged jobs, %d deliveries received", k+1, n, len(rc.hits("jobCreate")))
			time.Sleep(time.Duration(rnd.IntN(300)) * time.Millisecond)
			mu.Lock()
			srv.Restart()
			mu.Unlock()
		}
		before := ackedNow()
		waitUntil(t, "writes acknowledged after the last restart", 60*time.Second, func() bool { return ackedNow() >= before+5 })
		close(stop)
		writers.Wait()
		n := ackedNow()
		if n < 20 {
			t.Fatalf("only %d writes were acknowledged; the test did not exercise much", n)
		}
		delivered := func() map[string][]string { // job id → webhookActionIds received
			out := map[string][]string{}
			for _, h := range rc.hits("jobCreate") {
				var data struct {
					Job ashby.Job `json:"job"`
				}
				json.Unmarshal(h.env.Data, &data)
				out[data.Job.ID] = append(out[data.Job.ID], h.env.WebhookActionID)
			}
			return out
		}
		waitUntil(t, "every acknowledged change's event", 90*time.Second, func() bool {
			got := delivered()
			for id := range acked {
				if len(got[id]) == 0 {
					return false
				}
			}
			return true
		})
		c = srv.Client(key)
		dups := 0
		for jobID, actions := range delivered() {
			for _, a := range actions[1:] {
				if a != actions[0] {
					t.Fatalf("job %s was announced under two webhookActionIds: %v", jobID, actions)
				}
				dups++
			}
			if !acked[jobID] {
				// Committed just before a kill: the client saw no response,
				// but the change must be in the database.
				must(t, c, "job.info", map[string]any{"id": jobID}, nil)
			}
		}
		t.Logf("%s: %d acknowledged jobs, %d events delivered, %d duplicates, %d kills", engine, n, len(delivered()), dups, kills)
		for _, h := range rc.hits("jobCreate") {
			if !webhook.Verify("crash", h.Body, h.Signature) {
				t.Fatal("a delivery's signature does not verify")
			}
		}
	})
}

// Two server processes on one PostgreSQL deliver a burst of 1,000 events
// with no attempt made twice while the receiver answers 200.
func TestE2EWebhookTwoServersOnePostgres(t *testing.T) {
	t.Parallel()
	dsn := storetest.DSN(t, store.Postgres)
	args := []string{"--webhook-allow-private", "--webhook-poll", "200ms"}
	a := testserver.Start(t, store.Postgres, testserver.Options{DSN: dsn, Args: args})
	b := testserver.Start(t, store.Postgres, testserver.Options{DSN: dsn, Args: args})
	slug, key := a.NewOrg()
	rc := newHookReceiver(t)
	ca, cb := a.Client(key), b.Client(key)
	var d ashby.Department
	must(t, ca, "department.create", map[string]any{"name": "Burst"}, &d)
	var l ashby.Location
	must(t, ca, "location.create", map[string]any{"name": "Here", "type": "Location"}, &l)
	must(t, ca, "webhook.create", map[string]any{"webhookType": "jobCreate", "requestUrl": rc.URL + "/burst", "secretToken": "b"}, nil)
	const n = 1000
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := []*client.Client{ca, cb}[w%2]
			for i := w; i < n; i += 8 {
				if _, err := cl.Call(context.Background(), "job.create", map[string]any{"title": fmt.Sprintf("burst %d", i), "teamId": d.ID, "locationId": l.ID}, nil); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	waitUntil(t, "1,000 deliveries", 120*time.Second, func() bool { return len(rc.hits("jobCreate")) >= n })
	db, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Every delivery finished: none can be attempted again, so no
	// duplicate can still arrive …
	waitUntil(t, "every delivery to finish", 120*time.Second, func() bool {
		var pending int
		db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM jobs WHERE kind = 'webhook.delivery' AND action = 'jobCreate' AND state = 'pending'`).Scan(&pending)
		return pending == 0
	})
	// … and each was attempted once.
	var attempts, distinct, maxAttempt int
	if err := db.QueryRowContext(context.Background(), `SELECT COUNT(*), COUNT(DISTINCT job_id), MAX(attempt) FROM job_attempts a
		JOIN jobs d ON d.id = a.job_id WHERE d.kind = 'webhook.delivery' AND d.action = 'jobCreate'`).Scan(&attempts, &distinct, &maxAttempt); err != nil {
		t.Fatal(err)
	}
	if attempts != n || distinct != n || maxAttempt != 1 {
		t.Fatalf("%d attempts over %d deliveries (highest attempt number %d), want %d first attempts", attempts, distinct, maxAttempt, n)
	}
	seen := map[string]int{}
	for _, h := range rc.hits("jobCreate") {
		seen[h.env.WebhookActionID]++
	}
	if len(rc.hits("jobCreate")) != n || len(seen) != n {
		t.Fatalf("%d requests for %d distinct events, want %d of each", len(rc.hits("jobCreate")), len(seen), n)
	}
	// Both processes took part.
	var ds []webhook.Delivery
	workers := map[string]int{}
	out := a.CLI("webhook", "deliveries", "--org", slug, "--json", "--limit", "100", "--status", "succeeded")
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var d webhook.Delivery
		json.Unmarshal([]byte(line), &d)
		ds = append(ds, d)
	}
	for _, d := range ds {
		if d.AttemptCount != 1 || len(d.Attempts) != 1 {
			t.Fatalf("delivery %s: %d attempts", d.ID, d.AttemptCount)
		}
		workers[d.Attempts[0].Worker]++
	}
	var perWorker []int
	rows, err := db.QueryContext(context.Background(), `SELECT COUNT(*) FROM job_attempts a JOIN jobs d ON d.id = a.job_id WHERE d.kind = 'webhook.delivery' GROUP BY a.worker`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k int
		rows.Scan(&k)
		perWorker = append(perWorker, k)
	}
	rows.Close()
	if len(perWorker) != 2 {
		t.Fatalf("attempts by worker %v: want both processes delivering", perWorker)
	}
	t.Logf("attempts per process: %v", perWorker)
}
