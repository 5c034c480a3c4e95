package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/compensation"
	"github.com/ashlarhq/ashlar/forms"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/sanitize"
	"github.com/ashlarhq/ashlar/store"
)

func init() {
	register((*Service).jobPostingEndpoints)
	AddExpansion("jobPosting", "job", expandByID(Jobs, "jobId"))
}

// JobPostings: Parent = job; Ref = board; State = status (Draft or
// Published); T1 = 1 when listed.
var JobPostings = store.Kind[ashby.JobPosting]{Name: "job_posting", Index: func(p *ashby.JobPosting) store.Index {
	listed := int64(0)
	if p.IsListed {
		listed = 1
	}
	return store.Index{ID: p.ID, CreatedAt: p.CreatedAt.Time, Parent: p.JobID, Ref: p.JobBoardID, State: p.Status, Search: lc(p.Title), T1: listed}
}}

func (s *Service) jobPostingEndpoints() []*rpc.Endpoint {
	return []*rpc.Endpoint{
		rpc.List[ashby.JobPostingListItem](rpc.Spec{Name: "jobPosting.list", Permission: ashby.JobsRead, Summary: "List a board's job postings (published ones unless includeUnpublishedJobPostings; unlisted ones unless listedOnly)."}, s.jobPostingList),
		rpc.Object(rpc.Spec{Name: "jobPosting.info", Permission: ashby.JobsRead, Expand: ExpansionNames("jobPosting"), Summary: "A job posting with its description, compensation, application form and JSON-LD."}, s.jobPostingInfo),
		rpc.Object(rpc.Spec{Name: "jobPosting.update", Permission: ashby.JobsWrite, Summary: "Update a posting's title, workplace type, description body or opening/closing suppression."}, s.jobPostingUpdate),
		rpc.Object(rpc.Spec{Name: "jobPosting.setStatus", Permission: ashby.JobsWrite, Summary: "Publish (Published) or unpublish (Draft) a posting. Publishing needs a title, a description and an open job."}, s.jobPostingSetStatus),
		rpc.Object(rpc.Spec{Name: "jobPosting.updateCompensation", Permission: ashby.JobsWrite, Summary: "Give a posting its own compensation tiers, or null to inherit its job's."}, s.jobPostingUpdateCompensation),
		rpc.Object(rpc.Spec{Name: "jobPosting.create", Permission: ashby.JobsWrite, Extension: true, Summary: "Create a posting for a job, as a draft unless status is Published (Ashby does this in its web app)."}, s.jobPostingCreate),
		rpc.Object(rpc.Spec{Name: "jobPosting.updateSettings", Permission: ashby.JobsWrite, Extension: true, Summary: "Set a posting's board, listed flag, locations, employment type, application form, survey forms, deadline or compensation display (Ashby does this in its web app)."}, s.jobPostingUpdateSettings),
		rpc.Object(rpc.Spec{Name: "jobPosting.delete", Permission: ashby.JobsWrite, Extension: true, Summary: "Delete a posting (Ashby does this in its web app); emits jobPostingDelete."}, s.jobPostingDelete),
	}
}

// System fields of application forms (https://developers.ashbyhq.com/docs/creating-a-custom-careers-page).
const (
	SystemName     = "_systemfield_name"
	SystemEmail    = "_systemfield_email"
	SystemPhone    = "_systemfield_phone"
	SystemLocation = "_systemfield_location"
	SystemResume   = "_systemfield_resume"
	SystemLinkedIn = "_systemfield_linkedin"
	SystemGitHub   = "_systemfield_github"
	SystemWebsite  = "_systemfield_website"
	SystemCover    = "_systemfield_cover_letter"
)

// systemFieldTypes fixes the type of each system field, since the
// submission handler maps their answers onto the candidate.
var systemFieldTypes = map[string][]string{
	SystemName: {ashby.FieldString}, SystemEmail: {ashby.FieldEmail}, SystemPhone: {ashby.FieldPhone},
	SystemLocation: {ashby.FieldLocation}, SystemResume: {ashby.FieldFile},
	SystemLinkedIn: {ashby.FieldSocialLink, ashby.FieldURL}, SystemGitHub: {ashby.FieldSocialLink, ashby.FieldURL},
	SystemWebsite: {ashby.FieldURL, ashby.FieldSocialLink}, SystemCover: {ashby.FieldLongText, ashby.FieldFile},
}

// DefaultApplicationForm is the form a new posting starts with: Ashby's
// system fields.
func DefaultApplicationForm() ashby.FormDefinition {
	return ashby.FormDefinition{Sections: []ashby.FormSection{{Fields: []ashby.FormEntry{
		forms.Field(ashby.FieldString, SystemName, "Name", true),
		forms.Field(ashby.FieldEmail, SystemEmail, "Email", true),
		forms.Field(ashby.FieldPhone, SystemPhone, "Phone", false),
		forms.Field(ashby.FieldLocation, SystemLocation, "Location", false),
		forms.Field(ashby.FieldFile, SystemResume, "Resume", true),
		forms.Field(ashby.FieldSocialLink, SystemLinkedIn, "LinkedIn profile", false),
	}}}}
}

// checkApplicationForm validates a form definition a client supplies and
// fills in what Ashby fills in (field ids, human-readable paths).
func checkApplicationForm(field string, def ashby.FormDefinition) (ashby.FormDefinition, error) {
	if len(def.Sections) == 0 {
		return def, ashby.InvalidInput(field+".sections", "An application form needs at least one section")
	}
	if err := forms.CheckDefinition(field, &def); err != nil {
		return def, err
	}
	have := map[string]bool{}
	for i := range def.Sections {
		sec := &def.Sections[i]
		for j := range sec.Fields {
			e := &sec.Fields[j]
			f := &e.Field
			if types, ok := systemFieldTypes[f.Path]; ok && !slices.Contains(types, f.Type) {
				return def, ashby.InvalidInput(fmt.Sprintf("%s.sections[%d].fields[%d].field.type", field, i, j), "System field %s must have type %s", f.Path, strings.Join(types, " or "))
			}
			have[f.Path] = true
			if f.ID == "" {
				f.ID = ashby.NewID()
			} else if !ashby.IsUUID(f.ID) {
				return def, ashby.InvalidInput(fmt.Sprintf("%s.sections[%d].fields[%d].field.id", field, i, j), "Field ids are UUIDs")
			}
			if f.HumanReadablePath == "" {
				f.HumanReadablePath = f.Title
			}
		}
	}
	for _, p := range []string{SystemName, SystemEmail} {
		if !have[p] {
			return def, ashby.InvalidInput(field, "An application form must ask for %s: it identifies the candidate", p)
		}
	}
	return def, nil
}

func sanitizeDescription(html string) string {
	return strings.TrimSpace(sanitize.DescriptionHTML(html))
}

// Posting reads.

type jobPostingListRequest struct {
	rpc.ListParams
	Location                      string   `json:"location,omitempty" doc:"Only postings whose primary or a secondary location has this name (exact)."`
	Department                    string   `json:"department,omitempty" doc:"Only postings in this department or team (exact name)."`
	ListedOnly                    bool     `json:"listedOnly,omitempty" doc:"Leave out unlisted postings: set it when showing postings publicly."`
	JobBoardID                    ashby.ID `json:"jobBoardId,omitempty" doc:"Default: the primary external board."`
	IncludeUnpublishedJobPostings bool     `json:"includeUnpublishedJobPostings,omitempty"`
}

// postingCursor pages postings in creation order.
type postingCursor struct {
	Created int64  `json:"c"`
	ID      string `json:"i"`
}

func (s *Service) jobPostingList(ctx context.Context, c *rpc.Call, req *jobPostingListRequest) (*rpc.Page, error) {
	boardID := string(req.JobBoardID)
	if boardID == "" {
		b, err := PrimaryBoard(ctx, s.DB, c.Org())
		if err != nil {
			return nil, err
		}
		boardID = b.ID
	} else if ok, err := JobBoards.Exists(ctx, s.DB, c.Org(), boardID); err != nil {
		return nil, err
	} else if !ok {
		return nil, ashby.NotFound("job_board", "Job board not found")
	}
	var after *postingCursor
	if req.Cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(req.Cursor)
		after = &postingCursor{}
		if err != nil || json.Unmarshal(b, after) != nil || !ashby.IsUUID(after.ID) {
			return nil, ashby.Errorf(ashby.CodeInvalidNextCursor, "The cursor is not valid for this request; restart pagination from the first page without a cursor.")
		}
	}
	f := store.Filter{Ref: boardID, State: []string{ashby.PostingPublished}}
	if req.IncludeUnpublishedJobPostings {
		f.State = nil
	}
	refs, err := s.postingRefs(ctx, s.DB, c.Org(), nil)
	if err != nil {
		return nil, err
	}
	// Postings are read in keyset batches from the cursor on, so a page
	// costs what it scans, not the whole board; the filters that need a
	// posting's job or locations apply as each batch arrives.
	limit := req.PageLimit()
	f.Limit = limit + 1
	if after != nil {
		f.After = &store.Position{CreatedAt: after.Created, ID: after.ID}
	}
	out := []ashby.JobPostingListItem{}
	page := &rpc.Page{}
	var lastOut *ashby.JobPosting
scan:
	for {
		ps, err := JobPostings.Find(ctx, s.DB, c.Org(), f)
		if err != nil {
			return nil, err
		}
		if err := refs.addJobs(ctx, s.DB, c.Org(), ps); err != nil {
			return nil, err
		}
		for _, p := range ps {
			f.After = &store.Position{CreatedAt: p.CreatedAt.UnixMilli(), ID: p.ID}
			if req.ListedOnly && !p.IsListed {
				continue
			}
			if req.Location != "" && !refs.hasLocation(p, req.Location) {
				continue
			}
			if req.Department != "" && !slices.Contains(refs.teams(p), req.Department) {
				continue
			}
			if len(out) == limit {
				page.MoreDataAvailable = true
				b, _ := json.Marshal(postingCursor{Created: lastOut.CreatedAt.UnixMilli(), ID: lastOut.ID})
				page.NextCursor = base64.RawURLEncoding.EncodeToString(b)
				break scan
			}
			out = append(out, refs.listItem(p))
			lastOut = p
		}
		if len(ps) < f.Limit {
			break
		}
	}
	page.Items = out
	return page, nil
}

func (r *postingRefs) hasLocation(p *ashby.JobPosting, name string) bool {
	for _, id := range append([]string{p.PrimaryLocationID}, p.SecondaryLocationIDs...) {
		if l := r.locs[id]; l != nil && (l.Name == name || l.ExternalName == name) {
			return true
		}
	}
	return false
}

type jobPostingInfoRequest struct {
	JobPostingID                  ashby.ID `json:"jobPostingId" required:"true"`
	JobBoardID                    ashby.ID `json:"jobBoardId,omitempty"`
	IncludeUnpublishedJobPostings bool     `json:"includeUnpublishedJobPostings,omitempty" doc:"Needed to read a Draft posting."`
	rpc.ExpandParam
}

// loadPosting finds a posting for a read or write: a Draft posting is
// invisible unless includeUnpublished, as in Ashby.
func loadPosting(ctx context.Context, q store.Q, org, id string, includeUnpublished, forUpdate bool) (*ashby.JobPosting, error) {
	var p *ashby.JobPosting
	var err error
	if tx, ok := q.(*store.Tx); ok && forUpdate {
		p, err = JobPostings.GetForUpdate(ctx, tx, org, id)
	} else {
		p, err = JobPostings.Get(ctx, q, org, id)
	}
	if err != nil {
		return nil, notFound(err, "job_posting", "Job posting not found")
	}
	if p.Status != ashby.PostingPublished && !includeUnpublished {
		return nil, ashby.NotFound("job_posting", "Job posting not found; it is unpublished: pass includeUnpublishedJobPostings to see it")
	}
	return p, nil
}

func (s *Service) jobPostingInfo(ctx context.Context, c *rpc.Call, req *jobPostingInfoRequest) (rpc.Result[ashby.JobPostingInfo], error) {
	p, err := loadPosting(ctx, s.DB, c.Org(), string(req.JobPostingID), req.IncludeUnpublishedJobPostings, false)
	if err != nil {
		return rpc.Result[ashby.JobPostingInfo]{}, err
	}
	if req.JobBoardID != "" && string(req.JobBoardID) != p.JobBoardID {
		return rpc.Result[ashby.JobPostingInfo]{}, ashby.NotFound("job_posting", "Job posting not found on this job board")
	}
	info, err := s.PostingInfo(ctx, s.DB, c.Org(), p)
	if err != nil {
		return rpc.Result[ashby.JobPostingInfo]{}, err
	}
	docs := [][]byte{mustJSON(info)}
	if err := s.expand(ctx, c.Org(), docs, req.Expand, "jobPosting"); err != nil {
		return rpc.Result[ashby.JobPostingInfo]{}, err
	}
	return rpc.Raw[ashby.JobPostingInfo](docs[0]), nil
}

// PostingInfo renders a posting as jobPosting.info does.
func (s *Service) PostingInfo(ctx context.Context, q store.Q, org string, p *ashby.JobPosting) (*ashby.JobPostingInfo, error) {
	refs, err := s.postingRefs(ctx, q, org, []*ashby.JobPosting{p})
	if err != nil {
		return nil, err
	}
	var surveys []any
	if len(p.SurveyFormDefinitionIDs) > 0 {
		raws, err := surveyFormDefinitions(ctx, q, org, p.SurveyFormDefinitionIDs)
		if err != nil {
			return nil, err
		}
		for _, r := range raws {
			surveys = append(surveys, r)
		}
	}
	info := refs.info(p, surveys)
	return &info, nil
}

// Posting writes.

// savePosting stores a posting, keeps its job's jobPostingIds current and
// emits jobPostingUpdate (plus jobPostingPublish or jobPostingUnpublish
// when its status changed), all in tx.
func (s *Service) savePosting(ctx context.Context, tx *store.Tx, org string, p *ashby.JobPosting, before *ashby.JobPosting) error {
	if before != nil {
		b1, _ := json.Marshal(before)
		b2, _ := json.Marshal(p)
		if bytes.Equal(b1, b2) {
			return nil
		}
	}
	p.UpdatedAt = s.now()
	if err := JobPostings.Put(ctx, tx, org, p); err != nil {
		return err
	}
	if before == nil || before.JobID != p.JobID {
		if err := s.linkPosting(ctx, tx, org, p.JobID, p.ID, true); err != nil {
			return err
		}
	}
	refs, err := s.postingRefs(ctx, tx, org, []*ashby.JobPosting{p})
	if err != nil {
		return err
	}
	ev := map[string]any{"jobPosting": refs.listItem(p)}
	wasPublished := before != nil && before.Status == ashby.PostingPublished
	switch {
	case p.Status == ashby.PostingPublished && !wasPublished:
		err = emit(ctx, tx, org, "jobPostingPublish", ev)
	case p.Status != ashby.PostingPublished && wasPublished:
		err = emit(ctx, tx, org, "jobPostingUnpublish", ev)
	}
	if err != nil {
		return err
	}
	if err := emit(ctx, tx, org, "jobPostingUpdate", ev); err != nil {
		return err
	}
	tx.AfterCommit(func() { s.postingsChanged(org) })
	return nil
}

// postingsChanged tells in-process caches (posting API, careers site)
// that an organization's boards changed; other processes notice through
// the change positions (see BoardVersion).
func (s *Service) postingsChanged(org string) {
	s.listenMu.Lock()
	fs := s.postingListeners
	s.listenMu.Unlock()
	for _, f := range fs {
		f(org)
	}
}

// OnPostingsChanged registers fn to run after a posting or board of an
// organization changes through this Service.
func (s *Service) OnPostingsChanged(fn func(org string)) {
	s.listenMu.Lock()
	defer s.listenMu.Unlock()
	s.postingListeners = append(slices.Clip(s.postingListeners), fn)
}

// linkPosting adds (or removes) a posting id in its job's jobPostingIds.
func (s *Service) linkPosting(ctx context.Context, tx *store.Tx, org, jobID, postingID string, add bool) error {
	job, err := Jobs.GetForUpdate(ctx, tx, org, jobID)
	if err != nil {
		return notFound(err, "job", "Job not found")
	}
	has := slices.Contains(job.JobPostingIDs, postingID)
	switch {
	case add && !has:
		job.JobPostingIDs = append(job.JobPostingIDs, postingID)
	case !add && has:
		job.JobPostingIDs = slices.DeleteFunc(job.JobPostingIDs, func(id string) bool { return id == postingID })
	default:
		return nil
	}
	if job.JobPostingIDs == nil {
		job.JobPostingIDs = []string{}
	}
	job.UpdatedAt = s.now()
	return Jobs.Put(ctx, tx, org, job)
}

// filterJobPostingIDs removes Draft postings from jobs' jobPostingIds
// (api.JobPostingIDsFilter). The array holds only UUID strings, so it is
// rewritten in place without re-encoding the rest of the document.
func filterJobPostingIDs(ctx context.Context, q store.Q, org string, docs [][]byte) error {
	key := []byte(`"jobPostingIds":[`)
	var all []string
	spans := make([][2]int, len(docs))
	ids := make([][]string, len(docs))
	for i, d := range docs {
		start := bytes.Index(d, key)
		if start < 0 {
			spans[i] = [2]int{-1, -1}
			continue
		}
		open := start + len(key) - 1
		end := bytes.IndexByte(d[open:], ']')
		if end < 0 {
			spans[i] = [2]int{-1, -1}
			continue
		}
		spans[i] = [2]int{open, open + end + 1}
		if err := json.Unmarshal(d[open:open+end+1], &ids[i]); err != nil {
			return fmt.Errorf("read jobPostingIds: %w", err)
		}
		all = append(all, ids[i]...)
	}
	if len(all) == 0 {
		return nil
	}
	postings, err := JobPostings.GetMany(ctx, q, org, all)
	if err != nil {
		return err
	}
	for i, d := range docs {
		if spans[i][0] < 0 || len(ids[i]) == 0 {
			continue
		}
		keep := []string{}
		for _, id := range ids[i] {
			if p := postings[id]; p != nil && p.Status == ashby.PostingPublished {
				keep = append(keep, id)
			}
		}
		if len(keep) == len(ids[i]) {
			continue
		}
		out := append([]byte{}, d[:spans[i][0]]...)
		out = append(out, mustJSON(keep)...)
		docs[i] = append(out, d[spans[i][1]:]...)
	}
	return nil
}

type descriptionInput struct {
	Type    string `json:"type" required:"true" enum:"text/html"`
	Content string `json:"content" required:"true" maxLength:"long"`
}

type jobPostingUpdateRequest struct {
	JobPostingID                  ashby.ID          `json:"jobPostingId" required:"true"`
	Title                         string            `json:"title,omitempty"`
	WorkplaceType                 string            `json:"workplaceType,omitempty" enum:"OnSite,Hybrid,Remote"`
	SuppressDescriptionOpening    *bool             `json:"suppressDescriptionOpening,omitempty"`
	SuppressDescriptionClosing    *bool             `json:"suppressDescriptionClosing,omitempty"`
	Description                   *descriptionInput `json:"description,omitempty" doc:"The description body as HTML; h1–h6, p, b, i, u, a, ul, ol, li, code and pre are kept."`
	IncludeUnpublishedJobPostings bool              `json:"includeUnpublishedJobPostings,omitempty" doc:"Needed to update a Draft posting."`
	// The template that confirms applications through this posting
	// (docs/email.md).
	ApplicationConfirmationEmailTemplateID ashby.ID `json:"applicationConfirmationEmailTemplateId,omitempty" doc:"The communication template that confirms applications through this posting (by email; its tokens must resolve in a confirmation)."`
}

// UpdatePosting loads a posting for update, applies fn and saves it.
func (s *Service) UpdatePosting(ctx context.Context, org, id string, includeUnpublished bool, fn func(tx *store.Tx, p *ashby.JobPosting) error) (*ashby.JobPostingInfo, error) {
	var info *ashby.JobPostingInfo
	err := s.write(ctx, func(tx *store.Tx) error {
		p, err := loadPosting(ctx, tx, org, id, includeUnpublished, true)
		if err != nil {
			return err
		}
		before := clonePosting(p)
		if err := fn(tx, p); err != nil {
			return err
		}
		if err := s.savePosting(ctx, tx, org, p, before); err != nil {
			return err
		}
		info, err = s.PostingInfo(ctx, tx, org, p)
		return err
	})
	return info, err
}

func clonePosting(p *ashby.JobPosting) *ashby.JobPosting {
	var cp ashby.JobPosting
	b, _ := json.Marshal(p)
	json.Unmarshal(b, &cp)
	return &cp
}

func (s *Service) jobPostingUpdate(ctx context.Context, c *rpc.Call, req *jobPostingUpdateRequest) (rpc.Result[ashby.JobPostingInfo], error) {
	info, err := s.UpdatePosting(ctx, c.Org(), string(req.JobPostingID), req.IncludeUnpublishedJobPostings, func(tx *store.Tx, p *ashby.JobPosting) error {
		if t := strings.TrimSpace(req.Title); t != "" {
			p.Title = t
		}
		if req.WorkplaceType != "" {
			p.WorkplaceType = req.WorkplaceType
		}
		if req.SuppressDescriptionOpening != nil {
			p.SuppressDescriptionOpening = *req.SuppressDescriptionOpening
		}
		if req.SuppressDescriptionClosing != nil {
			p.SuppressDescriptionClosing = *req.SuppressDescriptionClosing
		}
		if req.Description != nil {
			p.DescriptionHTML = sanitizeDescription(req.Description.Content)
			if p.Status == ashby.PostingPublished && sanitize.PlainText(p.DescriptionHTML) == "" {
				return ashby.InvalidInput("description", "A published posting needs a description")
			}
		}
		if id := string(req.ApplicationConfirmationEmailTemplateID); id != "" {
			if err := checkConfirmationTemplate(ctx, tx, c.Org(), id); err != nil {
				return err
			}
			return tx.SetMeta(ctx, c.Org(), JobPostings.Name, p.ID, postingMeta{ConfirmationTemplateID: id})
		}
		return nil
	})
	if err != nil {
		return rpc.Result[ashby.JobPostingInfo]{}, err
	}
	return rpc.Value(info), nil
}

type jobPostingSetStatusRequest struct {
	JobPostingID ashby.ID `json:"jobPostingId" required:"true"`
	Status       string   `json:"status" required:"true" enum:"Draft,Published"`
}

// checkPublishable applies Ashby's publication rules: a title, a
// description and an open job.
func checkPublishable(ctx context.Context, q store.Q, org string, p *ashby.JobPosting) error {
	if strings.TrimSpace(p.Title) == "" {
		return ashby.Errorf("job_posting_not_publishable", "A posting needs a title to be published")
	}
	if sanitize.PlainText(p.DescriptionHTML) == "" {
		return ashby.Errorf("job_posting_not_publishable", "A posting needs a description to be published")
	}
	job, err := Jobs.Get(ctx, q, org, p.JobID)
	if err != nil {
		return notFound(err, "job", "Job not found")
	}
	if job.Status != ashby.JobOpen {
		return ashby.Errorf("job_posting_not_publishable", "A posting can be published only while its job is Open (job %s is %s)", job.ID, job.Status)
	}
	return nil
}

func (s *Service) jobPostingSetStatus(ctx context.Context, c *rpc.Call, req *jobPostingSetStatusRequest) (rpc.Result[ashby.JobPostingInfo], error) {
	info, err := s.UpdatePosting(ctx, c.Org(), string(req.JobPostingID), true, func(tx *store.Tx, p *ashby.JobPosting) error {
		if p.Status == req.Status {
			return nil
		}
		if req.Status == ashby.PostingPublished {
			if err := checkPublishable(ctx, tx, c.Org(), p); err != nil {
				return err
			}
			p.PublishedAt = s.now().Ptr()
		}
		p.Status = req.Status
		return nil
	})
	if err != nil {
		return rpc.Result[ashby.JobPostingInfo]{}, err
	}
	return rpc.Value(info), nil
}

type jobPostingUpdateCompensationRequest struct {
	JobPostingID                  ashby.ID        `json:"jobPostingId" required:"true"`
	CompensationTiers             json.RawMessage `json:"compensationTiers" doc:"The posting's own tiers, or null to inherit the job's."`
	IncludeUnpublishedJobPostings bool            `json:"includeUnpublishedJobPostings,omitempty"`
}

func (s *Service) jobPostingUpdateCompensation(ctx context.Context, c *rpc.Call, req *jobPostingUpdateCompensationRequest) (rpc.Result[ashby.JobPostingInfo], error) {
	if len(req.CompensationTiers) == 0 {
		return rpc.Result[ashby.JobPostingInfo]{}, ashby.InvalidInput("compensationTiers", "Missing required field: compensationTiers (an array, or null to inherit the job's compensation)")
	}
	var tiers []ashby.CompensationTier
	inherit := bytes.Equal(bytes.TrimSpace(req.CompensationTiers), []byte("null"))
	if !inherit {
		in, err := rpc.Decode[struct {
			Tiers []compensation.TierInput `json:"tiers"`
		}](append(append([]byte(`{"tiers":`), req.CompensationTiers...), '}'))
		if err != nil {
			if ae, ok := ashby.AsError(err); ok && ae.Meta != nil {
				if f, _ := ae.Meta["field"].(string); f != "" {
					ae.Meta["field"] = "compensationTiers" + strings.TrimPrefix(f, "tiers")
				}
			}
			return rpc.Result[ashby.JobPostingInfo]{}, err
		}
		if len(in.Tiers) == 0 {
			return rpc.Result[ashby.JobPostingInfo]{}, ashby.InvalidInput("compensationTiers", "Pass a non-empty array of tiers, or null to inherit the job's compensation")
		}
		if tiers, err = compensation.Build("compensationTiers", in.Tiers, ashby.NewID); err != nil {
			return rpc.Result[ashby.JobPostingInfo]{}, err
		}
	}
	info, err := s.UpdatePosting(ctx, c.Org(), string(req.JobPostingID), req.IncludeUnpublishedJobPostings, func(tx *store.Tx, p *ashby.JobPosting) error {
		if inherit {
			p.Compensation = nil
		} else {
			p.Compensation = &ashby.JobCompensation{CompensationTiers: tiers}
		}
		return nil
	})
	if err != nil {
		return rpc.Result[ashby.JobPostingInfo]{}, err
	}
	return rpc.Value(info), nil
}

type locationIDsInput struct {
	PrimaryLocationID    ashby.ID   `json:"primaryLocationId" required:"true"`
	SecondaryLocationIDs []ashby.ID `json:"secondaryLocationIds,omitempty"`
}

type postingSettings struct {
	JobBoardID                          ashby.ID              `json:"jobBoardId,omitempty"`
	IsListed                            *bool                 `json:"isListed,omitempty"`
	LocationIDs                         *locationIDsInput     `json:"locationIds,omitempty"`
	WorkplaceType                       string                `json:"workplaceType,omitempty" enum:"OnSite,Hybrid,Remote"`
	EmploymentType                      string                `json:"employmentType,omitempty" enum:"FullTime,PartTime,Intern,Contract,Temporary"`
	ApplicationFormDefinition           *ashby.FormDefinition `json:"applicationFormDefinition,omitempty"`
	SurveyFormDefinitionIDs             []ashby.ID            `json:"surveyFormDefinitionIds,omitempty"`
	ShouldDisplayCompensationOnJobBoard *bool                 `json:"shouldDisplayCompensationOnJobBoard,omitempty"`
	ApplicationDeadline                 *ashby.Time           `json:"applicationDeadline,omitempty"`
}

func (s *Service) applySettings(ctx context.Context, tx *store.Tx, org string, p *ashby.JobPosting, in postingSettings) error {
	if in.JobBoardID != "" {
		if _, err := mustExist(ctx, tx, JobBoards, org, string(in.JobBoardID), "job_board", "jobBoardId"); err != nil {
			return err
		}
		p.JobBoardID = string(in.JobBoardID)
	}
	if in.IsListed != nil {
		p.IsListed = *in.IsListed
	}
	if l := in.LocationIDs; l != nil {
		if _, err := mustExist(ctx, tx, Locations, org, string(l.PrimaryLocationID), "location", "locationIds.primaryLocationId"); err != nil {
			return err
		}
		p.PrimaryLocationID = string(l.PrimaryLocationID)
		p.SecondaryLocationIDs = []string{}
		for i, id := range l.SecondaryLocationIDs {
			if _, err := mustExist(ctx, tx, Locations, org, string(id), "location", fmt.Sprintf("locationIds.secondaryLocationIds[%d]", i)); err != nil {
				return err
			}
			if string(id) != p.PrimaryLocationID && !slices.Contains(p.SecondaryLocationIDs, string(id)) {
				p.SecondaryLocationIDs = append(p.SecondaryLocationIDs, string(id))
			}
		}
	}
	if in.WorkplaceType != "" {
		p.WorkplaceType = in.WorkplaceType
	}
	if in.EmploymentType != "" {
		p.EmploymentType = in.EmploymentType
	}
	if in.ApplicationFormDefinition != nil {
		def, err := checkApplicationForm("applicationFormDefinition", *in.ApplicationFormDefinition)
		if err != nil {
			return err
		}
		p.ApplicationForm = def
	}
	if in.SurveyFormDefinitionIDs != nil {
		p.SurveyFormDefinitionIDs = []string{}
		for i, id := range in.SurveyFormDefinitionIDs {
			if _, err := mustExist(ctx, tx, SurveyForms, org, string(id), "survey_form_definition", fmt.Sprintf("surveyFormDefinitionIds[%d]", i)); err != nil {
				return err
			}
			if !slices.Contains(p.SurveyFormDefinitionIDs, string(id)) {
				p.SurveyFormDefinitionIDs = append(p.SurveyFormDefinitionIDs, string(id))
			}
		}
	}
	if in.ShouldDisplayCompensationOnJobBoard != nil {
		p.ShouldDisplayCompensationOnJobBoard = *in.ShouldDisplayCompensationOnJobBoard
	}
	if in.ApplicationDeadline != nil {
		p.ApplicationDeadline = in.ApplicationDeadline
	}
	return nil
}

type jobPostingCreateRequest struct {
	JobID           ashby.ID `json:"jobId" required:"true"`
	Title           string   `json:"title,omitempty" doc:"Default: the job's title."`
	DescriptionHTML string   `json:"descriptionHtml,omitempty" maxLength:"long"`
	Status          string   `json:"status,omitempty" enum:"Draft,Published" doc:"Default Draft."`
	postingSettings
}

func (s *Service) jobPostingCreate(ctx context.Context, c *rpc.Call, req *jobPostingCreateRequest) (rpc.Result[ashby.JobPostingInfo], error) {
	var info *ashby.JobPostingInfo
	err := s.write(ctx, func(tx *store.Tx) error {
		job, err := mustExist(ctx, tx, Jobs, c.Org(), string(req.JobID), "job", "jobId")
		if err != nil {
			return err
		}
		now := s.now()
		p := &ashby.JobPosting{ID: ashby.NewID(), JobID: job.ID, Title: strings.TrimSpace(req.Title), Status: ashby.PostingDraft, IsListed: true,
			DescriptionHTML: sanitizeDescription(req.DescriptionHTML), PrimaryLocationID: job.LocationID, SecondaryLocationIDs: []string{},
			EmploymentType: job.EmploymentType, ShouldDisplayCompensationOnJobBoard: true, ApplicationForm: DefaultApplicationForm(),
			SurveyFormDefinitionIDs: []string{}, CreatedAt: now, UpdatedAt: now}
		if p.Title == "" {
			p.Title = job.Title
		}
		if l, err := Locations.Get(ctx, tx, c.Org(), job.LocationID); err == nil {
			p.WorkplaceType = l.WorkplaceType
		}
		if req.JobBoardID == "" {
			b, err := PrimaryBoard(ctx, tx, c.Org())
			if err != nil {
				return err
			}
			p.JobBoardID = b.ID
		}
		if err := s.applySettings(ctx, tx, c.Org(), p, req.postingSettings); err != nil {
			return err
		}
		if req.Status == ashby.PostingPublished {
			if err := checkPublishable(ctx, tx, c.Org(), p); err != nil {
				return err
			}
			p.Status, p.PublishedAt = ashby.PostingPublished, now.Ptr()
		}
		if err := s.savePosting(ctx, tx, c.Org(), p, nil); err != nil {
			return err
		}
		info, err = s.PostingInfo(ctx, tx, c.Org(), p)
		return err
	})
	if err != nil {
		return rpc.Result[ashby.JobPostingInfo]{}, err
	}
	return rpc.Value(info), nil
}

type jobPostingUpdateSettingsRequest struct {
	JobPostingID ashby.ID `json:"jobPostingId" required:"true"`
	postingSettings
}

func (s *Service) jobPostingUpdateSettings(ctx context.Context, c *rpc.Call, req *jobPostingUpdateSettingsRequest) (rpc.Result[ashby.JobPostingInfo], error) {
	info, err := s.UpdatePosting(ctx, c.Org(), string(req.JobPostingID), true, func(tx *store.Tx, p *ashby.JobPosting) error {
		return s.applySettings(ctx, tx, c.Org(), p, req.postingSettings)
	})
	if err != nil {
		return rpc.Result[ashby.JobPostingInfo]{}, err
	}
	return rpc.Value(info), nil
}

type jobPostingDeleteRequest struct {
	JobPostingID ashby.ID `json:"jobPostingId" required:"true"`
}

type jobPostingDeleted struct {
	JobPostingID string `json:"jobPostingId"`
	JobID        string `json:"jobId"`
}

func (s *Service) jobPostingDelete(ctx context.Context, c *rpc.Call, req *jobPostingDeleteRequest) (rpc.Result[jobPostingDeleted], error) {
	var out jobPostingDeleted
	err := s.write(ctx, func(tx *store.Tx) error {
		p, err := loadPosting(ctx, tx, c.Org(), string(req.JobPostingID), true, true)
		if err != nil {
			return err
		}
		if err := JobPostings.Delete(ctx, tx, c.Org(), p.ID); err != nil {
			return err
		}
		if err := s.linkPosting(ctx, tx, c.Org(), p.JobID, p.ID, false); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		// A deletion leaves no row to move the kind's change position, so
		// the board is rewritten: the caches' version check sees it.
		if b, err := JobBoards.GetForUpdate(ctx, tx, c.Org(), p.JobBoardID); err == nil {
			b.UpdatedAt = s.now()
			if err := JobBoards.Put(ctx, tx, c.Org(), b); err != nil {
				return err
			}
		}
		out = jobPostingDeleted{JobPostingID: p.ID, JobID: p.JobID}
		tx.AfterCommit(func() { s.postingsChanged(c.Org()) })
		return emit(ctx, tx, c.Org(), "jobPostingDelete", map[string]any{"jobPosting": map[string]string{"id": p.ID, "jobId": p.JobID}})
	})
	if err != nil {
		return rpc.Result[jobPostingDeleted]{}, err
	}
	return rpc.Value(&out), nil
}

// Public boards.

// BoardVersion is a cheap fingerprint of everything a board's public
// pages show: the highest change position among the organization's
// postings, boards, jobs, departments and locations. Each is one index
// probe (docs_changed). Every write moves a row's position up, deletions
// of postings rewrite their board, and on PostgreSQL, where positions are
// transaction ids that commit out of order, the snapshot horizon is added
// while a transaction older than the maximum may still commit, so that a
// late commit changes the version too.
func BoardVersion(ctx context.Context, db *store.DB, org string) (string, error) {
	var v [5]int64
	err := db.QueryRowContext(ctx, `SELECT
		COALESCE((SELECT MAX(chg_tx) FROM docs WHERE org_id = $1 AND kind = 'job_posting'), 0),
		COALESCE((SELECT MAX(chg_tx) FROM docs WHERE org_id = $1 AND kind = 'job_board'), 0),
		COALESCE((SELECT MAX(chg_tx) FROM docs WHERE org_id = $1 AND kind = 'job'), 0),
		COALESCE((SELECT MAX(chg_tx) FROM docs WHERE org_id = $1 AND kind = 'department'), 0),
		COALESCE((SELECT MAX(chg_tx) FROM docs WHERE org_id = $1 AND kind = 'location'), 0)`, org).Scan(&v[0], &v[1], &v[2], &v[3], &v[4])
	if err != nil {
		return "", fmt.Errorf("board version: %w", err)
	}
	m := slices.Max(v[:])
	ver := fmt.Sprintf("%d", m)
	if db.Engine() == store.Postgres {
		h, err := db.Horizon(ctx)
		if err != nil {
			return "", err
		}
		if h <= m {
			ver += fmt.Sprintf("h%d", h)
		}
	}
	return ver, nil
}

// BoardSnapshot is everything a public board shows, rendered once.
type BoardSnapshot struct {
	Org      *store.Org
	Board    *ashby.JobBoardSettings
	Version  string
	Postings []*ashby.JobPosting
	// Info holds each posting's jobPosting.info view, in Postings' order.
	Info []ashby.JobPostingInfo
	// Public and PublicWithCompensation are the posting API's jobs.
	Public, PublicWithCompensation []ashby.PublicJob
	// Built is when it was rendered; Stale is when the first application
	// deadline among its postings passes, after which it must be rebuilt
	// (zero: never).
	Built, Stale time.Time
}

// Board renders the public view of a board: its published, listed
// postings of open jobs. version should come from BoardVersion before
// the call.
func (s *Service) Board(ctx context.Context, org, boardID, version string) (*BoardSnapshot, error) {
	o, err := s.DB.OrgByID(ctx, org)
	if err != nil {
		return nil, err
	}
	board, err := JobBoards.Get(ctx, s.DB, org, boardID)
	if err != nil {
		return nil, err
	}
	ps, err := JobPostings.Find(ctx, s.DB, org, store.Filter{Ref: boardID, State: []string{ashby.PostingPublished}})
	if err != nil {
		return nil, err
	}
	refs, err := s.postingRefs(ctx, s.DB, org, ps)
	if err != nil {
		return nil, err
	}
	now := s.DB.Now()
	snap := &BoardSnapshot{Org: o, Board: board, Version: version, Built: now,
		Public: []ashby.PublicJob{}, PublicWithCompensation: []ashby.PublicJob{}}
	s.boardLinks(board)
	for _, p := range ps {
		if !refs.publicNow(p, now) {
			continue
		}
		if d := p.ApplicationDeadline; d != nil && (snap.Stale.IsZero() || d.Before(snap.Stale)) {
			snap.Stale = d.Time
		}
		snap.Postings = append(snap.Postings, p)
		snap.Info = append(snap.Info, refs.info(p, nil))
		snap.Public = append(snap.Public, refs.public(p, false))
		snap.PublicWithCompensation = append(snap.PublicWithCompensation, refs.public(p, true))
	}
	return snap, nil
}
