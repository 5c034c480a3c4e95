package main

import (
	"context"
	"time"

	"github.com/ashlarhq/ashlar/jobqueue"
	"github.com/ashlarhq/ashlar/server"
)

// An interview schedule's status moves on when its interviews end
// (Scheduled → WaitingOnFeedback or Complete), with no request to cause
// it. Listing schedules applies that change; this loop also applies it on
// a timer, so that interviewScheduleUpdate webhooks fire when interviews
// end even if nobody lists (docs/interviews.md). It is a periodic job
// (package jobqueue), so one process runs it per interval; were two to
// run at once, each change is still made once, under the schedule's lock.

func defineInterviewFlags(fs *flagSet, every *time.Duration) {
	fs.DurationVar(every, "interview-status-interval", time.Minute, "how often to move interview schedules whose interviews have ended on to WaitingOnFeedback or Complete (0: only when schedules are listed)")
}

// startInterviewStatuses makes the advance a periodic job of the
// server's queue: one process runs it per interval.
func startInterviewStatuses(srv *server.Server, every time.Duration) error {
	if every <= 0 {
		return nil
	}
	return srv.Jobs.Register(jobqueue.Kind{
		Name: "interviews.advance-statuses", Every: every, Timeout: 5 * time.Minute, MaxAttempts: 1,
		Handler: jobqueue.Handler{Work: func(ctx context.Context, j *jobqueue.Job) jobqueue.Result {
			if err := srv.Service.AdvanceInterviewSchedules(ctx); err != nil {
				srv.Log.Warn("advance interview schedules", "err", err)
				return jobqueue.Result{State: jobqueue.Failed, Outcome: "error", Err: err.Error()}
			}
			return jobqueue.Result{State: jobqueue.Succeeded, Outcome: "success"}
		}},
	})
}
