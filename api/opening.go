package api

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/store"
)

// Openings (https://developers.ashbyhq.com/reference/openinginfo): headcount slots that jobs hire into, with
// states Draft, Approved, Open, Closed and Filled. Content edits (identifier,
// description, jobs, locations, hiring team …) make a new latest version;
// state and archive changes do not.

func init() {
	register((*Service).openingEndpoints)
	AddExpansion("job", "openings", expandJobOpenings)
	AddExpansion("application", "openings", expandApplicationOpenings)
	OnUserChange(refreshOpeningUsers)
}

// Openings: State = openingState; Search = identifier; Keys: the jobs,
// locations and hiring team users of the latest version.
var Openings = store.Kind[ashby.Opening]{Name: "opening", HasKeys: true, Index: func(o *ashby.Opening) store.Index {
	idx := store.Index{ID: o.ID, Archived: o.IsArchived, State: o.OpeningState}
	if v := o.LatestVersion; v != nil {
		idx.Search = lc(v.Identifier)
		for _, j := range v.JobIDs {
			idx.Keys = append(idx.Keys, store.Key{Name: "job", Value: j})
		}
		for _, l := range v.LocationIDs {
			idx.Keys = append(idx.Keys, store.Key{Name: "location", Value: l})
		}
		for _, m := range v.HiringTeam {
			idx.Keys = append(idx.Keys, store.Key{Name: "user", Value: m.UserID})
		}
	}
	return idx
}}

// CloseReasons: Unique = reason text, case-insensitively.
var CloseReasons = store.Kind[ashby.CloseReason]{Name: "close_reason", Index: func(r *ashby.CloseReason) store.Index {
	return store.Index{ID: r.ID, Archived: r.IsArchived, Unique: lc(r.ReasonText), Search: lc(r.ReasonText)}
}}

// DefaultCloseReasons are the close reasons a new organization has.
var DefaultCloseReasons = []string{"Hired", "Filled internally", "Position no longer needed", "Budget cut", "Role redefined", "Hiring freeze"}

func bootstrapCloseReasons(ctx context.Context, tx *store.Tx, org string) error {
	for _, t := range DefaultCloseReasons {
		if err := CloseReasons.Put(ctx, tx, org, &ashby.CloseReason{ID: ashby.NewID(), ReasonText: t}); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) openingEndpoints() []*rpc.Endpoint {
	return []*rpc.Endpoint{
		rpc.Object(rpc.Spec{Name: "opening.create", Permission: ashby.JobsWrite, Summary: "Create an opening (Draft unless openingState says otherwise)."}, s.openingCreate),
		rpc.Object(rpc.Spec{Name: "opening.info", Permission: ashby.JobsRead, Summary: "Fetch an opening."}, s.openingInfo),
		rpc.List[ashby.Opening](rpc.Spec{Name: "opening.list", Permission: ashby.JobsRead, Summary: "List openings, archived ones included; supports incremental sync."}, s.openingList),
		rpc.Array[ashby.Opening](rpc.Spec{Name: "opening.search", Permission: ashby.JobsRead, Summary: "Find openings by identifier (case-insensitive, exact)."}, s.openingSearch),
		rpc.Object(rpc.Spec{Name: "opening.update", Permission: ashby.JobsWrite, Summary: "Update an opening's content (a new version)."}, s.openingUpdate),
		rpc.Object(rpc.Spec{Name: "opening.addJob", Permission: ashby.JobsWrite, Summary: "Attach a job to an opening."}, s.openingJob(true)),
		rpc.Object(rpc.Spec{Name: "opening.removeJob", Permission: ashby.JobsWrite, Summary: "Detach a job from an opening."}, s.openingJob(false)),
		rpc.Object(rpc.Spec{Name: "opening.addLocation", Permission: ashby.JobsWrite, Summary: "Add a location to an opening."}, s.openingLocation(true)),
		rpc.Object(rpc.Spec{Name: "opening.removeLocation", Permission: ashby.JobsWrite, Summary: "Remove a location from an opening."}, s.openingLocation(false)),
		rpc.Object(rpc.Spec{Name: "opening.setArchived", Permission: ashby.JobsWrite, Summary: "Archive or restore an opening."}, s.openingSetArchived),
		rpc.Object(rpc.Spec{Name: "opening.setOpeningState", Permission: ashby.JobsWrite, Summary: "Change an opening's state; Closed needs a closeReasonId."}, s.openingSetState),

		rpc.List[ashby.CloseReason](rpc.Spec{Name: "closeReason.list", Permission: ashby.HiringProcessMetadataRead, Summary: "List the reasons openings can be closed with."}, s.closeReasonList),
		rpc.Object(rpc.Spec{Name: "closeReason.create", Permission: ashby.HiringProcessMetadataWrite, Extension: true, Summary: "Create a close reason (Ashby does this in its web app)."}, s.closeReasonCreate),
		rpc.Object(rpc.Spec{Name: "closeReason.setArchived", Permission: ashby.HiringProcessMetadataWrite, Extension: true, Summary: "Archive or restore a close reason."}, s.closeReasonSetArchived),
	}
}

// openingTransitions are the state changes opening.setOpeningState allows.
// Filled is reached only by a hire (see fillOpening); a filled opening can
// be reopened or closed when the hire falls through.
var openingTransitions = map[string][]string{
	ashby.OpeningDraft:    {ashby.OpeningApproved, ashby.OpeningOpen, ashby.OpeningClosed},
	ashby.OpeningApproved: {ashby.OpeningDraft, ashby.OpeningOpen, ashby.OpeningClosed},
	ashby.OpeningOpen:     {ashby.OpeningClosed},
	ashby.OpeningClosed:   {ashby.OpeningDraft, ashby.OpeningOpen},
	ashby.OpeningFilled:   {ashby.OpeningOpen, ashby.OpeningClosed},
}

type openingCreateRequest struct {
	Identifier      string     `json:"identifier,omitempty" doc:"Default: the next number."`
	Description     string     `json:"description,omitempty" maxLength:"text"`
	TeamID          ashby.ID   `json:"teamId,omitempty" doc:"The department."`
	LocationIDs     []ashby.ID `json:"locationIds,omitempty"`
	JobIDs          []ashby.ID `json:"jobIds,omitempty"`
	TargetHireDate  string     `json:"targetHireDate,omitempty" doc:"YYYY-MM-DD"`
	TargetStartDate string     `json:"targetStartDate,omitempty" doc:"YYYY-MM-DD"`
	IsBackfill      bool       `json:"isBackfill,omitempty"`
	EmploymentType  string     `json:"employmentType,omitempty" enum:"FullTime,PartTime,Intern,Contract,Temporary"`
	OpeningState    string     `json:"openingState,omitempty" enum:"Draft,Approved,Open,Closed"`
}

func (s *Service) openingCreate(ctx context.Context, c *rpc.Call, req *openingCreateRequest) (rpc.Result[ashby.Opening], error) {
	now := s.now()
	v := &ashby.OpeningVersion{ID: ashby.NewID(), Identifier: strings.TrimSpace(req.Identifier), Description: req.Description, CreatedAt: now,
		TeamID: string(req.TeamID), JobIDs: []string{}, LocationIDs: []string{}, IsBackfill: req.IsBackfill, EmploymentType: req.EmploymentType,
		HiringTeam: []ashby.HiringTeamMember{}, CustomFields: []ashby.CustomFieldValue{}}
	if v.EmploymentType == "" {
		v.EmploymentType = "FullTime" // Ashby's default; "" means the default too
	}
	for _, id := range req.JobIDs {
		v.JobIDs = openingAppendID(v.JobIDs, string(id))
	}
	for _, id := range req.LocationIDs {
		v.LocationIDs = openingAppendID(v.LocationIDs, string(id))
	}
	var err error
	if v.TargetHireDate, err = openingDate("targetHireDate", req.TargetHireDate); err != nil {
		return rpc.Result[ashby.Opening]{}, err
	}
	if v.TargetStartDate, err = openingDate("targetStartDate", req.TargetStartDate); err != nil {
		return rpc.Result[ashby.Opening]{}, err
	}
	o := &ashby.Opening{ID: ashby.NewID(), OpeningState: req.OpeningState, LatestVersion: v}
	if o.OpeningState == "" {
		o.OpeningState = ashby.OpeningDraft
	}
	switch o.OpeningState {
	case ashby.OpeningOpen:
		o.OpenedAt = now.Ptr()
	case ashby.OpeningClosed:
		o.ClosedAt = now.Ptr()
	}
	err = s.write(ctx, func(tx *store.Tx) error {
		actor, err := s.actingUser(ctx, tx, c)
		if err != nil {
			return err
		}
		v.AuthorID = actor.ID
		if err := s.checkOpeningRefs(ctx, tx, c.Org(), v); err != nil {
			return err
		}
		if v.Identifier == "" {
			if v.Identifier, err = nextOpeningIdentifier(ctx, tx, c.Org()); err != nil {
				return err
			}
		} else if err := noteOpeningIdentifier(ctx, tx, c.Org(), v.Identifier); err != nil {
			return err
		}
		if err := Openings.Put(ctx, tx, c.Org(), o); err != nil {
			return err
		}
		return emit(ctx, tx, c.Org(), "openingCreate", map[string]any{"opening": o})
	})
	if err != nil {
		return rpc.Result[ashby.Opening]{}, err
	}
	return rpc.Value(o), nil
}

func openingAppendID(xs []string, x string) []string {
	if slices.Contains(xs, x) {
		return xs
	}
	return append(xs, x)
}

// openingDate checks a YYYY-MM-DD date field; "" means none.
func openingDate(field, d string) (string, error) {
	d = strings.TrimSpace(d)
	if d != "" && !ashby.Date(d).Valid() {
		return "", ashby.InvalidInput(field, "%s must be a date as YYYY-MM-DD, got %q", field, d)
	}
	return d, nil
}

// nextOpeningIdentifier numbers openings created without an identifier:
// one more than the highest numeric identifier in the organization, drawn
// from a series so that a create costs the same however many openings
// exist; identifiers set by hand raise the series (noteOpeningIdentifier).
func nextOpeningIdentifier(ctx context.Context, tx *store.Tx, org string) (string, error) {
	n, err := tx.NextInSeries(ctx, openingSeries(org), func() (int64, error) {
		all, err := Openings.Find(ctx, tx, org, store.Filter{IncludeArchived: true})
		if err != nil {
			return 0, err
		}
		var top int64
		for _, o := range all {
			if o.LatestVersion == nil {
				continue
			}
			if k, err := strconv.ParseInt(o.LatestVersion.Identifier, 10, 64); err == nil && k > top {
				top = k
			}
		}
		return top, nil
	})
	if err != nil {
		return "", err
	}
	return strconv.FormatInt(n, 10), nil
}

func openingSeries(org string) string { return "opening_identifier:" + org }

// noteOpeningIdentifier keeps the series above an identifier set by hand.
func noteOpeningIdentifier(ctx context.Context, tx *store.Tx, org, id string) error {
	if k, err := strconv.ParseInt(id, 10, 64); err == nil && k > 0 {
		return tx.RaiseSeries(ctx, openingSeries(org), k)
	}
	return nil
}

// checkOpeningRefs checks that an opening version's department, jobs and
// locations exist in the organization.
func (s *Service) checkOpeningRefs(ctx context.Context, q store.Q, org string, v *ashby.OpeningVersion) error {
	if v.TeamID != "" {
		if _, err := mustExist(ctx, q, Departments, org, v.TeamID, "department", "teamId"); err != nil {
			return err
		}
	}
	for _, id := range v.JobIDs {
		if _, err := mustExist(ctx, q, Jobs, org, id, "job", "jobIds"); err != nil {
			return err
		}
	}
	for _, id := range v.LocationIDs {
		if _, err := mustExist(ctx, q, Locations, org, id, "location", "locationIds"); err != nil {
			return err
		}
	}
	return nil
}

type openingIDRequest struct {
	OpeningID ashby.ID `json:"openingId" required:"true"`
}

func (s *Service) openingInfo(ctx context.Context, c *rpc.Call, req *openingIDRequest) (rpc.Result[ashby.Opening], error) {
	doc, err := Openings.GetRaw(ctx, s.DB, c.Org(), string(req.OpeningID))
	if err != nil {
		return rpc.Result[ashby.Opening]{}, notFound(err, "opening", "Opening not found")
	}
	return rpc.Raw[ashby.Opening](doc), nil
}

type openingListRequest struct {
	rpc.SyncParams
	CreatedAfter int64 `json:"createdAfter,omitempty" doc:"Epoch milliseconds."`
}

func (s *Service) openingList(ctx context.Context, c *rpc.Call, req *openingListRequest) (*rpc.Page, error) {
	spec := listSpec(c, Openings.Name, req.SyncParams)
	spec.CreatedAfter = req.CreatedAfter
	spec.Filter.IncludeArchived = true
	return s.listPage(ctx, spec)
}

type openingSearchRequest struct {
	Identifier string `json:"identifier" required:"true"`
}

func (s *Service) openingSearch(ctx context.Context, c *rpc.Call, req *openingSearchRequest) (*rpc.Page, error) {
	docs, err := Openings.FindRaw(ctx, s.DB, c.Org(), store.Filter{Search: lc(req.Identifier), IncludeArchived: true, Limit: 100})
	if err != nil {
		return nil, err
	}
	if docs == nil {
		docs = [][]byte{}
	}
	return &rpc.Page{Raw: docs}, nil
}

type openingUpdateRequest struct {
	OpeningID       ashby.ID `json:"openingId" required:"true"`
	Identifier      *string  `json:"identifier,omitempty"`
	Description     *string  `json:"description,omitempty" maxLength:"text"`
	TeamID          *string  `json:"teamId,omitempty" doc:"The department; empty string clears it."`
	TargetHireDate  *string  `json:"targetHireDate,omitempty" doc:"YYYY-MM-DD; empty string clears it."`
	TargetStartDate *string  `json:"targetStartDate,omitempty" doc:"YYYY-MM-DD; empty string clears it."`
	IsBackfill      *bool    `json:"isBackfill,omitempty"`
	EmploymentType  string   `json:"employmentType,omitempty" enum:"FullTime,PartTime,Intern,Contract,Temporary"`
}

func (s *Service) openingUpdate(ctx context.Context, c *rpc.Call, req *openingUpdateRequest) (rpc.Result[ashby.Opening], error) {
	return s.changeOpening(ctx, c, string(req.OpeningID), func(tx *store.Tx, o *ashby.Opening, v *ashby.OpeningVersion) error {
		if req.Identifier != nil {
			id := strings.TrimSpace(*req.Identifier)
			if id == "" {
				return ashby.InvalidInput("identifier", "identifier cannot be empty")
			}
			v.Identifier = id
			if err := noteOpeningIdentifier(ctx, tx, c.Org(), id); err != nil {
				return err
			}
		}
		if req.Description != nil {
			v.Description = *req.Description
		}
		if req.TeamID != nil {
			t := strings.TrimSpace(*req.TeamID)
			if t != "" && !ashby.IsUUID(t) {
				return ashby.InvalidInput("teamId", "teamId must be a UUID")
			}
			v.TeamID = lc(t)
		}
		var err error
		if req.TargetHireDate != nil {
			if v.TargetHireDate, err = openingDate("targetHireDate", *req.TargetHireDate); err != nil {
				return err
			}
		}
		if req.TargetStartDate != nil {
			if v.TargetStartDate, err = openingDate("targetStartDate", *req.TargetStartDate); err != nil {
				return err
			}
		}
		if req.IsBackfill != nil {
			v.IsBackfill = *req.IsBackfill
		}
		if req.EmploymentType != "" {
			v.EmploymentType = req.EmploymentType
		}
		if v.TeamID != "" {
			if _, err := mustExist(ctx, tx, Departments, c.Org(), v.TeamID, "department", "teamId"); err != nil {
				return err
			}
		}
		return nil
	})
}

type openingJobRequest struct {
	OpeningID ashby.ID `json:"openingId" required:"true"`
	JobID     ashby.ID `json:"jobId" required:"true"`
}

func (s *Service) openingJob(add bool) func(context.Context, *rpc.Call, *openingJobRequest) (rpc.Result[ashby.Opening], error) {
	return func(ctx context.Context, c *rpc.Call, req *openingJobRequest) (rpc.Result[ashby.Opening], error) {
		return s.changeOpening(ctx, c, string(req.OpeningID), func(tx *store.Tx, o *ashby.Opening, v *ashby.OpeningVersion) error {
			if _, err := mustExist(ctx, tx, Jobs, c.Org(), string(req.JobID), "job", "jobId"); err != nil {
				return err
			}
			if add {
				v.JobIDs = openingAppendID(v.JobIDs, string(req.JobID))
			} else {
				v.JobIDs = slices.DeleteFunc(v.JobIDs, func(id string) bool { return id == string(req.JobID) })
			}
			return nil
		})
	}
}

type openingLocationRequest struct {
	OpeningID  ashby.ID `json:"openingId" required:"true"`
	LocationID ashby.ID `json:"locationId" required:"true"`
}

func (s *Service) openingLocation(add bool) func(context.Context, *rpc.Call, *openingLocationRequest) (rpc.Result[ashby.Opening], error) {
	return func(ctx context.Context, c *rpc.Call, req *openingLocationRequest) (rpc.Result[ashby.Opening], error) {
		return s.changeOpening(ctx, c, string(req.OpeningID), func(tx *store.Tx, o *ashby.Opening, v *ashby.OpeningVersion) error {
			if _, err := mustExist(ctx, tx, Locations, c.Org(), string(req.LocationID), "location", "locationId"); err != nil {
				return err
			}
			if add {
				v.LocationIDs = openingAppendID(v.LocationIDs, string(req.LocationID))
			} else {
				v.LocationIDs = slices.DeleteFunc(v.LocationIDs, func(id string) bool { return id == string(req.LocationID) })
			}
			return nil
		})
	}
}

type openingSetArchivedRequest struct {
	OpeningID ashby.ID `json:"openingId" required:"true"`
	Archive   *bool    `json:"archive" required:"true" doc:"true archives, false restores."`
}

func (s *Service) openingSetArchived(ctx context.Context, c *rpc.Call, req *openingSetArchivedRequest) (rpc.Result[ashby.Opening], error) {
	return s.changeOpening(ctx, c, string(req.OpeningID), func(tx *store.Tx, o *ashby.Opening, v *ashby.OpeningVersion) error {
		if o.IsArchived == *req.Archive {
			return nil
		}
		o.IsArchived = *req.Archive
		o.ArchivedAt = nil
		if o.IsArchived {
			o.ArchivedAt = s.now().Ptr()
		}
		return nil
	})
}

type openingSetStateRequest struct {
	OpeningID     ashby.ID `json:"openingId" required:"true"`
	OpeningState  string   `json:"openingState" required:"true" enum:"Draft,Approved,Open,Closed"`
	CloseReasonID ashby.ID `json:"closeReasonId,omitempty" doc:"Required when openingState is Closed, and only then."`
}

func (s *Service) openingSetState(ctx context.Context, c *rpc.Call, req *openingSetStateRequest) (rpc.Result[ashby.Opening], error) {
	closing := req.OpeningState == ashby.OpeningClosed
	if closing && req.CloseReasonID == "" {
		return rpc.Result[ashby.Opening]{}, ashby.InvalidInput("closeReasonId", "closeReasonId is required to close an opening")
	}
	if !closing && req.CloseReasonID != "" {
		return rpc.Result[ashby.Opening]{}, ashby.InvalidInput("closeReasonId", "closeReasonId is only allowed when openingState is Closed")
	}
	if err := s.ensureOrgDefaults(ctx, c.Org()); err != nil {
		return rpc.Result[ashby.Opening]{}, err
	}
	return s.changeOpening(ctx, c, string(req.OpeningID), func(tx *store.Tx, o *ashby.Opening, v *ashby.OpeningVersion) error {
		if closing {
			r, err := mustExist(ctx, tx, CloseReasons, c.Org(), string(req.CloseReasonID), "close_reason", "closeReasonId")
			if err != nil {
				return err
			}
			if r.IsArchived {
				return ashby.InvalidInput("closeReasonId", "Close reason %q is archived", r.ReasonText)
			}
		}
		if o.OpeningState == req.OpeningState {
			if closing {
				o.CloseReasonID = string(req.CloseReasonID) // a closed opening may get a better reason
			}
			return nil
		}
		if !slices.Contains(openingTransitions[o.OpeningState], req.OpeningState) {
			return ashby.Errorf("opening_state_invalid", "A %s opening cannot move to %s; allowed: %s", o.OpeningState, req.OpeningState,
				strings.Join(openingTransitions[o.OpeningState], ", "))
		}
		setOpeningState(o, req.OpeningState, string(req.CloseReasonID), s.now())
		return nil
	})
}

// setOpeningState moves an opening to state, keeping its timestamps and
// close reason consistent with it.
func setOpeningState(o *ashby.Opening, state, reasonID string, now ashby.Time) {
	o.OpeningState = state
	o.CloseReasonID = ""
	switch state {
	case ashby.OpeningOpen:
		o.OpenedAt, o.ClosedAt = now.Ptr(), nil
	case ashby.OpeningClosed:
		o.ClosedAt, o.CloseReasonID = now.Ptr(), reasonID
	case ashby.OpeningFilled:
		o.ClosedAt = now.Ptr()
	default:
		o.ClosedAt = nil
	}
}

// changeOpening loads an opening for update and applies fn to it and to a
// copy of its latest version. If the version's content changed, the copy
// becomes a new latest version authored by the caller; if nothing changed,
// nothing is written.
func (s *Service) changeOpening(ctx context.Context, c *rpc.Call, id string, fn func(tx *store.Tx, o *ashby.Opening, v *ashby.OpeningVersion) error) (rpc.Result[ashby.Opening], error) {
	var o *ashby.Opening
	err := s.write(ctx, func(tx *store.Tx) error {
		var err error
		o, err = Openings.GetForUpdate(ctx, tx, c.Org(), id)
		if err != nil {
			return notFound(err, "opening", "Opening not found")
		}
		return s.reviseOpening(ctx, tx, c, o, func(v *ashby.OpeningVersion) error { return fn(tx, o, v) })
	})
	if err != nil {
		return rpc.Result[ashby.Opening]{}, err
	}
	return rpc.Value(o), nil
}

// reviseOpening applies fn to a copy of o's latest version and stores o
// if anything changed (see changeOpening).
func (s *Service) reviseOpening(ctx context.Context, tx *store.Tx, c *rpc.Call, o *ashby.Opening, fn func(v *ashby.OpeningVersion) error) error {
	before := string(mustJSON(o))
	var v ashby.OpeningVersion
	if o.LatestVersion != nil {
		// A deep copy, so that fn cannot alter the stored version in place.
		if err := json.Unmarshal(mustJSON(o.LatestVersion), &v); err != nil {
			return fmt.Errorf("copy opening version: %w", err)
		}
	}
	oldVersion := string(mustJSON(v))
	if err := fn(&v); err != nil {
		return err
	}
	if string(mustJSON(v)) != oldVersion {
		actor, err := s.actingUser(ctx, tx, c)
		if err != nil {
			return err
		}
		v.ID, v.CreatedAt, v.AuthorID = ashby.NewID(), s.now(), actor.ID
		o.LatestVersion = &v
	}
	if string(mustJSON(o)) == before {
		return nil
	}
	return Openings.Put(ctx, tx, c.Org(), o)
}

// setOpeningTeamMember changes the hiring team of an opening's latest
// version (a new version).
func (s *Service) setOpeningTeamMember(ctx context.Context, c *rpc.Call, openingID, userID, roleID string, add bool) (*ashby.HiringTeamMember, error) {
	var m *ashby.HiringTeamMember
	_, err := s.changeOpening(ctx, c, openingID, func(tx *store.Tx, o *ashby.Opening, v *ashby.OpeningVersion) error {
		var err error
		if m, err = s.teamMember(ctx, tx, c.Org(), userID, roleID, add); err != nil {
			return err
		}
		if add {
			v.HiringTeam, _ = withMember(v.HiringTeam, *m)
			return nil
		}
		var changed bool
		if v.HiringTeam, changed = withoutMember(v.HiringTeam, *m); !changed {
			return teamMemberNotFound(m, "opening")
		}
		return nil
	})
	return m, err
}

// fillOpening marks the opening a hire fills: the accepted offer's
// opening when it names one, else the job's longest-open opening. An
// opening that is not Open (already filled, closed …) is left alone.
// Candidates are locked and checked again, so two hires at once cannot
// fill the same opening.
func fillOpening(ctx context.Context, tx *store.Tx, org, jobID, openingID string, now ashby.Time) error {
	var candidates []string
	if openingID != "" {
		candidates = []string{openingID}
	} else {
		all, err := Openings.ByKey(ctx, tx, org, "job", jobID, 0)
		if err != nil {
			return err
		}
		slices.SortStableFunc(all, func(a, b *ashby.Opening) int { return cmp.Compare(ms(a.OpenedAt), ms(b.OpenedAt)) })
		for _, x := range all {
			if x.OpeningState == ashby.OpeningOpen && !x.IsArchived {
				candidates = append(candidates, x.ID)
			}
		}
	}
	for _, id := range candidates {
		o, err := Openings.GetForUpdate(ctx, tx, org, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if o.OpeningState != ashby.OpeningOpen || o.IsArchived {
			continue
		}
		setOpeningState(o, ashby.OpeningFilled, "", now)
		return Openings.Put(ctx, tx, org, o)
	}
	return nil
}

// refreshOpeningUsers rewrites the hiring team members of openings that
// embed user u (a name or email change is not a new version).
func refreshOpeningUsers(ctx context.Context, _ *Service, tx *store.Tx, org string, u *ashby.User) error {
	_, err := Openings.RewriteByKey(ctx, tx, org, "user", u.ID, func(o *ashby.Opening) error {
		for i := range o.LatestVersion.HiringTeam {
			if m := &o.LatestVersion.HiringTeam[i]; m.UserID == u.ID {
				m.FirstName, m.LastName, m.Email = u.FirstName, u.LastName, u.Email
			}
		}
		return nil
	})
	return err
}

// expandJobOpenings is job's "openings" expansion: every opening the job
// is attached to.
func expandJobOpenings(ctx context.Context, s *Service, org string, docs [][]byte) ([][]byte, error) {
	return openingsOf(ctx, s, org, field(docs, "id"))
}

// expandApplicationOpenings is application's "openings" expansion: the
// openings of the application's job, which its hire would fill.
func expandApplicationOpenings(ctx context.Context, s *Service, org string, docs [][]byte) ([][]byte, error) {
	jobIDs := make([]string, len(docs))
	for i, d := range docs {
		var a struct {
			Job struct {
				ID string `json:"id"`
			} `json:"job"`
		}
		if err := json.Unmarshal(d, &a); err != nil {
			return nil, fmt.Errorf("read application job: %w", err)
		}
		jobIDs[i] = a.Job.ID
	}
	return openingsOf(ctx, s, org, jobIDs)
}

func openingsOf(ctx context.Context, s *Service, org string, jobIDs []string) ([][]byte, error) {
	out := make([][]byte, len(jobIDs))
	cache := map[string][]byte{}
	for i, id := range jobIDs {
		if id == "" {
			continue
		}
		if b, ok := cache[id]; ok {
			out[i] = b
			continue
		}
		os, err := Openings.ByKey(ctx, s.DB, org, "job", id, 0)
		if err != nil {
			return nil, err
		}
		if os == nil {
			os = []*ashby.Opening{}
		}
		cache[id] = mustJSON(os)
		out[i] = cache[id]
	}
	return out, nil
}

// Close reasons

func (s *Service) closeReasonList(ctx context.Context, c *rpc.Call, req *includeArchivedListRequest) (*rpc.Page, error) {
	if err := s.ensureOrgDefaults(ctx, c.Org()); err != nil {
		return nil, err
	}
	spec := listSpec(c, CloseReasons.Name, req.SyncParams)
	spec.Filter.IncludeArchived = req.IncludeArchived
	return s.listPage(ctx, spec)
}

type closeReasonCreateRequest struct {
	ReasonText string `json:"reasonText" required:"true"`
}

func (s *Service) closeReasonCreate(ctx context.Context, c *rpc.Call, req *closeReasonCreateRequest) (rpc.Result[ashby.CloseReason], error) {
	if err := s.ensureOrgDefaults(ctx, c.Org()); err != nil {
		return rpc.Result[ashby.CloseReason]{}, err
	}
	r := &ashby.CloseReason{ID: ashby.NewID(), ReasonText: strings.TrimSpace(req.ReasonText)}
	err := s.write(ctx, func(tx *store.Tx) error { return CloseReasons.Put(ctx, tx, c.Org(), r) })
	if errors.Is(err, store.ErrDuplicate) {
		return rpc.Result[ashby.CloseReason]{}, ashby.Errorf("close_reason_already_exists", "A close reason %q already exists", r.ReasonText)
	}
	if err != nil {
		return rpc.Result[ashby.CloseReason]{}, err
	}
	return rpc.Value(r), nil
}

type closeReasonSetArchivedRequest struct {
	CloseReasonID ashby.ID `json:"closeReasonId" required:"true"`
	IsArchived    *bool    `json:"isArchived" required:"true"`
}

func (s *Service) closeReasonSetArchived(ctx context.Context, c *rpc.Call, req *closeReasonSetArchivedRequest) (rpc.Result[ashby.CloseReason], error) {
	var r *ashby.CloseReason
	err := s.write(ctx, func(tx *store.Tx) error {
		var err error
		r, err = CloseReasons.Update(ctx, tx, c.Org(), string(req.CloseReasonID), func(v *ashby.CloseReason) error { v.IsArchived = *req.IsArchived; return nil })
		return notFound(err, "close_reason", "Close reason not found")
	})
	if err != nil {
		return rpc.Result[ashby.CloseReason]{}, err
	}
	return rpc.Value(r), nil
}
