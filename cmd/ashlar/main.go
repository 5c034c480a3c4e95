// Command ashlar runs Ashlar, an applicant tracking system that speaks
// Ashby's API, and administers its database.
//
//	ashlar serve [--db DSN] [--addr HOST:PORT] [--demo]
//	ashlar migrate [--db DSN]
//	ashlar org create SLUG [--name NAME]      ashlar org list
//	ashlar apikey create --org SLUG --name TITLE --scopes all|LIST
//	ashlar apikey list --org SLUG             ashlar apikey revoke --org SLUG KEY_ID
//
// Every command takes --db (or ASHLAR_DB): a file path or sqlite:PATH for
// embedded SQLite (default ./ashlar.db), or a postgres:// URL.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"github.com/ashlarhq/ashlar/store"
)

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env *env, args []string) error
}

// env is what commands share: where to write, and how to open the database.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
}

var commands []command

func addCommand(c command) { commands = append(commands, c) }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	e := &env{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	if err := run(ctx, e, os.Args[1:]); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "ashlar:", err)
		}
		os.Exit(exitCode(err))
	}
}

type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

func exitCode(err error) int {
	var u usageError
	if errors.As(err, &u) || errors.Is(err, flag.ErrHelp) {
		return 2
	}
	return 1
}

func run(ctx context.Context, e *env, args []string) error {
	sort.Slice(commands, func(i, j int) bool { return commands[i].name < commands[j].name })
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(e.stdout)
		if len(args) == 0 {
			return usageError{"no command given"}
		}
		return nil
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(ctx, e, args[1:])
		}
	}
	usage(e.stderr)
	return usageError{fmt.Sprintf("unknown command %q", args[0])}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "ashlar: an applicant tracking system that speaks Ashby's API.")
	fmt.Fprintln(w, "\nUsage: ashlar COMMAND [flags]\n\nCommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'ashlar COMMAND --help' for a command's flags.")
}

// flags makes a flag set for a (sub)command whose --help prints usage
// and the defaults.
func flags(e *env, name, usageLine string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: %s\n\nFlags:\n", usageLine)
		fs.PrintDefaults()
	}
	return fs
}

// dbFlag adds --db with its environment default.
func dbFlag(e *env, fs *flag.FlagSet) *string {
	def := e.getenv("ASHLAR_DB")
	if def == "" {
		def = "./ashlar.db"
	}
	return fs.String("db", def, "database: a SQLite file path (or sqlite:PATH), or a postgres:// URL; env ASHLAR_DB")
}

// parse parses flags that may come before or after positional arguments
// ("org create acme --name Acme") and returns the positional ones.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// openDB opens and migrates the database.
func openDB(ctx context.Context, dsn string) (*store.DB, error) {
	return openDBWith(ctx, dsn, store.Options{})
}

// openDBWith opens and migrates the database with options.
func openDBWith(ctx context.Context, dsn string, o store.Options) (*store.DB, error) {
	db, err := store.OpenWith(ctx, dsn, o)
	if err != nil {
		return nil, err
	}
	if _, err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate %s: %w", redact(dsn), err)
	}
	return db, nil
}

// redact hides a password in a DSN for messages.
func redact(dsn string) string {
	if i := strings.Index(dsn, "://"); i >= 0 {
		if at := strings.LastIndex(dsn, "@"); at > i {
			if colon := strings.Index(dsn[i+3:at], ":"); colon >= 0 {
				return dsn[:i+3+colon+1] + "****" + dsn[at:]
			}
		}
	}
	return dsn
}
