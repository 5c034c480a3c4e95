package api

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/store"
)

// Reports (docs/reports.md). report.generate starts a run in the
// background and is polled by requestId; report.synchronous waits up to
// 30 seconds for it. Both share Ashby's per-organization limits: 15 starts
// a minute and 3 runs at once. The runs table is the counter, so the
// limits hold across every server process on one database.

//go:embed report_migrations/*.sql
var reportMigrations embed.FS

func init() {
	store.RegisterMigrations(reportMigrations, "report_migrations")
	register((*Service).reportEndpoints)
}

// Report limits, per organization.
const (
	ReportStartsPerMinute = 15
	ReportConcurrentRuns  = 3
)

var (
	// ReportSyncTimeout is how long report.synchronous waits before it
	// answers in_progress (poll report.generate with the requestId).
	ReportSyncTimeout = 30 * time.Second
	// reportRunTimeout bounds a run; a run still in progress after it
	// (its process died) is reported failed and stops counting as running.
	reportRunTimeout = 5 * time.Minute
	// reportRetention is how long results stay available for polling.
	reportRetention = 24 * time.Hour
)

func (s *Service) reportEndpoints() []*rpc.Endpoint {
	return []*rpc.Endpoint{
		rpc.Object(rpc.Spec{Name: "report.generate", Permission: ashby.ReportsRead, Summary: "Start generating a report (answers in_progress with a requestId), or poll a run by requestId."}, s.reportGenerate),
		rpc.Object(rpc.Spec{Name: "report.synchronous", Permission: ashby.ReportsRead, Summary: "Generate a report and wait for it (up to 30 s; then poll report.generate with the requestId)."}, s.reportSynchronous),
		rpc.Array[ashby.ReportDefinition](rpc.Spec{Name: "report.list", Permission: ashby.ReportsRead, Extension: true, Summary: "The built-in reports and their stable ids."}, s.reportList),
	}
}

// builtinReport is a report Ashlar computes from the organization's data.
type builtinReport struct {
	ashby.ReportDefinition
	run func(ctx context.Context, s *Service, org string) ([][]any, error)
}

// builtinReports have fixed ids, so that clients can keep them in
// configuration as they keep Ashby report ids.
var builtinReports = []builtinReport{
	{ashby.ReportDefinition{ID: "6f1d2a3e-0b1c-4c55-9a2e-7e1f0a9b1001", Title: "Applications by Stage",
		Description: "Open applications (Lead and Active) per job and current interview stage.",
		ColumnNames: []string{"Job", "Stage", "Stage Type", "Applications"}}, reportApplicationsByStage},
	{ashby.ReportDefinition{ID: "6f1d2a3e-0b1c-4c55-9a2e-7e1f0a9b1002", Title: "Pipeline by Job",
		Description: "Applications per job by status.",
		ColumnNames: []string{"Job", "Job Status", "Lead", "Active", "Hired", "Archived", "Total"}}, reportPipelineByJob},
	{ashby.ReportDefinition{ID: "6f1d2a3e-0b1c-4c55-9a2e-7e1f0a9b1003", Title: "Hires by Source",
		Description: "Hired applications per source.",
		ColumnNames: []string{"Source", "Source Type", "Hires"}}, reportHiresBySource},
	{ashby.ReportDefinition{ID: "6f1d2a3e-0b1c-4c55-9a2e-7e1f0a9b1004", Title: "Archive Reasons",
		Description: "Archived applications per archive reason.",
		ColumnNames: []string{"Archive Reason", "Reason Type", "Applications"}}, reportArchiveReasons},
}

func findReport(id string) (*builtinReport, bool) {
	for i := range builtinReports {
		if builtinReports[i].ID == id {
			return &builtinReports[i], true
		}
	}
	return nil, false
}

func (s *Service) reportList(ctx context.Context, c *rpc.Call, _ *emptyRequest) (*rpc.Page, error) {
	out := make([]ashby.ReportDefinition, len(builtinReports))
	for i, r := range builtinReports {
		out[i] = r.ReportDefinition
	}
	return items(out), nil
}

type reportSynchronousRequest struct {
	ReportID             ashby.ID `json:"reportId" required:"true"`
	IncludeHeadersInData *bool    `json:"includeHeadersInData,omitempty" doc:"Default true: data's first row is the column names."`
}

type reportGenerateRequest struct {
	reportSynchronousRequest
	RequestID string `json:"requestId,omitempty" doc:"Poll the run this requestId names; polling does not count against the limits."`
}

func (s *Service) reportGenerate(ctx context.Context, c *rpc.Call, req *reportGenerateRequest) (rpc.Result[ashby.ReportResult], error) {
	if req.RequestID != "" {
		res, err := s.reportPoll(ctx, c.Org(), string(req.ReportID), req.RequestID)
		if err != nil {
			return rpc.Result[ashby.ReportResult]{}, err
		}
		return rpc.Value(res), nil
	}
	rep, headers, err := reportRequest(&req.reportSynchronousRequest)
	if err != nil {
		return rpc.Result[ashby.ReportResult]{}, err
	}
	id, err := s.reportStart(ctx, c.Org(), rep.ID, headers)
	if err != nil {
		return rpc.Result[ashby.ReportResult]{}, err
	}
	s.reportRunInBackground(c.Org(), id, rep, headers)
	return rpc.Value(&ashby.ReportResult{RequestID: id, Status: ashby.ReportInProgress}), nil
}

func (s *Service) reportSynchronous(ctx context.Context, c *rpc.Call, req *reportSynchronousRequest) (rpc.Result[ashby.ReportResult], error) {
	rep, headers, err := reportRequest(req)
	if err != nil {
		return rpc.Result[ashby.ReportResult]{}, err
	}
	id, err := s.reportStart(ctx, c.Org(), rep.ID, headers)
	if err != nil {
		return rpc.Result[ashby.ReportResult]{}, err
	}
	done := s.reportRunInBackground(c.Org(), id, rep, headers)
	timer := time.NewTimer(ReportSyncTimeout)
	defer timer.Stop()
	select {
	case res := <-done:
		return rpc.Value(res), nil
	case <-timer.C:
		// Too slow: the run goes on, and the caller polls for it.
		return rpc.Value(&ashby.ReportResult{RequestID: id, Status: ashby.ReportInProgress}), nil
	case <-ctx.Done():
		return rpc.Result[ashby.ReportResult]{}, ctx.Err()
	}
}

func reportRequest(req *reportSynchronousRequest) (*builtinReport, bool, error) {
	rep, ok := findReport(string(req.ReportID))
	if !ok {
		return nil, false, ashby.NotFound("report", fmt.Sprintf("Report %s not found; report.list gives the reports Ashlar has", req.ReportID))
	}
	return rep, req.IncludeHeadersInData == nil || *req.IncludeHeadersInData, nil
}

// reportStart checks the organization's limits and records a new run,
// atomically: on PostgreSQL an advisory lock per organization serialises
// starts across processes; SQLite has a single writer.
func (s *Service) reportStart(ctx context.Context, org, reportID string, headers bool) (string, error) {
	id := "rep_result:" + ashby.NewID()
	now := s.DB.Now()
	err := s.write(ctx, func(tx *store.Tx) error {
		if tx.DB().Engine() == store.Postgres {
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(3001, hashtext($1))`, org); err != nil {
				return fmt.Errorf("lock report limits: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM report_runs WHERE org_id = $1 AND started_at < $2`, org, store.Millis(now.Add(-reportRetention))); err != nil {
			return fmt.Errorf("expire report runs: %w", err)
		}
		var started int
		var oldest sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*), MIN(started_at) FROM report_runs WHERE org_id = $1 AND started_at > $2`,
			org, store.Millis(now.Add(-time.Minute))).Scan(&started, &oldest); err != nil {
			return fmt.Errorf("count report starts: %w", err)
		}
		if started >= ReportStartsPerMinute {
			wait := time.UnixMilli(oldest.Int64).Add(time.Minute).Sub(now)
			secs := max(1, int((wait+time.Second-1)/time.Second))
			return &ashby.Error{Code: ashby.CodeRateLimitExceeded, Status: http.StatusTooManyRequests, RetryAfter: secs,
				Message: fmt.Sprintf("Your organization has exceeded the rate limit of %d report requests per minute. Try again in %d seconds.", ReportStartsPerMinute, secs)}
		}
		var running int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM report_runs WHERE org_id = $1 AND status = $2 AND started_at > $3`,
			org, ashby.ReportInProgress, store.Millis(now.Add(-reportRunTimeout))).Scan(&running); err != nil {
			return fmt.Errorf("count running reports: %w", err)
		}
		if running >= ReportConcurrentRuns {
			return &ashby.Error{Code: ashby.CodeConcurrentLimitExceeded, Status: http.StatusTooManyRequests, RetryAfter: 30,
				Message: fmt.Sprintf("Your organization has reached the maximum of %d concurrent report operations. Please wait for existing operations to complete or try again in 30 seconds.", ReportConcurrentRuns)}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO report_runs (org_id, request_id, report_id, status, include_headers, started_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			org, id, reportID, ashby.ReportInProgress, boolInt(headers), store.Millis(now))
		if err != nil {
			return fmt.Errorf("record report run: %w", err)
		}
		return nil
	})
	return id, err
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// reportRunInBackground generates the report outside the request, so a
// client that goes away does not cancel it, stores the outcome and sends
// it on the returned channel.
func (s *Service) reportRunInBackground(org, id string, rep *builtinReport, headers bool) <-chan *ashby.ReportResult {
	done := make(chan *ashby.ReportResult, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), reportRunTimeout)
		defer cancel()
		res := &ashby.ReportResult{RequestID: id, Status: ashby.ReportComplete}
		rows, err := rep.run(ctx, s, org)
		if err != nil {
			s.Log.Error("report run failed", "org", org, "report", rep.ID, "request_id", id, "error", err)
			reason := "QueryFailed"
			if errors.Is(err, context.DeadlineExceeded) {
				reason = "QueryTimeout"
			}
			res.Status, res.FailureReason = ashby.ReportFailed, &reason
		} else {
			now := s.now()
			data := make([][]any, 0, len(rows)+1)
			if headers {
				hdr := make([]any, len(rep.ColumnNames))
				for i, c := range rep.ColumnNames {
					hdr[i] = c
				}
				data = append(data, hdr)
			}
			res.ReportData = &ashby.ReportData{Data: append(data, rows...), ColumnNames: rep.ColumnNames,
				Metadata: ashby.ReportMetadata{UpdatedAt: now, Title: rep.Title, ReportGeneratedAt: now.Ptr()}}
		}
		// A fresh context: the run's own may be what expired.
		fctx, fcancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer fcancel()
		if err := s.reportFinish(fctx, org, res); err != nil {
			s.Log.Error("store report result", "org", org, "request_id", id, "error", err)
		}
		done <- res
	}()
	return done
}

func (s *Service) reportFinish(ctx context.Context, org string, res *ashby.ReportResult) error {
	var result, failure any
	if res.ReportData != nil {
		result = string(mustJSON(res.ReportData))
	}
	if res.FailureReason != nil {
		failure = *res.FailureReason
	}
	return s.write(ctx, func(tx *store.Tx) error {
		// Only a run still in progress: a run another process already
		// reported interrupted keeps that answer, so every poll on any
		// process sees one outcome.
		_, err := tx.ExecContext(ctx, `UPDATE report_runs SET status = $3, result = $4, failure = $5, finished_at = $6 WHERE org_id = $1 AND request_id = $2 AND status = $7`,
			org, res.RequestID, res.Status, result, failure, store.Millis(s.DB.Now()), ashby.ReportInProgress)
		return err
	})
}

// reportPoll reads a run. A run left in progress past the run timeout
// belonged to a process that died: it is reported failed.
func (s *Service) reportPoll(ctx context.Context, org, reportID, requestID string) (*ashby.ReportResult, error) {
	var repID, status string
	var started int64
	var result, failure sql.NullString
	err := s.DB.QueryRowContext(ctx, `SELECT report_id, status, started_at, result, failure FROM report_runs WHERE org_id = $1 AND request_id = $2`,
		org, requestID).Scan(&repID, &status, &started, &result, &failure)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ashby.NotFound("report_request", fmt.Sprintf("No report run %q (results are kept for %s)", requestID, reportRetention))
	}
	if err != nil {
		return nil, fmt.Errorf("read report run: %w", err)
	}
	if repID != reportID {
		return nil, ashby.InvalidInput("requestId", "Request %s is a run of report %s, not %s", requestID, repID, reportID)
	}
	res := &ashby.ReportResult{RequestID: requestID, Status: status}
	if status == ashby.ReportInProgress && s.DB.Now().Sub(time.UnixMilli(started)) > reportRunTimeout {
		reason := "ProcessInterrupted"
		res.Status, res.FailureReason = ashby.ReportFailed, &reason
		return res, s.reportFinish(ctx, org, res)
	}
	if result.Valid {
		var d ashby.ReportData
		if err := json.Unmarshal([]byte(result.String), &d); err != nil {
			return nil, fmt.Errorf("decode report result: %w", err)
		}
		res.ReportData = &d
	}
	if failure.Valid {
		res.FailureReason = &failure.String
	}
	return res, nil
}

// The built-in reports.

func allApplications(ctx context.Context, s *Service, org string) ([]*ashby.Application, error) {
	return Applications.Find(ctx, s.DB, org, store.Filter{IncludeArchived: true})
}

func reportApplicationsByStage(ctx context.Context, s *Service, org string) ([][]any, error) {
	apps, err := allApplications(ctx, s, org)
	if err != nil {
		return nil, err
	}
	type key struct {
		job, stage, typ string
		order           int
	}
	counts := map[key]int{}
	for _, a := range apps {
		if a.Status != ashby.ApplicationLead && a.Status != ashby.ApplicationActive {
			continue
		}
		st := a.CurrentInterviewStage
		counts[key{a.Job.Title, st.Title, st.Type, st.OrderInInterviewPlan}]++
	}
	keys := make([]key, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].job != keys[j].job {
			return keys[i].job < keys[j].job
		}
		return keys[i].order < keys[j].order
	})
	rows := make([][]any, len(keys))
	for i, k := range keys {
		rows[i] = []any{k.job, k.stage, k.typ, counts[k]}
	}
	return rows, nil
}

func reportPipelineByJob(ctx context.Context, s *Service, org string) ([][]any, error) {
	jobs, err := Jobs.Find(ctx, s.DB, org, store.Filter{IncludeArchived: true})
	if err != nil {
		return nil, err
	}
	apps, err := allApplications(ctx, s, org)
	if err != nil {
		return nil, err
	}
	counts := map[string]map[string]int{}
	for _, a := range apps {
		if counts[a.Job.ID] == nil {
			counts[a.Job.ID] = map[string]int{}
		}
		counts[a.Job.ID][a.Status]++
	}
	sort.SliceStable(jobs, func(i, j int) bool { return strings.ToLower(jobs[i].Title) < strings.ToLower(jobs[j].Title) })
	rows := make([][]any, 0, len(jobs))
	for _, j := range jobs {
		c := counts[j.ID]
		total := c[ashby.ApplicationLead] + c[ashby.ApplicationActive] + c[ashby.ApplicationHired] + c[ashby.ApplicationArchived]
		rows = append(rows, []any{j.Title, j.Status, c[ashby.ApplicationLead], c[ashby.ApplicationActive], c[ashby.ApplicationHired], c[ashby.ApplicationArchived], total})
	}
	return rows, nil
}

// countRows turns counts by (label, kind) into rows, largest first.
func countRows(counts map[[2]string]int) [][]any {
	keys := make([][2]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if counts[keys[i]] != counts[keys[j]] {
			return counts[keys[i]] > counts[keys[j]]
		}
		return keys[i][0] < keys[j][0]
	})
	rows := make([][]any, len(keys))
	for i, k := range keys {
		rows[i] = []any{k[0], k[1], counts[k]}
	}
	return rows
}

func reportHiresBySource(ctx context.Context, s *Service, org string) ([][]any, error) {
	apps, err := allApplications(ctx, s, org)
	if err != nil {
		return nil, err
	}
	counts := map[[2]string]int{}
	for _, a := range apps {
		if a.Status != ashby.ApplicationHired {
			continue
		}
		k := [2]string{"(No source)", ""}
		if a.Source != nil {
			k[0] = a.Source.Title
			if a.Source.SourceType != nil {
				k[1] = a.Source.SourceType.Title
			}
		}
		counts[k]++
	}
	return countRows(counts), nil
}

func reportArchiveReasons(ctx context.Context, s *Service, org string) ([][]any, error) {
	apps, err := allApplications(ctx, s, org)
	if err != nil {
		return nil, err
	}
	counts := map[[2]string]int{}
	for _, a := range apps {
		if a.Status != ashby.ApplicationArchived {
			continue
		}
		k := [2]string{"(No reason)", ""}
		if a.ArchiveReason != nil {
			k = [2]string{a.ArchiveReason.Text, a.ArchiveReason.ReasonType}
		}
		counts[k]++
	}
	return countRows(counts), nil
}
