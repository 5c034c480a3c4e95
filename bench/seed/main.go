// Command seed fills a database with an organization for the benchmarks:
// N candidates, each with an application to one of a few open jobs,
// written through the service code (validation, audit log, webhook
// events) in transactions of -batch candidates. It can be run again to
// top the organization up to N, and prints a new API key with every
// permission (also written to -key-file).
//
//	go run ./bench/seed -db /tmp/ashlar-bench.db -candidates 100000 -key-file /tmp/bench.key
//	go run ./bench/seed -db 'postgres://postgres@127.0.0.1:5432/test?sslmode=disable&search_path=bench' -candidates 100000
//
// Serve the database with `ashlar serve --db …` and drive it with
// bench/load.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"time"

	"github.com/ashlarhq/ashlar/api"
	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/server"
	"github.com/ashlarhq/ashlar/store"

	// The features that register migrations and organization defaults,
	// as in the ashlar binary, so that `ashlar serve` finds the
	// organization as it would have created it.
	_ "github.com/ashlarhq/ashlar/accounts"
	_ "github.com/ashlarhq/ashlar/careers"
	_ "github.com/ashlarhq/ashlar/files"
	_ "github.com/ashlarhq/ashlar/jobboard"
	_ "github.com/ashlarhq/ashlar/partner"
	_ "github.com/ashlarhq/ashlar/surveypage"
	_ "github.com/ashlarhq/ashlar/webapp"
	_ "github.com/ashlarhq/ashlar/webhook"
)

func main() {
	dsn := flag.String("db", "/tmp/ashlar-bench.db", "database DSN")
	slug := flag.String("org", "bench", "organization slug (created if missing)")
	n := flag.Int("candidates", 100000, "candidates the organization should have")
	jobs := flag.Int("jobs", 10, "open jobs the applications are spread over")
	batch := flag.Int("batch", 1000, "candidates per transaction")
	keyFile := flag.String("key-file", "", "write the new API key here too")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the seeding")
	flag.Parse()
	ctx := context.Background()

	db, err := store.Open(ctx, *dsn)
	check(err)
	defer db.Close()
	_, err = db.Migrate(ctx)
	check(err)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := server.New(db, server.Config{BaseURL: "http://bench", Logger: quiet})
	svc := srv.Service

	org, err := db.OrgBySlug(ctx, *slug)
	if errors.Is(err, store.ErrNotFound) {
		org, err = svc.CreateOrg(ctx, *slug, "Bench")
	}
	check(err)
	call := &rpc.Call{Principal: &rpc.Principal{OrgID: org.ID, KeyTitle: "bench seed", Permissions: ashby.AllPermissions}, RequestID: "bench-seed"}
	openJobs := ensureJobs(ctx, srv.API, call, *jobs)
	admin, err := api.Users.Find(ctx, db, org.ID, store.Filter{Limit: 1})
	check(err)

	have, err := api.Candidates.Count(ctx, db, org.ID, store.Filter{IncludeArchived: true})
	check(err)
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		check(err)
		check(pprof.StartCPUProfile(f))
		defer pprof.StopCPUProfile()
	}
	start, last := time.Now(), time.Now()
	batches := 0
	for done := have; done < *n; {
		size := min(*batch, *n-done)
		check(db.Write(ctx, func(tx *store.Tx) error {
			for i := range size {
				k := done + i
				cand, err := svc.CreateCandidate(ctx, tx, org.ID, api.NewCandidate{
					Name: fmt.Sprintf("Candidate %d", k), Email: fmt.Sprintf("candidate%d@example.com", k),
					Phone: "+1 415 555 0100", LinkedInURL: fmt.Sprintf("https://linkedin.com/in/c%d", k),
				})
				if err != nil {
					return err
				}
				if _, err := svc.CreateApplication(ctx, tx, org.ID, api.NewApplication{CandidateID: cand.ID,
					JobID: openJobs[k%len(openJobs)], ActorID: admin[0].ID}); err != nil {
					return err
				}
			}
			return nil
		}))
		done += size
		// The server keeps planner statistics current (store.Maintain);
		// a bulk load must too, or queries planned for empty tables
		// scan whole kinds once they are full. (Analyzing after every
		// batch cost a quarter of the time on SQLite.)
		if batches++; batches <= 3 || batches%10 == 0 {
			check(db.RefreshStatistics(ctx))
		}
		if time.Since(last) > 10*time.Second || done == *n {
			el := time.Since(start)
			fmt.Fprintf(os.Stderr, "seed: %d/%d candidates, %.0f/s\n", done, *n, float64(done-have)/el.Seconds())
			last = time.Now()
		}
	}
	if *n > have {
		fmt.Printf("seeded %d candidates with applications in %v\n", *n-have, time.Since(start).Round(time.Millisecond))
	}

	var secret string
	check(db.Write(ctx, func(tx *store.Tx) error {
		_, secret, err = tx.CreateAPIKey(ctx, org.ID, "bench", ashby.AllPermissions, "")
		return err
	}))
	fmt.Println(secret)
	if *keyFile != "" {
		check(os.WriteFile(*keyFile, []byte(secret+"\n"), 0o600))
	}
}

// ensureJobs returns the ids of n open jobs on the default interview
// plan, creating what is missing through the API.
func ensureJobs(ctx context.Context, a *rpc.API, c *rpc.Call, n int) []string {
	var ids []string
	var jobs []ashby.Job
	invoke(ctx, a, c, "job.list", map[string]any{"status": []string{"Open"}}, &jobs)
	for _, j := range jobs {
		ids = append(ids, j.ID)
	}
	if len(ids) >= n {
		return ids[:n]
	}
	var plans []ashby.InterviewPlan
	invoke(ctx, a, c, "interviewPlan.list", map[string]any{}, &plans)
	var dep ashby.Department
	invoke(ctx, a, c, "department.create", map[string]any{"name": "Engineering"}, &dep)
	var loc ashby.Location
	invoke(ctx, a, c, "location.create", map[string]any{"name": "Berlin", "type": "Location"}, &loc)
	for len(ids) < n {
		var job ashby.Job
		invoke(ctx, a, c, "job.create", map[string]any{"title": fmt.Sprintf("Engineer %d", len(ids)+1), "teamId": dep.ID,
			"locationId": loc.ID, "defaultInterviewPlanId": plans[0].ID}, &job)
		invoke(ctx, a, c, "job.setStatus", map[string]any{"jobId": job.ID, "status": "Open"}, &job)
		ids = append(ids, job.ID)
	}
	return ids
}

func invoke(ctx context.Context, a *rpc.API, c *rpc.Call, name string, req, out any) {
	raw, err := a.Invoke(ctx, c, name, req)
	check(err)
	check(json.Unmarshal(raw, out))
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "seed:", err)
		os.Exit(1)
	}
}
