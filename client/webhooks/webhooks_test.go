package webhooks

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

type vector struct {
	Name      string `json:"name"`
	Secret    string `json:"secret"`
	Body      string `json:"body"`
	Signature string `json:"signature"`
	Valid     bool   `json:"valid"`
}

func vectors(t *testing.T) []vector {
	b, err := os.ReadFile("testdata/signatures.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct{ Vectors []vector }
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Vectors) < 10 {
		t.Fatalf("only %d vectors", len(f.Vectors))
	}
	return f.Vectors
}

func TestGoldenSignatures(t *testing.T) {
	for _, v := range vectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			err := Verify([]byte(v.Body), v.Signature, v.Secret)
			if (err == nil) != v.Valid {
				t.Fatalf("Verify = %v, want valid=%v", err, v.Valid)
			}
			if v.Valid && strings.TrimSpace(v.Signature) == strings.ToLower(strings.TrimSpace(v.Signature)) {
				if got := Sign(v.Secret, []byte(v.Body)); got != strings.TrimSpace(v.Signature) {
					t.Fatalf("Sign = %s, want %s", got, v.Signature)
				}
			}
		})
	}
}

func TestVerifyRotationAndMissingSecret(t *testing.T) {
	body := []byte(`{"webhookActionId":"a","action":"ping","data":{}}`)
	sig := Sign("new", body)
	if err := Verify(body, sig, "old", "new"); err != nil {
		t.Fatalf("rotation: %v", err)
	}
	if err := Verify(body, sig, "old"); err != ErrSignatureInvalid {
		t.Fatalf("wrong secret: %v", err)
	}
	if err := Verify(body, sig); err != ErrNoSecret {
		t.Fatalf("no secret: %v", err)
	}
	if err := Verify(body, sig, ""); err != ErrNoSecret {
		t.Fatalf("empty secret: %v", err)
	}
	if err := Verify(body, "", "new"); err != ErrNoSignature {
		t.Fatalf("no header: %v", err)
	}
}

func TestParseAndDecode(t *testing.T) {
	ev, err := Parse([]byte(`{"webhookActionId":"w1","action":"candidateHire","data":{"application":{"id":"a1","status":"Hired","candidate":{"id":"c1","name":"Ada"}},"offer":{"id":"o1"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	v, err := ev.Decode()
	if err != nil {
		t.Fatal(err)
	}
	app, ok := v.(*ApplicationEvent)
	if !ok || ev.WebhookActionID != "w1" || app.Application.ID != "a1" || app.Application.Candidate.Name != "Ada" || app.Offer == nil || app.Offer.ID != "o1" {
		t.Fatalf("decoded %T %+v", v, v)
	}
	for body, want := range map[string]string{
		`{"webhookActionId":"w","action":"interviewScheduleUpdate","data":{"interviewSchedule":{"id":"s1","candidateId":"c9"}}}`: "c9",
		`{"webhookActionId":"w","action":"offerDelete","data":{"offer":{"id":"o2","applicationId":"a2"}}}`:                       "o2",
		`{"webhookActionId":"w","action":"ping","data":{"webhookActionType":"ping"}}`:                                            "ping",
		`{"webhookActionId":"w","action":"candidateMerge","data":{"deletedCandidate":{"id":"d"},"mergedCandidate":{"id":"m"}}}`:  "m",
	} {
		ev, err := Parse([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		v, err := ev.Decode()
		if err != nil {
			t.Fatal(err)
		}
		var got string
		switch d := v.(type) {
		case *InterviewScheduleEvent:
			got = d.InterviewSchedule.CandidateID
		case *OfferEvent:
			got = d.Offer.ID
		case *PingEvent:
			got = d.WebhookActionType
		case *CandidateMergeEvent:
			got = d.MergedCandidate.ID
		}
		if got != want {
			t.Errorf("%s: got %q, want %q", ev.Action, got, want)
		}
	}
	ev, _ = Parse([]byte(`{"webhookActionId":"w","action":"somethingNew","data":{"x":1}}`))
	if v, err := ev.Decode(); err != nil || string(v.(json.RawMessage)) != `{"x":1}` {
		t.Fatalf("unknown action: %v %v", v, err)
	}
	for _, bad := range []string{`not json`, `{"action":"","data":{}}`, `{"action":"ping","data":[1]}`, `{"action":"ping"}`} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("Parse(%s) accepted", bad)
		}
	}
}

func TestHandler(t *testing.T) {
	var logs bytes.Buffer
	var got []string
	h := Middleware("s3cr3t", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ev, ok := FromContext(r.Context())
		body, _ := io.ReadAll(r.Body)
		if !ok || !bytes.Equal(body, []byte(`{"webhookActionId":"w1","action":"ping","data":{"webhookActionType":"ping"}}`)) {
			t.Errorf("next got event %v, body %s", ev, body)
		}
		got = append(got, ev.WebhookActionID)
		w.WriteHeader(204)
	}))
	h.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	h.MaxBodyBytes = 200
	body := []byte(`{"webhookActionId":"w1","action":"ping","data":{"webhookActionType":"ping"}}`)
	post := func(body []byte, sig string) int {
		r := httptest.NewRequest("POST", "/", bytes.NewReader(body))
		if sig != "" {
			r.Header.Set(SignatureHeader, sig)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	if c := post(body, Sign("s3cr3t", body)); c != 204 || len(got) != 1 || got[0] != "w1" {
		t.Fatalf("good delivery: %d, next saw %v", c, got)
	}
	secretBody := []byte(`{"webhookActionId":"w2","action":"ping","data":{"ssn":"PRIVATE-VALUE"}}`)
	if c := post(secretBody, Sign("wrong", secretBody)); c != 401 {
		t.Fatalf("bad signature: %d", c)
	}
	if c := post(secretBody, ""); c != 401 {
		t.Fatalf("no signature: %d", c)
	}
	if strings.Contains(logs.String(), "PRIVATE-VALUE") || !strings.Contains(logs.String(), "bad signature") {
		t.Fatalf("log must record the refusal without the body:\n%s", logs.String())
	}
	big := append([]byte(`{"webhookActionId":"w3","action":"ping","data":{"x":"`), bytes.Repeat([]byte("a"), 300)...)
	big = append(big, `"}}`...)
	if c := post(big, Sign("s3cr3t", big)); c != 413 {
		t.Fatalf("big body: %d", c)
	}
	notPayload := []byte(`{"hello":1}`)
	if c := post(notPayload, Sign("s3cr3t", notPayload)); c != 400 {
		t.Fatalf("signed non-payload: %d", c)
	}
	r := httptest.NewRequest("GET", "/", nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 405 || len(got) != 1 {
		t.Fatalf("GET: %d; next called %d times", w.Code, len(got))
	}
}
