package api

import (
	"context"
	"errors"
	"net/url"
	"regexp"
	"strings"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/store"
)

func init() { register((*Service).sourceTrackingEndpoints) }

// SourceTrackingLinks: Unique = code (lower-case); Archived = disabled.
// A link is the careers site URL with ?utm_source=CODE; applications
// arriving with that utm_source are credited to the link's source.
var SourceTrackingLinks = store.Kind[ashby.SourceTrackingLink]{Name: "source_tracking_link", Index: func(l *ashby.SourceTrackingLink) store.Index {
	return store.Index{ID: l.ID, Unique: lc(l.Code), Archived: !l.Enabled, Ref: l.SourceID}
}}

func (s *Service) sourceTrackingEndpoints() []*rpc.Endpoint {
	return []*rpc.Endpoint{
		rpc.List[ashby.SourceTrackingLink](rpc.Spec{Name: "sourceTrackingLink.list", Permission: ashby.HiringProcessMetadataRead, Summary: "List source tracking links (enabled ones unless includeDisabled)."}, s.sourceTrackingLinkList),
		rpc.Object(rpc.Spec{Name: "sourceTrackingLink.create", Permission: ashby.HiringProcessMetadataWrite, Extension: true, Summary: "Create a source tracking link for a source (Ashby does this in its web app)."}, s.sourceTrackingLinkCreate),
		rpc.Object(rpc.Spec{Name: "sourceTrackingLink.setEnabled", Permission: ashby.HiringProcessMetadataWrite, Extension: true, Summary: "Enable or disable a source tracking link (Ashby does this in its web app)."}, s.sourceTrackingLinkSetEnabled),
	}
}

type sourceTrackingLinkListRequest struct {
	IncludeDisabled bool `json:"includeDisabled,omitempty"`
}

func (s *Service) sourceTrackingLinkList(ctx context.Context, c *rpc.Call, req *sourceTrackingLinkListRequest) (*rpc.Page, error) {
	docs, err := SourceTrackingLinks.FindRaw(ctx, s.DB, c.Org(), store.Filter{IncludeArchived: req.IncludeDisabled})
	if err != nil {
		return nil, err
	}
	if docs == nil {
		docs = [][]byte{}
	}
	return &rpc.Page{Raw: docs}, nil
}

var codeRE = regexp.MustCompile(`^[A-Za-z0-9_-]{2,64}$`)

type sourceTrackingLinkCreateRequest struct {
	SourceID   ashby.ID `json:"sourceId" required:"true"`
	Code       string   `json:"code,omitempty" doc:"The utm_source value; letters, digits, - and _. Default: generated."`
	JobBoardID ashby.ID `json:"jobBoardId,omitempty" doc:"The board the link points at. Default: the primary external board."`
}

func (s *Service) sourceTrackingLinkCreate(ctx context.Context, c *rpc.Call, req *sourceTrackingLinkCreateRequest) (rpc.Result[ashby.SourceTrackingLink], error) {
	code := strings.TrimSpace(req.Code)
	if code == "" {
		code = strings.ReplaceAll(ashby.NewID()[:13], "-", "")
	}
	if !codeRE.MatchString(code) {
		return rpc.Result[ashby.SourceTrackingLink]{}, ashby.InvalidInput("code", "code must be 2–64 letters, digits, - or _")
	}
	var link *ashby.SourceTrackingLink
	err := s.write(ctx, func(tx *store.Tx) error {
		if _, err := mustExist(ctx, tx, Sources, c.Org(), string(req.SourceID), "source", "sourceId"); err != nil {
			return err
		}
		var board *ashby.JobBoardSettings
		var err error
		if req.JobBoardID != "" {
			board, err = mustExist(ctx, tx, JobBoards, c.Org(), string(req.JobBoardID), "job_board", "jobBoardId")
		} else {
			board, err = PrimaryBoard(ctx, tx, c.Org())
		}
		if err != nil {
			return err
		}
		link = &ashby.SourceTrackingLink{ID: ashby.NewID(), Code: code, Enabled: true, SourceID: string(req.SourceID),
			Link: s.BaseURL + "/jobs/" + board.Name + "?utm_source=" + url.QueryEscape(code)}
		err = SourceTrackingLinks.Put(ctx, tx, c.Org(), link)
		if errors.Is(err, store.ErrDuplicate) {
			return ashby.Errorf("source_tracking_link_code_taken", "The code %q is already used by another link", code)
		}
		return err
	})
	if err != nil {
		return rpc.Result[ashby.SourceTrackingLink]{}, err
	}
	return rpc.Value(link), nil
}

type sourceTrackingLinkSetEnabledRequest struct {
	SourceTrackingLinkID ashby.ID `json:"sourceTrackingLinkId" required:"true"`
	Enabled              *bool    `json:"enabled" required:"true"`
}

func (s *Service) sourceTrackingLinkSetEnabled(ctx context.Context, c *rpc.Call, req *sourceTrackingLinkSetEnabledRequest) (rpc.Result[ashby.SourceTrackingLink], error) {
	var link *ashby.SourceTrackingLink
	err := s.write(ctx, func(tx *store.Tx) error {
		var err error
		link, err = SourceTrackingLinks.Update(ctx, tx, c.Org(), string(req.SourceTrackingLinkID), func(l *ashby.SourceTrackingLink) error {
			l.Enabled = *req.Enabled
			return nil
		})
		return notFound(err, "source_tracking_link", "Source tracking link not found")
	})
	if err != nil {
		return rpc.Result[ashby.SourceTrackingLink]{}, err
	}
	return rpc.Value(link), nil
}

// submissionSource picks an application form submission's source: the
// enabled tracking link whose code is utm_source, else the source whose
// title is utm_source (case-insensitive), else the fallback source title
// ("Applied" for API submissions, "Careers Page" for the careers site).
func submissionSource(ctx context.Context, q store.Q, org string, utm *ashby.UTMData, fallback string) (string, error) {
	if utm != nil && strings.TrimSpace(utm.Source) != "" {
		code := lc(utm.Source)
		link, err := SourceTrackingLinks.FindOne(ctx, q, org, store.Filter{Unique: code})
		if err == nil {
			return link.SourceID, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return "", err
		}
		if src, err := Sources.FindOne(ctx, q, org, store.Filter{Search: code}); err == nil {
			return src.ID, nil
		} else if !errors.Is(err, store.ErrNotFound) {
			return "", err
		}
	}
	if fallback == "" {
		return "", nil
	}
	src, err := Sources.FindOne(ctx, q, org, store.Filter{Search: lc(fallback)})
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return src.ID, nil
}
