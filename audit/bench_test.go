package audit

import (
	"context"
	"strings"
	"testing"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/store/storetest"
)

// BenchmarkWrite measures a transaction updating one record of about
// 2 KB, without and with the audit log, on both engines:
//
//	go test ./audit -run '^$' -bench Write -benchtime 2000x
func BenchmarkWrite(b *testing.B) {
	for _, engine := range storetest.Engines {
		for _, audited := range []bool{false, true} {
			name := engine.String() + "/plain"
			if audited {
				name = engine.String() + "/audited"
			}
			b.Run(name, func(b *testing.B) {
				db := storetest.Open(b, engine)
				if audited {
					Attach(db)
				}
				ctx := context.Background()
				var org *store.Org
				if err := db.Write(ctx, func(tx *store.Tx) error {
					var err error
					org, err = tx.CreateOrg(ctx, strings.ToLower(storetest.Name("bench")), "")
					return err
				}); err != nil {
					b.Fatal(err)
				}
				g := &gadget{ID: ashby.NewID(), Title: "Widget", Manufacture: strings.Repeat("x", 2000), CreatedAt: ashby.Now()}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					g.Color = []string{"red", "blue"}[i%2]
					if err := db.Write(ctx, func(tx *store.Tx) error { return save(ctx, tx, org.ID, g) }); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
