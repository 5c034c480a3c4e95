package api

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/store/storetest"
)

// Keys are cached, but a revoked key is refused on the very next
// request, whichever process revoked it: here two services on two
// handles of one database, as two server processes.
func TestRevokedKeyIsRefusedAtOnceWhileCached(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine.String(), func(t *testing.T) {
			ctx := context.Background()
			quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
			dbA, dbB := storetest.OpenTwo(t, engine)
			a, b := New(dbA, "http://a", quiet), New(dbB, "http://b", quiet)
			org, err := a.CreateOrg(ctx, "keys", "Keys")
			if err != nil {
				t.Fatal(err)
			}
			keys := map[string]*store.APIKey{}
			secrets := map[string]string{}
			for _, name := range []string{"revoked here", "revoked there", "kept"} {
				err := dbA.Write(ctx, func(tx *store.Tx) error {
					k, secret, err := tx.CreateAPIKey(ctx, org.ID, name, []ashby.Permission{ashby.CandidatesRead}, "")
					keys[name], secrets[name] = k, secret
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			for range 3 { // warm both caches
				for _, s := range []*Service{a, b} {
					for name, secret := range secrets {
						if _, err := s.Authenticate(ctx, secret); err != nil {
							t.Fatalf("%s: %v", name, err)
						}
					}
				}
			}
			revoke := func(s *Service, name string) {
				t.Helper()
				if err := s.DB.Write(ctx, func(tx *store.Tx) error { return tx.RevokeAPIKey(ctx, org.ID, keys[name].ID) }); err != nil {
					t.Fatal(err)
				}
			}
			revoke(a, "revoked here")
			revoke(b, "revoked there")
			for _, s := range []*Service{a, b} {
				for _, name := range []string{"revoked here", "revoked there"} {
					if _, err := s.Authenticate(ctx, secrets[name]); !errors.Is(err, rpc.ErrUnknownKey) {
						t.Errorf("service %s, key %q after revocation: %v, want ErrUnknownKey", s.BaseURL, name, err)
					}
				}
				p, err := s.Authenticate(ctx, secrets["kept"])
				if err != nil || p.KeyID != keys["kept"].ID || p.OrgID != org.ID {
					t.Errorf("service %s, the key not revoked: %+v, %v", s.BaseURL, p, err)
				}
			}
			if _, err := a.Authenticate(ctx, "ashlar_not-a-key"); !errors.Is(err, rpc.ErrUnknownKey) {
				t.Errorf("unknown key: %v", err)
			}
		})
	}
}
