package main

import (
	"context"
	"flag"

	"github.com/ashlarhq/ashlar/server"
	"github.com/ashlarhq/ashlar/surveypage"
)

func init() {
	var perMin, burst *int
	serveHooks = append(serveHooks, serveHook{
		name: "surveys",
		flags: func(fs *flag.FlagSet) {
			perMin = fs.Int("survey-rate-limit", 10, "survey answers a minute accepted from one IP address on the survey page (0: no limit)")
			burst = fs.Int("survey-rate-burst", 10, "burst size for --survey-rate-limit")
		},
		start: func(ctx context.Context, srv *server.Server, o *serveOptions) error {
			b := *burst
			if *perMin == 0 {
				b = -1
			}
			page, err := surveypage.New(srv.Service, surveypage.Options{PostsPerMinute: *perMin, Burst: b, Log: srv.Log, BodyTimeout: o.BodyTimeout})
			if err != nil {
				return err
			}
			page.Routes(srv.Mux)
			return nil
		},
	})
}
