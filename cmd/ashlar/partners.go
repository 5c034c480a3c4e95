package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ashlarhq/ashlar/api"
	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/jobboard"
	"github.com/ashlarhq/ashlar/jobqueue"
	"github.com/ashlarhq/ashlar/partner"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/server"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/webhook"
)

// Partner integrations (docs/partners.md): the worker that calls
// assessment and workflow partners, the hourly sync of their assessment
// types, the partner job feeds, and `ashlar partner …`.

// partnerConfig configures the calls to partners and the partner job feeds.
type partnerConfig struct {
	Enabled, AllowPrivate                                 bool
	Workers, PerPartner, MaxAttempts                      int
	Timeout, Lease, Poll, RetryBase, Retention, SyncEvery time.Duration
	FeedRefresh                                           time.Duration
}

func (c *partnerConfig) define(fs *flagSet) {
	fs.BoolVar(&c.Enabled, "partners", true, "make the queued calls to assessment partners from this process (several processes may share the work)")
	fs.BoolVar(&c.AllowPrivate, "partner-allow-private", false, "let calls to partners reach loopback, private and link-local addresses, and accept http base URLs, for local development (--demo turns it on)")
	fs.DurationVar(&c.Timeout, "partner-timeout", 15*time.Second, "time limit of one call to a partner (connect, send, read the response)")
	fs.IntVar(&c.Workers, "partner-workers", 8, "calls to partners this process makes at once")
	fs.IntVar(&c.PerPartner, "partner-per-integration", 4, "calls to one partner integration this process makes at once, so a slow partner cannot hold every worker")
	fs.DurationVar(&c.Lease, "partner-lease", 0, "how long a claimed call belongs to its worker before another process may retry it (default: --partner-timeout + 30s)")
	fs.DurationVar(&c.Poll, "partner-poll", time.Second, "how often to look for calls queued by other processes, retries due and expired leases")
	fs.DurationVar(&c.RetryBase, "partner-retry-base", webhook.DefaultBase, "unit of the retry schedule: (2^n - 1) x this after the n-th failure; shorten it only for testing")
	fs.IntVar(&c.MaxAttempts, "partner-max-attempts", webhook.DefaultMaxAttempts, "attempts per call before giving up")
	fs.DurationVar(&c.Retention, "partner-retention", 30*24*time.Hour, "how long finished calls and their attempts are kept")
	fs.DurationVar(&c.SyncEvery, "partner-sync-interval", time.Hour, "how often assessment partners' types and custom fields are fetched again")
	fs.DurationVar(&c.FeedRefresh, "partner-feed-refresh", time.Hour, "how often partner job feeds are rebuilt from the postings (opt-ins and opt-outs apply at once)")
}

func (c *partnerConfig) check() error {
	if c.Lease != 0 && c.Lease <= c.Timeout {
		return usageError{"--partner-lease must be longer than --partner-timeout"}
	}
	return nil
}

// startPartners sets up the client that calls partners, the partner job
// feeds and, unless --partners=false, the call job kind on the server's
// queue and the periodic sync of assessment types.
func startPartners(srv *server.Server, c partnerConfig, demo bool) error {
	client := partner.NewClient(partner.ClientConfig{Timeout: c.Timeout, AllowPrivate: c.AllowPrivate || demo})
	srv.Service.Partners = client
	feeds := jobboard.NewFeeds(srv.Service, jobboard.FeedOptions{Refresh: c.FeedRefresh, Log: srv.Log})
	feeds.Routes(srv.Mux)
	feeds.Start()
	srv.OnShutdown(feeds.Stop)
	if !c.Enabled {
		return nil
	}
	cfg := partner.WorkerConfig{Workers: c.Workers, PerPartner: c.PerPartner, Lease: c.Lease, Poll: c.Poll,
		Schedule: webhook.Schedule{Base: c.RetryBase, MaxAttempts: c.MaxAttempts}, Retention: c.Retention,
		Resolver: api.PartnerTarget, Logger: srv.Log}
	// Calls are jobs of the server's queue.
	w, err := partner.NewWorker(srv.Jobs, client, cfg)
	if err != nil {
		return err
	}
	srv.OnShutdown(func(context.Context) error { w.Close(); return nil })
	if err := registerSyncScheduler(srv, c.SyncEvery); err != nil {
		return err
	}
	wc := w.Config()
	srv.Log.Info("partner worker started", "worker", srv.Jobs.Worker(), "workers", wc.Workers, "timeout", client.Config().Timeout,
		"lease", wc.Lease, "private_destinations", client.Config().AllowPrivate)
	return nil
}

func partnerCommand() *command {
	c := &command{name: "partner", summary: "manage assessment and workflow partners, their calls, and partner job feeds",
		help: "Calls to partners are made by a running `ashlar serve`; `sync` calls the partner from this command."}
	for _, sub := range partnerSubs {
		c.usage = append(c.usage, partnerUsage[sub])
		if sub == "feed" {
			c.subs = append(c.subs, feedCommand())
			continue
		}
		c.subs = append(c.subs, &command{name: sub, summary: partnerSummary[sub], run: func(ctx context.Context, e *env, args []string) error {
			return runPartner(ctx, e, sub, args)
		}})
	}
	return c
}

func feedCommand() *command {
	c := &command{name: "feed", summary: "partner job feeds: the postings of opted-in organizations, for job sites",
		help: "A feed is read at <base URL>/partner-feed/<token>/jobs.json (or jobs.xml); the token is printed once, by create and rotate-token."}
	for _, sub := range feedSubs {
		c.usage = append(c.usage, feedUsage[sub])
		c.subs = append(c.subs, &command{name: sub, summary: feedSummary[sub], run: func(ctx context.Context, e *env, args []string) error {
			return runPartnerFeed(ctx, e, sub, args)
		}})
	}
	return c
}

var partnerSummary = map[string]string{
	"create": "register an assessment or workflow partner",
	"list":   "list an organization's partner integrations",
	"update": "change a partner integration (or opt in or out)",
	"delete": "delete a partner integration",
	"sync":   "fetch a partner's assessment types now",
	"calls":  "list calls to partners, newest first, with their attempts",
}

var feedSummary = map[string]string{
	"create":       "create a partner job feed and print its token",
	"list":         "list partner job feeds and who opted in",
	"rotate-token": "replace a feed's token",
	"delete":       "delete a feed",
	"opt-in":       "let a feed list an organization's postings",
	"opt-out":      "stop a feed listing an organization's postings",
}

// registerSyncScheduler makes the periodic sync of assessment partners
// (api.SchedulePartnerSyncs) a periodic job: one run per period across
// every process, and the calls' dedupe keys make one sync per partner per
// interval even if two runs overlap.
func registerSyncScheduler(srv *server.Server, every time.Duration) error {
	return srv.Jobs.Register(jobqueue.Kind{
		Name: "partner.schedule-syncs", Every: min(max(every/4, time.Second), 5*time.Minute), Timeout: 5 * time.Minute, MaxAttempts: 3,
		Handler: jobqueue.Handler{Work: func(ctx context.Context, j *jobqueue.Job) jobqueue.Result {
			if err := api.SchedulePartnerSyncs(ctx, srv.DB, every); err != nil {
				return jobqueue.Result{State: jobqueue.Pending, Outcome: "error", Err: err.Error()}
			}
			return jobqueue.Result{State: jobqueue.Succeeded, Outcome: "success"}
		}},
	})
}

var partnerUsage = map[string]string{
	"create": "ashlar partner create --org SLUG --title TITLE --url BASE_URL [--key KEY | --key-file PATH] [--workflows] [--assessments=false] [--create-api-key] [--disabled] [--db DSN]",
	"list":   "ashlar partner list --org SLUG [--json] [--db DSN]",
	"update": "ashlar partner update --org SLUG PARTNER_ID [--enabled true|false] [--url URL] [--title T] [--key KEY | --key-file PATH] [--db DSN]",
	"delete": "ashlar partner delete --org SLUG PARTNER_ID [--db DSN]",
	"sync":   "ashlar partner sync --org SLUG PARTNER_ID [--db DSN]",
	"calls":  "ashlar partner calls --org SLUG [--partner ID] [--subject ID] [--status pending|succeeded|failed|cancelled] [--limit N] [--json] [--db DSN]",
	"feed":   "ashlar partner feed create|list|rotate-token|delete|opt-in|opt-out … (ashlar partner feed --help)",
}

var partnerSubs = []string{"create", "list", "update", "delete", "sync", "calls", "feed"}

var feedUsage = map[string]string{
	"create":       "ashlar partner feed create --name NAME [--title TITLE] [--db DSN]",
	"list":         "ashlar partner feed list [--json] [--db DSN]",
	"rotate-token": "ashlar partner feed rotate-token NAME [--db DSN]",
	"delete":       "ashlar partner feed delete NAME [--db DSN]",
	"opt-in":       "ashlar partner feed opt-in --org SLUG NAME [--db DSN]",
	"opt-out":      "ashlar partner feed opt-out --org SLUG NAME [--db DSN]",
}

var feedSubs = []string{"create", "list", "rotate-token", "delete", "opt-in", "opt-out"}

func runPartner(ctx context.Context, e *env, sub string, args []string) error {
	usage := partnerUsage[sub]
	fs := flags(e, "partner "+sub, usage)
	orgSlug := fs.String("org", "", "organization slug (required)")
	dsn := dbFlag(fs)
	var title, url, key, keyFile, enabledS, partnerID, subject, status *string
	var workflows, assessments, createKey, disabled, asJSON *bool
	var limit *int
	switch sub {
	case "create":
		title = fs.String("title", "", "the partner's name (required)")
		url = fs.String("url", "", "base URL of the partner's endpoints (required)")
		key = fs.String("key", "", "the key the partner gave you (sent as HTTP Basic user name)")
		keyFile = fs.String("key-file", "", "read the partner's key from this file (keeps it out of the shell history)")
		workflows = fs.Bool("workflows", false, "the partner serves workflows")
		assessments = fs.Bool("assessments", true, "the partner serves assessments")
		createKey = fs.Bool("create-api-key", false, "create an API key for the partner's callbacks and print its secret (once)")
		disabled = fs.Bool("disabled", false, "register it without opting in yet")
	case "update":
		title = fs.String("title", "", "new name")
		url = fs.String("url", "", "new base URL")
		key = fs.String("key", "", "new partner key")
		keyFile = fs.String("key-file", "", "read the new partner key from this file")
		enabledS = fs.String("enabled", "", "true (opt in) or false (opt out)")
	case "list":
		asJSON = fs.Bool("json", false, "print JSON, one integration per line")
	case "calls":
		partnerID = fs.String("partner", "", "only calls to this partner integration")
		subject = fs.String("subject", "", "only calls about this assessment start, workflow run or integration")
		status = fs.String("status", "", "only calls in this state: pending, succeeded, failed or cancelled")
		limit = fs.Int("limit", 20, "calls to show, newest first (at most 100)")
		asJSON = fs.Bool("json", false, "print JSON, one call (with its attempts) per line")
	}
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if *orgSlug == "" {
		return usageError{"partner " + sub + ": --org is required"}
	}
	needsID := sub == "update" || sub == "delete" || sub == "sync"
	if needsID && len(pos) != 1 {
		return usageError{fmt.Sprintf("partner %s: give exactly one partner integration id (usage: %s)", sub, usage)}
	}
	if !needsID && len(pos) != 0 {
		return usageError{fmt.Sprintf("partner %s: unexpected argument %q", sub, pos[0])}
	}
	partnerKey := ""
	if keyFile != nil && *keyFile != "" {
		if *key != "" {
			return usageError{"partner " + sub + ": give --key or --key-file, not both"}
		}
		b, err := os.ReadFile(*keyFile)
		if err != nil {
			return fmt.Errorf("read --key-file: %w", err)
		}
		partnerKey = strings.TrimSpace(string(b))
	} else if key != nil {
		partnerKey = *key
	}
	db, err := openDB(ctx, e, *dsn, existingDB)
	if err != nil {
		return err
	}
	defer db.Close()
	invoke, err := orgInvoker(ctx, e, db, *orgSlug, "ashlar partner")
	if err != nil {
		return err
	}
	out := e.stdout
	switch sub {
	case "create":
		if *title == "" || *url == "" {
			return usageError{"partner create: --title and --url are required"}
		}
		req := map[string]any{"title": *title, "baseUrl": *url, "assessments": *assessments, "workflows": *workflows,
			"enabled": !*disabled, "createApiKey": *createKey}
		if partnerKey != "" {
			req["partnerKey"] = partnerKey
		}
		var p ashby.PartnerIntegration
		if err := invoke("partnerIntegration.create", req, &p); err != nil {
			return err
		}
		fmt.Fprintf(out, "created partner integration %s: %s at %s (enabled %v)\n", p.ID, p.Title, p.BaseURL, p.Enabled)
		if p.APIKey != "" {
			fmt.Fprintf(out, "API key for the partner's callbacks (shown once): %s\n", p.APIKey)
		}
		return nil
	case "list":
		// Read directly: rpc.API.Invoke returns one page without its cursor.
		ps, err := api.PartnerIntegrations.Find(ctx, db, orgID(ctx, db, *orgSlug), store.Filter{IncludeArchived: true})
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSONLines(out, ps)
		}
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tTITLE\tENABLED\tASSESSMENTS\tWORKFLOWS\tURL\tTYPES SYNCED\tLAST SYNC ERROR")
		for _, p := range ps {
			synced := "-"
			if p.AssessmentTypesSyncedAt != nil {
				synced = p.AssessmentTypesSyncedAt.String()
			}
			fmt.Fprintf(tw, "%s\t%s\t%v\t%v\t%v\t%s\t%s\t%s\n", p.ID, p.Title, p.Enabled, p.Assessments, p.Workflows, p.BaseURL, synced, p.LastSyncError)
		}
		return tw.Flush()
	case "update":
		req := map[string]any{"partnerIntegrationId": pos[0]}
		if *enabledS != "" {
			b, err := strconv.ParseBool(*enabledS)
			if err != nil {
				return usageError{fmt.Sprintf("partner update: --enabled takes true or false, got %q", *enabledS)}
			}
			req["enabled"] = b
		}
		for k, v := range map[string]string{"title": *title, "baseUrl": *url} {
			if v != "" {
				req[k] = v
			}
		}
		if partnerKey != "" {
			req["partnerKey"] = partnerKey
		}
		if len(req) == 1 {
			return usageError{"partner update: give at least one of --enabled, --url, --title, --key, --key-file"}
		}
		var p ashby.PartnerIntegration
		if err := invoke("partnerIntegration.update", req, &p); err != nil {
			return err
		}
		fmt.Fprintf(out, "updated partner integration %s: %s at %s, enabled %v\n", p.ID, p.Title, p.BaseURL, p.Enabled)
		return nil
	case "delete":
		if err := invoke("partnerIntegration.delete", map[string]any{"partnerIntegrationId": pos[0]}, nil); err != nil {
			return err
		}
		fmt.Fprintln(out, "deleted partner integration", pos[0])
		return nil
	case "sync":
		var p ashby.PartnerIntegration
		if err := invoke("partnerIntegration.sync", map[string]any{"partnerIntegrationId": pos[0]}, &p); err != nil {
			return err
		}
		types, err := api.AssessmentTypes.Find(ctx, db, orgID(ctx, db, *orgSlug), store.Filter{Parent: p.ID})
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "synced %s: %d assessment types, custom fields supported: %v\n", p.Title, len(types), p.CustomFieldsSupported)
		for _, t := range types {
			fmt.Fprintf(out, "  %s\t%s\n", t.AssessmentTypeID, t.Name)
		}
		return nil
	case "calls":
		req := map[string]any{"limit": *limit}
		for k, v := range map[string]string{"partnerIntegrationId": *partnerID, "subjectId": *subject, "status": *status} {
			if v != "" {
				req[k] = v
			}
		}
		var calls []partner.Call
		if err := invoke("partnerIntegration.listCalls", req, &calls); err != nil {
			return err
		}
		if *asJSON {
			return writeJSONLines(out, calls)
		}
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "CALL\tMETHOD\tPARTNER\tSUBJECT\tSTATUS\tATTEMPTS\tCREATED\tNEXT/DONE\tLAST ERROR")
		for _, c := range calls {
			when := nextOrDone(c.NextAttemptAt, c.CompletedAt)
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", c.ID, c.Method, c.PartnerIntegrationID, c.SubjectID, c.Status, c.AttemptCount, c.CreatedAt, when, c.LastError)
			for _, a := range c.Attempts {
				detail, st := attemptDetail(a.Error, a.Response), attemptStatus(a.StatusCode)
				fmt.Fprintf(tw, "  #%d\t%s\t%s\t%s\t%dms\t\t\t\t%s\n", a.Attempt, a.StartedAt, a.Outcome, st, a.LatencyMs, detail)
			}
		}
		return tw.Flush()
	}
	return usageError{fmt.Sprintf("partner: unknown subcommand %q", sub)}
}

// orgInvoker returns a function calling the API's endpoints in-process
// for an organization, as every permission, so that commands validate
// exactly as API calls do.
func orgInvoker(ctx context.Context, e *env, db *store.DB, slug, title string) (func(endpoint string, req, out any) error, error) {
	org, err := db.OrgBySlug(ctx, slug)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("no organization %q (create it with: ashlar org create %s)", slug, slug)
	}
	if err != nil {
		return nil, err
	}
	svc := api.New(db, e.getenv("ASHLAR_BASE_URL"), nil)
	// partner sync calls the partner from this process, under the
	// server's setting for private addresses.
	svc.Partners = partner.NewClient(partner.ClientConfig{AllowPrivate: envBool(e, "ASHLAR_PARTNER_ALLOW_PRIVATE")})
	table := svc.API()
	call := &rpc.Call{Principal: &rpc.Principal{OrgID: org.ID, KeyTitle: title, KeyCreated: time.Now(), Permissions: ashby.AllPermissions}, RequestID: "cli"}
	return func(endpoint string, req, out any) error {
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
	}, nil
}

// orgID returns an organization's id; orgInvoker has checked it exists.
func orgID(ctx context.Context, db *store.DB, slug string) string {
	o, err := db.OrgBySlug(ctx, slug)
	if err != nil {
		return ""
	}
	return o.ID
}

func runPartnerFeed(ctx context.Context, e *env, sub string, args []string) error {
	usage := feedUsage[sub]
	fs := flags(e, "partner feed "+sub, usage)
	dsn := dbFlag(fs)
	var name, title, orgSlug *string
	var asJSON *bool
	switch sub {
	case "create":
		name = fs.String("name", "", "the feed's name: lower-case letters, digits and dashes (required)")
		title = fs.String("title", "", "the partner's display name")
	case "list":
		asJSON = fs.Bool("json", false, "print JSON, one feed per line")
	case "opt-in", "opt-out":
		orgSlug = fs.String("org", "", "organization slug (required)")
	}
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	needsName := sub != "create" && sub != "list"
	if needsName && len(pos) != 1 {
		return usageError{fmt.Sprintf("partner feed %s: give exactly one feed name (usage: %s)", sub, usage)}
	}
	if !needsName && len(pos) != 0 {
		return usageError{fmt.Sprintf("partner feed %s: unexpected argument %q", sub, pos[0])}
	}
	db, err := openDB(ctx, e, *dsn, existingDB)
	if err != nil {
		return err
	}
	defer db.Close()
	out := e.stdout
	var feed *partner.Feed
	if needsName {
		if feed, err = partner.FeedByName(ctx, db, pos[0]); errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no partner feed %q (see: ashlar partner feed list)", pos[0])
		} else if err != nil {
			return err
		}
	}
	base := strings.TrimRight(e.getenv("ASHLAR_BASE_URL"), "/")
	if base == "" {
		base = "<base URL>"
	}
	switch sub {
	case "create":
		if *name == "" {
			return usageError{"partner feed create: --name is required"}
		}
		f, token, err := partner.CreateFeed(ctx, db, *name, *title)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "created feed %s (%s)\ntoken (shown once): %s\nURLs: %s/partner-feed/%s/jobs.json and …/jobs.xml\n", f.Name, f.ID, token, base, token)
		return nil
	case "list":
		feeds, err := partner.Feeds(ctx, db)
		if err != nil {
			return err
		}
		type row struct {
			*partner.Feed
			Organizations []string `json:"organizations"`
		}
		var rows []row
		for _, f := range feeds {
			orgs, err := partner.FeedOrgs(ctx, db, f.ID)
			if err != nil {
				return err
			}
			var slugs []string
			for _, id := range orgs {
				if o, err := db.OrgByID(ctx, id); err == nil {
					slugs = append(slugs, o.Slug)
				}
			}
			if slugs == nil {
				slugs = []string{}
			}
			rows = append(rows, row{f, slugs})
		}
		if *asJSON {
			return writeJSONLines(out, rows)
		}
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tTITLE\tID\tORGANIZATIONS OPTED IN")
		for _, r := range rows {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Name, r.Title, r.ID, strings.Join(r.Organizations, ", "))
		}
		return tw.Flush()
	case "rotate-token":
		token, err := partner.RotateFeedToken(ctx, db, feed.ID)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "new token for feed %s (shown once; the old one no longer works): %s\n", feed.Name, token)
		return nil
	case "delete":
		if err := partner.DeleteFeed(ctx, db, feed.ID); err != nil {
			return err
		}
		fmt.Fprintln(out, "deleted feed", feed.Name)
		return nil
	case "opt-in", "opt-out":
		if *orgSlug == "" {
			return usageError{"partner feed " + sub + ": --org is required"}
		}
		invoke, err := orgInvoker(ctx, e, db, *orgSlug, "ashlar partner feed")
		if err != nil {
			return err
		}
		endpoint := map[string]string{"opt-in": "jobFeed.optIn", "opt-out": "jobFeed.optOut"}[sub]
		var v ashby.JobFeed
		if err := invoke(endpoint, map[string]any{"jobFeedId": feed.ID}, &v); err != nil {
			return err
		}
		fmt.Fprintf(out, "organization %s opted %s feed %s\n", *orgSlug, map[bool]string{true: "in to", false: "out of"}[v.OptedIn], feed.Name)
		return nil
	}
	return usageError{fmt.Sprintf("partner feed: unknown subcommand %q", sub)}
}

// envBool reads a boolean environment variable; unset or unreadable is false.
func envBool(e *env, name string) bool {
	v, _ := strconv.ParseBool(e.getenv(name))
	return v
}
