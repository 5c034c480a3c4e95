// Package demo seeds a realistic demo organization through the API itself,
// so a newcomer's first list calls return data and every seeded record
// went through the same validation as a client's.
package demo

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/ashlarhq/ashlar/api"
	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/store"
)

// Slug is the demo organization's slug.
const Slug = "demo"

// Demo is the state of a seeding run: how to call the API, and what the
// earlier steps created, for later steps to build on.
type Demo struct {
	API  *rpc.API
	Call *rpc.Call
	Rand *rand.Rand
	Org  *store.Org
	// Size scales how many candidates are created (1 = the default).
	Candidates int
	// Files keeps a file and returns its handle, for resumes and other
	// candidate files; nil when the server keeps no files.
	Files func(ctx context.Context, uploadContext, name string, content []byte) (string, error)

	Users          []ashby.User
	Departments    []ashby.Department
	Locations      []ashby.Location
	Plans          []ashby.InterviewPlan
	Stages         map[string][]ashby.InterviewStage // by plan id
	Sources        []ashby.Source
	ArchiveReasons []ashby.ArchiveReason
	Tags           []ashby.CandidateTag
	Jobs           []ashby.Job
	CandidateList  []ashby.Candidate
	Applications   []ashby.Application
}

// Step is one part of the seed; steps run in registration order.
type Step struct {
	Name string
	Run  func(ctx context.Context, d *Demo) error
}

var steps []Step

// AddStep registers a seeding step. Features seed their own objects
// (postings, interviews, offers …) from their own files.
func AddStep(name string, run func(ctx context.Context, d *Demo) error) {
	steps = append(steps, Step{name, run})
}

// Invoke calls an endpoint as the demo administrator and decodes its
// results into out (which may be nil).
func (d *Demo) Invoke(ctx context.Context, endpoint string, req, out any) error {
	raw, err := d.API.Invoke(ctx, d.Call, endpoint, req)
	if err != nil {
		return fmt.Errorf("%s: %w", endpoint, err)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%s: decode: %w", endpoint, err)
	}
	return nil
}

// Pick returns a random element.
func Pick[T any](d *Demo, xs []T) T { return xs[d.Rand.IntN(len(xs))] }

// Exists reports whether the demo organization has been seeded.
func Exists(ctx context.Context, db *store.DB) (bool, error) {
	_, err := db.OrgBySlug(ctx, Slug)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// Seed creates and fills the demo organization. candidates sets how many
// candidates to create (0: the default, 300).
func Seed(ctx context.Context, svc *api.Service, table *rpc.API, candidates int) (*store.Org, error) {
	org, err := svc.CreateOrg(ctx, Slug, "Northwind Robotics")
	if err != nil {
		return nil, fmt.Errorf("create demo organization: %w", err)
	}
	if candidates <= 0 {
		candidates = 300
	}
	d := &Demo{
		API:        table,
		Call:       &rpc.Call{Principal: &rpc.Principal{OrgID: org.ID, KeyTitle: "demo seed", KeyCreated: time.Now(), Permissions: ashby.AllPermissions}, RequestID: "demo-seed"},
		Rand:       rand.New(rand.NewPCG(2026, 11)),
		Org:        org,
		Candidates: candidates,
		Stages:     map[string][]ashby.InterviewStage{},
	}
	if st, err := svc.FileStore(); err == nil {
		d.Files = func(ctx context.Context, uploadContext, name string, content []byte) (string, error) {
			staged, err := st.Stage(ctx, bytes.NewReader(content), name, 0)
			if err != nil {
				return "", err
			}
			defer staged.Remove()
			h, err := st.Save(ctx, org.ID, uploadContext, staged)
			return h.Handle, err
		}
	}
	for _, st := range steps {
		if err := st.Run(ctx, d); err != nil {
			return org, fmt.Errorf("seed %s: %w", st.Name, err)
		}
	}
	return org, nil
}

// keySetting names the settings row holding the demo key's secret. Only
// the demo's key is kept in the clear, so that every restart of
// `serve --demo` prints the same key instead of adding another.
const keySetting = "demo_api_key"

// APIKey returns the demo organization's API key with every permission:
// the one stored by an earlier start while it is still active, else a new
// one (created is then true), which is stored for the next start.
func APIKey(ctx context.Context, db *store.DB, org *store.Org) (secret string, created bool, err error) {
	err = db.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = $1`, keySetting).Scan(&secret)
	switch {
	case err == nil:
		k, kerr := db.APIKeyBySecret(ctx, secret)
		if kerr == nil && k.OrgID == org.ID && k.RevokedAt == nil && len(k.Permissions) == len(ashby.AllPermissions) {
			return secret, false, nil
		}
		if kerr != nil && !errors.Is(kerr, store.ErrNotFound) {
			return "", false, kerr
		}
	case !errors.Is(err, sql.ErrNoRows):
		return "", false, fmt.Errorf("read the demo key: %w", err)
	}
	err = db.Write(ctx, func(tx *store.Tx) error {
		var err error
		_, secret, err = tx.CreateAPIKey(ctx, org.ID, "demo key", ashby.AllPermissions, "")
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value`, keySetting, secret)
		return err
	})
	if err != nil {
		return "", false, fmt.Errorf("create the demo key: %w", err)
	}
	return secret, true, nil
}
