package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ashlarhq/ashlar/api"
	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/server"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/webhook"
)

func init() {
	var (
		enabled, allowPrivate                      *bool
		workers, perSetting, maxAttempts           *int
		timeout, lease, poll, retryBase, retention *time.Duration
	)
	serveHooks = append(serveHooks, serveHook{
		name: "webhooks",
		flags: func(fs *flag.FlagSet) {
			e := &env{getenv: os.Getenv}
			enabled = fs.Bool("webhooks", webhookEnvBool(e, "ASHLAR_WEBHOOKS", true), "deliver webhook events from this process (several processes may share the work); env ASHLAR_WEBHOOKS")
			allowPrivate = fs.Bool("webhook-allow-private", webhookEnvBool(e, "ASHLAR_WEBHOOK_ALLOW_PRIVATE", false), "let webhooks reach loopback, private and link-local addresses, for local development (--demo turns it on); env ASHLAR_WEBHOOK_ALLOW_PRIVATE")
			workers = fs.Int("webhook-workers", 32, "webhook attempts this process makes at once")
			perSetting = fs.Int("webhook-per-setting", 8, "webhook attempts to one webhook setting this process makes at once, so a slow receiver cannot hold every worker")
			timeout = fs.Duration("webhook-timeout", 15*time.Second, "time limit of one webhook attempt (connect, send, read the response)")
			lease = fs.Duration("webhook-lease", 0, "how long a claimed delivery belongs to its worker before another process may retry it (default: --webhook-timeout + 30s)")
			poll = fs.Duration("webhook-poll", time.Second, "how often to look for deliveries queued by other processes, retries due and expired leases")
			retryBase = fs.Duration("webhook-retry-base", webhook.DefaultBase, "unit of the retry schedule: (2^n - 1) x this after the n-th failure; Ashby's is 10s, shorten it only for testing")
			maxAttempts = fs.Int("webhook-max-attempts", webhook.DefaultMaxAttempts, "attempts per delivery before giving up")
			retention = fs.Duration("webhook-retention", 30*24*time.Hour, "how long finished deliveries and their attempts are kept")
		},
		start: func(ctx context.Context, srv *server.Server, o *serveOptions) error {
			metrics := webhook.NewMetrics()
			if err := metrics.Register(prometheus.DefaultRegisterer); err != nil {
				return fmt.Errorf("register webhook metrics: %w", err)
			}
			if err := prometheus.DefaultRegisterer.Register(webhook.NewQueueCollector(srv.DB)); err != nil {
				return fmt.Errorf("register webhook queue metrics: %w", err)
			}
			// Prometheus metrics of every feature registered with the
			// default registry, plus Go runtime and process metrics.
			srv.Mux.Handle("GET /metrics", promhttp.Handler())
			// The API refuses settings the dispatcher would not deliver to.
			srv.Service.WebhookAllowPrivate = *allowPrivate || o.Demo
			if !*enabled {
				return nil
			}
			cfg := webhook.Config{
				Workers: *workers, PerSetting: *perSetting, Timeout: *timeout, Lease: *lease, Poll: *poll,
				Schedule:     webhook.Schedule{Base: *retryBase, MaxAttempts: *maxAttempts},
				AllowPrivate: *allowPrivate || o.Demo, Retention: *retention, Metrics: metrics, Logger: srv.Log,
			}
			if cfg.Lease != 0 && cfg.Lease <= cfg.Timeout {
				return usageError{"--webhook-lease must be longer than --webhook-timeout"}
			}
			d := webhook.New(srv.DB, cfg)
			srv.DB.OnEmit(d.Wake)
			d.Start()
			srv.OnShutdown(d.Stop)
			c := d.Config()
			srv.Log.Info("webhook dispatcher started", "worker", c.Worker, "workers", c.Workers, "timeout", c.Timeout,
				"lease", c.Lease, "private_destinations", c.AllowPrivate)
			return nil
		},
	})
	addCommand(command{"webhook", "manage webhook settings, list deliveries, redeliver events", runWebhook})
}

func webhookEnvBool(e *env, name string, def bool) bool {
	if v, err := strconv.ParseBool(e.getenv(name)); err == nil {
		return v
	}
	return def
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

func runWebhook(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" {
		fmt.Fprintln(e.stderr, "Usage:")
		for _, s := range webhookSubs {
			fmt.Fprintln(e.stderr, "  "+webhookUsage[s])
		}
		fmt.Fprintln(e.stderr, "\nEvent types: "+strings.ReplaceAll(ashby.WebhookTypesEnum, ",", ", "))
		fmt.Fprintln(e.stderr, "A running `ashlar serve` sends what these commands queue (pings, redeliveries) within its --webhook-poll interval.")
		if len(args) == 0 {
			return usageError{"webhook: give a subcommand"}
		}
		return nil
	}
	sub := args[0]
	usage, ok := webhookUsage[sub]
	if !ok {
		return usageError{fmt.Sprintf("webhook: unknown subcommand %q", sub)}
	}
	fs := flags(e, "webhook "+sub, usage)
	orgSlug := fs.String("org", "", "organization slug (required)")
	dsn := dbFlag(e, fs)
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
	pos, err := parse(fs, args[1:])
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
	db, err := openDB(ctx, *dsn)
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
	svc := api.New(db, "", nil)
	svc.WebhookAllowPrivate = webhookEnvBool(e, "ASHLAR_WEBHOOK_ALLOW_PRIVATE", false)
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
