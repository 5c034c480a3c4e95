package api

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/store"
)

// Defaults a new organization gets for offers, openings and hiring teams:
// the hiring team roles, opening close reasons, one brand and the offer
// form. They are created with the organization (OnBootstrap). An
// organization created before a default existed gets it the first time an
// endpoint needs it, so that upgrading Ashlar needs no data migration.

type orgDefault struct {
	name   string
	exists func(ctx context.Context, q store.Q, org string) (bool, error)
	create func(ctx context.Context, tx *store.Tx, org *store.Org) error
}

func defaultExistsIn[T any](k store.Kind[T]) func(ctx context.Context, q store.Q, org string) (bool, error) {
	return func(ctx context.Context, q store.Q, org string) (bool, error) {
		vs, err := k.Find(ctx, q, org, store.Filter{IncludeArchived: true, Limit: 1})
		return len(vs) > 0, err
	}
}

var orgDefaults = []orgDefault{
	{"hiring team roles", defaultExistsIn(HiringTeamRoles), func(ctx context.Context, tx *store.Tx, org *store.Org) error {
		return bootstrapHiringTeamRoles(ctx, tx, org.ID)
	}},
	{"close reasons", defaultExistsIn(CloseReasons), func(ctx context.Context, tx *store.Tx, org *store.Org) error {
		return bootstrapCloseReasons(ctx, tx, org.ID)
	}},
	{"brand", defaultExistsIn(Brands), func(ctx context.Context, tx *store.Tx, org *store.Org) error {
		return Brands.Put(ctx, tx, org.ID, &ashby.Brand{ID: ashby.NewID(), Name: org.Name, HostedJobsPageSlug: org.Slug})
	}},
	{"offer form", defaultExistsIn(OfferForms), func(ctx context.Context, tx *store.Tx, org *store.Org) error {
		return OfferForms.Put(ctx, tx, org.ID, defaultOfferForm())
	}},
}

func init() {
	OnBootstrap(func(ctx context.Context, s *Service, tx *store.Tx, org *store.Org) error {
		for _, d := range orgDefaults {
			if err := d.create(ctx, tx, org); err != nil {
				return fmt.Errorf("default %s: %w", d.name, err)
			}
		}
		tx.AfterCommit(func() { defaultsDone.Store(org.ID, true) })
		return nil
	})
}

// defaultsDone remembers organizations known to have every default; the
// defaults cannot be deleted, so the answer never goes stale.
var defaultsDone sync.Map

// ensureOrgDefaults creates whatever default the organization lacks.
func (s *Service) ensureOrgDefaults(ctx context.Context, org string) error {
	if _, ok := defaultsDone.Load(org); ok {
		return nil
	}
	var missing []orgDefault
	for _, d := range orgDefaults {
		ok, err := d.exists(ctx, s.DB, org)
		if err != nil {
			return fmt.Errorf("check default %s: %w", d.name, err)
		}
		if !ok {
			missing = append(missing, d)
		}
	}
	if len(missing) > 0 {
		o, err := s.DB.OrgByID(ctx, org)
		if err != nil {
			return fmt.Errorf("load organization %s: %w", org, err)
		}
		create := func() error {
			return s.write(ctx, func(tx *store.Tx) error {
				for _, d := range missing {
					// Check again under the write lock: another request may
					// have created it since.
					if ok, err := d.exists(ctx, tx, org); err != nil || ok {
						if err != nil {
							return err
						}
						continue
					}
					if err := d.create(ctx, tx, o); err != nil {
						return fmt.Errorf("default %s: %w", d.name, err)
					}
				}
				return nil
			})
		}
		err = create()
		// Two PostgreSQL transactions can both find a default missing; the
		// loser hits the unique index and, retried, finds it present.
		if errors.Is(err, store.ErrDuplicate) {
			err = create()
		}
		if err != nil {
			return err
		}
	}
	defaultsDone.Store(org, true)
	return nil
}
