package main

import (
	"context"
	"time"

	"github.com/ashlarhq/ashlar/server"
)

// An interview schedule's status moves on when its interviews end
// (Scheduled → WaitingOnFeedback or Complete), with no request to cause
// it. Listing schedules applies that change; this loop also applies it on
// a timer, so that interviewScheduleUpdate webhooks fire when interviews
// end even if nobody lists (docs/interviews.md). Several processes may
// run it: each change is made once, under the schedule's lock.

func defineInterviewFlags(fs *flagSet, every *time.Duration) {
	fs.DurationVar(every, "interview-status-interval", time.Minute, "how often to move interview schedules whose interviews have ended on to WaitingOnFeedback or Complete (0: only when schedules are listed)")
}

func startInterviewStatuses(ctx context.Context, srv *server.Server, every time.Duration) {
	if every <= 0 {
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := srv.Service.AdvanceInterviewSchedules(ctx); err != nil && ctx.Err() == nil {
					srv.Log.Warn("advance interview schedules", "err", err)
				}
			}
		}
	}()
	srv.OnShutdown(func(context.Context) error {
		cancel()
		<-done
		return nil
	})
}
