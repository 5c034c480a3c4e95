package main

import (
	"context"
	"flag"
	"time"

	"github.com/ashlarhq/ashlar/careers"
	"github.com/ashlarhq/ashlar/jobboard"
	"github.com/ashlarhq/ashlar/server"
)

func init() {
	var (
		refresh       *time.Duration
		perMin, burst *int
	)
	serveHooks = append(serveHooks, serveHook{
		name: "careers",
		flags: func(fs *flag.FlagSet) {
			refresh = fs.Duration("posting-api-refresh", time.Second, "how often the public posting API and careers site check a board for changes made by other processes")
			perMin = fs.Int("careers-rate-limit", 10, "applications a minute accepted from one IP address on the careers site (0: no limit)")
			burst = fs.Int("careers-rate-burst", 10, "burst size for --careers-rate-limit")
		},
		start: func(ctx context.Context, srv *server.Server, o *serveOptions) error {
			boards := jobboard.New(srv.Service, jobboard.Options{Refresh: *refresh, Log: srv.Log})
			boards.Routes(srv.Mux)
			srv.OnShutdown(func(context.Context) error { return boards.Close() })
			b := *burst
			if *perMin == 0 {
				b = -1
			}
			site, err := careers.New(srv.Service, boards, careers.Options{PostsPerMinute: *perMin, Burst: b, Log: srv.Log, BodyTimeout: o.BodyTimeout})
			if err != nil {
				return err
			}
			site.Routes(srv.Mux)
			return nil
		},
	})
}
