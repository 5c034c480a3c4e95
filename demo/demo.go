// Package demo seeds a realistic demo organization through the API itself,
// so a newcomer's first list calls return data and every seeded record
// went through the same validation as a client's.
package demo

import (
	"context"
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
	for _, st := range steps {
		if err := st.Run(ctx, d); err != nil {
			return org, fmt.Errorf("seed %s: %w", st.Name, err)
		}
	}
	return org, nil
}
