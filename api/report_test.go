package api

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/store/storetest"
)

// The report limits are counted in the database under a lock, so that
// concurrent starts (here, from many goroutines; in production, from many
// processes) never exceed them.
func TestReportLimits(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := New(db, "http://ashlar.test", nil)
		org := ashby.NewID()
		rep := builtinReports[0].ID

		// Runs in progress count against the 3-at-once limit; starts race.
		var wg sync.WaitGroup
		errs := make(chan error, 10)
		for i := 0; i < 10; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := s.reportStart(ctx, org, rep, true)
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		ok, concurrent := 0, 0
		for err := range errs {
			if err == nil {
				ok++
				continue
			}
			e, isAPI := ashby.AsError(err)
			if !isAPI || e.Code != ashby.CodeConcurrentLimitExceeded || e.Status != http.StatusTooManyRequests || e.RetryAfter != 30 {
				t.Fatalf("unexpected error: %v", err)
			}
			concurrent++
		}
		if ok != ReportConcurrentRuns || concurrent != 10-ReportConcurrentRuns {
			t.Fatalf("%d starts succeeded and %d were refused; want %d and %d", ok, concurrent, ReportConcurrentRuns, 10-ReportConcurrentRuns)
		}

		// Finished runs free their slot but still count as starts.
		if _, err := db.ExecContext(ctx, `UPDATE report_runs SET status = 'complete' WHERE org_id = $1`, org); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < ReportStartsPerMinute-ReportConcurrentRuns; i++ {
			id, err := s.reportStart(ctx, org, rep, true)
			if err != nil {
				t.Fatalf("start %d: %v", i, err)
			}
			if _, err := db.ExecContext(ctx, `UPDATE report_runs SET status = 'complete' WHERE request_id = $1`, id); err != nil {
				t.Fatal(err)
			}
		}
		_, err := s.reportStart(ctx, org, rep, true)
		if e, _ := ashby.AsError(err); e == nil || e.Code != ashby.CodeRateLimitExceeded || e.RetryAfter < 1 || e.RetryAfter > 60 {
			t.Fatalf("start over the minute's budget: %v", err)
		}

		// A minute later the budget is back; a run stuck in progress for
		// longer than the run timeout (its process died) no longer counts
		// and polls as failed.
		later := time.Now().Add(reportRunTimeout + time.Minute)
		db.Now = func() time.Time { return later }
		stuck, err := s.reportStart(ctx, org, rep, true)
		if err != nil {
			t.Fatalf("start after a minute: %v", err)
		}
		db.Now = func() time.Time { return later.Add(reportRunTimeout + time.Second) }
		res, err := s.reportPoll(ctx, org, rep, stuck)
		if err != nil || res.Status != ashby.ReportFailed || res.FailureReason == nil || *res.FailureReason != "ProcessInterrupted" {
			t.Fatalf("stuck run: %+v, %v", res, err)
		}
	})
}
