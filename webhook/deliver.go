package webhook

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/jobqueue"
	"github.com/ashlarhq/ashlar/store"
)

// Deliveries are jobs of Kind (package jobqueue): the job's key is the
// setting, so the per-key limit is PerSetting; its subject is the
// webhookActionId (the event's id), its action the event's action, and
// its arguments (deliveryArgs) what the event does not hold. The queue
// enforces the delivery contract (see jobqueue's claimTx): at least
// once, each attempt by one process, leases on the database's clock, a
// slow receiver isolated by PerSetting. The setting is read when the
// delivery is claimed: an update of its URL or secret applies to retries,
// and a disabled or deleted setting's deliveries are cancelled rather
// than sent.

// deliveryArgs are a delivery job's arguments.
type deliveryArgs struct {
	Trigger string `json:"trigger"`
	EventAt int64  `json:"eventAt"` // when the event was recorded (epoch ms)
	// Payload is the data sent when it is not the event's (pings); for
	// events it is read from the events table when the delivery is claimed.
	Payload *string `json:"payload,omitempty"`
}

// attemptDetail is what an attempt records beyond the queue's fields.
type attemptDetail struct {
	URL        string `json:"url"`
	StatusCode int    `json:"statusCode,omitempty"`
	Response   string `json:"response,omitempty"`
}

// delivery is a claimed delivery, ready to send (jobqueue.Job.Data).
type delivery struct {
	args     deliveryArgs
	payload  []byte
	url      string
	secret   string
	standard bool
	// unsigned says why the setting's secret cannot be used: such a
	// delivery is not sent (a receiver must never get an unsigned event).
	unsigned string
}

// begin prepares claimed deliveries, inside the claim transaction: it
// reads their settings and event payloads, and cancels those whose
// setting is gone or disabled or whose event no longer exists.
func (d *Dispatcher) begin(ctx context.Context, tx *store.Tx, jobs []*jobqueue.Job) error {
	var eventIDs []string
	settings := map[string]map[string]bool{} // org → setting ids
	args := make([]deliveryArgs, len(jobs))
	for i, j := range jobs {
		if err := json.Unmarshal(j.Args, &args[i]); err != nil {
			j.End(jobqueue.Failed, "the delivery's record is unreadable: "+err.Error())
			continue
		}
		if args[i].Payload == nil {
			eventIDs = append(eventIDs, j.Subject)
		}
		if settings[j.OrgID] == nil {
			settings[j.OrgID] = map[string]bool{}
		}
		settings[j.OrgID][j.Key] = true
	}
	payloads, docs, err := claimData(ctx, tx, eventIDs, settings)
	if err != nil {
		return err
	}
	type decoded struct {
		set      ashby.WebhookSetting
		secret   string
		reason   string // why nothing may be sent to it
		unsigned string // why it cannot be signed
	}
	cache := map[string]*decoded{}
	setting := func(org, id string) *decoded {
		k := org + "/" + id
		if s, ok := cache[k]; ok {
			return s
		}
		s := &decoded{}
		cache[k] = s
		sd, ok := docs[k]
		switch {
		case !ok || !sd[0].Valid:
			s.reason = "the webhook was deleted"
		case json.Unmarshal([]byte(sd[0].String), &s.set) != nil:
			s.reason = "the webhook setting is unreadable"
		case !s.set.Enabled:
			s.reason = "the webhook is disabled"
		}
		var meta SettingMeta
		switch {
		case !sd[1].Valid:
			s.unsigned = "the webhook has no secret token to sign with"
		case json.Unmarshal([]byte(sd[1].String), &meta) != nil:
			s.unsigned = "the webhook's secret token cannot be read (its stored data does not decode)"
		case meta.SecretToken == "":
			s.unsigned = "the webhook has no secret token to sign with"
		}
		s.secret = meta.SecretToken
		return s
	}
	for i, j := range jobs {
		if args[i].Trigger == "" {
			continue // ended above
		}
		s := setting(j.OrgID, j.Key)
		if s.reason != "" {
			j.End(jobqueue.Cancelled, s.reason)
			continue
		}
		dl := &delivery{args: args[i], url: s.set.RequestURL, secret: s.secret, standard: s.set.StandardWebhooks}
		if s.unsigned != "" {
			dl.unsigned = "not sent: " + s.unsigned + "; a webhook is never sent unsigned (set a new secret with webhook.update)"
		}
		if p := args[i].Payload; p != nil {
			dl.payload = []byte(*p)
		} else if p, ok := payloads[j.Subject]; ok {
			dl.payload = []byte(p)
		} else {
			j.End(jobqueue.Cancelled, "the event no longer exists")
			continue
		}
		j.Data = dl
	}
	return nil
}

// Body returns the exact bytes POSTed for an event:
// {"webhookActionId":…,"action":…,"data":…}, with data as recorded. The
// same bytes go out on every attempt and to every setting.
func Body(webhookActionID, action string, data []byte) []byte {
	id, _ := json.Marshal(webhookActionID)
	act, _ := json.Marshal(action)
	b := make([]byte, 0, len(data)+len(id)+len(act)+40)
	b = append(b, `{"webhookActionId":`...)
	b = append(b, id...)
	b = append(b, `,"action":`...)
	b = append(b, act...)
	b = append(b, `,"data":`...)
	b = append(b, data...)
	return append(b, '}')
}

// UserAgent identifies Ashlar's webhook requests.
const UserAgent = "Ashlar-Webhooks/1"

// work POSTs a delivery once and classifies the outcome.
func (d *Dispatcher) work(ctx context.Context, j *jobqueue.Job) jobqueue.Result {
	dl := j.Data.(*delivery)
	d.cfg.Metrics.inflight.Inc()
	defer d.cfg.Metrics.inflight.Dec()
	detail := &attemptDetail{URL: dl.url}
	r := jobqueue.Result{Started: time.Now(), Detail: detail}
	if dl.unsigned != "" {
		r.Outcome, r.Err = OutcomeUnsigned, dl.unsigned
		return d.decide(r, nil)
	}
	body := Body(j.Subject, j.Action, dl.payload)
	actx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, dl.url, bytes.NewReader(body))
	if err != nil {
		r.Outcome, r.Err = OutcomeRejected, "invalid request URL: "+err.Error()
		return d.decide(r, nil)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", UserAgent)
	req.Header.Set(SignatureHeader, Sign(dl.secret, body))
	if dl.standard {
		ts := time.Now().Unix()
		req.Header.Set("webhook-id", j.Subject)
		req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
		req.Header.Set("webhook-signature", StandardSign(dl.secret, j.Subject, ts, body))
	}
	resp, err := d.client.Do(req)
	if err != nil {
		r.Duration = time.Since(r.Started)
		r.Outcome, r.Err = classifyError(err, ctx)
		return d.decide(r, nil)
	}
	// Keep the first bytes, and read (a bounded amount of) the rest so the
	// connection can be reused.
	head, err := io.ReadAll(io.LimitReader(resp.Body, int64(d.cfg.ResponseBytes)))
	if err == nil {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	}
	resp.Body.Close()
	r.Duration = time.Since(r.Started)
	detail.StatusCode = resp.StatusCode
	detail.Response = printable(head)
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode <= 299:
		r.Outcome = OutcomeSuccess
	case !Retryable(resp.StatusCode):
		r.Outcome, r.Err = OutcomeRejected, fmt.Sprintf("HTTP %d: not retried", resp.StatusCode)
	default:
		r.Outcome, r.Err = OutcomeHTTPError, fmt.Sprintf("HTTP %d", resp.StatusCode)
	}
	return d.decide(r, resp)
}

// decide sets the delivery's next state from the attempt's outcome; the
// queue applies the schedule and the attempt limit.
func (d *Dispatcher) decide(r jobqueue.Result, resp *http.Response) jobqueue.Result {
	switch r.Outcome {
	case OutcomeSuccess:
		r.State = jobqueue.Succeeded
	case OutcomeRejected, OutcomeBlocked:
		r.State = jobqueue.Failed
	default:
		r.State = jobqueue.Pending
		r.RetryAfter = d.cfg.Schedule.retryAfter(resp, time.Now(), 0) // the queue waits at least the schedule's delay
	}
	return r
}

// classifyError names a failed request's outcome.
func classifyError(err error, parent context.Context) (string, string) {
	var blocked *BlockedError
	var ne net.Error
	switch {
	case errors.As(err, &blocked):
		return OutcomeBlocked, blocked.Error()
	case parent.Err() != nil && !errors.Is(parent.Err(), context.DeadlineExceeded):
		return OutcomeNetwork, "aborted: the server was stopping"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return OutcomeTimeout, "timed out: " + err.Error()
	}
	return OutcomeNetwork, err.Error()
}

// printable keeps a response prefix as text (invalid UTF-8, as from a cut
// multi-byte character or a binary body, is replaced).
func printable(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// committed updates the metrics once the queue's records have committed.
func (d *Dispatcher) committed(reports []jobqueue.Report) {
	m := d.cfg.Metrics
	for _, rp := range reports {
		if a := rp.Attempt; a != nil {
			m.attempts.WithLabelValues(a.Outcome).Inc()
			if a.Outcome != jobqueue.OutcomeAbandoned {
				m.attemptSeconds.Observe(a.Duration.Seconds())
			}
		}
		if !rp.Held || rp.State == jobqueue.Pending {
			continue
		}
		m.deliveries.WithLabelValues(rp.State).Inc()
		if rp.State == jobqueue.Succeeded {
			if dl, ok := rp.Job.Data.(*delivery); ok {
				m.deliverySeconds.Observe(time.Since(time.UnixMilli(dl.args.EventAt)).Seconds())
			}
		}
	}
}

// claimData reads events' payloads by id, and settings' documents and
// meta keyed "org/id", in one query (one round trip of the claim).
func claimData(ctx context.Context, tx *store.Tx, eventIDs []string, byOrg map[string]map[string]bool) (map[string]string, map[string][2]sql.NullString, error) {
	payloads := map[string]string{}
	docs := map[string][2]sql.NullString{}
	var arms []string
	var args []any
	ph := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if len(eventIDs) > 0 {
		var in []string
		for _, id := range eventIDs {
			in = append(in, ph(id))
		}
		arms = append(arms, `SELECT 'e', '', id, payload, NULL FROM events WHERE id IN (`+strings.Join(in, ",")+`)`)
	}
	if len(byOrg) > 0 {
		var conds []string
		kind := ph(Settings.Name)
		for org, ids := range byOrg {
			var in []string
			for id := range ids {
				in = append(in, ph(id))
			}
			conds = append(conds, `(org_id = `+ph(org)+` AND id IN (`+strings.Join(in, ",")+`))`)
		}
		arms = append(arms, `SELECT 's', org_id, id, doc, meta FROM `+tx.DB().DocsByID()+` WHERE kind = `+kind+` AND (`+strings.Join(conds, " OR ")+`)`)
	}
	if len(arms) == 0 {
		return payloads, docs, nil
	}
	rows, err := tx.QueryContext(ctx, strings.Join(arms, " UNION ALL "), args...)
	if err != nil {
		return nil, nil, fmt.Errorf("read event payloads and webhook settings: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var what, org, id string
		var doc, meta sql.NullString
		if err := rows.Scan(&what, &org, &id, &doc, &meta); err != nil {
			return nil, nil, fmt.Errorf("read event payloads and webhook settings: %w", err)
		}
		if what == "e" {
			payloads[id] = doc.String
		} else {
			docs[org+"/"+id] = [2]sql.NullString{doc, meta}
		}
	}
	return payloads, docs, rows.Err()
}
