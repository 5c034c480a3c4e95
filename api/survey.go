package api

import (
	"context"
	"database/sql"
	"embed"
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

//go:embed survey_migrations/*.sql
var surveyMigrations embed.FS

func init() {
	store.RegisterMigrations(surveyMigrations, "survey_migrations")
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
	return s.listPage(ctx, spec)
}

type surveyFormCreateRequest struct {
	Title          string               `json:"title" required:"true"`
	SurveyType     string               `json:"surveyType" required:"true" enum:"CandidateDataConsent,CandidateExperience,Diversity,EEOC,Questionnaire"`
	FormDefinition ashby.FormDefinition `json:"formDefinition" required:"true" doc:"Sections of fields, as in Ashby's form definitions; field ids are assigned when absent."`
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
	if err := forms.CheckDefinition("formDefinition", &def); err != nil {
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
	// Ashlar extensions: Ashby's endpoint sends nothing; its web app emails
	// the link when a person sends a survey.
	SendEmail               bool     `json:"sendEmail,omitempty" doc:"Ashlar extension: also email the candidate the survey's link (as Ashby's web app does when a person sends a survey)."`
	CommunicationTemplateID ashby.ID `json:"communicationTemplateId,omitempty" doc:"Ashlar extension, with sendEmail: the email's template; it may use {{survey.link}} (default: Ashlar's own text)."`
}

func (s *Service) surveyRequestCreate(ctx context.Context, c *rpc.Call, req *surveyRequestCreateRequest) (rpc.Result[ashby.SurveyRequest], error) {
	if req.CommunicationTemplateID != "" && !req.SendEmail {
		return rpc.Result[ashby.SurveyRequest]{}, ashby.InvalidInput("communicationTemplateId", "communicationTemplateId is for the email sendEmail asks for")
	}
	var row *surveyRequestRow
	err := s.write(ctx, func(tx *store.Tx) error {
		form, err := surveyTarget(ctx, tx, c.Org(), string(req.CandidateID), string(req.ApplicationID), string(req.SurveyFormDefinitionID))
		if err != nil {
			return err
		}
		id := ashby.NewID()
		// The URL's only secret is the request id: a random (version 4)
		// UUID, 122 bits from crypto/rand, as unguessable as a separate
		// token would be (docs/surveys.md).
		row = &surveyRequestRow{SurveyRequest: ashby.SurveyRequest{ID: id, CandidateID: string(req.CandidateID), ApplicationID: string(req.ApplicationID),
			SurveyFormDefinitionID: form.ID, SurveyURL: s.BaseURL + "/surveys/" + id}, SurveyType: form.SurveyType, CreatedAt: s.now().Time}
		if _, err := tx.ExecContext(ctx, `INSERT INTO survey_request_links (request_id, org_id) VALUES ($1, $2)`, id, c.Org()); err != nil {
			return fmt.Errorf("survey request link: %w", err)
		}
		if err := SurveyRequests.Put(ctx, tx, c.Org(), row); err != nil {
			return err
		}
		if req.SendEmail {
			return s.surveyEmail(ctx, tx, c, req, row.SurveyURL)
		}
		return nil
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
	return s.listPage(ctx, spec)
}

type surveySubmissionCreateRequest struct {
	CandidateID            ashby.ID       `json:"candidateId" required:"true"`
	ApplicationID          ashby.ID       `json:"applicationId" required:"true"`
	SurveyFormDefinitionID ashby.ID       `json:"surveyFormDefinitionId" required:"true"`
	SubmittedValues        map[string]any `json:"submittedValues" required:"true" doc:"Answers keyed by field path."`
}

// answersInWebhook: surveySubmit carries the answers of these types only;
// Diversity and EEOC answers never leave Ashlar in events (Ashby's webhook payloads, https://developers.ashbyhq.com/reference/applicationsubmitwebhook).
var answersInWebhook = []string{ashby.SurveyQuestionnaire, ashby.SurveyCandidateDataConsent, ashby.SurveyCandidateExperience}

func (s *Service) surveySubmissionCreate(ctx context.Context, c *rpc.Call, req *surveySubmissionCreateRequest) (rpc.Result[ashby.SurveySubmission], error) {
	subs := make([]ashby.FieldSubmission, 0, len(req.SubmittedValues))
	for path, v := range req.SubmittedValues {
		subs = append(subs, ashby.FieldSubmission{Path: path, Value: v})
	}
	sort.Slice(subs, func(i, j int) bool { return subs[i].Path < subs[j].Path })
	var sub *ashby.SurveySubmission
	err := s.write(ctx, func(tx *store.Tx) error {
		var err error
		sub, err = s.submitSurvey(ctx, tx, c.Org(), SurveyAnswers{CandidateID: string(req.CandidateID), ApplicationID: string(req.ApplicationID),
			FormID: string(req.SurveyFormDefinitionID), Answers: subs})
		return err
	})
	if err != nil {
		return rpc.Result[ashby.SurveySubmission]{}, err
	}
	return rpc.Value(sub), nil
}

// SurveyAnswers are a candidate's answers to one survey form, for one of
// their applications.
type SurveyAnswers struct {
	CandidateID, ApplicationID, FormID string
	Answers                            []ashby.FieldSubmission
}

// submitSurvey is surveySubmission.create, shared with the survey page:
// it checks the candidate, application and form, validates every answer
// (forms.Validate; problems are invalid_input with
// errorInfo.meta.fieldErrors), stores the submission and emits
// surveySubmit in tx.
func (s *Service) submitSurvey(ctx context.Context, tx *store.Tx, org string, in SurveyAnswers) (*ashby.SurveySubmission, error) {
	form, err := surveyTarget(ctx, tx, org, in.CandidateID, in.ApplicationID, in.FormID)
	if err != nil {
		return nil, err
	}
	values, err := forms.Validate(form.FormDefinition, in.Answers, forms.Options{})
	var fe forms.Errors
	if errors.As(err, &fe) {
		e := fe.APIError()
		e.Meta["field"] = "submittedValues"
		return nil, e
	}
	if err != nil {
		return nil, fmt.Errorf("validate survey answers: %w", err)
	}
	def := form.FormDefinition
	sub := &ashby.SurveySubmission{ID: ashby.NewID(), SurveyFormDefinitionID: &form.ID, SubmittedAt: s.now(), CandidateID: in.CandidateID,
		ApplicationID: in.ApplicationID, SurveyType: form.SurveyType, FormDefinition: &def, SubmittedValues: values}
	if err := SurveySubmissions.Put(ctx, tx, org, sub); err != nil {
		return nil, err
	}
	event := *sub
	if !slices.Contains(answersInWebhook, sub.SurveyType) {
		event.FormDefinition, event.SubmittedValues = nil, nil
	}
	if err := emit(ctx, tx, org, "surveySubmit", map[string]any{"surveySubmission": event}); err != nil {
		return nil, err
	}
	return sub, nil
}

// SurveyLink is a survey request found through its URL.
type SurveyLink struct {
	OrgID   string
	Request ashby.SurveyRequest
	// SubmissionID is the submission made through the link, once it has
	// been answered.
	SubmissionID string
}

// SurveyRequestByLink finds the survey request of a /surveys/{id} URL,
// which names no organization. Unknown ids are store.ErrNotFound.
func SurveyRequestByLink(ctx context.Context, q store.Q, requestID string) (*SurveyLink, error) {
	var l SurveyLink
	var sub sql.NullString
	err := q.QueryRowContext(ctx, `SELECT org_id, submission_id FROM survey_request_links WHERE request_id = $1`, requestID).Scan(&l.OrgID, &sub)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("look up survey request %s: %w", requestID, err)
	}
	row, err := SurveyRequests.Get(ctx, q, l.OrgID, requestID)
	if err != nil {
		return nil, fmt.Errorf("survey request %s: %w", requestID, err)
	}
	l.Request, l.SubmissionID = row.SurveyRequest, sub.String
	return &l, nil
}

// ErrSurveyAnswered is AnswerSurveyRequest's answer for a request that
// was answered through its link before.
var ErrSurveyAnswered = errors.New("the survey request has already been answered")

// AnswerSurveyRequest submits the candidate's answers through a survey
// request's link, exactly as surveySubmission.create would with the
// request's candidate, application and form. A request takes one
// submission: a second (a resubmitted form, a double click, the link
// opened again) is ErrSurveyAnswered and stores nothing.
func (s *Service) AnswerSurveyRequest(ctx context.Context, org, requestID string, answers []ashby.FieldSubmission) (*ashby.SurveySubmission, error) {
	var sub *ashby.SurveySubmission
	err := s.write(ctx, func(tx *store.Tx) error {
		req, err := SurveyRequests.Get(ctx, tx, org, requestID)
		if err != nil {
			return notFound(err, "survey_request", "Survey request not found")
		}
		sub, err = s.submitSurvey(ctx, tx, org, SurveyAnswers{CandidateID: req.CandidateID, ApplicationID: req.ApplicationID,
			FormID: req.SurveyFormDefinitionID, Answers: answers})
		if err != nil {
			return err
		}
		// Claimed only if still open: of two concurrent answers, the
		// second waits for the first's row lock (PostgreSQL) or its write
		// (SQLite), then matches nothing and rolls back its submission.
		res, err := tx.ExecContext(ctx, `UPDATE survey_request_links SET submission_id = $1, answered_at = $2
			WHERE request_id = $3 AND org_id = $4 AND submission_id IS NULL`, sub.ID, sub.SubmittedAt.UnixMilli(), requestID, org)
		if err != nil {
			return fmt.Errorf("mark survey request %s answered: %w", requestID, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("mark survey request %s answered: %w", requestID, err)
		} else if n == 0 {
			return ErrSurveyAnswered
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return sub, nil
}

// OpenSurveyRequest is one of the organization's survey requests not yet
// answered through its link, the same one each time (the demo prints its
// URL), or store.ErrNotFound.
func OpenSurveyRequest(ctx context.Context, q store.Q, org string) (*ashby.SurveyRequest, error) {
	var id string
	err := q.QueryRowContext(ctx, `SELECT request_id FROM survey_request_links WHERE org_id = $1 AND submission_id IS NULL ORDER BY request_id LIMIT 1`, org).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("find an open survey request: %w", err)
	}
	row, err := SurveyRequests.Get(ctx, q, org, id)
	if err != nil {
		return nil, fmt.Errorf("survey request %s: %w", id, err)
	}
	return &row.SurveyRequest, nil
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
	return s.listPage(ctx, spec)
}
