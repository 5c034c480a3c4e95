package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/forms"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/store"
)

func init() {
	register((*Service).referralEndpoints)
	AddExpansion("application", "referrals", expandReferrals)
}

// ReferralForms: Unique = "default" for the organization's default form.
var ReferralForms = store.Kind[ashby.ReferralForm]{Name: "referral_form", Index: func(f *ashby.ReferralForm) store.Index {
	idx := store.Index{ID: f.ID, Archived: f.IsArchived}
	if f.IsDefaultForm {
		idx.Unique = "default"
	}
	return idx
}}

// Referral is a referral as Ashlar keeps it: who referred whom, when,
// and the answers of the referral form.
type Referral struct {
	ID              string         `json:"id"`
	ApplicationID   string         `json:"applicationId"`
	CandidateID     string         `json:"candidateId"`
	User            *ashby.User    `json:"user"`
	ReferredAt      ashby.Time     `json:"referredAt"`
	ReferralFormID  string         `json:"referralFormId"`
	SubmittedValues map[string]any `json:"submittedValues"`
}

// Referrals: Parent = application; Ref = candidate.
var Referrals = store.Kind[Referral]{Name: "referral", Index: func(r *Referral) store.Index {
	return store.Index{ID: r.ID, CreatedAt: r.ReferredAt.Time, Parent: r.ApplicationID, Ref: r.CandidateID}
}}

func (s *Service) referralEndpoints() []*rpc.Endpoint {
	return []*rpc.Endpoint{
		rpc.Object(rpc.Spec{Name: "referralForm.info", Permission: ashby.HiringProcessMetadataRead, Summary: "The organization's default referral form (created on first use)."}, s.referralFormInfo),
		rpc.Object(rpc.Spec{Name: "referral.create", Permission: ashby.CandidatesWrite, Summary: "Refer a candidate for a job: creates (or reuses, by email) the candidate and an application credited to the referrer."}, s.referralCreate),
	}
}

// Paths of the default referral form's fields.
const (
	referralJobPath   = "_systemfield_job"
	referralEmailPath = "_systemfield_email"
)

func defaultReferralForm(org string) *ashby.ReferralForm {
	return &ashby.ReferralForm{ID: ashby.NewID(), OrganizationID: org, Title: "Referral Form", IsDefaultForm: true,
		FormDefinition: ashby.FormDefinition{Sections: []ashby.FormSection{
			{Title: "Who are you referring?", Fields: []ashby.FormEntry{
				forms.Field(ashby.FieldValueSelect, referralJobPath, "Job", true),
				forms.Field(ashby.FieldString, "_systemfield_name", "Name", true),
				forms.Field(ashby.FieldEmail, referralEmailPath, "Email", true),
				forms.Field(ashby.FieldPhone, "_systemfield_phone", "Phone", false),
				forms.Field(ashby.FieldSocialLink, "_systemfield_linkedin", "LinkedIn", false),
			}},
			{Title: "About the referral", Fields: []ashby.FormEntry{
				forms.Field(ashby.FieldValueSelect, "relationship", "How do you know them?", false, forms.Choices("Former colleague", "Friend", "Classmate", "Other")...),
				forms.Field(ashby.FieldLongText, "why_refer", "Why are you referring them?", false),
			}},
		}}}
}

// referralForm loads the default form, creating it on first use.
func (s *Service) referralForm(ctx context.Context, org string) (*ashby.ReferralForm, error) {
	f, err := ReferralForms.FindOne(ctx, s.DB, org, store.Filter{Unique: "default", IncludeArchived: true})
	if err == nil || !errors.Is(err, store.ErrNotFound) {
		return f, err
	}
	err = s.write(ctx, func(tx *store.Tx) error {
		// Another request may have created it meanwhile; the unique
		// index makes the loser's insert fail, and it reads the winner's.
		if f, err = ReferralForms.FindOne(ctx, tx, org, store.Filter{Unique: "default", IncludeArchived: true}); err == nil {
			return nil
		}
		f = defaultReferralForm(org)
		return ReferralForms.Put(ctx, tx, org, f)
	})
	if errors.Is(err, store.ErrDuplicate) {
		return ReferralForms.FindOne(ctx, s.DB, org, store.Filter{Unique: "default", IncludeArchived: true})
	}
	return f, err
}

func (s *Service) referralFormInfo(ctx context.Context, c *rpc.Call, _ *emptyRequest) (rpc.Result[ashby.ReferralForm], error) {
	f, err := s.referralForm(ctx, c.Org())
	if err != nil {
		return rpc.Result[ashby.ReferralForm]{}, err
	}
	return rpc.Value(f), nil
}

type referralCreateRequest struct {
	ID               ashby.ID                `json:"id" required:"true" doc:"The referral form's id (referralForm.info)."`
	CreditedToUserID ashby.ID                `json:"creditedToUserId" required:"true" doc:"The referrer."`
	FieldSubmissions []ashby.FieldSubmission `json:"fieldSubmissions" required:"true" doc:"Answers by path; the job field's value is {title, value: jobId} (or the job id)."`
	CreatedAt        *ashby.Time             `json:"createdAt,omitempty"`
}

func (s *Service) referralCreate(ctx context.Context, c *rpc.Call, req *referralCreateRequest) (rpc.Result[ashby.Application], error) {
	form, err := s.referralForm(ctx, c.Org())
	if err != nil {
		return rpc.Result[ashby.Application]{}, err
	}
	if form.ID != string(req.ID) {
		return rpc.Result[ashby.Application]{}, ashby.NotFound("referral_form", fmt.Sprintf("Referral form %s not found; referralForm.info gives the form's id", req.ID))
	}
	if req.CreatedAt != nil && req.CreatedAt.After(time.Now()) {
		return rpc.Result[ashby.Application]{}, ashby.InvalidInput("createdAt", "createdAt cannot be in the future")
	}
	var app *ashby.Application
	err = s.write(ctx, func(tx *store.Tx) error {
		referrer, err := mustShare(ctx, tx, Users, c.Org(), string(req.CreditedToUserID), "user", "creditedToUserId")
		if err != nil {
			return err
		}
		def, subs, err := s.referralSubmissions(ctx, tx, c.Org(), form.FormDefinition, req.FieldSubmissions)
		if err != nil {
			return err
		}
		values, err := forms.Validate(def, subs, forms.Options{})
		var fe forms.Errors
		if errors.As(err, &fe) {
			e := fe.APIError()
			e.Meta["field"] = "fieldSubmissions"
			return e
		}
		if err != nil {
			return err
		}
		source, err := referralSource(ctx, tx, c.Org())
		if err != nil {
			return err
		}
		str := func(path string) string { v, _ := values[path].(string); return v }
		cand, err := s.referralCandidate(ctx, tx, c.Org(), NewCandidate{Name: str("_systemfield_name"), Email: str(referralEmailPath), Phone: str("_systemfield_phone"),
			LinkedInURL: str("_systemfield_linkedin"), SourceID: source, CreditedToUserID: referrer.ID, CreatedAt: req.CreatedAt})
		if err != nil {
			return err
		}
		actor, err := s.actingUser(ctx, tx, c)
		if err != nil {
			return err
		}
		app, err = s.CreateApplication(ctx, tx, c.Org(), NewApplication{CandidateID: cand.ID, JobID: str(referralJobPath), SourceID: source,
			CreditedToUserID: referrer.ID, CreatedAt: req.CreatedAt, ActorID: actor.ID})
		if err != nil {
			return err
		}
		referredAt := s.now()
		if req.CreatedAt != nil {
			referredAt = *req.CreatedAt
		}
		return Referrals.Put(ctx, tx, c.Org(), &Referral{ID: ashby.NewID(), ApplicationID: app.ID, CandidateID: cand.ID, User: referrer,
			ReferredAt: referredAt, ReferralFormID: form.ID, SubmittedValues: values})
	})
	if err != nil {
		return rpc.Result[ashby.Application]{}, err
	}
	return rpc.Value(app), nil
}

// referralSubmissions returns the form with the job field's options set
// to the jobs open for referrals, and the submissions with the job
// field's {title, value} reduced to its value, ready for forms.Validate.
func (s *Service) referralSubmissions(ctx context.Context, q store.Q, org string, def ashby.FormDefinition, subs []ashby.FieldSubmission) (ashby.FormDefinition, []ashby.FieldSubmission, error) {
	jobs, err := Jobs.Find(ctx, q, org, store.Filter{State: []string{ashby.JobOpen}})
	if err != nil {
		return def, nil, err
	}
	options := make([]ashby.FormSelectableValue, len(jobs))
	for i, j := range jobs {
		options[i] = ashby.FormSelectableValue{Label: j.Title, Value: j.ID}
	}
	def = cloneForm(def)
	for i := range def.Sections {
		for j := range def.Sections[i].Fields {
			if f := &def.Sections[i].Fields[j].Field; f.Path == referralJobPath {
				f.SelectableValues = options
			}
		}
	}
	subs = slices.Clone(subs)
	for i, sub := range subs {
		if sub.Path != referralJobPath {
			continue
		}
		if m, ok := sub.Value.(map[string]any); ok {
			subs[i].Value = m["value"]
		}
		if id, ok := subs[i].Value.(string); ok {
			subs[i].Value = strings.ToLower(strings.TrimSpace(id))
		}
	}
	return def, subs, nil
}

func cloneForm(def ashby.FormDefinition) ashby.FormDefinition {
	var out ashby.FormDefinition
	json.Unmarshal(mustJSON(def), &out)
	return out
}

// referralSource is the organization's source for referrals: the one
// titled "Referral", else any source of the Referral type.
func referralSource(ctx context.Context, q store.Q, org string) (string, error) {
	all, err := Sources.Find(ctx, q, org, store.Filter{})
	if err != nil {
		return "", err
	}
	var byType string
	for _, src := range all {
		if strings.EqualFold(src.Title, "Referral") {
			return src.ID, nil
		}
		if byType == "" && src.SourceType != nil && strings.EqualFold(src.SourceType.Title, "Referral") {
			byType = src.ID
		}
	}
	return byType, nil
}

// referralCandidate reuses the candidate who has the referred email, as
// a referral of someone already in the talent pool should not duplicate
// them; otherwise it creates one.
func (s *Service) referralCandidate(ctx context.Context, tx *store.Tx, org string, n NewCandidate) (*ashby.Candidate, error) {
	if n.Email != "" {
		found, err := Candidates.ByKey(ctx, tx, org, "email", lc(n.Email), 1)
		if err != nil {
			return nil, err
		}
		if len(found) > 0 {
			return found[0], nil
		}
	}
	return s.CreateCandidate(ctx, tx, org, n)
}

// expandReferrals adds application.info's "referrals": [{user, referredAt}].
func expandReferrals(ctx context.Context, s *Service, org string, docs [][]byte) ([][]byte, error) {
	out := make([][]byte, len(docs))
	for i, id := range field(docs, "id") {
		refs, err := Referrals.Find(ctx, s.DB, org, store.Filter{Parent: id})
		if err != nil {
			return nil, err
		}
		list := make([]map[string]any, len(refs))
		for j, r := range refs {
			list[j] = map[string]any{"user": r.User, "referredAt": r.ReferredAt}
		}
		out[i] = mustJSON(list)
	}
	return out, nil
}
