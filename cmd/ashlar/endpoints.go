package main

import (
	"context"
	"io"
	"log/slog"

	"github.com/ashlarhq/ashlar/api"
	"github.com/ashlarhq/ashlar/compat"
)

func init() {
	addCommand(command{"endpoints", "print the compatibility table: every Ashby endpoint and whether Ashlar implements it", runEndpoints})
}

// runEndpoints prints the table generated from the live endpoint table
// and the reference lists embedded in the compat package; it needs no
// database.
func runEndpoints(ctx context.Context, e *env, args []string) error {
	fs := flags(e, "endpoints", "ashlar endpoints [--format text|markdown|json] [--missing]")
	format := fs.String("format", "text", "output format: text, markdown or json")
	missing := fs.Bool("missing", false, "list only reference endpoints Ashlar does not implement")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	svc := api.New(nil, "", slog.New(slog.NewTextHandler(io.Discard, nil)))
	rows := compat.Table(svc.API())
	if *missing {
		kept := rows[:0]
		for _, r := range rows {
			if !r.Extension && r.Status != compat.Implemented {
				kept = append(kept, r)
			}
		}
		rows = kept
	}
	if err := compat.Write(e.stdout, rows, *format); err != nil {
		return usageError{err.Error()}
	}
	return nil
}
