package api

import (
	"context"
	"maps"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/compensation"
	"github.com/ashlarhq/ashlar/sanitize"
	"github.com/ashlarhq/ashlar/store"
)

// Posting views: a stored posting rendered with what it refers to (its
// job, the job's department tree, its locations, its board and the
// organization) into Ashby's list item, info and public-board shapes.

// postingRefs holds what a batch of postings refers to, loaded once.
type postingRefs struct {
	org     *store.Org
	baseURL string
	jobs    map[string]*ashby.Job
	depts   map[string]*ashby.Department
	locs    map[string]*ashby.Location
	boards  map[string]*ashby.JobBoardSettings
}

func (s *Service) postingRefs(ctx context.Context, q store.Q, org string, ps []*ashby.JobPosting) (*postingRefs, error) {
	o, err := s.DB.OrgByID(ctx, org)
	if err != nil {
		return nil, err
	}
	r := &postingRefs{org: o, baseURL: s.BaseURL, depts: map[string]*ashby.Department{}, locs: map[string]*ashby.Location{}, boards: map[string]*ashby.JobBoardSettings{}}
	r.jobs = map[string]*ashby.Job{}
	if err := r.addJobs(ctx, q, org, ps); err != nil {
		return nil, err
	}
	// Departments, locations and boards are few per organization; loading
	// them whole keeps department hierarchies one query away.
	depts, err := Departments.Find(ctx, q, org, store.Filter{IncludeArchived: true})
	if err != nil {
		return nil, err
	}
	for _, d := range depts {
		r.depts[d.ID] = d
	}
	locs, err := Locations.Find(ctx, q, org, store.Filter{IncludeArchived: true})
	if err != nil {
		return nil, err
	}
	for _, l := range locs {
		r.locs[l.ID] = l
	}
	boards, err := JobBoards.Find(ctx, q, org, store.Filter{IncludeArchived: true})
	if err != nil {
		return nil, err
	}
	for _, b := range boards {
		r.boards[b.ID] = b
	}
	return r, nil
}

// addJobs loads the jobs of more postings.
func (r *postingRefs) addJobs(ctx context.Context, q store.Q, org string, ps []*ashby.JobPosting) error {
	var ids []string
	for _, p := range ps {
		if r.jobs[p.JobID] == nil {
			ids = append(ids, p.JobID)
		}
	}
	jobs, err := Jobs.GetMany(ctx, q, org, ids)
	if err != nil {
		return err
	}
	maps.Copy(r.jobs, jobs)
	return nil
}

func (r *postingRefs) job(p *ashby.JobPosting) *ashby.Job {
	if j := r.jobs[p.JobID]; j != nil {
		return j
	}
	return &ashby.Job{ID: p.JobID}
}

func deptName(d *ashby.Department) string {
	if d.ExternalName != "" {
		return d.ExternalName
	}
	return d.Name
}

// teams returns the department hierarchy of a posting's job, outermost
// first: Ashby's departmentName is the top of it, teamName the job's own.
func (r *postingRefs) teams(p *ashby.JobPosting) []string {
	var out []string
	seen := map[string]bool{}
	for id := r.job(p).DepartmentID; id != "" && !seen[id]; {
		seen[id] = true
		d := r.depts[id]
		if d == nil {
			break
		}
		out = append([]string{deptName(d)}, out...)
		id = d.ParentID
	}
	return out
}

func locName(l *ashby.Location) string {
	if l == nil {
		return ""
	}
	if l.ExternalName != "" {
		return l.ExternalName
	}
	return l.Name
}

func (r *postingRefs) board(p *ashby.JobPosting) *ashby.JobBoardSettings {
	if b := r.boards[p.JobBoardID]; b != nil {
		return b
	}
	return &ashby.JobBoardSettings{ID: p.JobBoardID}
}

// Links: the careers site of the posting's board.
func (r *postingRefs) jobURL(p *ashby.JobPosting) string {
	return r.baseURL + "/jobs/" + r.board(p).Name + "/" + p.ID
}

func (r *postingRefs) applyURL(p *ashby.JobPosting) string { return r.jobURL(p) + "/application" }

// tiers is the posting's compensation: its own, else its job's.
func (r *postingRefs) tiers(p *ashby.JobPosting) []ashby.CompensationTier {
	if p.Compensation != nil {
		return p.Compensation.CompensationTiers
	}
	if j := r.job(p); j.Compensation != nil {
		return j.Compensation.CompensationTiers
	}
	return nil
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (r *postingRefs) listItem(p *ashby.JobPosting) ashby.JobPostingListItem {
	teams := r.teams(p)
	dept, team := "", ""
	if len(teams) > 0 {
		dept, team = teams[0], teams[len(teams)-1]
	}
	secondary := p.SecondaryLocationIDs
	if secondary == nil {
		secondary = []string{}
	}
	it := ashby.JobPostingListItem{ID: p.ID, Title: p.Title, JobID: p.JobID, DepartmentName: dept, TeamName: team,
		LocationName: locName(r.locs[p.PrimaryLocationID]), LocationIDs: ashby.PostingLocationIDs{PrimaryLocationID: p.PrimaryLocationID, SecondaryLocationIDs: secondary},
		WorkplaceType: p.WorkplaceType, EmploymentType: p.EmploymentType, IsListed: p.IsListed, Status: p.Status,
		ApplicationDeadline: p.ApplicationDeadline, ApplyLink: r.applyURL(p),
		CompensationTierSummary: strPtr(compensation.TiersSummary(r.tiers(p))), ShouldDisplayCompensationOnJobBoard: p.ShouldDisplayCompensationOnJobBoard,
		UpdatedAt: p.UpdatedAt}
	if p.Status == ashby.PostingPublished && p.PublishedAt != nil {
		d := p.PublishedAt.Format("2006-01-02")
		it.PublishedDate = &d
	}
	if !r.board(p).IsInternal {
		it.ExternalLink = strPtr(r.jobURL(p))
	}
	return it
}

// descriptionParts splits the description: the board's opening and
// closing (unless the posting suppresses them) around the posting's body.
func (r *postingRefs) descriptionParts(p *ashby.JobPosting) ashby.DescriptionParts {
	b := r.board(p)
	parts := ashby.DescriptionParts{DescriptionBody: ashby.DescriptionPart{HTML: p.DescriptionHTML, Plain: sanitize.PlainText(p.DescriptionHTML)}}
	if b.DescriptionOpeningHTML != "" && !p.SuppressDescriptionOpening {
		parts.DescriptionOpening = &ashby.DescriptionPart{HTML: b.DescriptionOpeningHTML, Plain: sanitize.PlainText(b.DescriptionOpeningHTML)}
	}
	if b.DescriptionClosingHTML != "" && !p.SuppressDescriptionClosing {
		parts.DescriptionClosing = &ashby.DescriptionPart{HTML: b.DescriptionClosingHTML, Plain: sanitize.PlainText(b.DescriptionClosingHTML)}
	}
	return parts
}

func joinParts(parts ashby.DescriptionParts) (html, plain string) {
	var hs, ps []string
	for _, pt := range []*ashby.DescriptionPart{parts.DescriptionOpening, &parts.DescriptionBody, parts.DescriptionClosing} {
		if pt != nil && pt.HTML != "" {
			hs = append(hs, pt.HTML)
			ps = append(ps, pt.Plain)
		}
	}
	return strings.Join(hs, ""), strings.Join(ps, "\n\n")
}

func (r *postingRefs) isRemote(p *ashby.JobPosting) bool {
	if p.WorkplaceType == "Remote" {
		return true
	}
	l := r.locs[p.PrimaryLocationID]
	return l != nil && l.IsRemote && p.WorkplaceType == ""
}

var ldEmployment = map[string]string{"FullTime": "FULL_TIME", "PartTime": "PART_TIME", "Contract": "CONTRACTOR", "Temporary": "TEMPORARY", "Intern": "INTERN"}

var ldUnit = map[string]string{"1 HOUR": "HOUR", "1 DAY": "DAY", "1 WEEK": "WEEK", "1 MONTH": "MONTH", "1 YEAR": "YEAR"}

func (r *postingRefs) linkedData(p *ashby.JobPosting, descHTML string) ashby.LinkedData {
	ld := ashby.LinkedData{Context: "https://schema.org/", Type: "JobPosting", Title: p.Title, Description: descHTML,
		Identifier:         ashby.LDIdentifier{Type: "PropertyValue", Name: p.Title, Value: p.ID},
		HiringOrganization: ashby.LDOrganization{Type: "Organization", Name: r.org.Name, SameAs: r.baseURL + "/jobs/" + r.board(p).Name, Logo: r.board(p).Theme.LogoURL},
		EmploymentType:     ldEmployment[p.EmploymentType]}
	if p.PublishedAt != nil {
		ld.DatePosted = p.PublishedAt.Format("2006-01-02")
	}
	if p.ApplicationDeadline != nil {
		ld.ValidThrough = p.ApplicationDeadline.String()
	}
	for _, id := range append([]string{p.PrimaryLocationID}, p.SecondaryLocationIDs...) {
		l := r.locs[id]
		if l == nil {
			continue
		}
		a := ashby.LDAddress{Type: "PostalAddress", AddressLocality: l.Name}
		if l.Address != nil {
			pa := l.Address.PostalAddress
			a = ashby.LDAddress{Type: "PostalAddress", AddressLocality: pa.AddressLocality, AddressRegion: pa.AddressRegion,
				AddressCountry: pa.AddressCountry, PostalCode: pa.PostalCode, StreetAddress: pa.StreetAddress}
		}
		if ld.JobLocation == nil {
			ld.JobLocation = &ashby.LDPlace{Type: "Place", Address: a}
		}
		if r.isRemote(p) && a.AddressCountry != "" {
			ld.ApplicantLocation = append(ld.ApplicantLocation, ashby.LDAdministrative{Type: "Country", Name: a.AddressCountry})
		}
	}
	if r.isRemote(p) {
		ld.JobLocationType = "TELECOMMUTE"
	}
	if p.ShouldDisplayCompensationOnJobBoard {
		for _, c := range compensation.SummaryComponents(r.tiers(p)) {
			if c.CompensationType == "Salary" && c.CurrencyCode != nil && (c.MinValue != nil || c.MaxValue != nil) && ldUnit[c.Interval] != "" {
				ld.BaseSalary = &ashby.LDMonetaryAmount{Type: "MonetaryAmount", Currency: *c.CurrencyCode,
					Value: ashby.LDQuantitative{Type: "QuantitativeValue", MinValue: c.MinValue, MaxValue: c.MaxValue, UnitText: ldUnit[c.Interval]}}
				break
			}
		}
	}
	return ld
}

func (r *postingRefs) compensation(p *ashby.JobPosting) ashby.PostingCompensation {
	tiers := r.tiers(p)
	if tiers == nil {
		tiers = []ashby.CompensationTier{}
	}
	return ashby.PostingCompensation{CompensationTierSummary: strPtr(compensation.TiersSummary(tiers)),
		SummaryComponents: compensation.SummaryComponents(tiers), CompensationTiers: tiers,
		ShouldDisplayCompensationOnJobBoard: p.ShouldDisplayCompensationOnJobBoard}
}

func (r *postingRefs) address(p *ashby.JobPosting) *ashby.Address {
	if l := r.locs[p.PrimaryLocationID]; l != nil && l.Address != nil {
		a := *l.Address
		return &a
	}
	return nil
}

func (r *postingRefs) info(p *ashby.JobPosting, surveys []any) ashby.JobPostingInfo {
	parts := r.descriptionParts(p)
	html, plain := joinParts(parts)
	// One line, as Ashby's: block elements' text separated by spaces.
	social := strings.Join(strings.Fields(sanitize.PlainText(p.DescriptionHTML)), " ")
	if utf8.RuneCountInString(social) > 200 {
		social = string([]rune(social)[:197]) + "…"
	}
	if surveys == nil {
		surveys = []any{}
	}
	teams := r.teams(p)
	if teams == nil {
		teams = []string{}
	}
	form := p.ApplicationForm
	if form.Sections == nil {
		form.Sections = []ashby.FormSection{}
	}
	return ashby.JobPostingInfo{JobPostingListItem: r.listItem(p), DescriptionPlain: plain, DescriptionHTML: html,
		DescriptionSocial: social, DescriptionParts: parts, TeamNameHierarchy: teams, LinkedData: r.linkedData(p, html),
		Address: r.address(p), IsRemote: r.isRemote(p), ApplicationFormDefinition: form, SurveyFormDefinitions: surveys,
		SuppressDescriptionOpening: p.SuppressDescriptionOpening, SuppressDescriptionClosing: p.SuppressDescriptionClosing,
		Compensation: r.compensation(p)}
}

func publicAddress(l *ashby.Location) ashby.PublicPostalAddress {
	if l == nil {
		return ashby.PublicPostalAddress{}
	}
	if l.Address == nil {
		return ashby.PublicPostalAddress{AddressLocality: l.Name}
	}
	pa := l.Address.PostalAddress
	return ashby.PublicPostalAddress{AddressLocality: pa.AddressLocality, AddressRegion: pa.AddressRegion, AddressCountry: pa.AddressCountry}
}

// Public renders a posting for the public posting API (https://developers.ashbyhq.com/docs/public-job-posting-api).
func (r *postingRefs) public(p *ashby.JobPosting, includeCompensation bool) ashby.PublicJob {
	it := r.listItem(p)
	html, plain := joinParts(r.descriptionParts(p))
	j := ashby.PublicJob{ID: p.ID, Title: p.Title, Department: it.DepartmentName, Team: it.TeamName, EmploymentType: p.EmploymentType,
		Location: it.LocationName, SecondaryLocations: []ashby.PublicSecondaryLocation{}, IsRemote: r.isRemote(p), WorkplaceType: p.WorkplaceType,
		IsListed: p.IsListed, JobURL: r.jobURL(p), ApplyURL: r.applyURL(p), DescriptionHTML: html, DescriptionPlain: plain,
		ShouldDisplayCompensationOnJobPostings: p.ShouldDisplayCompensationOnJobBoard}
	if p.PublishedAt != nil {
		// Ashby writes the offset as +00:00 here, unlike the RPC API's Z.
		j.PublishedAt = p.PublishedAt.UTC().Format("2006-01-02T15:04:05.000-07:00")
	}
	if l := r.locs[p.PrimaryLocationID]; l != nil {
		j.Address = &ashby.PublicAddress{PostalAddress: publicAddress(l)}
	}
	for _, id := range p.SecondaryLocationIDs {
		if l := r.locs[id]; l != nil {
			j.SecondaryLocations = append(j.SecondaryLocations, ashby.PublicSecondaryLocation{Location: locName(l), Address: publicAddress(l)})
		}
	}
	if includeCompensation {
		tiers := r.tiers(p)
		if tiers == nil || !p.ShouldDisplayCompensationOnJobBoard {
			// A posting that does not display its compensation does not
			// publish it through the public API either.
			tiers = []ashby.CompensationTier{}
		}
		j.Compensation = &ashby.PublicCompensation{CompensationTierSummary: strPtr(compensation.TiersSummary(tiers)),
			ScrapeableCompensationSalarySummary: strPtr(compensation.SalarySummary(tiers)),
			CompensationTiers:                   tiers, SummaryComponents: compensation.SummaryComponents(tiers)}
	}
	return j
}

// publicNow reports whether a posting is on its public board now: published,
// listed, its job open and its application deadline not passed.
func (r *postingRefs) publicNow(p *ashby.JobPosting, now time.Time) bool {
	if p.Status != ashby.PostingPublished || !p.IsListed || r.job(p).Status != ashby.JobOpen {
		return false
	}
	return p.ApplicationDeadline == nil || p.ApplicationDeadline.After(now)
}
