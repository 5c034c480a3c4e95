// Command webappbench measures the server-side render time of the web
// app's two heaviest pages: the pipeline of a job with 2,000 active
// applications, and a candidate's page with several applications, their
// histories, interviews and feedback, notes, files and activity. Each
// request goes through the whole HTTP handler (session lookup, role
// check, the page's API calls and reads, template rendering) into an
// in-memory recorder: no network, no browser.
//
//	go run ./bench/webappbench                                      # SQLite at /tmp/ashlar-webappbench.db
//	go run ./bench/webappbench -db 'postgres://postgres@127.0.0.1:5432/test?sslmode=disable&search_path=webappbench'
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime/pprof"
	"sort"
	"syscall"
	"time"

	"github.com/ashlarhq/ashlar/accounts"
	"github.com/ashlarhq/ashlar/api"
	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/demo"
	"github.com/ashlarhq/ashlar/files"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/server"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/webapp"
)

const (
	slug     = "webappbench"
	email    = "bench-admin@example.com"
	password = "a bench for the web app"
)

func main() {
	dsn := flag.String("db", "sqlite:/tmp/ashlar-webappbench.db", "database DSN (seeded once, then reused)")
	apps := flag.Int("apps", 2000, "active applications of the pipeline's job")
	n := flag.Int("n", 200, "requests per page measured")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the measured requests")
	flag.Parse()
	ctx := context.Background()
	db, err := store.Open(ctx, *dsn)
	check(err)
	defer db.Close()
	_, err = db.Migrate(ctx)
	check(err)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := server.New(db, server.Config{BaseURL: "http://bench", Logger: quiet})
	dir, err := os.MkdirTemp("", "webappbench-files")
	check(err)
	defer os.RemoveAll(dir)
	disk, err := files.NewDisk(dir)
	check(err)
	st, err := files.New(db, files.Config{Blobs: disk, BaseURL: "http://bench", Log: quiet})
	check(err)
	srv.Service.Files = st
	acc := accounts.New(db, accounts.Options{})
	app, err := webapp.New(ctx, webapp.Options{Service: srv.Service, API: srv.API, Accounts: acc, BaseURL: "http://bench", Log: quiet})
	check(err)
	app.Routes(srv.Mux)
	handler := srv.Handler()

	jobID, candID := seed(ctx, db, srv, st, *apps)
	// Planner statistics, as a serving Ashlar keeps them (store.Maintain,
	// or PostgreSQL's autovacuum): a freshly seeded table has none.
	_, err = db.ExecContext(ctx, "ANALYZE")
	check(err)
	id, err := acc.CheckPassword(ctx, email, password)
	check(err)
	cookie, err := acc.StartSession(ctx, id, "127.0.0.1", "webappbench")
	check(err)

	fmt.Printf("engine=%s active applications=%d requests=%d per page\n", db.Engine(), *apps, *n)
	get := func(path string) (int, int) {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		r.AddCookie(&http.Cookie{Name: "ashlar_session", Value: cookie})
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, r)
		return w.Code, w.Body.Len()
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		check(err)
		check(pprof.StartCPUProfile(f))
		defer pprof.StopCPUProfile()
	}
	// The pipeline's read model alone, to split its time from rendering.
	org, err := db.OrgBySlug(ctx, slug)
	check(err)
	ds := make([]time.Duration, *n)
	for i := range ds {
		t := time.Now()
		_, err := srv.Service.Pipeline(ctx, org.ID, jobID, api.PipelineFilter{})
		check(err)
		ds[i] = time.Since(t)
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	fmt.Printf("%-45s p50 %7.2f ms  p90 %7.2f ms\n", "  of which the read model (api.Pipeline)", ms(ds[len(ds)/2]), ms(ds[len(ds)*9/10]))
	for _, p := range []struct{ name, path string }{
		{"pipeline (" + fmt.Sprint(*apps) + " active applications)", "/app/jobs/" + jobID},
		{"candidate page", "/app/candidates/" + candID},
		{"jobs list", "/app/jobs"},
	} {
		code, size := get(p.path)
		if code != http.StatusOK {
			log.Fatalf("%s: HTTP %d", p.path, code)
		}
		for i := 0; i < 5; i++ {
			get(p.path)
		}
		ds := make([]time.Duration, *n)
		cpu0 := cpuTime()
		for i := range ds {
			t := time.Now()
			get(p.path)
			ds[i] = time.Since(t)
		}
		cpu := (cpuTime() - cpu0) / time.Duration(*n)
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		fmt.Printf("%-45s p50 %7.2f ms  p90 %7.2f ms  p99 %7.2f ms  CPU %7.2f ms/request  %d KB\n", p.name,
			ms(ds[len(ds)/2]), ms(ds[len(ds)*9/10]), ms(ds[len(ds)*99/100]), ms(cpu), size>>10)
	}
}

// cpuTime is the process's CPU time so far (user and system, every
// thread: the GC's too). On a shared, loaded machine the wall-clock
// percentiles grow with the load; CPU per request much less so.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	check(syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// seed creates the organization once: an admin who signs in, a job with
// apps active applications spread over its stages (with sources and
// tags), and a candidate with three applications, their stage histories,
// interviews and feedback, notes and a resume.
func seed(ctx context.Context, db *store.DB, srv *server.Server, st *files.Store, apps int) (jobID, candID string) {
	org, err := db.OrgBySlug(ctx, slug)
	call := func(org string) *rpc.Call {
		return &rpc.Call{Principal: &rpc.Principal{OrgID: org, KeyTitle: "webappbench", KeyCreated: time.Now(), Permissions: ashby.AllPermissions}, RequestID: "webappbench"}
	}
	invoke := func(c *rpc.Call, endpoint string, req, out any) {
		raw, err := srv.API.Invoke(ctx, c, endpoint, req)
		if err != nil {
			log.Fatalf("%s: %v", endpoint, err)
		}
		if out != nil {
			check(json.Unmarshal(raw, out))
		}
	}
	if err == nil {
		c := call(org.ID)
		var jobs []ashby.Job
		invoke(c, "job.search", map[string]any{"title": "Bench Job"}, &jobs)
		var cands []ashby.Candidate
		invoke(c, "candidate.search", map[string]any{"email": "rich@example.com"}, &cands)
		if len(jobs) == 1 && len(cands) == 1 {
			return jobs[0].ID, cands[0].ID
		}
		log.Fatalf("database %s has a half-seeded %s organization: use a fresh one", db.Engine(), slug)
	}
	start := time.Now()
	org, err = srv.Service.CreateOrg(ctx, slug, "Web App Bench")
	check(err)
	c := call(org.ID)
	var admin ashby.User
	invoke(c, "user.create", map[string]any{"firstName": "Bench", "lastName": "Admin", "email": email, "globalRole": "Organization Admin"}, &admin)
	check(accounts.New(db, accounts.Options{}).SetPassword(ctx, org.ID, &admin, password))
	var plans []ashby.InterviewPlan
	invoke(c, "interviewPlan.list", nil, &plans)
	var stages []ashby.InterviewStage
	invoke(c, "interviewStage.list", map[string]any{"interviewPlanId": plans[0].ID}, &stages)
	var active []ashby.InterviewStage
	for _, s := range stages {
		if s.Type != ashby.StageArchived && s.Type != ashby.StageHired {
			active = append(active, s)
		}
	}
	var d ashby.Department
	invoke(c, "department.create", map[string]any{"name": "Engineering"}, &d)
	var l ashby.Location
	invoke(c, "location.create", map[string]any{"name": "Berlin", "type": "Location"}, &l)
	newJob := func(title string) ashby.Job {
		var j ashby.Job
		invoke(c, "job.create", map[string]any{"title": title, "teamId": d.ID, "locationId": l.ID, "defaultInterviewPlanId": plans[0].ID}, &j)
		invoke(c, "job.setStatus", map[string]any{"jobId": j.ID, "status": "Open"}, &j)
		return j
	}
	job := newJob("Bench Job")
	var sources []ashby.Source
	invoke(c, "source.list", map[string]any{}, &sources)
	var tags []ashby.CandidateTag
	for _, t := range []string{"Strong referral", "Relocation", "Returning candidate", "Needs visa"} {
		var tag ashby.CandidateTag
		invoke(c, "candidateTag.create", map[string]any{"title": t}, &tag)
		tags = append(tags, tag)
	}
	r := rand.New(rand.NewPCG(2026, 12))
	for i := 0; i < apps; i++ {
		var cand ashby.Candidate
		invoke(c, "candidate.create", map[string]any{"name": fmt.Sprintf("Bench Candidate %d", i), "email": fmt.Sprintf("bench%d@example.com", i),
			"sourceId": sources[r.IntN(len(sources))].ID}, &cand)
		if r.IntN(4) == 0 {
			invoke(c, "candidate.addTag", map[string]any{"candidateId": cand.ID, "tagId": tags[r.IntN(len(tags))].ID}, nil)
		}
		var a ashby.Application
		invoke(c, "application.create", map[string]any{"candidateId": cand.ID, "jobId": job.ID, "sourceId": sources[r.IntN(len(sources))].ID}, &a)
		if k := r.IntN(len(active)); k > 0 {
			invoke(c, "application.changeStage", map[string]any{"applicationId": a.ID, "interviewStageId": active[k].ID}, nil)
		}
		if (i+1)%500 == 0 {
			fmt.Printf("seeded %d applications (%v)\n", i+1, time.Since(start).Round(time.Second))
		}
	}
	// The candidate with a full page.
	var rich ashby.Candidate
	invoke(c, "candidate.create", map[string]any{"name": "Rich Candidate", "email": "rich@example.com", "phoneNumber": "+1 415 555 0100",
		"linkedInUrl": "https://www.linkedin.com/in/rich", "sourceId": sources[0].ID}, &rich)
	for _, t := range tags[:2] {
		invoke(c, "candidate.addTag", map[string]any{"candidateId": rich.ID, "tagId": t.ID}, nil)
	}
	for i := 0; i < 10; i++ {
		invoke(c, "candidate.createNote", map[string]any{"candidateId": rich.ID, "note": fmt.Sprintf("Note %d: thoughtful answers about systems.", i)}, nil)
	}
	staged, err := st.Stage(ctx, bytes.NewReader(demo.ResumePDF("Rich Candidate", []string{"Engineer."})), "resume.pdf", 0)
	check(err)
	h, err := st.Save(ctx, org.ID, ashby.UploadCandidateResume, staged)
	staged.Remove()
	check(err)
	invoke(c, "candidate.uploadResume", map[string]any{"candidateId": rich.ID, "resumeHandle": h.Handle}, nil)
	var iv ashby.Interview
	invoke(c, "interview.create", map[string]any{"title": "Bench Interview", "durationMinutes": 45}, &iv)
	for k, j := range []ashby.Job{job, newJob("Second Job"), newJob("Third Job")} {
		var a ashby.Application
		invoke(c, "application.create", map[string]any{"candidateId": rich.ID, "jobId": j.ID}, &a)
		for _, s := range active[1:] {
			invoke(c, "application.changeStage", map[string]any{"applicationId": a.ID, "interviewStageId": s.ID}, nil)
		}
		at := time.Now().Add(-time.Duration(48+k) * time.Hour).UTC()
		var sched ashby.InterviewSchedule
		invoke(c, "interviewSchedule.create", map[string]any{"applicationId": a.ID, "interviewEvents": []map[string]any{
			{"startTime": ashby.NewTime(at), "endTime": ashby.NewTime(at.Add(45 * time.Minute)), "interviewId": iv.ID, "interviewers": []map[string]any{{"email": email}}},
			{"startTime": ashby.NewTime(at.Add(time.Hour)), "endTime": ashby.NewTime(at.Add(105 * time.Minute)), "interviewId": iv.ID, "interviewers": []map[string]any{{"email": email}}},
		}}, &sched)
		for _, ev := range sched.InterviewEvents {
			invoke(c, "applicationFeedback.submit", map[string]any{"applicationId": a.ID, "formDefinitionId": iv.FeedbackFormDefinitionID, "interviewEventId": ev.ID,
				"userId": admin.ID, "feedbackForm": map[string]any{"fieldSubmissions": []map[string]any{
					{"path": "overall_recommendation", "value": map[string]any{"score": 3}}, {"path": "feedback", "value": "Solid."}}}}, nil)
		}
	}
	fmt.Printf("seeded in %v\n", time.Since(start).Round(time.Millisecond))
	return job.ID, rich.ID
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
