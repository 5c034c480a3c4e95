package main

import (
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ashlarhq/ashlar/ashby"
)

// writeJSONLines prints one JSON object per line, the --json form of the
// listing commands (easy to pipe into jq or a log shipper).
func writeJSONLines[T any](out io.Writer, items []T) error {
	enc := json.NewEncoder(out)
	for _, it := range items {
		if err := enc.Encode(it); err != nil {
			return err
		}
	}
	return nil
}

// nextOrDone is the NEXT/DONE column of a queued delivery or call.
func nextOrDone(next, done *ashby.Time) string {
	switch {
	case next != nil:
		return "next " + next.String()
	case done != nil:
		return "done " + done.String()
	}
	return ""
}

// attemptStatus is an attempt's HTTP status, or "-" when none came back.
func attemptStatus(code int) string {
	if code == 0 {
		return "-"
	}
	return strconv.Itoa(code)
}

// attemptDetail is what a table shows of an attempt: its error, else the
// start of the response on one line, at most 100 bytes, cut on a
// character boundary.
func attemptDetail(errText, response string) string {
	d := errText
	if d == "" {
		d = strings.Join(strings.Fields(response), " ")
	}
	if len(d) <= 100 {
		return d
	}
	cut := 100
	for cut > 0 && !utf8.RuneStart(d[cut]) {
		cut--
	}
	return d[:cut] + "…"
}
