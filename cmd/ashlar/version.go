package main

import (
	"context"
	"fmt"
	"runtime/debug"
)

func versionCommand() *command {
	return &command{name: "version", summary: "print the version and how this binary was built", run: runVersion}
}

// runVersion prints what the Go toolchain recorded in the binary: the
// module version (a tag when installed with go install …@vX), the VCS
// revision, its time and whether the tree had local changes, and Go's
// version.
func runVersion(ctx context.Context, e *env, args []string) error {
	fs := flags(e, "version", "ashlar version (or ashlar --version)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs(fs, pos); err != nil {
		return err
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		fmt.Fprintln(e.stdout, "ashlar (no build information)")
		return nil
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	fmt.Fprintf(e.stdout, "ashlar %s\n", bi.Main.Version)
	fmt.Fprintf(e.stdout, "  module:   %s %s\n", bi.Main.Path, bi.Main.Version)
	rev := settings["vcs.revision"]
	if rev == "" {
		rev = "unknown (built outside a git checkout, or with -buildvcs=false)"
	}
	if settings["vcs.modified"] == "true" {
		rev += " (modified: uncommitted changes)"
	}
	fmt.Fprintf(e.stdout, "  revision: %s\n", rev)
	if t := settings["vcs.time"]; t != "" {
		fmt.Fprintf(e.stdout, "  time:     %s\n", t)
	}
	fmt.Fprintf(e.stdout, "  go:       %s %s/%s\n", bi.GoVersion, settings["GOOS"], settings["GOARCH"])
	return nil
}
