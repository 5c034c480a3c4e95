package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ashlarhq/ashlar/api"
	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/server"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/webhook"
)

// webhookConfig configures the webhook dispatcher.
type webhookConfig struct {
	Enabled, AllowPrivate                      bool
	Workers, PerSetting, MaxAttempts           int
	Timeout, Lease, Poll, RetryBase, Retention time.Duration
}

func (c *webhookConfig) define(fs *flagSet) {
	fs.BoolVar(&c.Enabled, "webhooks", true, "deliver webhook events from this process (several processes may share the work)")
	fs.BoolVar(&c.AllowPrivate, "webhook-allow-private", false, "let webhooks reach loopback, private and link-local addresses, for local development (--demo turns it on)")
	fs.IntVar(&c.Workers, "webhook-workers", 32, "webhook attempts this process makes at once")
	fs.IntVar(&c.PerSetting, "webhook-per-setting", 8, "webhook attempts to one webhook setting this process makes at once, so a slow receiver cannot hold every worker")
	fs.DurationVar(&c.Timeout, "webhook-timeout", 15*time.Second, "time limit of one webhook attempt (connect, send, read the response)")
	fs.DurationVar(&c.Lease, "webhook-lease", 0, "how long a claimed delivery belongs to its worker before another process may retry it (default: --webhook-timeout + 30s)")
	fs.DurationVar(&c.Poll, "webhook-poll", time.Second, "how often to look for deliveries queued by other processes, retries due and expired leases")
	fs.DurationVar(&c.RetryBase, "webhook-retry-base", webhook.DefaultBase, "unit of the retry schedule: (2^n - 1) x this after the n-th failure; Ashby's is 10s, shorten it only for testing")
	fs.IntVar(&c.MaxAttempts, "webhook-max-attempts", webhook.DefaultMaxAttempts, "attempts per delivery before giving up")
	fs.DurationVar(&c.Retention, "webhook-retention", 30*24*time.Hour, "how long finished deliveries and their attempts are kept")
}

func (c *webhookConfig) check() error {
	if c.Lease != 0 && c.Lease <= c.Timeout {
		return usageError{"--webhook-lease must be longer than --webhook-timeout"}
	}
	return nil
}

// startWebhooks registers the dispatcher's metrics and, unless
// --webhooks=false, starts it.
func startWebhooks(srv *server.Server, c webhookConfig, demo bool, reg prometheus.Registerer) error {
	metrics := webhook.NewMetrics()
	if err := metrics.Register(reg); err != nil {
		return fmt.Errorf("register webhook metrics: %w", err)
	}
	if err := reg.Register(webhook.NewQueueCollector(srv.DB)); err != nil {
		return fmt.Errorf("register webhook queue metrics: %w", err)
	}
	// The API refuses settings the dispatcher would not deliver to.
	srv.Service.WebhookAllowPrivate = c.AllowPrivate || demo
	if !c.Enabled {
		return nil
	}
	cfg := webhook.Config{
		Workers: c.Workers, PerSetting: c.PerSetting, Timeout: c.Timeout, Lease: c.Lease, Poll: c.Poll,
		Schedule:     webhook.Schedule{Base: c.RetryBase, MaxAttempts: c.MaxAttempts},
		AllowPrivate: c.AllowPrivate || demo, Retention: c.Retention, Metrics: metrics, Logger: srv.Log,
	}
	// Deliveries are jobs of the server's queue; the dispatcher's fan-out
	// turns events into them.
	d, err := webhook.New(srv.DB, srv.Jobs, cfg)
	if err != nil {
		return err
	}
	srv.DB.OnEmit(d.Wake)
	d.Start()
	srv.OnShutdown(d.Stop)
	dc := d.Config()
	srv.Log.Info("webhook dispatcher started", "worker", srv.Jobs.Worker(), "workers", dc.Workers, "timeout", dc.Timeout,
		"lease", dc.Lease, "private_destinations", dc.AllowPrivate)
	return nil
}

func webhookCommand() *command {
	c := &command{name: "webhook", summary: "manage webhook settings, list deliveries, redeliver events",
		help: "Event types: " + strings.ReplaceAll(ashby.WebhookTypesEnum, ",", ", ") + "\n" +
			"A running `ashlar serve` sends what these commands queue (pings, redeliveries) within its --webhook-poll interval."}
	for _, sub := range webhookSubs {
		c.usage = append(c.usage, webhookUsage[sub])
		c.subs = append(c.subs, &command{name: sub, summary: webhookSummary[sub], run: func(ctx context.Context, e *env, args []string) error {
			return runWebhook(ctx, e, sub, args)
		}})
	}
	return c
}

var webhookSummary = map[string]string{
	"create":     "create a webhook setting (and send it a ping)",
	"list":       "list an organization's webhook settings",
	"update":     "change a webhook setting",
	"delete":     "delete a webhook setting",
	"ping":       "send a webhook setting a ping event",
	"deliveries": "list deliveries, newest first, with their attempts",
	"redeliver":  "queue a delivery (or every delivery of an event) again",
}

var webhookUsage = map[string]string{
	"create":     "ashlar webhook create --org SLUG --type EVENT --url URL --secret TOKEN [--standard-webhooks] [--db DSN]",
	"list":       "ashlar webhook list --org SLUG [--json] [--db DSN]",
	"update":     "ashlar webhook update --org SLUG WEBHOOK_ID [--enabled true|false] [--url URL] [--secret TOKEN] [--standard-webhooks true|false] [--db DSN]",
	"delete":     "ashlar webhook delete --org SLUG WEBHOOK_ID [--db DSN]",
	"ping":       "ashlar webhook ping --org SLUG WEBHOOK_ID [--db DSN]",
	"deliveries": "ashlar webhook deliveries --org SLUG [--webhook ID] [--event WEBHOOK_ACTION_ID] [--status pending|succeeded|failed|cancelled] [--limit N] [--json] [--db DSN]",
	"redeliver":  "ashlar webhook redeliver --org SLUG DELIVERY_ID|WEBHOOK_ACTION_ID [--db DSN]",
}

var webhookSubs = []string{"create", "list", "update", "delete", "ping", "deliveries", "redeliver"}

func runWebhook(ctx context.Context, e *env, sub string, args []string) error {
	usage := webhookUsage[sub]
	fs := flags(e, "webhook "+sub, usage)
	orgSlug := fs.String("org", "", "organization slug (required)")
	dsn := dbFlag(fs)
	var typ, url, secret, enabled, standardS, hook, event, status *string
	var standard, asJSON *bool
	var limit *int
	switch sub {
	case "create":
		typ = fs.String("type", "", "event type to send (required), e.g. applicationSubmit")
		url = fs.String("url", "", "http or https URL to POST events to (required)")
		secret = fs.String("secret", "", "secret token that keys the Ashby-Signature HMAC (required)")
		standard = fs.Bool("standard-webhooks", false, "also send Standard Webhooks headers (webhook-id, webhook-timestamp, webhook-signature)")
	case "update":
		enabled = fs.String("enabled", "", "true or false")
		url = fs.String("url", "", "new request URL")
		secret = fs.String("secret", "", "new secret token")
		standardS = fs.String("standard-webhooks", "", "true or false: send Standard Webhooks headers")
	case "list":
		asJSON = fs.Bool("json", false, "print JSON, one setting per line")
	case "deliveries":
		hook = fs.String("webhook", "", "only deliveries to this webhook setting")
		event = fs.String("event", "", "only deliveries of this event (webhookActionId)")
		status = fs.String("status", "", "only deliveries in this state: pending, succeeded, failed or cancelled")
		limit = fs.Int("limit", 20, "deliveries to show, newest first (at most 100)")
		asJSON = fs.Bool("json", false, "print JSON, one delivery (with its attempts) per line")
	}
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if *orgSlug == "" {
		return usageError{"webhook " + sub + ": --org is required"}
	}
	needsID := sub == "update" || sub == "delete" || sub == "ping" || sub == "redeliver"
	if needsID && len(pos) != 1 {
		return usageError{fmt.Sprintf("webhook %s: give exactly one id (usage: %s)", sub, usage)}
	}
	if !needsID && len(pos) != 0 {
		return usageError{fmt.Sprintf("webhook %s: unexpected argument %q", sub, pos[0])}
	}
	db, err := openDB(ctx, e, *dsn, existingDB)
	if err != nil {
		return err
	}
	defer db.Close()
	org, err := db.OrgBySlug(ctx, *orgSlug)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no organization %q (create it with: ashlar org create %s)", *orgSlug, *orgSlug)
	}
	if err != nil {
		return err
	}
	// The commands go through the API's own endpoints, in-process, so that
	// they validate exactly as API calls do.
	// The commands check URLs as the API does, private targets included.
	svc := api.New(db, "", nil)
	svc.WebhookAllowPrivate = envBool(e, "ASHLAR_WEBHOOK_ALLOW_PRIVATE")
	table := svc.API()
	call := &rpc.Call{Principal: &rpc.Principal{OrgID: org.ID, KeyTitle: "ashlar webhook", KeyCreated: time.Now(), Permissions: ashby.AllPermissions}, RequestID: "cli"}
	invoke := func(endpoint string, req, out any) error {
		raw, err := table.Invoke(ctx, call, endpoint, req)
		if err != nil {
			if ae, ok := ashby.AsError(err); ok {
				return fmt.Errorf("%s: %s", ae.Code, ae.Message)
			}
			return err
		}
		if out == nil {
			return nil
		}
		return json.Unmarshal(raw, out)
	}
	out := e.stdout
	switch sub {
	case "create":
		if *typ == "" || *url == "" || *secret == "" {
			return usageError{"webhook create: --type, --url and --secret are required"}
		}
		var w ashby.WebhookSetting
		if err := invoke("webhook.create", map[string]any{"webhookType": *typ, "requestUrl": *url, "secretToken": *secret, "standardWebhooks": *standard}, &w); err != nil {
			return err
		}
		fmt.Fprintf(out, "created webhook %s: %s events to %s (a ping is on its way)\n", w.ID, w.WebhookType, w.RequestURL)
		if w.StandardWebhooksSecret != "" {
			fmt.Fprintf(out, "Standard Webhooks secret: %s\n", w.StandardWebhooksSecret)
		}
		return nil
	case "list":
		// Read directly: rpc.API.Invoke returns one page without its cursor.
		ws, err := webhook.Settings.Find(ctx, db, org.ID, store.Filter{IncludeArchived: true})
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSONLines(out, ws)
		}
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tTYPE\tENABLED\tSTANDARD\tURL")
		for _, w := range ws {
			fmt.Fprintf(tw, "%s\t%s\t%v\t%v\t%s\n", w.ID, w.WebhookType, w.Enabled, w.StandardWebhooks, w.RequestURL)
		}
		return tw.Flush()
	case "update":
		req := map[string]any{"webhookId": pos[0]}
		for name, v := range map[string]*string{"enabled": enabled, "standardWebhooks": standardS} {
			if *v == "" {
				continue
			}
			b, err := strconv.ParseBool(*v)
			if err != nil {
				return usageError{fmt.Sprintf("webhook update: --%s takes true or false, got %q", map[string]string{"enabled": "enabled", "standardWebhooks": "standard-webhooks"}[name], *v)}
			}
			req[name] = b
		}
		if *url != "" {
			req["requestUrl"] = *url
		}
		if *secret != "" {
			req["secretToken"] = *secret
		}
		if len(req) == 1 {
			return usageError{"webhook update: give at least one of --enabled, --url, --secret, --standard-webhooks"}
		}
		var w ashby.WebhookSetting
		if err := invoke("webhook.update", req, &w); err != nil {
			return err
		}
		fmt.Fprintf(out, "updated webhook %s: %s events to %s, enabled %v\n", w.ID, w.WebhookType, w.RequestURL, w.Enabled)
		return nil
	case "delete":
		if err := invoke("webhook.delete", map[string]any{"webhookId": pos[0]}, nil); err != nil {
			return err
		}
		fmt.Fprintln(out, "deleted webhook", pos[0])
		return nil
	case "ping":
		var d webhook.Delivery
		if err := invoke("webhook.ping", map[string]any{"webhookId": pos[0]}, &d); err != nil {
			return err
		}
		fmt.Fprintf(out, "queued ping %s (delivery %s)\n", d.WebhookActionID, d.ID)
		return nil
	case "deliveries":
		req := map[string]any{"limit": *limit}
		for k, v := range map[string]string{"webhookId": *hook, "webhookActionId": *event, "status": *status} {
			if v != "" {
				req[k] = v
			}
		}
		var ds []webhook.Delivery
		if err := invoke("webhook.listDeliveries", req, &ds); err != nil {
			return err
		}
		if *asJSON {
			return writeJSONLines(out, ds)
		}
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "DELIVERY\tWEBHOOK_ACTION_ID\tACTION\tWEBHOOK\tSTATUS\tATTEMPTS\tCREATED\tNEXT/DONE")
		for _, d := range ds {
			when := nextOrDone(d.NextAttemptAt, d.CompletedAt)
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", d.ID, d.WebhookActionID, d.Action, d.WebhookID, d.Status, d.AttemptCount, d.CreatedAt, when)
			for _, a := range d.Attempts {
				detail, status := attemptDetail(a.Error, a.Response), attemptStatus(a.StatusCode)
				fmt.Fprintf(tw, "  #%d\t%s\t%s\t%s\t%dms\t\t\t%s\n", a.Attempt, a.StartedAt, a.Outcome, status, a.LatencyMs, detail)
			}
		}
		return tw.Flush()
	case "redeliver":
		req := map[string]any{"deliveryId": pos[0]}
		var ds []webhook.Delivery
		err := invoke("webhook.redeliver", req, &ds)
		if err != nil && strings.HasPrefix(err.Error(), "webhook_delivery_not_found") {
			// Not a delivery id: try it as an event's webhookActionId.
			err = invoke("webhook.redeliver", map[string]any{"webhookActionId": pos[0]}, &ds)
		}
		if err != nil {
			return err
		}
		for _, d := range ds {
			fmt.Fprintf(out, "queued delivery %s of %s %s to webhook %s\n", d.ID, d.Action, d.WebhookActionID, d.WebhookID)
		}
		return nil
	}
	return usageError{fmt.Sprintf("webhook: unknown subcommand %q", sub)}
}
