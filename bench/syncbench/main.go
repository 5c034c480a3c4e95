// Command syncbench measures `ashlar sync`'s engine (package warehouse):
// records per second of a full sync of 100,000 candidates and their
// 100,000 applications from a local Ashlar into a warehouse, and the time
// of an incremental sync after 1% of the candidates changed (each change
// also rewrites the candidate's application), as a fraction of the full
// sync's time.
//
//	go run ./bench/syncbench -into sqlite:/tmp/syncbench-wh.db
//	go run ./bench/syncbench -into 'postgres://postgres@127.0.0.1:5432/test?sslmode=disable&search_path=syncbench'
//
// The source organization is seeded once per -source database and reused;
// the warehouse is emptied before each measurement.
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/ashlarhq/ashlar/api"
	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/client"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/server"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/warehouse"
)

func main() {
	source := flag.String("source", "sqlite:/tmp/ashlar-syncbench-src.db", "the Ashlar database to serve (seeded once, then reused)")
	into := flag.String("into", "sqlite:/tmp/ashlar-syncbench-wh.db", "the warehouse DSN (its tables are dropped first)")
	n := flag.Int("n", 100000, "candidates, each with one application")
	changed := flag.Float64("changed", 0.01, "fraction of candidates changed before the incremental sync")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		check(err)
		check(pprof.StartCPUProfile(f))
		defer pprof.StopCPUProfile()
	}
	ctx := context.Background()
	db, err := store.Open(ctx, *source)
	check(err)
	defer db.Close()
	_, err = db.Migrate(ctx)
	check(err)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := server.New(db, server.Config{BaseURL: "http://bench", Logger: quiet})
	key := seed(ctx, db, srv, *n)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	go srv.Serve(ctx, ln)
	c := client.New("http://"+ln.Addr().String(), key)

	dropWarehouse(ctx, *into)
	wh, err := warehouse.Open(ctx, *into)
	check(err)
	defer wh.Close()
	streams, err := warehouse.Select([]string{"candidates", "applications"})
	check(err)
	run := func(label string) (*warehouse.Result, time.Duration) {
		start := time.Now()
		res, err := warehouse.Run(ctx, warehouse.Options{Client: c, DB: wh, Streams: streams, Concurrency: 2})
		check(err)
		d := time.Since(start)
		if res.Failed() > 0 {
			for _, s := range res.Streams {
				log.Printf("%s: %s %v", s.Key, s.Status, s.Err)
			}
			log.Fatal("sync failed")
		}
		fmt.Printf("%-12s %7d records in %8.2fs = %6.0f records/s\n", label, res.Records(), d.Seconds(), float64(res.Records())/d.Seconds())
		return res, d
	}
	full, fullD := run("full")
	if full.Records() < 2**n {
		log.Fatalf("full sync read %d records, want %d", full.Records(), 2**n)
	}

	// Change 1% of the candidates through the API; each rename also
	// rewrites the candidate's application (it embeds the name).
	k := int(float64(*n) * *changed)
	start := time.Now()
	i := 0
	for cand, err := range c.Candidates.List(ctx, nil) {
		check(err)
		if i%(*n/k) == 0 {
			_, _, err := c.Candidates.Update(ctx, &client.CandidateUpdate{CandidateID: cand.ID, Name: cand.Name + " (changed)"})
			check(err)
		}
		i++
		if i >= *n {
			break
		}
	}
	fmt.Printf("changed %d candidates in %.1fs\n", k, time.Since(start).Seconds())
	inc, incD := run("incremental")
	fmt.Printf("incremental/full time: %.3f (%d of %d records)\n", incD.Seconds()/fullD.Seconds(), inc.Records(), full.Records())
}

// seed creates an organization with n candidates and one application
// each (once per database) and returns a fresh API key.
func seed(ctx context.Context, db *store.DB, srv *server.Server, n int) string {
	svc := srv.Service
	org, err := db.OrgBySlug(ctx, "syncbench")
	if err != nil {
		org, err = svc.CreateOrg(ctx, "syncbench", "Sync Bench")
		check(err)
		call := &rpc.Call{Principal: &rpc.Principal{OrgID: org.ID, KeyTitle: "syncbench", KeyCreated: time.Now(), Permissions: ashby.AllPermissions}, RequestID: "seed"}
		invoke := func(endpoint string, req, out any) {
			raw, err := srv.API.Invoke(ctx, call, endpoint, req)
			check(err)
			check(json.Unmarshal(raw, out))
		}
		var dept ashby.Department
		invoke("department.create", map[string]any{"name": "Engineering"}, &dept)
		var loc ashby.Location
		invoke("location.create", map[string]any{"name": "Remote", "type": "Location"}, &loc)
		var plans []ashby.InterviewPlan
		invoke("interviewPlan.list", map[string]any{}, &plans)
		if len(plans) == 0 {
			log.Fatal("a new organization has no interview plan")
		}
		// 100 applications per job: application.create looks for the
		// candidate's existing application among the job's, so one job
		// holding them all would make seeding quadratic.
		jobs := make([]ashby.Job, (n+99)/100)
		for i := range jobs {
			invoke("job.create", map[string]any{"title": fmt.Sprintf("Engineer %d", i), "teamId": dept.ID, "locationId": loc.ID, "defaultInterviewPlanId": plans[0].ID}, &jobs[i])
		}
		start := time.Now()
		for done := 0; done < n; {
			batch := min(1000, n-done)
			check(db.Write(ctx, func(tx *store.Tx) error {
				for i := 0; i < batch; i++ {
					k := done + i
					cand, err := svc.CreateCandidate(ctx, tx, org.ID, api.NewCandidate{
						Name: fmt.Sprintf("Candidate %d", k), Email: fmt.Sprintf("candidate%d@example.com", k),
						Phone: "+1 415 555 0100", LinkedInURL: fmt.Sprintf("https://linkedin.com/in/c%d", k),
					})
					if err != nil {
						return err
					}
					if _, err := svc.CreateApplication(ctx, tx, org.ID, api.NewApplication{CandidateID: cand.ID, JobID: jobs[k/100].ID}); err != nil {
						return err
					}
				}
				return nil
			}))
			done += batch
			if done == 2000 && db.Engine() == store.SQLite {
				// Without statistics SQLite walks every application in
				// creation order to find a candidate's existing one (the
				// ORDER BY of Kind.Find) and seeding turns quadratic; with
				// them it uses the ref index. A serving Ashlar keeps them
				// current (store.DB.Maintain); seeding runs before it serves.
				check(db.Write(ctx, func(tx *store.Tx) error { _, err := tx.ExecContext(ctx, "ANALYZE"); return err }))
			}
			if done%10000 == 0 {
				fmt.Printf("seeded %d candidates and applications (%.0fs)\n", done, time.Since(start).Seconds())
			}
		}
		fmt.Printf("seeded %d candidates and %d applications in %v\n", n, n, time.Since(start).Round(time.Millisecond))
	}
	var secret string
	check(db.Write(ctx, func(tx *store.Tx) error {
		_, secret, err = tx.CreateAPIKey(ctx, org.ID, "syncbench", ashby.AllPermissions, "")
		return err
	}))
	return secret
}

// dropWarehouse removes the tables a previous run left.
func dropWarehouse(ctx context.Context, dsn string) {
	driver, target := "sqlite", strings.TrimPrefix(dsn, "sqlite:")
	if strings.HasPrefix(dsn, "postgres") {
		driver, target = "pgx", dsn
	}
	d, err := sql.Open(driver, target)
	check(err)
	defer d.Close()
	for _, t := range []string{"candidates", "applications", "_sync_state", "_sync_runs"} {
		_, err := d.ExecContext(ctx, `DROP TABLE IF EXISTS `+t)
		check(err)
	}
}

func check(err error) {
	if err != nil {
		pprof.StopCPUProfile()
		log.Fatal(err)
	}
}
