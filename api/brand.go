package api

import (
	"context"
	"errors"
	"strings"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/store"
)

// Brands: the names and hosted job page slugs jobs can be published
// under. Ashby edits them in its web app; Ashlar adds brand.create.

func init() {
	register((*Service).brandEndpoints)
}

// Brands: Unique = hosted jobs page slug.
var Brands = store.Kind[ashby.Brand]{Name: "brand", Index: func(b *ashby.Brand) store.Index {
	return store.Index{ID: b.ID, Unique: lc(b.HostedJobsPageSlug), Search: lc(b.Name)}
}}

func (s *Service) brandEndpoints() []*rpc.Endpoint {
	return []*rpc.Endpoint{
		rpc.List[ashby.Brand](rpc.Spec{Name: "brand.list", Permission: ashby.OrganizationRead, Summary: "List the organization's brands."}, s.brandList),
		rpc.Object(rpc.Spec{Name: "brand.create", Permission: ashby.OrganizationWrite, Extension: true, Summary: "Create a brand (Ashby does this in its web app)."}, s.brandCreate),
	}
}

type brandListRequest struct {
	rpc.ListParams
}

func (s *Service) brandList(ctx context.Context, c *rpc.Call, req *brandListRequest) (*rpc.Page, error) {
	if err := s.ensureOrgDefaults(ctx, c.Org()); err != nil {
		return nil, err
	}
	spec := listSpec(c, Brands.Name, rpc.SyncParams{ListParams: req.ListParams})
	spec.NoSync = true // Ashby pages brand.list but offers no sync token
	return s.listPage(ctx, spec)
}

type brandCreateRequest struct {
	Name               string `json:"name" required:"true"`
	HostedJobsPageSlug string `json:"hostedJobsPageSlug" required:"true" doc:"Lower-case letters, digits and dashes; unique in the organization."`
}

func (s *Service) brandCreate(ctx context.Context, c *rpc.Call, req *brandCreateRequest) (rpc.Result[ashby.Brand], error) {
	slug := strings.TrimSpace(req.HostedJobsPageSlug)
	if !store.ValidSlug(slug) {
		return rpc.Result[ashby.Brand]{}, ashby.InvalidInput("hostedJobsPageSlug", "hostedJobsPageSlug must be 1–63 lower-case letters, digits and dashes, starting with a letter or digit")
	}
	b := &ashby.Brand{ID: ashby.NewID(), Name: strings.TrimSpace(req.Name), HostedJobsPageSlug: slug}
	if err := s.ensureOrgDefaults(ctx, c.Org()); err != nil {
		return rpc.Result[ashby.Brand]{}, err
	}
	err := s.write(ctx, func(tx *store.Tx) error { return Brands.Put(ctx, tx, c.Org(), b) })
	if errors.Is(err, store.ErrDuplicate) {
		return rpc.Result[ashby.Brand]{}, ashby.Errorf("brand_already_exists", "A brand with hostedJobsPageSlug %q already exists", slug)
	}
	if err != nil {
		return rpc.Result[ashby.Brand]{}, err
	}
	return rpc.Value(b), nil
}
