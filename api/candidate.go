package api

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/email"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/sanitize"
	"github.com/ashlarhq/ashlar/store"
)

func init() { register((*Service).candidateEndpoints) }

func (s *Service) candidateEndpoints() []*rpc.Endpoint {
	anonymize := rpc.Object(rpc.Spec{Name: "candidate.anonymize", Permission: ashby.CandidatesWrite, Summary: "Irreversibly remove a candidate's personal data; every application must be Archived or Hired."}, s.candidateAnonymize)
	return []*rpc.Endpoint{
		rpc.Object(rpc.Spec{Name: "candidate.create", Permission: ashby.CandidatesWrite, Summary: "Create a candidate."}, s.candidateCreate),
		rpc.Object(rpc.Spec{Name: "candidate.info", Permission: ashby.CandidatesRead, Summary: "Fetch a candidate by id."}, s.candidateInfo),
		rpc.List[ashby.Candidate](rpc.Spec{Name: "candidate.list", Permission: ashby.CandidatesRead, Summary: "List candidates; supports incremental sync."}, s.candidateList),
		rpc.Array[ashby.Candidate](rpc.Spec{Name: "candidate.search", Permission: ashby.CandidatesRead, Summary: "Find candidates by email and/or name (ANDed), at most 100."}, s.candidateSearch),
		rpc.Object(rpc.Spec{Name: "candidate.update", Permission: ashby.CandidatesWrite, Summary: "Update a candidate."}, s.candidateUpdate),
		rpc.Object(rpc.Spec{Name: "candidate.addTag", Permission: ashby.CandidatesWrite, Summary: "Tag a candidate."}, s.candidateTag(true)),
		rpc.Object(rpc.Spec{Name: "candidate.removeTag", Permission: ashby.CandidatesWrite, Summary: "Remove a tag from a candidate."}, s.candidateTag(false)),
		rpc.Object(rpc.Spec{Name: "candidate.createNote", Permission: ashby.CandidatesWrite, Summary: "Add a note (plain text or HTML) to a candidate."}, s.candidateCreateNote),
		rpc.List[ashby.Note](rpc.Spec{Name: "candidate.listNotes", Permission: ashby.CandidatesRead, Summary: "List a candidate's notes."}, s.candidateListNotes),
		anonymize,
		// The 2024 description spelled this path with a typo; old clients still call it.
		anonymize.Alias("canidate.anonymize"),
	}
}

type candidateLocationInput struct {
	City    string `json:"city,omitempty"`
	Region  string `json:"region,omitempty"`
	Country string `json:"country,omitempty"`
}

type candidateCreateRequest struct {
	Name                    string                  `json:"name" required:"true"`
	Email                   string                  `json:"email,omitempty" maxLength:"email"`
	PhoneNumber             string                  `json:"phoneNumber,omitempty"`
	LinkedInURL             string                  `json:"linkedInUrl,omitempty" maxLength:"url"`
	GithubURL               string                  `json:"githubUrl,omitempty" maxLength:"url"`
	Website                 string                  `json:"website,omitempty" maxLength:"url"`
	AlternateEmailAddresses []string                `json:"alternateEmailAddresses,omitempty" maxLength:"email"`
	SourceID                ashby.ID                `json:"sourceId,omitempty"`
	CreditedToUserID        ashby.ID                `json:"creditedToUserId,omitempty"`
	Location                *candidateLocationInput `json:"location,omitempty"`
	CreatedAt               *ashby.Time             `json:"createdAt,omitempty"`
}

// NewCandidate holds what a new candidate starts with; applicationForm.submit
// and the careers site build candidates through it too.
type NewCandidate struct {
	Name             string
	Email            string
	AlternateEmails  []string
	Phone            string
	LinkedInURL      string
	GithubURL        string
	Website          string
	SourceID         string
	CreditedToUserID string
	Location         *candidateLocationInput
	CreatedAt        *ashby.Time
}

func (s *Service) candidateCreate(ctx context.Context, c *rpc.Call, req *candidateCreateRequest) (rpc.Result[ashby.Candidate], error) {
	var cand *ashby.Candidate
	err := s.write(ctx, func(tx *store.Tx) error {
		var err error
		cand, err = s.CreateCandidate(ctx, tx, c.Org(), NewCandidate{Name: req.Name, Email: req.Email, AlternateEmails: req.AlternateEmailAddresses,
			Phone: req.PhoneNumber, LinkedInURL: req.LinkedInURL, GithubURL: req.GithubURL, Website: req.Website,
			SourceID: string(req.SourceID), CreditedToUserID: string(req.CreditedToUserID), Location: req.Location, CreatedAt: req.CreatedAt})
		return err
	})
	if err != nil {
		return rpc.Result[ashby.Candidate]{}, err
	}
	return rpc.Value(cand), nil
}

// CreateCandidate validates and stores a new candidate in tx.
func (s *Service) CreateCandidate(ctx context.Context, tx *store.Tx, org string, n NewCandidate) (*ashby.Candidate, error) {
	name := strings.TrimSpace(n.Name)
	if name == "" {
		return nil, ashby.InvalidInput("name", "Missing required field: name")
	}
	now := s.now()
	cand := &ashby.Candidate{ID: ashby.NewID(), CreatedAt: now, UpdatedAt: now, Name: name,
		EmailAddresses: []ashby.ContactInfo{}, PhoneNumbers: []ashby.ContactInfo{}, SocialLinks: []ashby.SocialLink{},
		Tags: []ashby.CandidateTag{}, ApplicationIDs: []string{}, FileHandles: []ashby.FileHandle{}, CustomFields: []ashby.CustomFieldValue{}}
	cand.ProfileURL = s.BaseURL + "/app/candidates/" + cand.ID
	if n.CreatedAt != nil {
		cand.CreatedAt = *n.CreatedAt
	}
	if n.Email != "" {
		if err := setPrimaryEmail(cand, n.Email, "email"); err != nil {
			return nil, err
		}
	}
	for i, e := range n.AlternateEmails {
		if err := addEmail(cand, e, false, "alternateEmailAddresses"); err != nil {
			return nil, ashby.InvalidInput("alternateEmailAddresses", "Invalid email address %q at index %d", e, i)
		}
	}
	if n.Phone != "" {
		cand.PhoneNumbers = []ashby.ContactInfo{{Value: strings.TrimSpace(n.Phone), Type: "Personal", IsPrimary: true}}
		cand.PrimaryPhoneNumber = &cand.PhoneNumbers[0]
	}
	for _, l := range []struct{ typ, url, field string }{{"LinkedIn", n.LinkedInURL, "linkedInUrl"}, {"GitHub", n.GithubURL, "githubUrl"}, {"Website", n.Website, "website"}} {
		if err := setSocialLink(cand, l.typ, l.url, l.field); err != nil {
			return nil, err
		}
	}
	if n.Location != nil {
		cand.Location = candidateLocation(n.Location)
	}
	if err := s.setCandidateSource(ctx, tx, org, cand, n.SourceID, n.CreditedToUserID); err != nil {
		return nil, err
	}
	if err := Candidates.Put(ctx, tx, org, cand); err != nil {
		return nil, err
	}
	return cand, nil
}

func (s *Service) setCandidateSource(ctx context.Context, tx *store.Tx, org string, cand *ashby.Candidate, sourceID, userID string) error {
	if sourceID != "" {
		src, err := mustShare(ctx, tx, Sources, org, sourceID, "source", "sourceId")
		if err != nil {
			return err
		}
		cand.Source = src
	}
	if userID != "" {
		u, err := mustShare(ctx, tx, Users, org, userID, "user", "creditedToUserId")
		if err != nil {
			return err
		}
		cand.CreditedToUser = u
	}
	return nil
}

func setPrimaryEmail(c *ashby.Candidate, email, field string) error {
	email = strings.TrimSpace(email)
	if !validEmail(email) {
		return ashby.InvalidInput(field, "Invalid email address %q", email)
	}
	out := []ashby.ContactInfo{{Value: email, Type: "Personal", IsPrimary: true}}
	for _, e := range c.EmailAddresses {
		if !strings.EqualFold(e.Value, email) {
			e.IsPrimary = false
			out = append(out, e)
		}
	}
	c.EmailAddresses = out
	c.PrimaryEmailAddress = &c.EmailAddresses[0]
	return nil
}

func addEmail(c *ashby.Candidate, email string, primary bool, field string) error {
	email = strings.TrimSpace(email)
	if !validEmail(email) {
		return ashby.InvalidInput(field, "Invalid email address %q", email)
	}
	for _, e := range c.EmailAddresses {
		if strings.EqualFold(e.Value, email) {
			return nil
		}
	}
	c.EmailAddresses = append(c.EmailAddresses, ashby.ContactInfo{Value: email, Type: "Personal", IsPrimary: primary})
	if c.PrimaryEmailAddress == nil {
		c.EmailAddresses[len(c.EmailAddresses)-1].IsPrimary = true
	}
	for i := range c.EmailAddresses {
		if c.EmailAddresses[i].IsPrimary {
			c.PrimaryEmailAddress = &c.EmailAddresses[i]
		}
	}
	return nil
}

func setSocialLink(c *ashby.Candidate, typ, url, field string) error {
	url = strings.TrimSpace(url)
	if url == "" {
		return nil
	}
	if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
		return ashby.InvalidInput(field, "Invalid URL %q: use http:// or https://", url)
	}
	for i := range c.SocialLinks {
		if c.SocialLinks[i].Type == typ {
			c.SocialLinks[i].URL = url
			return nil
		}
	}
	c.SocialLinks = append(c.SocialLinks, ashby.SocialLink{Type: typ, URL: url})
	return nil
}

func candidateLocation(l *candidateLocationInput) *ashby.CandidateLocation {
	loc := &ashby.CandidateLocation{ID: ashby.NewID(), LocationComponents: []ashby.LocationComponent{}}
	var parts []string
	for _, p := range []struct{ typ, name string }{{"Country", l.Country}, {"Region", l.Region}, {"City", l.City}} {
		if n := strings.TrimSpace(p.name); n != "" {
			loc.LocationComponents = append(loc.LocationComponents, ashby.LocationComponent{Type: p.typ, Name: n})
			parts = append(parts, n)
		}
	}
	if len(parts) == 0 {
		return nil
	}
	loc.LocationSummary = strings.Join(parts, ", ")
	return loc
}

type candidateInfoRequest struct {
	ID                ashby.ID `json:"id,omitempty"`
	ExternalMappingID string   `json:"externalMappingId,omitempty"`
}

func (s *Service) candidateInfo(ctx context.Context, c *rpc.Call, req *candidateInfoRequest) (rpc.Result[ashby.Candidate], error) {
	if req.ID == "" && req.ExternalMappingID == "" {
		return rpc.Result[ashby.Candidate]{}, ashby.InvalidInput("id", "Give id or externalMappingId")
	}
	if req.ID == "" {
		// Ashlar has no HRIS mappings yet, so no external id matches.
		return rpc.Result[ashby.Candidate]{}, ashby.NotFound("candidate", "Candidate not found")
	}
	doc, err := Candidates.GetRaw(ctx, s.DB, c.Org(), string(req.ID))
	if err != nil {
		return rpc.Result[ashby.Candidate]{}, notFound(err, "candidate", "Candidate not found")
	}
	return rpc.Raw[ashby.Candidate](doc), nil
}

type candidateListRequest struct {
	rpc.SyncParams
	CreatedAfter int64 `json:"createdAfter,omitempty" doc:"Epoch milliseconds."`
}

func (s *Service) candidateList(ctx context.Context, c *rpc.Call, req *candidateListRequest) (*rpc.Page, error) {
	spec := listSpec(c, Candidates.Name, req.SyncParams)
	spec.CreatedAfter = req.CreatedAfter
	return s.listPage(ctx, spec)
}

type candidateSearchRequest struct {
	Email string `json:"email,omitempty" maxLength:"email"`
	Name  string `json:"name,omitempty"`
}

func (s *Service) candidateSearch(ctx context.Context, c *rpc.Call, req *candidateSearchRequest) (*rpc.Page, error) {
	email, name := lc(req.Email), lc(req.Name)
	if email == "" && name == "" {
		return nil, ashby.InvalidInput("email", "Give email and/or name")
	}
	var cands []*ashby.Candidate
	var err error
	if email != "" {
		cands, err = Candidates.ByKey(ctx, s.DB, c.Org(), "email", email, 0)
	} else {
		cands, err = Candidates.Find(ctx, s.DB, c.Org(), store.Filter{SearchContains: name, Limit: 100})
	}
	if err != nil {
		return nil, err
	}
	out := make([]*ashby.Candidate, 0, len(cands))
	for _, cand := range cands {
		if name != "" && !strings.Contains(lc(cand.Name), name) {
			continue
		}
		if len(out) == 100 {
			break
		}
		out = append(out, cand)
	}
	return items(out), nil
}

type candidateUpdateRequest struct {
	CandidateID       ashby.ID                `json:"candidateId" required:"true"`
	Name              string                  `json:"name,omitempty"`
	Email             string                  `json:"email,omitempty" maxLength:"email"`
	PhoneNumber       string                  `json:"phoneNumber,omitempty"`
	LinkedInURL       string                  `json:"linkedInUrl,omitempty" maxLength:"url"`
	GithubURL         string                  `json:"githubUrl,omitempty" maxLength:"url"`
	WebsiteURL        string                  `json:"websiteUrl,omitempty" maxLength:"url"`
	AlternateEmail    string                  `json:"alternateEmail,omitempty" maxLength:"email"`
	SocialLinks       []ashby.SocialLink      `json:"socialLinks,omitempty" doc:"Replaces every social link (and overrides the URL fields)."`
	SourceID          ashby.ID                `json:"sourceId,omitempty"`
	CreditedToUserID  ashby.ID                `json:"creditedToUserId,omitempty"`
	Location          *candidateLocationInput `json:"location,omitempty"`
	CreatedAt         *ashby.Time             `json:"createdAt,omitempty"`
	SendNotifications bool                    `json:"sendNotifications,omitempty"`
}

func (s *Service) candidateUpdate(ctx context.Context, c *rpc.Call, req *candidateUpdateRequest) (rpc.Result[ashby.Candidate], error) {
	return s.UpdateCandidate(ctx, c.Org(), string(req.CandidateID), func(tx *store.Tx, cand *ashby.Candidate) error {
		if req.Name != "" {
			cand.Name = strings.TrimSpace(req.Name)
		}
		if req.Email != "" {
			if err := setPrimaryEmail(cand, req.Email, "email"); err != nil {
				return err
			}
		}
		if req.AlternateEmail != "" {
			if err := addEmail(cand, req.AlternateEmail, false, "alternateEmail"); err != nil {
				return err
			}
		}
		if req.PhoneNumber != "" {
			cand.PhoneNumbers = []ashby.ContactInfo{{Value: strings.TrimSpace(req.PhoneNumber), Type: "Personal", IsPrimary: true}}
			cand.PrimaryPhoneNumber = &cand.PhoneNumbers[0]
		}
		if req.SocialLinks != nil {
			cand.SocialLinks = []ashby.SocialLink{}
			for i, l := range req.SocialLinks {
				if l.Type == "" || l.URL == "" {
					return ashby.InvalidInput("socialLinks", "socialLinks[%d] needs type and url", i)
				}
				if err := setSocialLink(cand, l.Type, l.URL, "socialLinks"); err != nil {
					return err
				}
			}
		} else {
			for _, l := range []struct{ typ, url, field string }{{"LinkedIn", req.LinkedInURL, "linkedInUrl"}, {"GitHub", req.GithubURL, "githubUrl"}, {"Website", req.WebsiteURL, "websiteUrl"}} {
				if err := setSocialLink(cand, l.typ, l.url, l.field); err != nil {
					return err
				}
			}
		}
		if req.Location != nil {
			cand.Location = candidateLocation(req.Location)
		}
		if req.CreatedAt != nil {
			cand.CreatedAt = *req.CreatedAt
		}
		return s.setCandidateSource(ctx, tx, c.Org(), cand, string(req.SourceID), string(req.CreditedToUserID))
	})
}

// UpdateCandidate loads a candidate for update, applies fn, stores it
// and rewrites the applications that embed it.
func (s *Service) UpdateCandidate(ctx context.Context, org, id string, fn func(tx *store.Tx, cand *ashby.Candidate) error) (rpc.Result[ashby.Candidate], error) {
	var cand *ashby.Candidate
	err := s.write(ctx, func(tx *store.Tx) error {
		var err error
		cand, err = s.updateCandidate(ctx, tx, org, id, fn)
		return err
	})
	if err != nil {
		return rpc.Result[ashby.Candidate]{}, err
	}
	return rpc.Value(cand), nil
}

func (s *Service) updateCandidate(ctx context.Context, tx *store.Tx, org, id string, fn func(tx *store.Tx, cand *ashby.Candidate) error) (*ashby.Candidate, error) {
	cand, err := Candidates.GetForUpdate(ctx, tx, org, id)
	if err != nil {
		return nil, notFound(err, "candidate", "Candidate not found")
	}
	before, _ := json.Marshal(cand)
	if err := fn(tx, cand); err != nil {
		return nil, err
	}
	after, _ := json.Marshal(cand)
	if bytes.Equal(before, after) {
		return cand, nil
	}
	cand.UpdatedAt = s.now()
	if err := Candidates.Put(ctx, tx, org, cand); err != nil {
		return nil, err
	}
	return cand, s.refreshCandidate(ctx, tx, org, cand)
}

type candidateTagRequest struct {
	CandidateID ashby.ID `json:"candidateId" required:"true"`
	TagID       ashby.ID `json:"tagId" required:"true"`
}

func (s *Service) candidateTag(add bool) func(context.Context, *rpc.Call, *candidateTagRequest) (rpc.Result[ashby.Candidate], error) {
	return func(ctx context.Context, c *rpc.Call, req *candidateTagRequest) (rpc.Result[ashby.Candidate], error) {
		var cand *ashby.Candidate
		err := s.write(ctx, func(tx *store.Tx) error {
			// The tag first, then the candidate: the order archiving a tag
			// locks them (see fanout.go).
			tag, err := mustShare(ctx, tx, CandidateTags, c.Org(), string(req.TagID), "candidate_tag", "tagId")
			if err != nil {
				return err
			}
			cand, err = s.updateCandidate(ctx, tx, c.Org(), string(req.CandidateID), func(_ *store.Tx, cand *ashby.Candidate) error {
				return applyTag(cand, tag, add)
			})
			return err
		})
		if err != nil {
			return rpc.Result[ashby.Candidate]{}, err
		}
		return rpc.Value(cand), nil
	}
}

func applyTag(cand *ashby.Candidate, tag *ashby.CandidateTag, add bool) error {
	for i, t := range cand.Tags {
		if t.ID == tag.ID {
			if !add {
				cand.Tags = append(cand.Tags[:i], cand.Tags[i+1:]...)
			}
			return nil
		}
	}
	if add {
		if tag.IsArchived {
			return ashby.Errorf("candidate_tag_archived", "Tag %q is archived", tag.Title)
		}
		cand.Tags = append(cand.Tags, *tag)
	}
	return nil
}

// noteInput is a note as a plain string or {type, value}.
type noteInput struct {
	Type  string `json:"type"`
	Value string `json:"value" maxLength:"long"`
}

func (n *noteInput) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		n.Type = "text/plain"
		return json.Unmarshal(b, &n.Value)
	}
	type plain noteInput
	return json.Unmarshal(b, (*plain)(n))
}

type candidateCreateNoteRequest struct {
	CandidateID       ashby.ID    `json:"candidateId" required:"true"`
	Note              *noteInput  `json:"note" required:"true" doc:"A string, or {type: text/plain|text/html, value}. HTML keeps b, i, u, a, ul, ol, li, code and pre."`
	SendNotifications bool        `json:"sendNotifications,omitempty"`
	IsPrivate         bool        `json:"isPrivate,omitempty"`
	CreatedAt         *ashby.Time `json:"createdAt,omitempty"`
}

func (s *Service) candidateCreateNote(ctx context.Context, c *rpc.Call, req *candidateCreateNoteRequest) (rpc.Result[ashby.Note], error) {
	content := req.Note.Value
	switch req.Note.Type {
	case "text/plain":
	case "text/html":
		content = sanitize.NoteHTML(content)
	default:
		return rpc.Result[ashby.Note]{}, ashby.InvalidInput("note.type", "note.type must be text/plain or text/html")
	}
	if strings.TrimSpace(content) == "" {
		return rpc.Result[ashby.Note]{}, ashby.InvalidInput("note", "The note is empty")
	}
	var note *ashby.Note
	err := s.write(ctx, func(tx *store.Tx) error {
		if _, err := mustExist(ctx, tx, Candidates, c.Org(), string(req.CandidateID), "candidate", "candidateId"); err != nil {
			return err
		}
		author, err := s.actingUser(ctx, tx, c)
		if err != nil {
			return err
		}
		note = &ashby.Note{ID: ashby.NewID(), CreatedAt: s.now(), IsPrivate: req.IsPrivate, Content: content,
			Author: ashby.Author{ID: author.ID, FirstName: author.FirstName, LastName: author.LastName, Email: author.Email}}
		if req.CreatedAt != nil {
			note.CreatedAt = *req.CreatedAt
		}
		return Notes.PutChild(ctx, tx, c.Org(), string(req.CandidateID), note)
	})
	if err != nil {
		return rpc.Result[ashby.Note]{}, err
	}
	return rpc.Value(note), nil
}

type candidateListNotesRequest struct {
	rpc.SyncParams
	CandidateID ashby.ID `json:"candidateId" required:"true"`
}

func (s *Service) candidateListNotes(ctx context.Context, c *rpc.Call, req *candidateListNotesRequest) (*rpc.Page, error) {
	if _, err := mustExist(ctx, s.DB, Candidates, c.Org(), string(req.CandidateID), "candidate", "candidateId"); err != nil {
		return nil, err
	}
	spec := listSpec(c, Notes.Name, req.SyncParams)
	spec.Filter.Parent = string(req.CandidateID)
	return s.listPage(ctx, spec)
}

type candidateIDRequest struct {
	CandidateID ashby.ID `json:"candidateId" required:"true"`
}

// AnonymizedName replaces an anonymized candidate's name.
const AnonymizedName = "Anonymized Candidate"

func (s *Service) candidateAnonymize(ctx context.Context, c *rpc.Call, req *candidateIDRequest) (rpc.Result[ashby.Candidate], error) {
	return s.UpdateCandidate(ctx, c.Org(), string(req.CandidateID), func(tx *store.Tx, cand *ashby.Candidate) error {
		// Locked, so that none is reactivated before this commits.
		apps, err := Applications.FindForUpdate(ctx, tx, c.Org(), store.Filter{Ref: cand.ID, IncludeArchived: true})
		if err != nil {
			return err
		}
		for _, a := range apps {
			if a.Status != ashby.ApplicationArchived && a.Status != ashby.ApplicationHired {
				return ashby.Errorf("candidate_has_active_applications", "Candidate has a %s application (%s); archive it first", a.Status, a.ID)
			}
		}
		cand.Name = AnonymizedName
		cand.PrimaryEmailAddress, cand.PrimaryPhoneNumber = nil, nil
		cand.EmailAddresses, cand.PhoneNumbers = []ashby.ContactInfo{}, []ashby.ContactInfo{}
		cand.SocialLinks = []ashby.SocialLink{}
		cand.Position, cand.Company, cand.School, cand.Timezone = "", "", "", ""
		cand.Location, cand.ResumeFileHandle = nil, nil
		cand.FileHandles = []ashby.FileHandle{}
		cand.CustomFields = []ashby.CustomFieldValue{}
		// Notes carry personal data too.
		notes, err := Notes.Find(ctx, tx, c.Org(), store.Filter{Parent: cand.ID})
		if err != nil {
			return err
		}
		for _, n := range notes {
			if err := Notes.Delete(ctx, tx, c.Org(), n.ID); err != nil {
				return err
			}
		}
		// What other categories keep of the candidate's own: form answers,
		// files, partners' assessment records, take-home work, emails.
		for _, f := range []func(ctx context.Context, tx *store.Tx, org, candidateID string) error{
			anonymizeSubmissions, s.anonymizeFiles, assessmentsOnAnonymize, anonymizeTakeHomes, email.DeleteCandidate,
		} {
			if err := f(ctx, tx, c.Org(), cand.ID); err != nil {
				return err
			}
		}
		return nil
	})
}
