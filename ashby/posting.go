package ashby

// Job boards and job postings (https://developers.ashbyhq.com/reference/jobpostinginfo,
// https://developers.ashbyhq.com/docs/creating-a-custom-careers-page, https://developers.ashbyhq.com/docs/public-job-posting-api).

// JobBoard is jobBoard.list's item. Ashby's boards also have a public
// name (the jobs.ashbyhq.com/<name> slug); Ashlar keeps it beside the
// record, since Ashby's object does not carry it.
type JobBoard struct {
	ID         string `json:"id"`
	Title      string `json:"title"`
	IsInternal bool   `json:"isInternal"`
}

// Job posting statuses (jobPosting.setStatus; the status field of 2026-07).
const (
	PostingDraft     = "Draft"
	PostingPublished = "Published"
)

// JobPosting is Ashlar's stored posting: what the posting itself owns.
// Its API views (JobPostingListItem, JobPostingInfo, the public board's
// PublicJob) embed the names of its job's department and locations and
// the job's compensation, which change outside postings; they are
// rendered from this record and those on each read, so they are never
// stale. (The public board serves a precomputed snapshot; see jobboard.)
type JobPosting struct {
	ID                                  string           `json:"id"`
	JobID                               string           `json:"jobId"`
	JobBoardID                          string           `json:"jobBoardId"`
	Title                               string           `json:"title"`
	Status                              string           `json:"status"`
	IsListed                            bool             `json:"isListed"`
	DescriptionHTML                     string           `json:"descriptionHtml"`
	SuppressDescriptionOpening          bool             `json:"suppressDescriptionOpening"`
	SuppressDescriptionClosing          bool             `json:"suppressDescriptionClosing"`
	PrimaryLocationID                   string           `json:"primaryLocationId"`
	SecondaryLocationIDs                []string         `json:"secondaryLocationIds"`
	WorkplaceType                       string           `json:"workplaceType,omitempty"`
	EmploymentType                      string           `json:"employmentType"`
	Compensation                        *JobCompensation `json:"compensation,omitempty"`
	ShouldDisplayCompensationOnJobBoard bool             `json:"shouldDisplayCompensationOnJobBoard"`
	ApplicationForm                     FormDefinition   `json:"applicationFormDefinition"`
	SurveyFormDefinitionIDs             []string         `json:"surveyFormDefinitionIds"`
	ApplicationDeadline                 *Time            `json:"applicationDeadline,omitempty"`
	PublishedAt                         *Time            `json:"publishedAt,omitempty"`
	CreatedAt                           Time             `json:"createdAt"`
	UpdatedAt                           Time             `json:"updatedAt"`
}

// PostingLocationIDs is a posting's primary and secondary locations.
type PostingLocationIDs struct {
	PrimaryLocationID    string   `json:"primaryLocationId"`
	SecondaryLocationIDs []string `json:"secondaryLocationIds"`
}

// JobPostingListItem is jobPosting.list's item and the payload of the
// jobPosting* webhooks.
type JobPostingListItem struct {
	ID                                  string             `json:"id"`
	Title                               string             `json:"title"`
	JobID                               string             `json:"jobId"`
	DepartmentName                      string             `json:"departmentName"`
	TeamName                            string             `json:"teamName"`
	LocationName                        string             `json:"locationName"`
	LocationIDs                         PostingLocationIDs `json:"locationIds"`
	WorkplaceType                       string             `json:"workplaceType,omitempty" enum:"OnSite,Hybrid,Remote"`
	EmploymentType                      string             `json:"employmentType" enum:"FullTime,PartTime,Intern,Contract,Temporary"`
	IsListed                            bool               `json:"isListed"`
	Status                              string             `json:"status" enum:"Draft,Published"`
	PublishedDate                       *string            `json:"publishedDate"`
	ApplicationDeadline                 *Time              `json:"applicationDeadline,omitempty"`
	ExternalLink                        *string            `json:"externalLink"`
	ApplyLink                           string             `json:"applyLink"`
	CompensationTierSummary             *string            `json:"compensationTierSummary,omitempty"`
	ShouldDisplayCompensationOnJobBoard bool               `json:"shouldDisplayCompensationOnJobBoard"`
	UpdatedAt                           Time               `json:"updatedAt"`
}

// DescriptionPart is one part of a posting's description.
type DescriptionPart struct {
	HTML  string `json:"html"`
	Plain string `json:"plain"`
}

// DescriptionParts splits a description into the board's opening, the
// posting's body and the board's closing.
type DescriptionParts struct {
	// Absent (not null) when the board has none or the posting suppresses
	// it: Ashby's schema types the parts as objects.
	DescriptionOpening *DescriptionPart `json:"descriptionOpening,omitempty"`
	DescriptionBody    DescriptionPart  `json:"descriptionBody"`
	DescriptionClosing *DescriptionPart `json:"descriptionClosing,omitempty"`
}

// PostingCompensation is a posting's compensation as jobPosting.info
// shows it.
type PostingCompensation struct {
	CompensationTierSummary             *string                 `json:"compensationTierSummary,omitempty"`
	SummaryComponents                   []CompensationComponent `json:"summaryComponents"`
	CompensationTiers                   []CompensationTier      `json:"compensationTiers"`
	ShouldDisplayCompensationOnJobBoard bool                    `json:"shouldDisplayCompensationOnJobBoard"`
}

// JobPostingInfo is jobPosting.info's result.
type JobPostingInfo struct {
	JobPostingListItem
	DescriptionPlain            string              `json:"descriptionPlain"`
	DescriptionHTML             string              `json:"descriptionHtml"`
	DescriptionSocial           string              `json:"descriptionSocial,omitempty"`
	DescriptionParts            DescriptionParts    `json:"descriptionParts"`
	TeamNameHierarchy           []string            `json:"teamNameHierarchy"`
	LinkedData                  LinkedData          `json:"linkedData"`
	Address                     *Address            `json:"address,omitempty"`
	IsRemote                    bool                `json:"isRemote"`
	ApplicationFormDefinition   FormDefinition      `json:"applicationFormDefinition"`
	SurveyFormDefinitions       []any               `json:"surveyFormDefinitions"`
	SuppressDescriptionOpening  bool                `json:"suppressDescriptionOpening"`
	SuppressDescriptionClosing  bool                `json:"suppressDescriptionClosing"`
	Compensation                PostingCompensation `json:"compensation"`
	ApplicationLimitCalloutHTML string              `json:"applicationLimitCalloutHtml,omitempty"`
}

// LinkedData is schema.org JobPosting JSON-LD, for search engines.
type LinkedData struct {
	Context            string         `json:"@context"`
	Type               string         `json:"@type"`
	Title              string         `json:"title"`
	Description        string         `json:"description"`
	Identifier         LDIdentifier   `json:"identifier"`
	DatePosted         string         `json:"datePosted,omitempty"`
	ValidThrough       string         `json:"validThrough,omitempty"`
	HiringOrganization LDOrganization `json:"hiringOrganization"`
	// JobLocation is the primary location (one Place, as Ashby sends it).
	JobLocation       *LDPlace           `json:"jobLocation,omitempty"`
	JobLocationType   string             `json:"jobLocationType,omitempty"`
	EmploymentType    string             `json:"employmentType" enum:"FULL_TIME,PART_TIME,CONTRACTOR,TEMPORARY,INTERN"`
	BaseSalary        *LDMonetaryAmount  `json:"baseSalary,omitempty"`
	ApplicantLocation []LDAdministrative `json:"applicantLocationRequirements,omitempty"`
}

// LDIdentifier is schema.org PropertyValue.
type LDIdentifier struct {
	Type  string `json:"@type"`
	Name  string `json:"name"`
	Value string `json:"value"`
}

// LDOrganization is schema.org Organization.
type LDOrganization struct {
	Type   string `json:"@type"`
	Name   string `json:"name"`
	SameAs string `json:"sameAs,omitempty"`
	Logo   string `json:"logo,omitempty"`
}

// LDPlace is schema.org Place.
type LDPlace struct {
	Type    string    `json:"@type"`
	Address LDAddress `json:"address"`
}

// LDAddress is schema.org PostalAddress.
type LDAddress struct {
	Type            string `json:"@type"`
	AddressLocality string `json:"addressLocality,omitempty"`
	AddressRegion   string `json:"addressRegion,omitempty"`
	AddressCountry  string `json:"addressCountry,omitempty"`
	PostalCode      string `json:"postalCode,omitempty"`
	StreetAddress   string `json:"streetAddress,omitempty"`
}

// LDAdministrative is schema.org AdministrativeArea (remote postings'
// applicant location requirement).
type LDAdministrative struct {
	Type string `json:"@type"`
	Name string `json:"name"`
}

// LDMonetaryAmount is schema.org MonetaryAmount (a salary range).
type LDMonetaryAmount struct {
	Type     string         `json:"@type"`
	Currency string         `json:"currency"`
	Value    LDQuantitative `json:"value"`
}

// LDQuantitative is schema.org QuantitativeValue.
type LDQuantitative struct {
	Type     string   `json:"@type"`
	MinValue *float64 `json:"minValue,omitempty"`
	MaxValue *float64 `json:"maxValue,omitempty"`
	UnitText string   `json:"unitText,omitempty"`
}

// PublicPostalAddress is the posting API's address shape.
type PublicPostalAddress struct {
	AddressLocality string `json:"addressLocality,omitempty"`
	AddressRegion   string `json:"addressRegion,omitempty"`
	AddressCountry  string `json:"addressCountry,omitempty"`
}

// PublicSecondaryLocation is one of a public job's other locations.
type PublicSecondaryLocation struct {
	Location string              `json:"location"`
	Address  PublicPostalAddress `json:"address"`
}

// PublicAddress wraps a public postal address.
type PublicAddress struct {
	PostalAddress PublicPostalAddress `json:"postalAddress"`
}

// PublicCompensation is a public job's compensation (includeCompensation=true).
type PublicCompensation struct {
	CompensationTierSummary             *string                 `json:"compensationTierSummary"`
	ScrapeableCompensationSalarySummary *string                 `json:"scrapeableCompensationSalarySummary"`
	CompensationTiers                   []CompensationTier      `json:"compensationTiers"`
	SummaryComponents                   []CompensationComponent `json:"summaryComponents"`
}

// PublicJob is one job of the public posting API (https://developers.ashbyhq.com/docs/public-job-posting-api).
type PublicJob struct {
	ID                                     string                    `json:"id"`
	Title                                  string                    `json:"title"`
	Department                             string                    `json:"department"`
	Team                                   string                    `json:"team"`
	EmploymentType                         string                    `json:"employmentType"`
	Location                               string                    `json:"location"`
	SecondaryLocations                     []PublicSecondaryLocation `json:"secondaryLocations"`
	Address                                *PublicAddress            `json:"address,omitempty"`
	IsRemote                               bool                      `json:"isRemote"`
	WorkplaceType                          string                    `json:"workplaceType,omitempty"`
	IsListed                               bool                      `json:"isListed"`
	PublishedAt                            string                    `json:"publishedAt"`
	JobURL                                 string                    `json:"jobUrl"`
	ApplyURL                               string                    `json:"applyUrl"`
	DescriptionHTML                        string                    `json:"descriptionHtml"`
	DescriptionPlain                       string                    `json:"descriptionPlain"`
	ShouldDisplayCompensationOnJobPostings bool                      `json:"shouldDisplayCompensationOnJobPostings"`
	Compensation                           *PublicCompensation       `json:"compensation,omitempty"`
}

// PublicBoard is the posting API's response.
type PublicBoard struct {
	APIVersion string      `json:"apiVersion"`
	Jobs       []PublicJob `json:"jobs"`
}

// SourceTrackingLink attributes applications to a source (sourceTrackingLink.list).
type SourceTrackingLink struct {
	ID       string `json:"id"`
	Code     string `json:"code"`
	Enabled  bool   `json:"enabled"`
	SourceID string `json:"sourceId"`
	Link     string `json:"link"`
}

// UTMData is applicationForm.submit's utmData.
type UTMData struct {
	Source   string `json:"utm_source,omitempty"`
	Campaign string `json:"utm_campaign,omitempty"`
	Medium   string `json:"utm_medium,omitempty"`
	Term     string `json:"utm_term,omitempty"`
	Content  string `json:"utm_content,omitempty"`
}

// FormMessages tells a careers site whether a submission was blocked.
type FormMessages struct {
	Blocked                      bool   `json:"blocked"`
	BlockMessageForCandidateHTML string `json:"blockMessageForCandidateHtml,omitempty"`
}

// ApplicationFormSubmitResult is applicationForm.submit's result.
type ApplicationFormSubmitResult struct {
	SubmittedFormInstance SubmittedFormInstance `json:"submittedFormInstance"`
	FormMessages          FormMessages          `json:"formMessages"`
}

// JobBoardSettings is an Ashlar extension: a board with what Ashby keeps
// in its web app — the public name in careers-site and posting-API URLs,
// the colour and logo that theme the careers site, and the opening and
// closing paragraphs added to every posting's description.
type JobBoardSettings struct {
	ID                     string     `json:"id"`
	Title                  string     `json:"title"`
	IsInternal             bool       `json:"isInternal"`
	Name                   string     `json:"name"`
	Theme                  BoardTheme `json:"theme"`
	DescriptionOpeningHTML string     `json:"descriptionOpeningHtml,omitempty"`
	DescriptionClosingHTML string     `json:"descriptionClosingHtml,omitempty"`
	CareersURL             string     `json:"careersUrl"`
	PostingAPIURL          string     `json:"postingApiUrl"`
	CreatedAt              Time       `json:"createdAt"`
	UpdatedAt              Time       `json:"updatedAt"`
}

// BoardTheme themes a board's careers pages.
type BoardTheme struct {
	// PrimaryColor is a #rrggbb colour for headings, links and buttons.
	PrimaryColor string `json:"primaryColor,omitempty"`
	LogoURL      string `json:"logoUrl,omitempty" maxLength:"url"`
}
