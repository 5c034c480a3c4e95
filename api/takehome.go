package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/files"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/sanitize"
	"github.com/ashlarhq/ashlar/store"
)

// Take-home assignments (in beta at Ashby, https://developers.ashbyhq.com/reference/takehomeassignmentlist; choices in
// docs/interviews.md).
//
// An assignment is made for an application with takeHomeAssignment.create
// (an extension: Ashby assigns take-homes in its web app) and waits on
// the candidate's submission, which they make on a page of this server
// reached through a secret URL (careers/takehome.go) or which an
// integration makes with takeHomeAssignment.submit. It then waits on its
// reviewers' feedback (applicationFeedback.submit with
// takeHomeAssignmentId) and is Complete when all of it is in, or when
// takeHomeAssignment.complete says so. Every change is written with its
// webhook event in one transaction.

func init() {
	register((*Service).takeHomeEndpoints)
	AddExpansion("takeHomeAssignment", "interview", expandByID(Interviews, "interviewId"))
	OnUserChange(refreshTakeHomeUsers)
}

// TakeHomes: Parent = application; Ref = candidate; State = status;
// Keys "user": the reviewers, for rewriting them when they change.
var TakeHomes = store.Kind[ashby.TakeHomeAssignment]{Name: "take_home_assignment", HasKeys: true, Index: func(th *ashby.TakeHomeAssignment) store.Index {
	idx := store.Index{ID: th.ID, CreatedAt: th.CreatedAt.Time, Parent: th.ApplicationID, Ref: th.CandidateID, State: th.Status}
	for _, r := range th.Reviewers {
		idx.Keys = append(idx.Keys, store.Key{Name: "user", Value: r.ID})
	}
	return idx
}}

// takeHomeMeta is an assignment's internal data: the SHA-256 of the
// secret in its submission URL. The URL itself is never stored, so
// neither a database reader nor an API key with interviewsRead can
// submit as the candidate.
type takeHomeMeta struct {
	TokenHash string `json:"tokenHash"`
}

// Limits on what a submission and an assignment may hold.
const (
	MaxTakeHomeText      = 50000 // characters
	MaxTakeHomeLinks     = 10
	MaxTakeHomeFiles     = 5
	maxTakeHomeLink      = 2000 // bytes of one link
	maxTakeHomeReviewers = 20
	maxInstructions      = 20000 // bytes of instructionsHtml as sent
)

func (s *Service) takeHomeEndpoints() []*rpc.Endpoint {
	exp := ExpansionNames("takeHomeAssignment")
	return []*rpc.Endpoint{
		rpc.List[ashby.TakeHomeAssignment](rpc.Spec{Name: "takeHomeAssignment.list", Permission: ashby.InterviewsRead, Expand: exp,
			Summary: "List take-home assignments, optionally of one application or candidate; supports incremental sync."}, s.takeHomeList),
		rpc.Object(rpc.Spec{Name: "takeHomeAssignment.info", Permission: ashby.InterviewsRead, Expand: exp,
			Summary: "Fetch a take-home assignment with its reviewers and the candidate's submission."}, s.takeHomeInfo),
		rpc.Object(rpc.Spec{Name: "takeHomeAssignment.create", Permission: ashby.InterviewsWrite, Extension: true,
			Summary: "Assign a take-home interview to an application; returns the candidate's submission URL (only here and from regenerateSubmissionUrl)."}, s.takeHomeCreate),
		rpc.Object(rpc.Spec{Name: "takeHomeAssignment.submit", Permission: ashby.InterviewsWrite, Extension: true,
			Summary: "Record the candidate's submission (text, links, CandidateFiles upload handles) for an assignment waiting on it."}, s.takeHomeSubmitAPI),
		rpc.Object(rpc.Spec{Name: "takeHomeAssignment.complete", Permission: ashby.InterviewsWrite, Extension: true,
			Summary: "Mark an assignment waiting on feedback complete without waiting for every reviewer."}, s.takeHomeComplete),
		rpc.Object(rpc.Spec{Name: "takeHomeAssignment.cancel", Permission: ashby.InterviewsWrite, Extension: true,
			Summary: "Cancel an assignment that is not complete; its submission URL stops accepting submissions."}, s.takeHomeCancel),
		rpc.Object(rpc.Spec{Name: "takeHomeAssignment.regenerateSubmissionUrl", Permission: ashby.InterviewsWrite, Extension: true,
			Summary: "Issue a new submission URL for an assignment waiting on submission; the previous URL stops working."}, s.takeHomeRegenerateURL),
	}
}

func takeHomeNotFound() error {
	return ashby.NotFound("take_home_assignment", "Take-home assignment not found")
}

// statusError is the error for a transition the assignment's status
// does not allow; meta.status says what it is.
func statusError(code string, th *ashby.TakeHomeAssignment, format string, args ...any) error {
	e := ashby.Errorf(code, format, args...)
	e.Meta = map[string]any{"takeHomeAssignmentId": th.ID, "status": th.Status}
	return e
}

// emitTakeHome records one of the four take-home webhook events with the
// assignment as it now is.
func emitTakeHome(ctx context.Context, tx *store.Tx, org, action string, th *ashby.TakeHomeAssignment) error {
	return emit(ctx, tx, org, action, map[string]any{"takeHomeAssignment": th})
}

// Submission URLs.
//
// A token is base64url(organization id ‖ assignment id) "." base64url(24
// random bytes). The first part says where to look (the page has no
// other way to know the organization); the second is the secret, kept
// only as its SHA-256, and compared in constant time.

const takeHomeSecretBytes = 24

func uuidBytes(id string) ([]byte, bool) {
	if !ashby.IsUUID(id) {
		return nil, false
	}
	b, err := hex.DecodeString(strings.ReplaceAll(id, "-", ""))
	return b, err == nil
}

func uuidString(b []byte) string {
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func secretHash(secret []byte) string {
	sum := sha256.Sum256(secret)
	return hex.EncodeToString(sum[:])
}

// newTakeHomeToken returns a fresh token for an assignment and the hash
// to store for it.
func newTakeHomeToken(org, id string) (token, hash string, err error) {
	ob, ok1 := uuidBytes(org)
	ib, ok2 := uuidBytes(id)
	if !ok1 || !ok2 {
		return "", "", fmt.Errorf("take-home token for %q/%q: not UUIDs", org, id)
	}
	secret := make([]byte, takeHomeSecretBytes)
	if _, err := rand.Read(secret); err != nil {
		return "", "", fmt.Errorf("take-home token: %w", err)
	}
	enc := base64.RawURLEncoding
	return enc.EncodeToString(append(ob, ib...)) + "." + enc.EncodeToString(secret), secretHash(secret), nil
}

// parseTakeHomeToken splits a token into the organization, the
// assignment and the hash of its secret; ok is false for anything that
// is not a well-formed token.
func parseTakeHomeToken(token string) (org, id, hash string, ok bool) {
	where, secret, found := strings.Cut(token, ".")
	if !found {
		return "", "", "", false
	}
	enc := base64.RawURLEncoding
	ids, err1 := enc.DecodeString(where)
	sec, err2 := enc.DecodeString(secret)
	if err1 != nil || err2 != nil || len(ids) != 32 || len(sec) != takeHomeSecretBytes {
		return "", "", "", false
	}
	return uuidString(ids[:16]), uuidString(ids[16:]), secretHash(sec), true
}

func (s *Service) submissionURL(token string) string { return s.BaseURL + "/take-home/" + token }

// issueToken gives an assignment a new submission URL, replacing any
// previous one, and returns the URL.
func (s *Service) issueToken(ctx context.Context, tx *store.Tx, org, id string) (string, error) {
	token, hash, err := newTakeHomeToken(org, id)
	if err != nil {
		return "", err
	}
	if err := tx.SetMeta(ctx, org, TakeHomes.Name, id, takeHomeMeta{TokenHash: hash}); err != nil {
		return "", fmt.Errorf("store take-home token: %w", err)
	}
	return s.submissionURL(token), nil
}

// tokenMatches checks a token's secret hash against the assignment's.
func tokenMatches(ctx context.Context, q store.Q, org, id, hash string) (bool, error) {
	var m takeHomeMeta
	ok, err := store.GetMeta(ctx, q, org, TakeHomes.Name, id, &m)
	if err != nil || !ok || m.TokenHash == "" {
		return false, err
	}
	return subtle.ConstantTimeCompare([]byte(m.TokenHash), []byte(hash)) == 1, nil
}

// Reading.

type takeHomeListRequest struct {
	rpc.SyncParams
	rpc.ExpandParam
	ApplicationID ashby.ID `json:"applicationId,omitempty" doc:"Only this application's assignments."`
	CandidateID   ashby.ID `json:"candidateId,omitempty" doc:"Only this candidate's assignments."`
}

func (s *Service) takeHomeList(ctx context.Context, c *rpc.Call, req *takeHomeListRequest) (*rpc.Page, error) {
	spec := listSpec(c, TakeHomes.Name, req.SyncParams)
	spec.Filter.Parent = string(req.ApplicationID)
	spec.Filter.Ref = string(req.CandidateID)
	p, err := s.DB.List(ctx, spec)
	if err != nil {
		return nil, err
	}
	if err := s.expand(ctx, c.Org(), p.Docs, req.Expand, "takeHomeAssignment"); err != nil {
		return nil, err
	}
	return page(p), nil
}

type takeHomeIDRequest struct {
	TakeHomeAssignmentID ashby.ID `json:"takeHomeAssignmentId" required:"true"`
}

type takeHomeInfoRequest struct {
	takeHomeIDRequest
	rpc.ExpandParam
}

func (s *Service) takeHomeInfo(ctx context.Context, c *rpc.Call, req *takeHomeInfoRequest) (rpc.Result[ashby.TakeHomeAssignment], error) {
	doc, err := TakeHomes.GetRaw(ctx, s.DB, c.Org(), string(req.TakeHomeAssignmentID))
	if err != nil {
		return rpc.Result[ashby.TakeHomeAssignment]{}, notFound(err, "take_home_assignment", "Take-home assignment not found")
	}
	docs := [][]byte{doc}
	if err := s.expand(ctx, c.Org(), docs, req.Expand, "takeHomeAssignment"); err != nil {
		return rpc.Result[ashby.TakeHomeAssignment]{}, err
	}
	return rpc.Raw[ashby.TakeHomeAssignment](docs[0]), nil
}

// Assigning.

type takeHomeCreateRequest struct {
	ApplicationID    ashby.ID    `json:"applicationId" required:"true"`
	InterviewID      ashby.ID    `json:"interviewId" required:"true" doc:"The take-home interview (shared, or the application's job's own); reviewers use its feedback form."`
	ReviewerUserIDs  []ashby.ID  `json:"reviewerUserIds" required:"true" doc:"1–20 enabled users who review the submission; each submits feedback once."`
	DueAt            *ashby.Time `json:"dueAt,omitempty" doc:"When the candidate is asked to submit by (in the future). Later submissions are still accepted."`
	InstructionsHTML string      `json:"instructionsHtml,omitempty" doc:"What the candidate is asked to do, shown on the submission page (HTML; b, i, u, a, lists, code, pre and paragraphs are kept)." maxLength:"long"`
}

func (s *Service) takeHomeCreate(ctx context.Context, c *rpc.Call, req *takeHomeCreateRequest) (rpc.Result[ashby.TakeHomeAssignment], error) {
	fail := func(err error) (rpc.Result[ashby.TakeHomeAssignment], error) {
		return rpc.Result[ashby.TakeHomeAssignment]{}, err
	}
	if n := len(req.ReviewerUserIDs); n == 0 || n > maxTakeHomeReviewers {
		return fail(ashby.InvalidInput("reviewerUserIds", "A take-home assignment needs 1 to %d reviewers", maxTakeHomeReviewers))
	}
	if req.DueAt != nil && !req.DueAt.After(s.DB.Now()) {
		return fail(ashby.InvalidInput("dueAt", "dueAt must be in the future"))
	}
	if len(req.InstructionsHTML) > maxInstructions {
		return fail(ashby.InvalidInput("instructionsHtml", "instructionsHtml is longer than %d bytes", maxInstructions))
	}
	org := c.Org()
	var th *ashby.TakeHomeAssignment
	var link string
	err := s.write(ctx, func(tx *store.Tx) error {
		// Locking the application serialises assignments to it, so that
		// one interview cannot be assigned twice at once.
		app, err := Applications.GetForUpdate(ctx, tx, org, string(req.ApplicationID))
		if errors.Is(err, store.ErrNotFound) {
			return ashby.Errorf("application_not_found", "application %s does not exist (field applicationId)", req.ApplicationID)
		}
		if err != nil {
			return err
		}
		if app.Status == ashby.ApplicationArchived {
			return ashby.Errorf("application_archived", "Application %s is archived; take-home assignments cannot be made for it", app.ID)
		}
		iv, err := usableInterview(ctx, tx, org, string(req.InterviewID), app.Job.ID, "interviewId")
		if err != nil {
			return err
		}
		open, err := TakeHomes.Find(ctx, tx, org, store.Filter{Parent: app.ID, State: []string{ashby.TakeHomeWaitingOnSubmission, ashby.TakeHomeWaitingOnFeedback}})
		if err != nil {
			return err
		}
		for _, o := range open {
			if o.InterviewID == iv.ID {
				e := ashby.Errorf(ashby.CodeTakeHomeAlreadyAssigned, "Interview %s is already assigned to application %s (take-home assignment %s, %s); cancel that one first", iv.ID, app.ID, o.ID, o.Status)
				e.Meta = map[string]any{"field": "interviewId", "existingTakeHomeAssignmentId": o.ID}
				return e
			}
		}
		now := s.now()
		th = &ashby.TakeHomeAssignment{ID: ashby.NewID(), ApplicationID: app.ID, CandidateID: app.Candidate.ID, CreatedAt: now, UpdatedAt: now,
			FeedbackFormDefinitionID: iv.FeedbackFormDefinitionID, InterviewID: iv.ID, InterviewStageID: app.CurrentInterviewStage.ID,
			Reviewers: make([]ashby.TakeHomeReviewer, 0, len(req.ReviewerUserIDs)), Status: ashby.TakeHomeWaitingOnSubmission, DueAt: req.DueAt,
			SubmissionURLIssuedAt: now}
		th.InstructionsHTML = strings.TrimSpace(sanitize.NoteHTML(req.InstructionsHTML))
		th.InstructionsPlain = sanitize.PlainText(th.InstructionsHTML)
		for i, id := range req.ReviewerUserIDs {
			field := fmt.Sprintf("reviewerUserIds[%d]", i)
			u, err := mustShare(ctx, tx, Users, org, string(id), "user", field)
			if err != nil {
				return err
			}
			if !u.IsEnabled {
				return ashby.InvalidInput(field, "User %s is deactivated and cannot review", u.ID)
			}
			if slices.ContainsFunc(th.Reviewers, func(r ashby.TakeHomeReviewer) bool { return r.ID == u.ID }) {
				return ashby.InvalidInput(field, "User %s is listed twice as a reviewer", u.ID)
			}
			th.Reviewers = append(th.Reviewers, ashby.TakeHomeReviewer{User: *u})
		}
		if err := TakeHomes.Put(ctx, tx, org, th); err != nil {
			return err
		}
		if link, err = s.issueToken(ctx, tx, org, th.ID); err != nil {
			return err
		}
		return emitTakeHome(ctx, tx, org, "takeHomeAssignmentAssigned", th)
	})
	if err != nil {
		return fail(err)
	}
	out := *th
	out.SubmissionURL = link
	return rpc.Value(&out), nil
}

func (s *Service) takeHomeRegenerateURL(ctx context.Context, c *rpc.Call, req *takeHomeIDRequest) (rpc.Result[ashby.TakeHomeAssignment], error) {
	var th *ashby.TakeHomeAssignment
	var link string
	err := s.write(ctx, func(tx *store.Tx) error {
		var err error
		if th, err = TakeHomes.GetForUpdate(ctx, tx, c.Org(), string(req.TakeHomeAssignmentID)); err != nil {
			return notFound(err, "take_home_assignment", "Take-home assignment not found")
		}
		if th.Status != ashby.TakeHomeWaitingOnSubmission {
			return statusError(ashby.CodeTakeHomeNotWaitingOnSubmission, th, "Take-home assignment %s is %s; only an assignment waiting on submission has a submission URL", th.ID, th.Status)
		}
		if link, err = s.issueToken(ctx, tx, c.Org(), th.ID); err != nil {
			return err
		}
		th.SubmissionURLIssuedAt = s.now()
		th.UpdatedAt = th.SubmissionURLIssuedAt
		return TakeHomes.Put(ctx, tx, c.Org(), th)
	})
	if err != nil {
		return rpc.Result[ashby.TakeHomeAssignment]{}, err
	}
	th.SubmissionURL = link
	return rpc.Value(th), nil
}

// Submitting.

// TakeHomeSubmissionInput is a candidate's submission: from the page
// (staged files) or from takeHomeAssignment.submit (upload handles).
type TakeHomeSubmissionInput struct {
	Text  string
	Links []string
	// Files are staged uploads; the caller removes them afterwards.
	Files []*files.Staged
	// Handles are file upload handles (CandidateFiles).
	Handles []string
}

// checkSubmission normalises a submission and checks its limits.
func checkSubmission(in *TakeHomeSubmissionInput, filesField string) error {
	in.Text = strings.TrimSpace(strings.ReplaceAll(in.Text, "\r\n", "\n"))
	if !utf8.ValidString(in.Text) {
		return ashby.InvalidInput("text", "The text is not valid UTF-8")
	}
	if strings.IndexByte(in.Text, 0) >= 0 {
		return ashby.InvalidInput("text", "The text contains a NUL character, which is not allowed")
	}
	if n := utf8.RuneCountInString(in.Text); n > MaxTakeHomeText {
		return ashby.InvalidInput("text", "The text is %d characters long; at most %d are accepted", n, MaxTakeHomeText)
	}
	var links []string
	for i, l := range in.Links {
		l = strings.TrimSpace(l)
		if l == "" || slices.Contains(links, l) {
			continue
		}
		field := fmt.Sprintf("links[%d]", i)
		u, err := url.Parse(l)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(l) > maxTakeHomeLink || strings.IndexByte(l, 0) >= 0 || !utf8.ValidString(l) {
			return ashby.InvalidInput(field, "%q is not an http or https link (at most %d characters)", l, maxTakeHomeLink)
		}
		links = append(links, l)
	}
	if len(links) > MaxTakeHomeLinks {
		return ashby.InvalidInput("links", "At most %d links can be submitted", MaxTakeHomeLinks)
	}
	in.Links = links
	if n := len(in.Files) + len(in.Handles); n > MaxTakeHomeFiles {
		return ashby.InvalidInput(filesField, "At most %d files can be submitted; %d were given", MaxTakeHomeFiles, n)
	}
	if in.Text == "" && len(in.Links) == 0 && len(in.Files)+len(in.Handles) == 0 {
		return ashby.InvalidInput("text", "A submission needs text, a link or a file")
	}
	return nil
}

type takeHomeSubmitRequest struct {
	TakeHomeAssignmentID ashby.ID `json:"takeHomeAssignmentId" required:"true"`
	Text                 string   `json:"text,omitempty" doc:"The candidate's answer, plain text (at most 50,000 characters)." maxLength:"50000"`
	Links                []string `json:"links,omitempty" doc:"Up to 10 http(s) links (a repository, a document)." maxLength:"url"`
	FileHandles          []string `json:"fileHandles,omitempty" doc:"Up to 5 handles from file.createFileUploadHandle with fileUploadContext CandidateFiles."`
}

func (s *Service) takeHomeSubmitAPI(ctx context.Context, c *rpc.Call, req *takeHomeSubmitRequest) (rpc.Result[ashby.TakeHomeAssignment], error) {
	in := TakeHomeSubmissionInput{Text: req.Text, Links: req.Links, Handles: req.FileHandles}
	th, err := s.submitTakeHome(ctx, c.Org(), string(req.TakeHomeAssignmentID), "", in)
	if err != nil {
		return rpc.Result[ashby.TakeHomeAssignment]{}, err
	}
	return rpc.Value(th), nil
}

// TakeHomePage is what the candidate's submission page shows.
type TakeHomePage struct {
	OrgID, OrgName string
	Assignment     *ashby.TakeHomeAssignment
	// Title is the interview's title for candidates (its external title,
	// else its title); JobTitle the job applied for.
	Title, JobTitle string
}

// TakeHomeByToken returns the page of a submission URL's token, or
// store.ErrNotFound for a token that names no assignment or whose secret
// is not the assignment's current one.
func (s *Service) TakeHomeByToken(ctx context.Context, token string) (*TakeHomePage, error) {
	org, id, hash, ok := parseTakeHomeToken(token)
	if !ok {
		return nil, store.ErrNotFound
	}
	th, err := TakeHomes.Get(ctx, s.DB, org, id)
	if err != nil {
		return nil, err
	}
	if ok, err := tokenMatches(ctx, s.DB, org, id, hash); err != nil || !ok {
		if err == nil {
			err = store.ErrNotFound
		}
		return nil, err
	}
	o, err := s.DB.OrgByID(ctx, org)
	if err != nil {
		return nil, fmt.Errorf("take-home organization: %w", err)
	}
	p := &TakeHomePage{OrgID: org, OrgName: o.Name, Assignment: th}
	if iv, err := Interviews.Get(ctx, s.DB, org, th.InterviewID); err == nil {
		p.Title = iv.ExternalTitle
		if p.Title == "" {
			p.Title = iv.Title
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if app, err := Applications.Get(ctx, s.DB, org, th.ApplicationID); err == nil {
		p.JobTitle = app.Job.Title
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	return p, nil
}

// SubmitTakeHome records a submission made on the page of a submission
// URL's token. It returns store.ErrNotFound for a token TakeHomeByToken
// would not accept, and ashby errors for a submission that cannot be
// taken (invalid input, an assignment no longer waiting on submission).
func (s *Service) SubmitTakeHome(ctx context.Context, token string, in TakeHomeSubmissionInput) (*ashby.TakeHomeAssignment, error) {
	org, id, hash, ok := parseTakeHomeToken(token)
	if !ok {
		return nil, store.ErrNotFound
	}
	return s.submitTakeHome(ctx, org, id, hash, in)
}

// submitTakeHome records a submission for an assignment waiting on it.
// With tokenHash, the submission came through the URL and the token
// must still be the assignment's (it is checked again under the
// assignment's lock, in case the URL was regenerated meanwhile).
func (s *Service) submitTakeHome(ctx context.Context, org, id, tokenHash string, in TakeHomeSubmissionInput) (*ashby.TakeHomeAssignment, error) {
	filesField := "fileHandles"
	if len(in.Files) > 0 {
		filesField = "files"
	}
	if err := checkSubmission(&in, filesField); err != nil {
		return nil, err
	}
	// Check before keeping any file that the submission can be taken.
	th, err := TakeHomes.Get(ctx, s.DB, org, id)
	if err != nil {
		return nil, s.takeHomeLookupError(err, tokenHash)
	}
	if tokenHash != "" {
		if ok, err := tokenMatches(ctx, s.DB, org, id, tokenHash); err != nil || !ok {
			return nil, s.takeHomeLookupError(err, tokenHash)
		}
	}
	if th.Status != ashby.TakeHomeWaitingOnSubmission {
		return nil, statusError(ashby.CodeTakeHomeNotWaitingOnSubmission, th, "Take-home assignment %s is %s and takes no more submissions", th.ID, th.Status)
	}
	var fs *files.Store
	if len(in.Files)+len(in.Handles) > 0 {
		if fs, err = s.files(); err != nil {
			return nil, err
		}
	}
	// Staged files are kept before the transaction; if it fails they stay
	// unclaimed and the files sweeper removes them.
	var subFiles []ashby.TakeHomeFile
	var ids []string
	for _, st := range in.Files {
		h, err := fs.Save(ctx, org, ashby.UploadTakeHomeSubmission, st)
		if err != nil {
			return nil, err
		}
		subFiles = append(subFiles, ashby.TakeHomeFile{FileHandle: h, ContentType: st.ContentType, Size: st.Size})
		ids = append(ids, st.ID)
	}
	err = s.write(ctx, func(tx *store.Tx) error {
		var err error
		if th, err = TakeHomes.GetForUpdate(ctx, tx, org, id); err != nil {
			return s.takeHomeLookupError(err, tokenHash)
		}
		if tokenHash != "" {
			if ok, err := tokenMatches(ctx, tx, org, id, tokenHash); err != nil || !ok {
				return s.takeHomeLookupError(err, tokenHash)
			}
		}
		if th.Status != ashby.TakeHomeWaitingOnSubmission {
			return statusError(ashby.CodeTakeHomeNotWaitingOnSubmission, th, "Take-home assignment %s is %s and takes no more submissions", th.ID, th.Status)
		}
		sub := &ashby.TakeHomeSubmission{SubmittedAt: s.now(), Links: in.Links, Files: slices.Clone(subFiles)}
		if sub.Links == nil {
			sub.Links = []string{}
		}
		if in.Text != "" {
			sub.Text = &in.Text
		}
		claim := slices.Clone(ids)
		for i, handle := range in.Handles {
			f, err := fs.Resolve(ctx, tx, org, handle, ashby.UploadCandidateFiles)
			if err != nil {
				if ae, ok := ashby.AsError(err); ok {
					ae.Meta = map[string]any{"field": fmt.Sprintf("fileHandles[%d]", i)}
				}
				return err
			}
			if slices.Contains(claim, f.ID) {
				return ashby.InvalidInput(fmt.Sprintf("fileHandles[%d]", i), "The file is given twice")
			}
			claim = append(claim, f.ID)
			sub.Files = append(sub.Files, ashby.TakeHomeFile{FileHandle: fs.FileHandle(f), ContentType: f.ContentType, Size: f.Size})
		}
		if sub.Files == nil {
			sub.Files = []ashby.TakeHomeFile{}
		}
		if len(claim) > 0 {
			// The files become the candidate's: anonymizing them deletes them.
			if err := fs.Claim(ctx, tx, org, th.CandidateID, claim...); err != nil {
				return err
			}
		}
		th.Submission, th.Status, th.UpdatedAt = sub, ashby.TakeHomeWaitingOnFeedback, sub.SubmittedAt
		if err := TakeHomes.Put(ctx, tx, org, th); err != nil {
			return err
		}
		return emitTakeHome(ctx, tx, org, "takeHomeAssignmentSubmitted", th)
	})
	if err != nil {
		return nil, err
	}
	return th, nil
}

// takeHomeLookupError is the error for an assignment that could not be
// loaded: the page's callers get store.ErrNotFound (they answer 404),
// API callers take_home_assignment_not_found.
func (s *Service) takeHomeLookupError(err error, tokenHash string) error {
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if tokenHash != "" {
		return store.ErrNotFound
	}
	return takeHomeNotFound()
}

// Reviewing.

// takeHomeForFeedback checks that user may submit feedback with form on
// an assignment of app, and returns the assignment locked for update.
func takeHomeForFeedback(ctx context.Context, tx *store.Tx, org string, app *ashby.Application, form *ashby.FeedbackFormDefinition, user *ashby.User, id string) (*ashby.TakeHomeAssignment, error) {
	th, err := TakeHomes.GetForUpdate(ctx, tx, org, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ashby.Errorf(ashby.CodeTakeHomeNotFound, "take-home assignment %s does not exist (field takeHomeAssignmentId)", id)
	}
	if err != nil {
		return nil, err
	}
	if th.ApplicationID != app.ID {
		return nil, ashby.InvalidInput("takeHomeAssignmentId", "Take-home assignment %s is not an assignment of application %s", th.ID, app.ID)
	}
	if th.Status != ashby.TakeHomeWaitingOnFeedback {
		return nil, statusError(ashby.CodeTakeHomeNotWaitingOnFeedback, th, "Take-home assignment %s is %s; feedback is taken while it waits on feedback", th.ID, th.Status)
	}
	at := slices.IndexFunc(th.Reviewers, func(r ashby.TakeHomeReviewer) bool { return r.ID == user.ID })
	if at < 0 {
		return nil, ashby.InvalidInput("userId", "User %s is not a reviewer of take-home assignment %s", user.ID, th.ID)
	}
	if th.FeedbackFormDefinitionID != form.ID {
		return nil, ashby.InvalidInput("formDefinitionId", "Take-home assignment %s collects feedback with form %s", th.ID, th.FeedbackFormDefinitionID)
	}
	if th.Reviewers[at].HasSubmittedFeedback {
		return nil, ashby.Errorf("feedback_already_submitted", "User %s has already submitted feedback for take-home assignment %s", user.ID, th.ID)
	}
	return th, nil
}

// takeHomeFeedbackRecorded marks a reviewer's feedback on an assignment
// (stored in the same transaction) and completes the assignment when it
// was the last one owed.
func (s *Service) takeHomeFeedbackRecorded(ctx context.Context, tx *store.Tx, org string, th *ashby.TakeHomeAssignment, userID string) error {
	complete := true
	for i := range th.Reviewers {
		if th.Reviewers[i].ID == userID {
			th.Reviewers[i].HasSubmittedFeedback = true
		}
		complete = complete && th.Reviewers[i].HasSubmittedFeedback
	}
	th.UpdatedAt = s.now()
	if !complete {
		return TakeHomes.Put(ctx, tx, org, th)
	}
	th.Status = ashby.TakeHomeComplete
	if err := TakeHomes.Put(ctx, tx, org, th); err != nil {
		return err
	}
	return emitTakeHome(ctx, tx, org, "takeHomeAssignmentCompleted", th)
}

// Completing and cancelling.

func (s *Service) takeHomeComplete(ctx context.Context, c *rpc.Call, req *takeHomeIDRequest) (rpc.Result[ashby.TakeHomeAssignment], error) {
	return s.changeTakeHome(ctx, c.Org(), string(req.TakeHomeAssignmentID), func(th *ashby.TakeHomeAssignment) (string, error) {
		switch th.Status {
		case ashby.TakeHomeComplete:
			return "", nil // already complete: nothing to do
		case ashby.TakeHomeWaitingOnFeedback:
			th.Status = ashby.TakeHomeComplete
			return "takeHomeAssignmentCompleted", nil
		}
		return "", statusError(ashby.CodeTakeHomeNotWaitingOnFeedback, th, "Take-home assignment %s is %s; only an assignment waiting on feedback can be completed", th.ID, th.Status)
	})
}

func (s *Service) takeHomeCancel(ctx context.Context, c *rpc.Call, req *takeHomeIDRequest) (rpc.Result[ashby.TakeHomeAssignment], error) {
	return s.changeTakeHome(ctx, c.Org(), string(req.TakeHomeAssignmentID), func(th *ashby.TakeHomeAssignment) (string, error) {
		switch th.Status {
		case ashby.TakeHomeCancelled:
			return "", nil // already cancelled: nothing to do
		case ashby.TakeHomeComplete:
			return "", statusError(ashby.CodeTakeHomeAlreadyComplete, th, "Take-home assignment %s is complete and cannot be cancelled", th.ID)
		}
		th.Status = ashby.TakeHomeCancelled
		return "takeHomeAssignmentCancelled", nil
	})
}

// changeTakeHome applies fn to an assignment under its lock; fn returns
// the event to emit, or "" when it changed nothing.
func (s *Service) changeTakeHome(ctx context.Context, org, id string, fn func(th *ashby.TakeHomeAssignment) (string, error)) (rpc.Result[ashby.TakeHomeAssignment], error) {
	var th *ashby.TakeHomeAssignment
	err := s.write(ctx, func(tx *store.Tx) error {
		var err error
		if th, err = TakeHomes.GetForUpdate(ctx, tx, org, id); err != nil {
			return notFound(err, "take_home_assignment", "Take-home assignment not found")
		}
		event, err := fn(th)
		if err != nil || event == "" {
			return err
		}
		th.UpdatedAt = s.now()
		if err := TakeHomes.Put(ctx, tx, org, th); err != nil {
			return err
		}
		return emitTakeHome(ctx, tx, org, event, th)
	})
	if err != nil {
		return rpc.Result[ashby.TakeHomeAssignment]{}, err
	}
	return rpc.Value(th), nil
}

// Hooks.

// takeHomesOnStageEntry cancels, when an application is archived, its
// assignments still waiting on the candidate: a rejected candidate's
// link stops taking submissions. Assignments already submitted stay, so
// that reviewers can finish their feedback.
func takeHomesOnStageEntry(ctx context.Context, tx *store.Tx, org string, app *ashby.Application, stage *ashby.InterviewStage) error {
	if stage.Type != ashby.StageArchived {
		return nil
	}
	waiting, err := TakeHomes.Find(ctx, tx, org, store.Filter{Parent: app.ID, State: []string{ashby.TakeHomeWaitingOnSubmission}})
	if err != nil {
		return err
	}
	now := ashby.NewTime(tx.DB().Now())
	for _, found := range waiting {
		// Locked and read again: a submission committing meanwhile must not
		// be overwritten by the copy Find returned.
		th, err := TakeHomes.GetForUpdate(ctx, tx, org, found.ID)
		if err != nil {
			return err
		}
		if th.Status != ashby.TakeHomeWaitingOnSubmission {
			continue
		}
		th.Status, th.UpdatedAt = ashby.TakeHomeCancelled, now
		if err := TakeHomes.Put(ctx, tx, org, th); err != nil {
			return err
		}
		if err := emitTakeHome(ctx, tx, org, "takeHomeAssignmentCancelled", th); err != nil {
			return err
		}
	}
	return nil
}

// deleteApplicationTakeHomes deletes a deleted application's assignments
// and the files submitted for them. (Their feedback goes with the
// application's other feedback.)
func (s *Service) deleteApplicationTakeHomes(ctx context.Context, tx *store.Tx, org, applicationID string) error {
	ths, err := TakeHomes.Find(ctx, tx, org, store.Filter{Parent: applicationID, IncludeArchived: true})
	if err != nil {
		return err
	}
	var fileIDs []string
	for _, th := range ths {
		if th.Submission != nil {
			for _, f := range th.Submission.Files {
				fileIDs = append(fileIDs, f.ID)
			}
		}
		if err := TakeHomes.Delete(ctx, tx, org, th.ID); err != nil {
			return err
		}
	}
	if len(fileIDs) == 0 {
		return nil
	}
	if s.Files == nil {
		return nil
	}
	return s.Files.DeleteFiles(ctx, tx, org, fileIDs...)
}

// anonymizeTakeHomes erases what an anonymized candidate wrote and sent:
// a submission keeps only its time. (The files themselves are deleted
// with the candidate's other files.)
func anonymizeTakeHomes(ctx context.Context, tx *store.Tx, org, candidateID string) error {
	ths, err := TakeHomes.Find(ctx, tx, org, store.Filter{Ref: candidateID, IncludeArchived: true})
	if err != nil {
		return err
	}
	for _, found := range ths {
		// Locked and read again, so that a submission committed meanwhile
		// is erased too rather than kept by writing an older copy back.
		th, err := TakeHomes.GetForUpdate(ctx, tx, org, found.ID)
		if err != nil {
			return err
		}
		if th.Submission == nil || th.Submission.Text == nil && len(th.Submission.Links) == 0 && len(th.Submission.Files) == 0 {
			continue
		}
		th.Submission.Text, th.Submission.Links, th.Submission.Files = nil, []string{}, []ashby.TakeHomeFile{}
		th.UpdatedAt = ashby.NewTime(tx.DB().Now())
		if err := TakeHomes.Put(ctx, tx, org, th); err != nil {
			return err
		}
	}
	return nil
}

// refreshTakeHomeUsers rewrites the assignments whose reviewers include
// a changed user.
func refreshTakeHomeUsers(ctx context.Context, s *Service, tx *store.Tx, org string, u *ashby.User) error {
	ths, err := TakeHomes.ByKey(ctx, tx, org, "user", u.ID, 0)
	if err != nil {
		return err
	}
	want := string(mustJSON(*u))
	for _, found := range ths {
		// Locked and read again: writing back the copy ByKey returned would
		// undo a status change or submission committed meanwhile.
		th, err := TakeHomes.GetForUpdate(ctx, tx, org, found.ID)
		if err != nil {
			return err
		}
		changed := false
		for i := range th.Reviewers {
			if r := &th.Reviewers[i]; r.ID == u.ID && string(mustJSON(r.User)) != want {
				r.User, changed = *u, true
			}
		}
		if changed {
			if err := TakeHomes.Put(ctx, tx, org, th); err != nil {
				return err
			}
		}
	}
	return nil
}
