package api

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/forms"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/store"
)

func init() {
	register((*Service).surveyEndpoints)
	OnBootstrap(bootstrapSurveyForms)
}

// SurveyForms: State = surveyType; Archived = isArchived.
var SurveyForms = store.Kind[ashby.SurveyFormDefinition]{Name: "survey_form_definition", Index: func(f *ashby.SurveyFormDefinition) store.Index {
	return store.Index{ID: f.ID, Archived: f.IsArchived, State: f.SurveyType, Search: lc(f.Title)}
}}

// surveyRequestRow is a survey request with what lists filter on but the
// wire object does not carry.
type surveyRequestRow struct {
	ashby.SurveyRequest
	SurveyType string    `json:"-"`
	CreatedAt  time.Time `json:"-"`
}

// SurveyRequests: Parent = application; Ref = candidate; State = the
// form's survey type.
var SurveyRequests = store.Kind[surveyRequestRow]{Name: "survey_request", Index: func(r *surveyRequestRow) store.Index {
	return store.Index{ID: r.ID, CreatedAt: r.CreatedAt, Parent: r.ApplicationID, Ref: r.CandidateID, State: r.SurveyType}
}}

// SurveySubmissions: Parent = application; Ref = candidate; State = survey type.
var SurveySubmissions = store.Kind[ashby.SurveySubmission]{Name: "survey_submission", Index: func(s *ashby.SurveySubmission) store.Index {
	return store.Index{ID: s.ID, CreatedAt: s.SubmittedAt.Time, Parent: s.ApplicationID, Ref: s.CandidateID, State: s.SurveyType}
}}

func (s *Service) surveyEndpoints() []*rpc.Endpoint {
	return []*rpc.Endpoint{
		rpc.Object(rpc.Spec{Name: "surveyFormDefinition.info", Permission: ashby.HiringProcessMetadataRead, Summary: "Fetch a survey form definition."}, s.surveyFormInfo),
		rpc.List[ashby.SurveyFormDefinition](rpc.Spec{Name: "surveyFormDefinition.list", Permission: ashby.HiringProcessMetadataRead, Summary: "List survey form definitions; supports incremental sync."}, s.surveyFormList),
		rpc.Object(rpc.Spec{Name: "surveyFormDefinition.create", Permission: ashby.HiringProcessMetadataWrite, Extension: true, Summary: "Create a survey form (Ashby does this in its web app)."}, s.surveyFormCreate),
		rpc.Object(rpc.Spec{Name: "surveyRequest.create", Permission: ashby.CandidatesWrite, Summary: "Create a survey request and its URL; the candidate is not emailed."}, s.surveyRequestCreate),
		rpc.List[ashby.SurveyRequest](rpc.Spec{Name: "surveyRequest.list", Permission: ashby.CandidatesRead, Summary: "List survey requests of a survey type; supports incremental sync."}, s.surveyRequestList),
		rpc.Object(rpc.Spec{Name: "surveySubmission.create", Permission: ashby.CandidatesWrite, Summary: "Submit a candidate's answers to a survey."}, s.surveySubmissionCreate),
		rpc.List[ashby.SurveySubmission](rpc.Spec{Name: "surveySubmission.list", Permission: ashby.CandidatesRead, Summary: "List submissions of a survey type (CandidateExperience or Questionnaire); supports incremental sync."}, s.surveySubmissionList),
	}
}

// defaultSurveyForms are the forms a new organization starts with, one
// per survey type, as Ashby's defaults are.
func defaultSurveyForms() []ashby.SurveyFormDefinition {
	section := func(title string, fields ...ashby.FormEntry) ashby.FormDefinition {
		return ashby.FormDefinition{Sections: []ashby.FormSection{{Title: title, Fields: fields}}}
	}
	agree := forms.Choices("Strongly disagree", "Disagree", "Neutral", "Agree", "Strongly agree")
	decline := "Decline to self-identify"
	return []ashby.SurveyFormDefinition{
		{Title: "Candidate Experience Survey", SurveyType: ashby.SurveyCandidateExperience, FormDefinition: section("How was your experience?",
			forms.Field(ashby.FieldScore, "overall_experience", "How would you rate your overall interview experience?", true),
			forms.Field(ashby.FieldValueSelect, "process_was_clear", "The interview process was clearly explained to me.", false, agree...),
			forms.Field(ashby.FieldValueSelect, "interviewers_were_prepared", "My interviewers were prepared and respectful.", false, agree...),
			forms.Field(ashby.FieldLongText, "comments", "What could we do better?", false))},
		{Title: "Candidate Questionnaire", SurveyType: ashby.SurveyQuestionnaire, FormDefinition: section("A few questions",
			forms.Field(ashby.FieldBoolean, "work_authorization", "Are you authorized to work in the country of this role?", true),
			forms.Field(ashby.FieldBoolean, "requires_sponsorship", "Will you now or in the future require visa sponsorship?", true),
			forms.Field(ashby.FieldDate, "earliest_start_date", "What is the earliest date you could start?", false),
			forms.Field(ashby.FieldString, "heard_about_us", "How did you hear about us?", false))},
		{Title: "EEOC Voluntary Self-Identification", SurveyType: ashby.SurveyEEOC, FormDefinition: section("Voluntary self-identification",
			forms.Field(ashby.FieldValueSelect, "gender", "Gender", false, forms.Choices("Female", "Male", decline)...),
			forms.Field(ashby.FieldValueSelect, "race", "Race / ethnicity", false, forms.Choices("Hispanic or Latino", "White", "Black or African American",
				"Native Hawaiian or Other Pacific Islander", "Asian", "American Indian or Alaska Native", "Two or more races", decline)...),
			forms.Field(ashby.FieldValueSelect, "veteran_status", "Veteran status", false, forms.Choices("I am a protected veteran", "I am not a protected veteran", decline)...),
			forms.Field(ashby.FieldValueSelect, "disability_status", "Disability status", false, forms.Choices("Yes, I have a disability", "No, I do not have a disability", decline)...))},
		{Title: "Diversity Survey", SurveyType: ashby.SurveyDiversity, FormDefinition: section("Help us build a diverse team",
			forms.Field(ashby.FieldMultiValueSelect, "gender_identity", "How do you describe your gender identity?", false, forms.Choices("Woman", "Man", "Non-binary", "Prefer to self-describe", decline)...),
			forms.Field(ashby.FieldValueSelect, "lgbtq", "Do you identify as LGBTQ+?", false, forms.Choices("Yes", "No", decline)...))},
		{Title: "Candidate Data Consent", SurveyType: ashby.SurveyCandidateDataConsent, FormDefinition: section("Your data",
			forms.Field(ashby.FieldBoolean, "consent_to_retain", "May we keep your data to consider you for future roles?", true))},
	}
}

func bootstrapSurveyForms(ctx context.Context, s *Service, tx *store.Tx, org *store.Org) error {
	for _, f := range defaultSurveyForms() {
		f.ID, f.OrganizationID, f.IsDefaultForm = ashby.NewID(), org.ID, true
		if err := SurveyForms.Put(ctx, tx, org.ID, &f); err != nil {
			return fmt.Errorf("default survey form %s: %w", f.SurveyType, err)
		}
	}
	return nil
}

type surveyFormInfoRequest struct {
	SurveyFormDefinitionID ashby.ID `json:"surveyFormDefinitionId" required:"true"`
}

func (s *Service) surveyFormInfo(ctx context.Context, c *rpc.Call, req *surveyFormInfoRequest) (rpc.Result[ashby.SurveyFormDefinition], error) {
	doc, err := SurveyForms.GetRaw(ctx, s.DB, c.Org(), string(req.SurveyFormDefinitionID))
	if err != nil {
		return rpc.Result[ashby.SurveyFormDefinition]{}, notFound(err, "survey_form_definition", "Survey form definition not found")
	}
	return rpc.Raw[ashby.SurveyFormDefinition](doc), nil
}

type surveyFormListRequest struct {
	rpc.SyncParams
}

// surveyFormList lists every form, archived ones included (with their
// flag), since Ashby's list takes no includeArchived.
func (s *Service) surveyFormList(ctx context.Context, c *rpc.Call, req *surveyFormListRequest) (*rpc.Page, error) {
	spec := listSpec(c, SurveyForms.Name, req.SyncParams)
	spec.Filter.IncludeArchived = true
	p, err := s.DB.List(ctx, spec)
	if err != nil {
		return nil, err
	}
	return page(p), nil
}

type surveyFormCreateRequest struct {
	Title          string               `json:"title" required:"true"`
	SurveyType     string               `json:"surveyType" required:"true" enum:"CandidateDataConsent,CandidateExperience,Diversity,EEOC,Questionnaire"`
	FormDefinition ashby.FormDefinition `json:"formDefinition" required:"true" doc:"Sections of fields (reference §7.9); field ids are assigned when absent."`
}

func (s *Service) surveyFormCreate(ctx context.Context, c *rpc.Call, req *surveyFormCreateRequest) (rpc.Result[ashby.SurveyFormDefinition], error) {
	def := req.FormDefinition
	if len(forms.Fields(def)) == 0 {
		return rpc.Result[ashby.SurveyFormDefinition]{}, ashby.InvalidInput("formDefinition", "A survey needs at least one field")
	}
	for i := range def.Sections {
		for j := range def.Sections[i].Fields {
			f := &def.Sections[i].Fields[j].Field
			if f.ID == "" {
				f.ID = ashby.NewID()
			}
			if f.HumanReadablePath == "" {
				f.HumanReadablePath = f.Title
			}
		}
	}
	if err := forms.CheckDefinition("formDefinition", def); err != nil {
		return rpc.Result[ashby.SurveyFormDefinition]{}, err
	}
	f := &ashby.SurveyFormDefinition{ID: ashby.NewID(), OrganizationID: c.Org(), Title: strings.TrimSpace(req.Title), SurveyType: req.SurveyType, FormDefinition: def}
	if err := s.write(ctx, func(tx *store.Tx) error { return SurveyForms.Put(ctx, tx, c.Org(), f) }); err != nil {
		return rpc.Result[ashby.SurveyFormDefinition]{}, err
	}
	return rpc.Value(f), nil
}

// surveyTarget checks that the application exists, belongs to the
// candidate, and that the form exists and is not archived.
func surveyTarget(ctx context.Context, q store.Q, org, candidateID, applicationID, formID string) (*ashby.SurveyFormDefinition, error) {
	if _, err := mustExist(ctx, q, Candidates, org, candidateID, "candidate", "candidateId"); err != nil {
		return nil, err
	}
	app, err := mustExist(ctx, q, Applications, org, applicationID, "application", "applicationId")
	if err != nil {
		return nil, err
	}
	if app.Candidate.ID != candidateID {
		return nil, ashby.InvalidInput("applicationId", "Application %s is not an application of candidate %s", applicationID, candidateID)
	}
	form, err := mustExist(ctx, q, SurveyForms, org, formID, "survey_form_definition", "surveyFormDefinitionId")
	if err != nil {
		return nil, err
	}
	if form.IsArchived {
		return nil, ashby.InvalidInput("surveyFormDefinitionId", "Survey form %q is archived", form.Title)
	}
	return form, nil
}

type surveyRequestCreateRequest struct {
	CandidateID            ashby.ID `json:"candidateId" required:"true"`
	ApplicationID          ashby.ID `json:"applicationId" required:"true"`
	SurveyFormDefinitionID ashby.ID `json:"surveyFormDefinitionId" required:"true"`
}

func (s *Service) surveyRequestCreate(ctx context.Context, c *rpc.Call, req *surveyRequestCreateRequest) (rpc.Result[ashby.SurveyRequest], error) {
	var row *surveyRequestRow
	err := s.write(ctx, func(tx *store.Tx) error {
		form, err := surveyTarget(ctx, tx, c.Org(), string(req.CandidateID), string(req.ApplicationID), string(req.SurveyFormDefinitionID))
		if err != nil {
			return err
		}
		id := ashby.NewID()
		row = &surveyRequestRow{SurveyRequest: ashby.SurveyRequest{ID: id, CandidateID: string(req.CandidateID), ApplicationID: string(req.ApplicationID),
			SurveyFormDefinitionID: form.ID, SurveyURL: s.BaseURL + "/surveys/" + id}, SurveyType: form.SurveyType, CreatedAt: s.now().Time}
		return SurveyRequests.Put(ctx, tx, c.Org(), row)
	})
	if err != nil {
		return rpc.Result[ashby.SurveyRequest]{}, err
	}
	return rpc.Value(&row.SurveyRequest), nil
}

type surveyRequestListRequest struct {
	rpc.SyncParams
	SurveyType    string   `json:"surveyType" required:"true" enum:"CandidateExperience"`
	ApplicationID ashby.ID `json:"applicationId,omitempty"`
	CandidateID   ashby.ID `json:"candidateId,omitempty"`
	CreatedAfter  int64    `json:"createdAfter,omitempty" doc:"Epoch milliseconds."`
}

func (s *Service) surveyRequestList(ctx context.Context, c *rpc.Call, req *surveyRequestListRequest) (*rpc.Page, error) {
	spec := listSpec(c, SurveyRequests.Name, req.SyncParams)
	spec.CreatedAfter = req.CreatedAfter
	spec.Filter.Parent, spec.Filter.Ref = string(req.ApplicationID), string(req.CandidateID)
	// The survey type is a scope, not a state: a request never changes
	// type, so it filters incremental syncs too.
	spec.Conds = []store.Cond{{SQL: "state = ?", Args: []any{req.SurveyType}}}
	p, err := s.DB.List(ctx, spec)
	if err != nil {
		return nil, err
	}
	return page(p), nil
}

type surveySubmissionCreateRequest struct {
	CandidateID            ashby.ID       `json:"candidateId" required:"true"`
	ApplicationID          ashby.ID       `json:"applicationId" required:"true"`
	SurveyFormDefinitionID ashby.ID       `json:"surveyFormDefinitionId" required:"true"`
	SubmittedValues        map[string]any `json:"submittedValues" required:"true" doc:"Answers keyed by field path."`
}

// answersInWebhook: surveySubmit carries the answers of these types only;
// Diversity and EEOC answers never leave Ashlar in events (reference §8.5).
var answersInWebhook = []string{ashby.SurveyQuestionnaire, ashby.SurveyCandidateDataConsent, ashby.SurveyCandidateExperience}

func (s *Service) surveySubmissionCreate(ctx context.Context, c *rpc.Call, req *surveySubmissionCreateRequest) (rpc.Result[ashby.SurveySubmission], error) {
	subs := make([]ashby.FieldSubmission, 0, len(req.SubmittedValues))
	for path, v := range req.SubmittedValues {
		subs = append(subs, ashby.FieldSubmission{Path: path, Value: v})
	}
	sort.Slice(subs, func(i, j int) bool { return subs[i].Path < subs[j].Path })
	var sub *ashby.SurveySubmission
	err := s.write(ctx, func(tx *store.Tx) error {
		form, err := surveyTarget(ctx, tx, c.Org(), string(req.CandidateID), string(req.ApplicationID), string(req.SurveyFormDefinitionID))
		if err != nil {
			return err
		}
		values, err := forms.Validate(form.FormDefinition, subs, forms.Options{})
		var fe forms.Errors
		if errors.As(err, &fe) {
			e := fe.APIError()
			e.Meta["field"] = "submittedValues"
			return e
		}
		if err != nil {
			return err
		}
		def := form.FormDefinition
		sub = &ashby.SurveySubmission{ID: ashby.NewID(), SurveyFormDefinitionID: &form.ID, SubmittedAt: s.now(), CandidateID: string(req.CandidateID),
			ApplicationID: string(req.ApplicationID), SurveyType: form.SurveyType, FormDefinition: &def, SubmittedValues: values}
		if err := SurveySubmissions.Put(ctx, tx, c.Org(), sub); err != nil {
			return err
		}
		event := *sub
		if !slices.Contains(answersInWebhook, sub.SurveyType) {
			event.FormDefinition, event.SubmittedValues = nil, nil
		}
		return emit(ctx, tx, c.Org(), "surveySubmit", map[string]any{"surveySubmission": event})
	})
	if err != nil {
		return rpc.Result[ashby.SurveySubmission]{}, err
	}
	return rpc.Value(sub), nil
}

type surveySubmissionListRequest struct {
	rpc.SyncParams
	SurveyType   string `json:"surveyType" required:"true" enum:"CandidateExperience,Questionnaire"`
	CreatedAfter int64  `json:"createdAfter,omitempty" doc:"Epoch milliseconds."`
}

func (s *Service) surveySubmissionList(ctx context.Context, c *rpc.Call, req *surveySubmissionListRequest) (*rpc.Page, error) {
	spec := listSpec(c, SurveySubmissions.Name, req.SyncParams)
	spec.CreatedAfter = req.CreatedAfter
	spec.Conds = []store.Cond{{SQL: "state = ?", Args: []any{req.SurveyType}}}
	p, err := s.DB.List(ctx, spec)
	if err != nil {
		return nil, err
	}
	return page(p), nil
}
