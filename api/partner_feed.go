package api

import (
	"context"
	"errors"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/partner"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/store"
)

// Dedicated partner job feeds (https://developers.ashbyhq.com/docs/dedicated-partner-job-feeds): the server's operator sets
// up a feed per job-distribution partner (`ashlar partner feed create`);
// organizations opt in and out here. jobboard/feed.go serves the feeds.

func init() { register((*Service).jobFeedEndpoints) }

func (s *Service) jobFeedEndpoints() []*rpc.Endpoint {
	return []*rpc.Endpoint{
		rpc.Array[ashby.JobFeed](rpc.Spec{Name: "jobFeed.list", Permission: ashby.JobsRead, Extension: true,
			Summary: "The job-distribution partners' feeds this server offers, and whether the organization shares its postings with each."}, s.jobFeedList),
		rpc.Object(rpc.Spec{Name: "jobFeed.optIn", Permission: ashby.JobsWrite, Extension: true,
			Summary: "Share every published posting of the organization with a partner's feed."}, s.jobFeedOptIn),
		rpc.Object(rpc.Spec{Name: "jobFeed.optOut", Permission: ashby.JobsWrite, Extension: true,
			Summary: "Stop sharing the organization's postings with a partner's feed; they leave the feed at once."}, s.jobFeedOptOut),
	}
}

type jobFeedListRequest struct{}

func feedView(f *partner.Feed, optIns map[string]time.Time) ashby.JobFeed {
	v := ashby.JobFeed{ID: f.ID, Name: f.Name, Title: f.Title}
	if at, ok := optIns[f.ID]; ok {
		t := ashby.NewTime(at)
		v.OptedIn, v.OptedInAt = true, &t
	}
	return v
}

func (s *Service) jobFeedList(ctx context.Context, c *rpc.Call, _ *jobFeedListRequest) (*rpc.Page, error) {
	feeds, err := partner.Feeds(ctx, s.DB)
	if err != nil {
		return nil, err
	}
	optIns, err := partner.OptIns(ctx, s.DB, c.Org())
	if err != nil {
		return nil, err
	}
	out := make([]ashby.JobFeed, len(feeds))
	for i, f := range feeds {
		out[i] = feedView(f, optIns)
	}
	return items(out), nil
}

type jobFeedIDRequest struct {
	JobFeedID ashby.ID `json:"jobFeedId" required:"true"`
}

func (s *Service) jobFeedOpt(ctx context.Context, c *rpc.Call, id string, in bool) (rpc.Result[ashby.JobFeed], error) {
	var f *partner.Feed
	var optIns map[string]time.Time
	err := s.write(ctx, func(tx *store.Tx) error {
		var err error
		if f, err = partner.FeedByID(ctx, tx, id); err != nil {
			return notFound(err, "job_feed", "Job feed not found")
		}
		if in {
			_, err = partner.OptIn(ctx, tx, f.ID, c.Org())
		} else {
			_, err = partner.OptOut(ctx, tx, f.ID, c.Org())
		}
		if err != nil {
			return err
		}
		optIns, err = partner.OptIns(ctx, tx, c.Org())
		return err
	})
	if err != nil {
		return rpc.Result[ashby.JobFeed]{}, err
	}
	v := feedView(f, optIns)
	return rpc.Value(&v), nil
}

func (s *Service) jobFeedOptIn(ctx context.Context, c *rpc.Call, req *jobFeedIDRequest) (rpc.Result[ashby.JobFeed], error) {
	return s.jobFeedOpt(ctx, c, string(req.JobFeedID), true)
}

func (s *Service) jobFeedOptOut(ctx context.Context, c *rpc.Call, req *jobFeedIDRequest) (rpc.Result[ashby.JobFeed], error) {
	return s.jobFeedOpt(ctx, c, string(req.JobFeedID), false)
}

// FeedJobs renders an organization's postings for partner feeds: every
// posting published on one of its external boards, listed, of an open
// job, whose application deadline has not passed (what the organization
// shows the public), in creation order. It also returns when the first
// deadline among them passes (zero: none), after which they must be
// rendered again.
//
// Unlisted postings are left out although Ashby's page says "all their
// published postings": an unlisted posting is one its organization
// chose not to advertise (reachable by link only), and syndicating it
// to job sites would advertise it. Internal boards' postings are for
// employees and are left out too.
func (s *Service) FeedJobs(ctx context.Context, org string) ([]ashby.FeedJob, time.Time, error) {
	ps, err := JobPostings.Find(ctx, s.DB, org, store.Filter{State: []string{ashby.PostingPublished}})
	if err != nil {
		return nil, time.Time{}, err
	}
	refs, err := s.postingRefs(ctx, s.DB, org, ps)
	if errors.Is(err, store.ErrNotFound) {
		return nil, time.Time{}, nil // the organization is gone
	}
	if err != nil {
		return nil, time.Time{}, err
	}
	now := s.DB.Now()
	var out []ashby.FeedJob
	var stale time.Time
	for _, p := range ps {
		if !refs.publicNow(p, now) || refs.board(p).IsInternal {
			continue
		}
		if d := p.ApplicationDeadline; d != nil && (stale.IsZero() || d.Before(stale)) {
			stale = d.Time
		}
		out = append(out, refs.feedJob(p))
	}
	return out, stale, nil
}

// feedJob renders a posting in the feed schema (https://developers.ashbyhq.com/docs/dedicated-partner-job-feeds).
func (r *postingRefs) feedJob(p *ashby.JobPosting) ashby.FeedJob {
	it := r.listItem(p)
	html, plain := joinParts(r.descriptionParts(p))
	j := ashby.FeedJob{ID: p.ID, OrganizationID: r.org.ID, OrganizationName: r.org.Name, Title: p.Title, DepartmentName: it.DepartmentName,
		TeamName: it.TeamName, DescriptionPlain: ashby.CDATA(plain), DescriptionHTML: ashby.CDATA(html), EmploymentType: p.EmploymentType,
		ExternalLink: r.applyURL(p), UpdatedAt: p.UpdatedAt.UTC().Format("2006-01-02T15:04:05.000Z"), Locations: []ashby.FeedLocation{}}
	if j.EmploymentType == "" {
		j.EmploymentType = r.job(p).EmploymentType
	}
	if p.PublishedAt != nil {
		j.PublishedAt = p.PublishedAt.UTC().Format("2006-01-02T15:04:05.000Z")
	}
	remote := r.isRemote(p)
	for i, id := range append([]string{p.PrimaryLocationID}, p.SecondaryLocationIDs...) {
		l := r.locs[id]
		if l == nil {
			continue
		}
		fl := ashby.FeedLocation{LocationName: locName(l), IsRemote: l.IsRemote || (i == 0 && remote), IsPrimaryLocation: i == 0}
		if l.Address != nil {
			pa := l.Address.PostalAddress
			fl.Address = &ashby.FeedAddress{PostalAddress: ashby.FeedPostalAddress{AddressLocality: pa.AddressLocality, AddressRegion: pa.AddressRegion,
				AddressCountry: pa.AddressCountry, PostalCode: pa.PostalCode, StreetAddress: pa.StreetAddress}}
		}
		j.Locations = append(j.Locations, fl)
	}
	// Compensation goes out only where the posting displays it, as in the
	// public posting API: a posting that hides it does not publish it.
	if p.ShouldDisplayCompensationOnJobBoard {
		for _, t := range r.tiers(p) {
			ft := ashby.FeedCompensationTier{ID: t.ID, TierSummary: t.TierSummary, Components: []ashby.FeedCompensationComponent{}}
			if t.Title != nil {
				ft.Title = *t.Title
			}
			if t.AdditionalInformation != nil {
				ft.AdditionalInformation = *t.AdditionalInformation
			}
			for _, c := range t.Components {
				fc := ashby.FeedCompensationComponent{ID: c.ID, CompensationType: c.CompensationType, Interval: c.Interval, MinValue: c.MinValue, MaxValue: c.MaxValue, Summary: c.Summary}
				if c.CurrencyCode != nil {
					fc.CurrencyCode = *c.CurrencyCode
				}
				if c.Label != nil {
					fc.Label = *c.Label
				}
				ft.Components = append(ft.Components, fc)
			}
			j.CompensationTiers = append(j.CompensationTiers, ft)
		}
	}
	return j
}
