package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/client"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/store/storetest"
	"github.com/ashlarhq/ashlar/testserver"
)

type idemReply struct {
	status   int
	replayed bool
	body     []byte
	code     string
}

// postIdem sends one request with an Idempotency-Key over plain HTTP.
func postIdem(t *testing.T, base, key, endpoint, idemKey, body string) idemReply {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/"+endpoint, bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(key, "")
	req.Header.Set("Content-Type", "application/json")
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var env struct {
		ErrorInfo struct {
			Code string `json:"code"`
		} `json:"errorInfo"`
	}
	json.Unmarshal(b, &env)
	return idemReply{status: resp.StatusCode, replayed: resp.Header.Get("Idempotent-Replayed") == "true", body: b, code: env.ErrorInfo.Code}
}

func countCandidates(t *testing.T, c *client.Client, name string) int {
	t.Helper()
	var found []ashby.Candidate
	must(t, c, "candidate.search", map[string]any{"name": name}, &found)
	return len(found)
}

// TestE2EIdempotencyKey: on both engines, a retried write with the same
// key and body replays the first response and writes once; another body
// with the key is refused; reads ignore the header; a key expires.
func TestE2EIdempotencyKey(t *testing.T) {
	t.Parallel()
	testserver.Engines(t, func(t *testing.T, engine store.Engine) {
		s := testserver.Start(t, engine, testserver.Options{Args: []string{"--idempotency-ttl", "2s"}})
		slug, key := s.NewOrg()
		c := s.Client(key)

		first := postIdem(t, s.URL, key, "candidate.create", "create-ada", `{"name":"Ada Idem","email":"ada@example.com"}`)
		if first.status != 200 || first.replayed || first.code != "" {
			t.Fatalf("first: %d replayed=%v %s", first.status, first.replayed, first.body)
		}
		// The same request encoded differently is the same request.
		again := postIdem(t, s.URL, key, "candidate.create", "create-ada", `{ "email": "ada@example.com", "name": "Ada Idem" }`)
		if again.status != 200 || !again.replayed || !bytes.Equal(again.body, first.body) {
			t.Fatalf("retry: %d replayed=%v\n%s\nfirst:\n%s", again.status, again.replayed, again.body, first.body)
		}
		if n := countCandidates(t, c, "Ada Idem"); n != 1 {
			t.Fatalf("%d candidates after a retried create, want 1", n)
		}
		other := postIdem(t, s.URL, key, "candidate.create", "create-ada", `{"name":"Someone Else"}`)
		if other.status != 422 || other.code != "idempotency_key_reused" {
			t.Fatalf("another body with the key: %d %s", other.status, other.body)
		}
		elsewhere := postIdem(t, s.URL, key, "candidate.createNote", "create-ada", `{"candidateId":"`+ashby.NewID()+`","note":"x"}`)
		if elsewhere.status != 422 || elsewhere.code != "idempotency_key_reused" {
			t.Fatalf("the key on another endpoint: %d %s", elsewhere.status, elsewhere.body)
		}
		if n := countCandidates(t, c, "Someone Else"); n != 0 {
			t.Fatalf("the refused request created %d candidates", n)
		}
		// Another API key has keys of its own.
		key2 := s.Key(slug, "candidatesRead,candidatesWrite")
		if r := postIdem(t, s.URL, key2, "candidate.create", "create-ada", `{"name":"Ada Idem"}`); r.status != 200 || r.replayed {
			t.Fatalf("the same key sent by another API key: %d replayed=%v %s", r.status, r.replayed, r.body)
		}
		// A read ignores the header.
		for range 2 {
			if r := postIdem(t, s.URL, key, "candidate.list", "read-1", `{}`); r.status != 200 || r.replayed {
				t.Fatalf("read with a key: %d replayed=%v", r.status, r.replayed)
			}
		}
		// A failure that changed nothing is not kept: the retry runs.
		bad := postIdem(t, s.URL, key, "candidate.update", "update-1", `{"candidateId":"`+ashby.NewID()+`","name":"x"}`)
		if bad.status == 200 && bad.code == "" || bad.replayed {
			t.Fatalf("update of a missing candidate: %d %s", bad.status, bad.body)
		}
		if r := postIdem(t, s.URL, key, "candidate.update", "update-1", `{"candidateId":"`+ashby.NewID()+`","name":"x"}`); r.replayed {
			t.Fatalf("retry of a failure: replayed %s", r.body)
		}
		if r := postIdem(t, s.URL, key, "candidate.create", strings.Repeat("k", 256), `{"name":"x"}`); r.status != 400 {
			t.Fatalf("a key of 256 characters: %d %s", r.status, r.body)
		}
		// A new API key's secret is shown once: the retry is told the key
		// was created, and is not given the secret again.
		mk := postIdem(t, s.URL, key, "apiKey.create", "new-key", `{"title":"idem","permissions":["candidatesRead"]}`)
		var created struct {
			Results struct {
				Secret string `json:"secret"`
			} `json:"results"`
		}
		if json.Unmarshal(mk.body, &created); mk.status != 200 || created.Results.Secret == "" {
			t.Fatalf("apiKey.create: %d %s", mk.status, mk.body)
		}
		if r := postIdem(t, s.URL, key, "apiKey.create", "new-key", `{"title":"idem","permissions":["candidatesRead"]}`); r.status != 409 ||
			r.code != "idempotency_key_secret_not_replayed" || !r.replayed || bytes.Contains(r.body, []byte(created.Results.Secret)) {
			t.Fatalf("apiKey.create retried: %d replayed=%v %s", r.status, r.replayed, r.body)
		}
		// Expiry (--idempotency-ttl 2s): the key becomes new again.
		waitUntil(t, "the key to expire", 60*time.Second, func() bool {
			r := postIdem(t, s.URL, key, "candidate.create", "create-ada", `{"name":"After Expiry"}`)
			if r.code != "" && r.code != "idempotency_key_reused" {
				t.Fatalf("while waiting for expiry: %d %s", r.status, r.body)
			}
			return r.status == 200
		})
		if n := countCandidates(t, c, "After Expiry"); n != 1 {
			t.Fatalf("%d candidates created with the expired key, want 1", n)
		}

		// The Go client: with IdempotencyKeys a write carries a key.
		c.IdempotencyKeys = true
		must(t, c, "candidate.create", map[string]any{"name": "Client Keyed"}, nil)
		if n := countCandidates(t, c, "Client Keyed"); n != 1 {
			t.Fatalf("%d candidates from the client, want 1", n)
		}
	})
}

// TestE2EIdempotencyKeyTwoProcesses: on one PostgreSQL, a key used on one
// process is honoured by another, and concurrent duplicates spread over
// both create exactly one record.
func TestE2EIdempotencyKeyTwoProcesses(t *testing.T) {
	t.Parallel()
	dsn := storetest.DSN(t, store.Postgres)
	a := testserver.Start(t, store.Postgres, testserver.Options{DSN: dsn})
	b := testserver.Start(t, store.Postgres, testserver.Options{DSN: dsn})
	_, key := a.NewOrg()
	first := postIdem(t, a.URL, key, "candidate.create", "two-1", `{"name":"Two Processes"}`)
	if first.status != 200 {
		t.Fatalf("first: %d %s", first.status, first.body)
	}
	r := postIdem(t, b.URL, key, "candidate.create", "two-1", `{"name":"Two Processes"}`)
	if r.status != 200 || !r.replayed || !bytes.Equal(r.body, first.body) {
		t.Fatalf("retry on the other process: %d replayed=%v %s", r.status, r.replayed, r.body)
	}
	if r := postIdem(t, b.URL, key, "candidate.create", "two-1", `{"name":"Other"}`); r.status != 422 || r.code != "idempotency_key_reused" {
		t.Fatalf("other body on the other process: %d %s", r.status, r.body)
	}
	// Sixteen copies at once, over both processes.
	const n = 16
	replies := make([]idemReply, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			replies[i] = postIdem(t, []string{a.URL, b.URL}[i%2], key, "candidate.create", "burst-1", `{"name":"Burst Once"}`)
		}()
	}
	wg.Wait()
	ran, replayed, waiting := 0, 0, 0
	var body []byte
	for _, r := range replies {
		switch {
		case r.status == 200 && !r.replayed:
			ran++
			body = r.body
		case r.status == 200 && r.replayed:
			replayed++
		case r.status == 409 && r.code == "idempotency_key_in_progress":
			waiting++
		default:
			t.Fatalf("concurrent duplicate: %d %s", r.status, r.body)
		}
	}
	if ran != 1 {
		t.Fatalf("%d copies ran (%d replayed, %d told to wait), want exactly 1", ran, replayed, waiting)
	}
	for _, r := range replies {
		if r.replayed && !bytes.Equal(r.body, body) {
			t.Fatalf("a replay differs from the response:\n%s\n%s", r.body, body)
		}
	}
	if n := countCandidates(t, a.Client(key), "Burst Once"); n != 1 {
		t.Fatalf("%d candidates from %d concurrent copies, want 1", n, len(replies))
	}
	t.Logf("concurrent copies: 1 ran, %d replayed, %d told to wait", replayed, waiting)
}
