package main

import (
	"context"
	"io"
	"log/slog"

	"github.com/ashlarhq/ashlar/api"
	"github.com/ashlarhq/ashlar/compat"
)

func endpointsCommand() *command {
	return &command{name: "endpoints", summary: "print the compatibility table: every Ashby endpoint and whether Ashlar implements it", run: runEndpoints}
}

// runEndpoints prints the table generated from the live endpoint table
// and the reference lists embedded in the compat package; it needs no
// database.
func runEndpoints(ctx context.Context, e *env, args []string) error {
	fs := flags(e, "endpoints", "ashlar endpoints [--format text|markdown|json] [--missing]")
	format := fs.String("format", "text", "output format: text, markdown or json")
	missing := fs.Bool("missing", false, "list only the endpoints of Ashby's reference that Ashlar does not serve (missing or partner-side)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs(fs, pos); err != nil {
		return err
	}
	if *format != "text" && *format != "markdown" && *format != "json" {
		return usageError{"endpoints: --format takes text, markdown or json"}
	}
	svc := api.New(nil, "", slog.New(slog.NewTextHandler(io.Discard, nil)))
	rows := compat.Table(svc.API())
	counts := compat.Count(rows)
	if *missing {
		var kept []compat.Row
		for _, r := range rows {
			if !r.Extension && r.Status != compat.Implemented {
				kept = append(kept, r)
			}
		}
		rows = kept
	}
	return compat.Write(e.stdout, rows, counts, *format)
}
