package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ashlarhq/ashlar/api"
	"github.com/ashlarhq/ashlar/demo"
	"github.com/ashlarhq/ashlar/server"
	"github.com/ashlarhq/ashlar/store"
)

// startDemo seeds the demo organization the first time, then prints its
// API key (the same one on every restart, while it is not revoked), the
// URLs of the public pages and the web app, and a few commands to try.
func startDemo(ctx context.Context, e *env, srv *server.Server, url string, candidates int) error {
	exists, err := demo.Exists(ctx, srv.DB)
	if err != nil {
		return err
	}
	if !exists {
		e.say("seeding the demo organization (once) …", "seeding demo organization", "candidates", candidates)
		started := time.Now()
		if _, err := demo.Seed(ctx, srv.Service, srv.API, candidates); err != nil {
			return err
		}
		took := time.Since(started).Round(time.Millisecond)
		e.say(fmt.Sprintf("demo organization seeded in %s", took), "demo organization seeded", "duration", took)
	}
	org, err := srv.DB.OrgBySlug(ctx, demo.Slug)
	if err != nil {
		return err
	}
	secret, created, err := demo.APIKey(ctx, srv.DB, org)
	if err != nil {
		return err
	}
	keyNote := "the same on every restart of serve --demo; revoke it and the next start makes another"
	if created {
		keyNote = "new; later restarts of serve --demo print this same key"
	}
	// A survey request still open on the survey page, for trying it as a
	// candidate would (the demo seeds several).
	survey := "(none open: create one with surveyRequest.create)"
	if sr, err := api.OpenSurveyRequest(ctx, srv.DB, org.ID); err == nil {
		survey = sr.SurveyURL
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	fmt.Fprintf(e.stdout, `
Demo organization %q (%s) is ready.

API key with every permission (%s):

  %s

Careers site:  %s/jobs/%s
Posting API:   %s/posting-api/job-board/%s
Web app:       %s/app/
Survey page:   %s
API reference: %s/openapi.json

Try:
  curl -s -u %s: -X POST %s/candidate.list -H 'Content-Type: application/json' -d '{"limit": 2}'
  curl -s -u %s: -X POST %s/job.list -H 'Content-Type: application/json' -d '{}'

`, org.Name, org.Slug, keyNote, secret, url, org.Slug, url, org.Slug, url, survey, url, secret, url, secret, url)
	return printDemoSignIn(ctx, e, srv, url)
}
