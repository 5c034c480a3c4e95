package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ashlarhq/ashlar/api"
	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/demo"
	"github.com/ashlarhq/ashlar/server"
	"github.com/ashlarhq/ashlar/store"
)

// startDemo seeds the demo organization the first time and prints a fresh
// API key with every permission and a few commands to try.
func startDemo(ctx context.Context, e *env, srv *server.Server, url string, candidates int) error {
	exists, err := demo.Exists(ctx, srv.DB)
	if err != nil {
		return err
	}
	if !exists {
		fmt.Fprintln(e.stderr, "ashlar: seeding the demo organization (once) …")
		started := time.Now()
		if _, err := demo.Seed(ctx, srv.Service, srv.API, candidates); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "ashlar: demo organization seeded in %s\n", time.Since(started).Round(time.Millisecond))
	}
	org, err := srv.DB.OrgBySlug(ctx, demo.Slug)
	if err != nil {
		return err
	}
	var secret string
	err = srv.DB.Write(ctx, func(tx *store.Tx) error {
		_, secret, err = tx.CreateAPIKey(ctx, org.ID, "demo key "+time.Now().UTC().Format(time.RFC3339), ashby.AllPermissions, "")
		return err
	})
	if err != nil {
		return err
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
API key with every permission (shown once):

  %s

Try:
  curl -s -u %s: -X POST %s/candidate.list -H 'Content-Type: application/json' -d '{"limit": 2}'
  curl -s -u %s: -X POST %s/job.list -H 'Content-Type: application/json' -d '{}'
  curl -s %s/openapi.json | head

A candidate's survey page:
  %s

`, org.Name, org.Slug, secret, secret, url, secret, url, url, survey)
	return printDemoSignIn(ctx, e, srv, url)
}
