package main

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/ashlarhq/ashlar/client"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/testserver"
)

// Two server processes on one database, each with warm caches (API keys,
// list pages): what one acknowledges, the other's very next request
// shows. A candidate created through B is on A's next candidate.list
// page; a key revoked through B is refused by A's next request.
func TestCachesAcrossProcesses(t *testing.T) {
	testserver.Engines(t, func(t *testing.T, engine store.Engine) {
		a := testserver.Start(t, engine, testserver.Options{})
		b := testserver.Start(t, engine, testserver.Options{DSN: a.DSN})
		slug, admin := a.NewOrg()
		reader := a.Key(slug, "candidatesRead")
		ca, cb, ra := a.Client(admin), b.Client(admin), a.Client(reader)
		ctx := context.Background()
		names := func() map[string]bool {
			t.Helper()
			out := map[string]bool{}
			cursor := ""
			for {
				p, err := ra.ListPage(ctx, "candidate.list", map[string]any{"limit": 3}, cursor, "")
				if err != nil {
					t.Fatalf("candidate.list on A: %v", err)
				}
				for _, r := range p.Results {
					var c struct {
						Name string `json:"name"`
					}
					json.Unmarshal(r, &c)
					out[c.Name] = true
				}
				if !p.MoreDataAvailable {
					return out
				}
				cursor = p.NextCursor
			}
		}
		for i := range 4 {
			must(t, ca, "candidate.create", map[string]any{"name": fmt.Sprint("Before ", i)}, nil)
		}
		for range 3 { // warm A's caches of the reader's key and of the pages
			if got := names(); len(got) != 4 {
				t.Fatalf("A lists %d candidates, want 4", len(got))
			}
		}
		for i := range 5 {
			name := fmt.Sprint("From B ", i)
			must(t, cb, "candidate.create", map[string]any{"name": name}, nil)
			if got := names(); !got[name] || len(got) != 5+i {
				t.Fatalf("after B acknowledged %q, A lists %v", name, got)
			}
		}

		var keys []struct {
			ID    string `json:"id"`
			Title string `json:"title"`
		}
		must(t, cb, "apiKey.list", nil, &keys)
		var readerID string
		for _, k := range keys {
			if k.Title == "test key candidatesRead" {
				readerID = k.ID
			}
		}
		if readerID == "" {
			t.Fatalf("apiKey.list on B does not show the reader's key: %+v", keys)
		}
		must(t, cb, "apiKey.revoke", map[string]any{"apiKeyId": readerID}, nil)
		_, err := ra.Call(ctx, "candidate.list", map[string]any{"limit": 3}, nil)
		if code := client.Code(err); code != "invalid_api_key" {
			t.Fatalf("A's next request with the key B revoked: %v, want invalid_api_key", err)
		}
		must(t, ca, "candidate.list", map[string]any{"limit": 3}, nil) // other keys still work
	})
}
