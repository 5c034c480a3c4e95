package api

import (
	"context"
	"errors"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/store"
)

// Opening custom field values live on the opening's latest version, as in
// Ashby; setting one makes a new version authored by the caller.
func init() {
	RegisterCustomFieldTarget("Opening", func(ctx context.Context, s *Service, org, id string, fn CustomFieldEdit) error {
		c, ok := rpc.CallFrom(ctx)
		if !ok || c.Org() != org {
			return errors.New("opening custom field values are set within an API call")
		}
		_, err := s.changeOpening(ctx, c, id, func(tx *store.Tx, o *ashby.Opening, v *ashby.OpeningVersion) error {
			if v.CustomFields == nil {
				v.CustomFields = []ashby.CustomFieldValue{}
			}
			return fn(tx, &v.CustomFields)
		})
		return err
	})
}
