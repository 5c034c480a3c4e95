package main

import (
	"context"
	"time"

	"github.com/ashlarhq/ashlar/careers"
	"github.com/ashlarhq/ashlar/jobboard"
	"github.com/ashlarhq/ashlar/server"
	"github.com/ashlarhq/ashlar/surveypage"
)

// careersConfig configures the public pages: the posting API, the
// careers site (with its take-home pages) and the survey page.
type careersConfig struct {
	Refresh                   time.Duration
	PerMinute, Burst          int
	SurveyPerMin, SurveyBurst int
}

func (c *careersConfig) define(fs *flagSet) {
	fs.DurationVar(&c.Refresh, "posting-api-refresh", time.Second, "how often the public posting API and careers site check a board for changes made by other processes")
	fs.IntVar(&c.PerMinute, "careers-rate-limit", 10, "applications a minute accepted from one IP address on the careers site (0: no limit)")
	fs.IntVar(&c.Burst, "careers-rate-burst", 10, "burst size for --careers-rate-limit")
	fs.IntVar(&c.SurveyPerMin, "survey-rate-limit", 10, "survey answers a minute accepted from one IP address on the survey page (0: no limit)")
	fs.IntVar(&c.SurveyBurst, "survey-rate-burst", 10, "burst size for --survey-rate-limit")
}

// startPublicPages mounts the posting API (GET /posting-api/job-board/…),
// the careers site (/jobs/…, /take-home/…) and the survey page
// (/surveys/…).
func startPublicPages(srv *server.Server, c careersConfig, bodyTimeout time.Duration) error {
	boards := jobboard.New(srv.Service, jobboard.Options{Refresh: c.Refresh, Log: srv.Log})
	boards.Routes(srv.Mux)
	srv.OnShutdown(func(ctx context.Context) error { return boards.Close() })
	site, err := careers.New(srv.Service, boards, careers.Options{PostsPerMinute: c.PerMinute, Burst: burstOrOff(c.PerMinute, c.Burst), Log: srv.Log, BodyTimeout: bodyTimeout})
	if err != nil {
		return err
	}
	site.Routes(srv.Mux)
	page, err := surveypage.New(srv.Service, surveypage.Options{PostsPerMinute: c.SurveyPerMin, Burst: burstOrOff(c.SurveyPerMin, c.SurveyBurst), Log: srv.Log, BodyTimeout: bodyTimeout})
	if err != nil {
		return err
	}
	page.Routes(srv.Mux)
	return nil
}

// burstOrOff is the Burst the page limiters take: negative turns the
// limit off, which a rate of 0 means on the command line.
func burstOrOff(perMin, burst int) int {
	if perMin == 0 {
		return -1
	}
	return burst
}
