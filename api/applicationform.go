package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/files"
	"github.com/ashlarhq/ashlar/forms"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/store"
)

func init() {
	register((*Service).applicationFormEndpoints)
	AddExpansion("application", "applicationFormSubmissions", expandFormSubmissions)
}

// FormSubmission is a kept application form submission: the form as it
// was when submitted, the validated answers, and how it arrived (kept
// for candidate.listClientInfo and for support, never returned whole).
type FormSubmission struct {
	ID              string               `json:"id"`
	ApplicationID   string               `json:"applicationId"`
	CandidateID     string               `json:"candidateId"`
	JobPostingID    string               `json:"jobPostingId"`
	FormDefinition  ashby.FormDefinition `json:"formDefinition"`
	SubmittedValues map[string]any       `json:"submittedValues"`
	UTMData         *ashby.UTMData       `json:"utmData,omitempty"`
	TagIDs          []string             `json:"tagIds,omitempty"`
	ClientIP        string               `json:"clientIp,omitempty"`
	UserAgent       string               `json:"userAgent,omitempty"`
	IdempotencyKey  string               `json:"idempotencyKey,omitempty"`
	// NewApplication is false when the candidate had already applied to
	// the job and this submission was added to that application.
	NewApplication bool       `json:"newApplication"`
	SubmittedAt    ashby.Time `json:"submittedAt"`
}

// FormSubmissions: Parent = application; Ref = candidate; Unique = the
// idempotency key (a retried careers-site POST finds its first result).
var FormSubmissions = store.Kind[FormSubmission]{Name: "application_form_submission", Index: func(f *FormSubmission) store.Index {
	return store.Index{ID: f.ID, CreatedAt: f.SubmittedAt.Time, Parent: f.ApplicationID, Ref: f.CandidateID, Unique: f.IdempotencyKey}
}}

func (f *FormSubmission) instance() ashby.SubmittedFormInstance {
	vals := f.SubmittedValues
	if vals == nil {
		vals = map[string]any{}
	}
	return ashby.SubmittedFormInstance{ID: f.ID, FormDefinition: f.FormDefinition, SubmittedValues: vals}
}

func (f *FormSubmission) result() *ashby.ApplicationFormSubmitResult {
	return &ashby.ApplicationFormSubmitResult{SubmittedFormInstance: f.instance(), FormMessages: ashby.FormMessages{Blocked: false}}
}

func expandFormSubmissions(ctx context.Context, s *Service, org string, docs [][]byte) ([][]byte, error) {
	out := make([][]byte, len(docs))
	for i, id := range field(docs, "id") {
		subs, err := FormSubmissions.Find(ctx, s.DB, org, store.Filter{Parent: id})
		if err != nil {
			return nil, err
		}
		inst := make([]ashby.SubmittedFormInstance, len(subs))
		for j, sub := range subs {
			inst[j] = sub.instance()
		}
		out[i] = mustJSON(inst)
	}
	return out, nil
}

// anonymizeSubmissions erases the answers and client details of an
// anonymized candidate's submissions; the records stay so that
// application.info by submittedFormInstanceId keeps resolving.
func anonymizeSubmissions(ctx context.Context, tx *store.Tx, org, candidateID string) error {
	_, err := FormSubmissions.Rewrite(ctx, tx, org, store.Filter{Ref: candidateID}, func(sub *FormSubmission) error {
		sub.SubmittedValues = map[string]any{}
		sub.ClientIP, sub.UserAgent, sub.UTMData = "", "", nil
		return nil
	})
	return err
}

func (s *Service) applicationFormEndpoints() []*rpc.Endpoint {
	return []*rpc.Endpoint{
		rpc.Object(rpc.Spec{Name: "applicationForm.submit", Permission: ashby.CandidatesWrite, MaxBody: multipartMaxBody,
			Summary: "Apply to a job posting: validates the answers against the posting's form, creates or matches the candidate by email and creates the application. JSON (files as upload handles) or multipart (files as parts named by the File fields' values)."},
			s.applicationFormSubmit).WithMultipart(s.applicationFormSubmitMultipart),
	}
}

type applicationFormInput struct {
	FieldSubmissions []ashby.FieldSubmission `json:"fieldSubmissions" required:"true"`
}

type applicationFormSubmitRequest struct {
	JobPostingID                            ashby.ID              `json:"jobPostingId" required:"true"`
	ApplicationForm                         *applicationFormInput `json:"applicationForm" required:"true"`
	UTMData                                 *ashby.UTMData        `json:"utmData,omitempty"`
	TagIDs                                  []ashby.ID            `json:"tagIds,omitempty"`
	AllowSubmissionForUnpublishedJobPosting *bool                 `json:"allowSubmissionForUnpublishedJobPosting,omitempty" doc:"Default true; false refuses Draft postings with job_posting_not_published."`
}

func (s *Service) applicationFormSubmit(ctx context.Context, c *rpc.Call, req *applicationFormSubmitRequest) (rpc.Result[ashby.ApplicationFormSubmitResult], error) {
	in := Submission{JobPostingID: string(req.JobPostingID), Answers: req.ApplicationForm.FieldSubmissions, UTM: req.UTMData,
		AllowUnpublished: req.AllowSubmissionForUnpublishedJobPosting == nil || *req.AllowSubmissionForUnpublishedJobPosting,
		ClientIP:         c.ClientIP(), FallbackSource: "Applied"}
	if c.HTTP != nil {
		in.UserAgent = c.HTTP.UserAgent()
	}
	for _, id := range req.TagIDs {
		in.TagIDs = append(in.TagIDs, string(id))
	}
	res, err := s.SubmitApplicationForm(ctx, c.Org(), in)
	if err != nil {
		return rpc.Result[ashby.ApplicationFormSubmitResult]{}, err
	}
	return rpc.Value(res), nil
}

// Submission is one application form submission, from the API or the
// careers site.
type Submission struct {
	JobPostingID string
	Answers      []ashby.FieldSubmission
	UTM          *ashby.UTMData
	TagIDs       []string
	// AllowUnpublished accepts Draft postings (Ashby's default).
	AllowUnpublished bool
	// Files are uploaded parts by name (a File answer's value names one);
	// Rejected are parts refused for size, type or malware.
	Files    map[string]*files.Staged
	Rejected map[string]*files.Rejected
	// ClientIP and UserAgent describe the applicant's browser.
	ClientIP, UserAgent string
	// IdempotencyKey makes a retried submission return the first one's
	// result instead of applying twice.
	IdempotencyKey string
	// FallbackSource is the title of the source used when utmData names none.
	FallbackSource string
}

// FailValidationEmail forces a validation failure, as in Ashby, so that
// careers sites can test their error handling.
const FailValidationEmail = "testing-fail-validation@example.com"

// SubmitApplicationForm validates a submission against its posting's
// form and, when it is valid, stores it with its candidate (matched by
// email, or new) and application (at the first stage; a candidate who
// already applied to the job gets the submission added to that
// application). Validation failures are forms.Errors rendered as Ashby's
// invalid_input with errorInfo.meta.fieldErrors.
func (s *Service) SubmitApplicationForm(ctx context.Context, org string, in Submission) (*ashby.ApplicationFormSubmitResult, error) {
	if err := checkSubmissionText(in); err != nil {
		return nil, err
	}
	if in.IdempotencyKey != "" {
		if prev, err := FormSubmissions.FindOne(ctx, s.DB, org, store.Filter{Unique: in.IdempotencyKey}); err == nil {
			return prev.result(), nil
		} else if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	posting, err := JobPostings.Get(ctx, s.DB, org, in.JobPostingID)
	if err != nil {
		return nil, notFound(err, "job_posting", "Job posting not found")
	}
	if posting.Status != ashby.PostingPublished && !in.AllowUnpublished {
		return nil, ashby.Errorf("job_posting_not_published", "Job posting %s is not published", posting.ID)
	}
	for i, id := range in.TagIDs {
		if _, err := mustExist(ctx, s.DB, CandidateTags, org, id, "candidate_tag", fmt.Sprintf("tagIds[%d]", i)); err != nil {
			return nil, err
		}
	}
	// Validate every answer; File answers resolve to uploaded parts or
	// upload handles.
	used := map[string]*files.Staged{}
	var fileIDs []string
	fs, fsErr := s.files()
	values, err := forms.Validate(posting.ApplicationForm, in.Answers, forms.Options{File: func(f ashby.FormField, v any) (any, error) {
		name, ok := v.(string)
		if !ok || strings.TrimSpace(name) == "" {
			return nil, forms.FileError("must name a multipart file part or be a file upload handle")
		}
		if rej := in.Rejected[name]; rej != nil {
			return nil, forms.FileError("%s", rej.Message)
		}
		if fsErr != nil {
			return nil, fsErr
		}
		if st := in.Files[name]; st != nil {
			used[name] = st
			fileIDs = append(fileIDs, st.ID)
			return fs.FileHandle(&files.File{ID: st.ID, OrgID: org, Name: st.Name}), nil
		}
		if in.Files != nil && !strings.Contains(name, ".") {
			return nil, forms.FileError("there is no file part named %q", name)
		}
		file, err := fs.Resolve(ctx, s.DB, org, name, ashby.UploadApplicationForm)
		if err != nil {
			if ae, ok := ashby.AsError(err); ok {
				return nil, forms.FileError("%s", ae.Message)
			}
			return nil, err
		}
		fileIDs = append(fileIDs, file.ID)
		return fs.FileHandle(file), nil
	}})
	var ferrs forms.Errors
	if err != nil && !errors.As(err, &ferrs) {
		return nil, err
	}
	if email, _ := answer(in.Answers, SystemEmail).(string); strings.EqualFold(strings.TrimSpace(email), FailValidationEmail) {
		ferrs = append(ferrs, forms.FieldError{Path: SystemEmail, Title: "Email", Message: "failed validation on purpose (" + FailValidationEmail + ")"})
	}
	if len(ferrs) > 0 {
		return nil, ferrs.APIError()
	}
	email, _ := values[SystemEmail].(string)
	name, _ := values[SystemName].(string)
	if email == "" || name == "" {
		// A form without these cannot be stored (checkApplicationForm
		// refuses such forms; this guards forms stored before).
		return nil, ashby.InvalidInput(SystemEmail, "The submission needs %s and %s", SystemName, SystemEmail)
	}
	// Keep the files first: a failure below leaves them unclaimed, and
	// the sweeper removes them.
	names := make([]string, 0, len(used))
	for n := range used {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if _, err := fs.Save(ctx, org, ashby.UploadApplicationForm, used[n]); err != nil {
			return nil, err
		}
	}
	sourceID, err := submissionSource(ctx, s.DB, org, in.UTM, in.FallbackSource)
	if err != nil {
		return nil, err
	}
	sub := &FormSubmission{ID: ashby.NewID(), JobPostingID: posting.ID, FormDefinition: posting.ApplicationForm, SubmittedValues: values,
		UTMData: in.UTM, TagIDs: in.TagIDs, ClientIP: in.ClientIP, UserAgent: truncateUA(in.UserAgent), IdempotencyKey: in.IdempotencyKey, SubmittedAt: s.now()}
	err = s.write(ctx, func(tx *store.Tx) error {
		cand, err := s.applicant(ctx, tx, org, values, sourceID, in.TagIDs)
		if err != nil {
			return err
		}
		if len(fileIDs) > 0 {
			if err := fs.Claim(ctx, tx, org, cand.ID, fileIDs...); err != nil {
				return err
			}
		}
		existing, err := applicationFor(ctx, tx, org, cand, posting.JobID)
		if err != nil {
			return err
		}
		if existing != nil {
			sub.ApplicationID = existing.ID
		} else {
			app, err := s.CreateApplication(ctx, tx, org, NewApplication{CandidateID: cand.ID, JobID: posting.JobID, SourceID: sourceID,
				PostingID: posting.ID, ClientIP: in.ClientIP, UserAgent: sub.UserAgent})
			if err != nil {
				return err
			}
			sub.ApplicationID, sub.NewApplication = app.ID, true
			if err := s.confirmApplication(ctx, tx, org, posting, cand, app); err != nil {
				return err
			}
		}
		sub.CandidateID = cand.ID
		return FormSubmissions.Put(ctx, tx, org, sub)
	})
	if errors.Is(err, store.ErrDuplicate) && in.IdempotencyKey != "" {
		// The same key committed first in another transaction.
		prev, perr := FormSubmissions.FindOne(ctx, s.DB, org, store.Filter{Unique: in.IdempotencyKey})
		if perr == nil {
			return prev.result(), nil
		}
	}
	if err != nil {
		return nil, err
	}
	return sub.result(), nil
}

func truncateUA(ua string) string {
	if len(ua) > 512 {
		ua = ua[:512]
	}
	return strings.ToValidUTF8(ua, "")
}

// checkSubmissionText applies the request limits (docs/limits.md) to what
// a submission carries besides its answers, which forms.Validate checks:
// the multipart API and the careers site build submissions without
// rpc's decoding.
func checkSubmissionText(in Submission) error {
	check := func(field, v string) error {
		switch {
		case strings.IndexByte(v, 0) >= 0:
			return ashby.InvalidInput(field, "%s contains a NUL character (\\u0000), which is not allowed in any text", field)
		case !utf8.ValidString(v):
			return ashby.InvalidInput(field, "%s is not valid UTF-8", field)
		case utf8.RuneCountInString(v) > rpc.MaxString:
			return ashby.InvalidInput(field, "%s is %d characters long; the limit is %d", field, utf8.RuneCountInString(v), rpc.MaxString)
		}
		return nil
	}
	if err := check("idempotencyKey", in.IdempotencyKey); err != nil {
		return err
	}
	if u := in.UTM; u != nil {
		for k, v := range map[string]string{"utm_source": u.Source, "utm_campaign": u.Campaign, "utm_medium": u.Medium, "utm_term": u.Term, "utm_content": u.Content} {
			if err := check("utmData."+k, v); err != nil {
				return err
			}
		}
	}
	return nil
}

func answer(subs []ashby.FieldSubmission, path string) any {
	for _, s := range subs {
		if s.Path == path {
			return s.Value
		}
	}
	return nil
}

// applicant finds the candidate with the submitted email, or creates one,
// and records the system fields' answers: a new candidate gets them all;
// an existing one gets those it lacks, plus the new resume and files.
func (s *Service) applicant(ctx context.Context, tx *store.Tx, org string, values map[string]any, sourceID string, tagIDs []string) (*ashby.Candidate, error) {
	email := values[SystemEmail].(string)
	name := values[SystemName].(string)
	if tx.DB().Engine() == store.Postgres {
		// Two submissions with the same new email, committing at once,
		// would each find no candidate and create one. A lock on the
		// address, held until commit, makes the second wait and find the
		// first's candidate. (SQLite has one writer, so it cannot happen.)
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 7283))`, org+":"+lc(email)); err != nil {
			return nil, fmt.Errorf("lock applicant email: %w", err)
		}
	}
	matches, err := Candidates.ByKey(ctx, tx, org, "email", lc(email), 1)
	if err != nil {
		return nil, err
	}
	var id string
	if len(matches) > 0 {
		id = matches[0].ID
	} else {
		cand, err := s.CreateCandidate(ctx, tx, org, NewCandidate{Name: name, Email: email, SourceID: sourceID})
		if err != nil {
			return nil, err
		}
		id = cand.ID
	}
	return s.updateCandidate(ctx, tx, org, id, func(tx *store.Tx, cand *ashby.Candidate) error {
		if phone, _ := values[SystemPhone].(string); phone != "" && cand.PrimaryPhoneNumber == nil {
			cand.PhoneNumbers = append(cand.PhoneNumbers, ashby.ContactInfo{Value: phone, Type: "Personal", IsPrimary: true})
			cand.PrimaryPhoneNumber = &cand.PhoneNumbers[len(cand.PhoneNumbers)-1]
		}
		if loc, ok := values[SystemLocation].(map[string]any); ok && cand.Location == nil {
			str := func(k string) string { v, _ := loc[k].(string); return v }
			cand.Location = candidateLocation(&candidateLocationInput{City: str("city"), Region: str("region"), Country: str("country")})
		}
		for path, typ := range map[string]string{SystemLinkedIn: "LinkedIn", SystemGitHub: "GitHub", SystemWebsite: "Website"} {
			if u, _ := values[path].(string); u != "" && !hasSocial(cand, typ) {
				if err := setSocialLink(cand, typ, u, path); err != nil {
					return err
				}
			}
		}
		if cand.Source == nil && sourceID != "" {
			if err := s.setCandidateSource(ctx, tx, org, cand, sourceID, ""); err != nil {
				return err
			}
		}
		for path, v := range values {
			if h, ok := v.(ashby.FileHandle); ok {
				addCandidateFile(cand, h, path == SystemResume)
			}
		}
		for _, tagID := range tagIDs {
			tag, err := mustShare(ctx, tx, CandidateTags, org, tagID, "candidate_tag", "tagIds")
			if err != nil {
				return err
			}
			if err := applyTag(cand, tag, true); err != nil {
				return err
			}
		}
		return nil
	})
}

func hasSocial(c *ashby.Candidate, typ string) bool {
	for _, l := range c.SocialLinks {
		if l.Type == typ {
			return true
		}
	}
	return false
}

// Multipart submissions.

var (
	bracketAnswer = regexp.MustCompile(`^applicationForm\[([^\[\]]+)\]$`)
	bracketSub    = regexp.MustCompile(`^applicationForm\[fieldSubmissions\]\[(\d+)\]\[(path|value)\]$`)
	bracketUTM    = regexp.MustCompile(`^utmData\[([a-z_]+)\]$`)
)

// applicationFormSubmitMultipart reads Ashby's multipart form: text parts
// jobPostingId, applicationForm (JSON), utmData (JSON), tagIds (JSON
// array, repeated parts or comma-separated) and
// allowSubmissionForUnpublishedJobPosting, plus one part per file named by
// its File field's value. Bracket keys (applicationForm[PATH],
// applicationForm[fieldSubmissions][i][path|value], utmData[utm_source])
// are accepted too, as some clients send them.
func (s *Service) applicationFormSubmitMultipart(ctx context.Context, c *rpc.Call, r *http.Request) (any, error) {
	fs, _ := s.files()
	m, err := readMultipart(ctx, fs, r)
	if err != nil {
		return nil, err
	}
	defer m.cleanup()
	postingID := strings.ToLower(strings.TrimSpace(m.value("jobPostingId")))
	if postingID == "" {
		return nil, ashby.InvalidInput("jobPostingId", "Missing required field: jobPostingId")
	}
	if !ashby.IsUUID(postingID) {
		return nil, ashby.InvalidInput("jobPostingId", "Invalid value for jobPostingId: expected a UUID string")
	}
	in := Submission{JobPostingID: postingID, Files: m.staged, Rejected: m.rejected, ClientIP: c.ClientIP(), UserAgent: r.UserAgent(),
		AllowUnpublished: true, FallbackSource: "Applied"}
	if raw := m.value("applicationForm"); raw != "" {
		form, err := rpc.Decode[applicationFormInput]([]byte(raw))
		if err != nil {
			return nil, prefixField(err, "applicationForm")
		}
		in.Answers = form.FieldSubmissions
	} else if in.Answers, err = s.bracketAnswers(ctx, c.Org(), postingID, m); err != nil {
		return nil, err
	}
	if raw := m.value("utmData"); raw != "" {
		utm, err := rpc.Decode[ashby.UTMData]([]byte(raw))
		if err != nil {
			return nil, prefixField(err, "utmData")
		}
		in.UTM = utm
	} else {
		utm := map[string]string{}
		for k, v := range m.values {
			if g := bracketUTM.FindStringSubmatch(k); g != nil && len(v) > 0 {
				utm[g[1]] = v[0]
			}
		}
		if len(utm) > 0 {
			b, _ := json.Marshal(utm)
			in.UTM = &ashby.UTMData{}
			json.Unmarshal(b, in.UTM)
		}
	}
	for _, key := range []string{"tagIds", "tagIds[]"} {
		for _, v := range m.values[key] {
			v = strings.TrimSpace(v)
			var ids []string
			if strings.HasPrefix(v, "[") {
				if err := json.Unmarshal([]byte(v), &ids); err != nil {
					return nil, ashby.InvalidInput("tagIds", "tagIds must be a JSON array of UUIDs")
				}
			} else {
				ids = strings.Split(v, ",")
			}
			for _, id := range ids {
				if id = strings.ToLower(strings.TrimSpace(id)); id == "" {
					continue
				} else if !ashby.IsUUID(id) {
					return nil, ashby.InvalidInput("tagIds", "Invalid tag id %q: expected a UUID string", id)
				}
				in.TagIDs = append(in.TagIDs, id)
			}
		}
	}
	if v := strings.TrimSpace(m.value("allowSubmissionForUnpublishedJobPosting")); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, ashby.InvalidInput("allowSubmissionForUnpublishedJobPosting", "allowSubmissionForUnpublishedJobPosting must be true or false")
		}
		in.AllowUnpublished = b
	}
	return s.SubmitApplicationForm(ctx, c.Org(), in)
}

func prefixField(err error, prefix string) error {
	if ae, ok := ashby.AsError(err); ok {
		if f, _ := ae.Meta["field"].(string); f != "" {
			ae.Meta["field"] = prefix + "." + f
		} else {
			if ae.Meta == nil {
				ae.Meta = map[string]any{}
			}
			ae.Meta["field"] = prefix
		}
		ae.Message = prefix + ": " + ae.Message
	}
	return err
}

// bracketAnswers turns bracket-keyed text parts into answers, typed by
// the posting's form as an HTML form's values are (forms.FromText).
func (s *Service) bracketAnswers(ctx context.Context, org, postingID string, m *multipartForm) ([]ashby.FieldSubmission, error) {
	posting, err := JobPostings.Get(ctx, s.DB, org, postingID)
	if err != nil {
		return nil, notFound(err, "job_posting", "Job posting not found")
	}
	byPath := map[string]ashby.FormField{}
	for _, e := range forms.Fields(posting.ApplicationForm) {
		byPath[e.Field.Path] = e.Field
	}
	typed := func(path string, vals []string) any {
		f, ok := byPath[path]
		if !ok || f.Type == ashby.FieldFile {
			if len(vals) > 0 {
				return vals[0]
			}
			return nil
		}
		return forms.FromText(f, vals)
	}
	var out []ashby.FieldSubmission
	indexed := map[int]map[string]string{}
	for k, vals := range m.values {
		if g := bracketSub.FindStringSubmatch(k); g != nil {
			i, _ := strconv.Atoi(g[1])
			if indexed[i] == nil {
				indexed[i] = map[string]string{}
			}
			indexed[i][g[2]] = vals[0]
		} else if g := bracketAnswer.FindStringSubmatch(k); g != nil {
			out = append(out, ashby.FieldSubmission{Path: g[1], Value: typed(g[1], vals)})
		}
	}
	for k := range m.staged {
		if g := bracketAnswer.FindStringSubmatch(k); g != nil {
			out = append(out, ashby.FieldSubmission{Path: g[1], Value: k})
		}
	}
	for k := range m.rejected {
		if g := bracketAnswer.FindStringSubmatch(k); g != nil {
			out = append(out, ashby.FieldSubmission{Path: g[1], Value: k})
		}
	}
	idx := make([]int, 0, len(indexed))
	for i := range indexed {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	for _, i := range idx {
		p := indexed[i]["path"]
		if p == "" {
			return nil, ashby.InvalidInput(fmt.Sprintf("applicationForm.fieldSubmissions[%d].path", i), "Missing required field: path")
		}
		out = append(out, ashby.FieldSubmission{Path: p, Value: typed(p, []string{indexed[i]["value"]})})
	}
	if len(out) == 0 {
		return nil, ashby.InvalidInput("applicationForm", "Missing required field: applicationForm (a JSON part with fieldSubmissions)")
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Path < out[b].Path })
	return out, nil
}
