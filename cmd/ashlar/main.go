// Command ashlar runs Ashlar, an applicant tracking system that speaks
// Ashby's API, and administers its database.
//
//	ashlar serve [--db DSN] [--addr HOST:PORT] [--demo]
//	ashlar migrate [--db DSN]
//	ashlar org create SLUG [--name NAME]      ashlar org list
//	ashlar apikey create --org SLUG --name TITLE --scopes all|LIST
//	ashlar apikey list --org SLUG             ashlar apikey revoke --org SLUG KEY_ID|SECRET
//	ashlar backup --out FILE
//
// Every command that opens a database takes --db (or ASHLAR_DB): a
// SQLite file path or sqlite:PATH (default ./ashlar.db), a postgres:// or
// postgresql:// URL, or a libpq key=value string. `ashlar COMMAND --help`
// lists a command's flags; docs/configuration.md lists them all.
//
// Conventions: help goes to standard output and exits 0; a usage error is
// one line on standard error and exits 2; any other failure exits 1.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"

	"github.com/ashlarhq/ashlar/store"
)

// command is one node of the command tree: a leaf runs; a group has
// subcommands.
type command struct {
	name    string
	summary string
	hidden  bool // left out of help (generators, internal tools)
	// usage is a group's usage lines, printed by its --help; a leaf
	// prints the usage line it gives its flag set.
	usage []string
	// help is more text for a group's --help.
	help string
	run  func(ctx context.Context, e *env, args []string) error
	subs []*command
}

// commands is the whole command line, in the order help lists it.
func commands() []*command {
	return []*command{
		serveCommand(),
		migrateCommand(),
		backupCommand(),
		orgCommand(),
		apikeyCommand(),
		userCommand(),
		webhookCommand(),
		partnerCommand(),
		syncCommand(),
		listenCommand(),
		careersCommand(),
		endpointsCommand(),
		versionCommand(),
		configDocCommand(),
	}
}

// env is what commands share: where to write, and the environment.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	// inspect, when set, receives each command's flag set instead of the
	// command running: how `ashlar config-doc` reads every flag.
	inspect func(path string, fs *flagSet)
	// log, when set, takes the status lines (serve with --log-format json).
	log *slog.Logger
}

// say prints a status line on stderr: "ashlar: TEXT", or, when serve logs
// JSON, a log record of msg and attrs.
func (e *env) say(text, msg string, attrs ...any) {
	if e.log != nil {
		e.log.Info(msg, attrs...)
		return
	}
	fmt.Fprintln(e.stderr, "ashlar: "+text)
}

// sayDB says which database a command uses, password hidden.
func (e *env) sayDB(engine store.Engine, dsn string) {
	e.say(fmt.Sprintf("database: %s %s", engine, redact(dsn)), "database", "engine", engine.String(), "db", redact(dsn))
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	e := &env{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	if err := run(ctx, e, os.Args[1:]); err != nil {
		switch {
		case errors.Is(err, errHelp):
		case e.log != nil:
			e.log.Error("exiting", "error", err.Error())
		default:
			fmt.Fprintln(os.Stderr, "ashlar:", err)
		}
		os.Exit(exitCode(err))
	}
}

// usageError is a mistake in the command line: exit status 2.
type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

// errHelp means help was printed as asked: exit status 0.
var errHelp = errors.New("help printed")

// errInspected stops a command once its flags have been inspected.
var errInspected = errors.New("flags inspected")

func exitCode(err error) int {
	var u usageError
	switch {
	case err == nil, errors.Is(err, errHelp):
		return 0
	case errors.As(err, &u):
		return 2
	}
	return 1
}

func isHelp(arg string) bool {
	return arg == "-h" || arg == "--help" || arg == "-help" || arg == "help"
}

func run(ctx context.Context, e *env, args []string) error {
	root := &command{name: "ashlar", subs: commands()}
	if len(args) > 0 && (args[0] == "--version" || args[0] == "-version") {
		return runVersion(ctx, e, args[1:])
	}
	return dispatch(ctx, e, nil, root, args)
}

// dispatch runs the command args name under c.
func dispatch(ctx context.Context, e *env, path []string, c *command, args []string) error {
	if c.run != nil {
		return c.run(ctx, e, args)
	}
	name := strings.Join(append([]string{"ashlar"}, path...), " ")
	// Messages are prefixed "ashlar: " by main; a group's name follows.
	prefix := ""
	if len(path) > 0 {
		prefix = strings.Join(path, " ") + ": "
	}
	if len(args) == 0 {
		return usageError{fmt.Sprintf("%sgive a command (see '%s --help')", prefix, name)}
	}
	if isHelp(args[0]) {
		// "ashlar help org" is "ashlar org --help".
		if args[0] == "help" && len(args) > 1 {
			return dispatch(ctx, e, path, c, append(args[1:], "--help"))
		}
		groupHelp(e.stdout, path, c)
		return errHelp
	}
	for _, s := range c.subs {
		if s.name == args[0] {
			return dispatch(ctx, e, append(path, s.name), s, args[1:])
		}
	}
	return usageError{fmt.Sprintf("%sunknown command %q (see '%s --help')", prefix, args[0], name)}
}

func groupHelp(w io.Writer, path []string, c *command) {
	if len(path) == 0 {
		fmt.Fprintln(w, "ashlar: an applicant tracking system that speaks Ashby's API.")
		fmt.Fprintln(w, "\nUsage: ashlar COMMAND [flags]\n\nCommands:")
		for _, s := range c.subs {
			if !s.hidden {
				fmt.Fprintf(w, "  %-10s %s\n", s.name, s.summary)
			}
		}
		fmt.Fprintln(w, "\nRun 'ashlar COMMAND --help' for a command's flags; docs/configuration.md lists every flag.")
		return
	}
	fmt.Fprintf(w, "ashlar %s: %s\n\nUsage:\n", strings.Join(path, " "), c.summary)
	for _, u := range c.usage {
		fmt.Fprintln(w, "  "+u)
	}
	if c.help != "" {
		fmt.Fprintln(w, "\n"+strings.TrimSpace(c.help))
	}
	fmt.Fprintf(w, "\nRun 'ashlar %s COMMAND --help' for a command's flags.\n", strings.Join(path, " "))
}

// flagSet is a command's flags: its usage line, and the environment that
// supplies defaults.
type flagSet struct {
	*flag.FlagSet
	e     *env
	usage string
}

// flags makes the flag set of the command named name ("org create").
func flags(e *env, name, usageLine string) *flagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	// Errors are reported once, by main; help is printed by parse.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &flagSet{FlagSet: fs, e: e, usage: usageLine}
}

// dbFlag adds --db (env ASHLAR_DB).
func dbFlag(fs *flagSet) *string {
	return fs.String("db", defaultDB, "database: a SQLite file path (or sqlite:PATH), a postgres:// or postgresql:// URL, or a libpq key=value string")
}

const defaultDB = "./ashlar.db"

// envVar is the environment variable that sets a flag of a command, or
// "". Every serve flag has one (ASHLAR_ and the flag's name); of the other
// commands' flags, --db, and --base-url where a command prints links to
// the server (so that they match serve's); sync, listen and careers name
// theirs in toolEnv (sync.go).
func envVar(cmd, flagName string) string {
	if v, ok := envAliases[flagName]; ok && cmd == "serve" {
		return v
	}
	if m, ok := toolEnv[cmd]; ok {
		return m[flagName]
	}
	if cmd == "serve" || flagName == "db" || flagName == "base-url" {
		return "ASHLAR_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
	}
	return ""
}

// envAliases keep the names these variables had before every flag got one.
var envAliases = map[string]string{
	"files-s3-endpoint":   "ASHLAR_S3_ENDPOINT",
	"files-s3-bucket":     "ASHLAR_S3_BUCKET",
	"files-s3-region":     "ASHLAR_S3_REGION",
	"files-s3-path-style": "ASHLAR_S3_PATH_STYLE",
}

// parse applies the environment's settings, then the command line, and
// returns the positional arguments. Flags may come before or after them
// ("org create acme --name Acme").
func parse(fs *flagSet, args []string) ([]string, error) {
	if fs.e.inspect != nil {
		fs.e.inspect(fs.Name(), fs)
		return nil, errInspected
	}
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		name := envVar(fs.Name(), f.Name)
		if name == "" || envErr != nil {
			return
		}
		if v := fs.e.getenv(name); v != "" {
			if err := f.Value.Set(v); err != nil {
				envErr = usageError{fmt.Sprintf("%s=%q (for --%s): %v", name, v, f.Name, err)}
			}
		}
	})
	if envErr != nil {
		return nil, envErr
	}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				printFlagsHelp(fs.e.stdout, fs)
				return nil, errHelp
			}
			return nil, usageError{fmt.Sprintf("%s: %v (see 'ashlar %s --help')", fs.Name(), err, fs.Name())}
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// printFlagsHelp prints a command's usage line and its flags with their
// defaults and environment variables.
func printFlagsHelp(w io.Writer, fs *flagSet) {
	fmt.Fprintf(w, "Usage: %s\n", fs.usage)
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n == 0 {
		return
	}
	fmt.Fprintln(w, "\nFlags:")
	for _, f := range flagDocs(fs) {
		fmt.Fprintf(w, "  --%s", f.Name)
		if f.Arg != "" {
			fmt.Fprintf(w, " %s", f.Arg)
		}
		fmt.Fprintf(w, "\n      %s", f.Usage)
		if f.Default != "" {
			fmt.Fprintf(w, " (default %s)", f.Default)
		}
		if f.Env != "" {
			fmt.Fprintf(w, " [env %s]", f.Env)
		}
		fmt.Fprintln(w)
	}
}

// flagDoc is one flag as help and docs/configuration.md show it.
type flagDoc struct {
	Name, Arg, Usage, Default, Env string
}

func flagDocs(fs *flagSet) []flagDoc {
	var out []flagDoc
	fs.VisitAll(func(f *flag.Flag) {
		arg, usage := flag.UnquoteUsage(f)
		d := flagDoc{Name: f.Name, Arg: arg, Usage: usage, Env: envVar(fs.Name(), f.Name)}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			d.Arg = ""
			if f.DefValue == "true" {
				d.Default = "true"
			}
		} else if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "0s" {
			d.Default = f.DefValue
		}
		out = append(out, d)
	})
	return out
}

// noArgs refuses positional arguments for commands that take none.
func noArgs(fs *flagSet, pos []string) error {
	if len(pos) > 0 {
		return usageError{fmt.Sprintf("%s: unexpected argument %q (see 'ashlar %s --help')", fs.Name(), pos[0], fs.Name())}
	}
	return nil
}

// dbMode says whether a command may create a database.
type dbMode int

const (
	// existingDB refuses a database Ashlar has never migrated: a command
	// pointed at the wrong --db should fail, not create an empty database
	// next to the real one.
	existingDB dbMode = iota
	// createDB creates and migrates the database if needed (serve, migrate,
	// org create).
	createDB
)

// openDB opens the database, says on stderr which one, and migrates it.
func openDB(ctx context.Context, e *env, dsn string, mode dbMode) (*store.DB, error) {
	return openDBWith(ctx, e, dsn, mode, store.Options{})
}

// openDBWith is openDB with the store's options (serve's
// --sqlite-synchronous).
func openDBWith(ctx context.Context, e *env, dsn string, mode dbMode, o store.Options) (*store.DB, error) {
	engine, target, err := store.ParseDSN(dsn)
	if err != nil {
		return nil, usageError{fmt.Sprintf("--db: %v", err)}
	}
	e.sayDB(engine, dsn)
	fix := "point --db (or ASHLAR_DB) at the server's database, or create this one with 'ashlar migrate' or 'ashlar org create'"
	if mode == existingDB && engine == store.SQLite {
		path := strings.TrimPrefix(target, "file:")
		if i := strings.IndexByte(path, '?'); i >= 0 {
			path = path[:i]
		}
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no database at %s (this command does not create one): %s", path, fix)
		}
	}
	db, err := store.OpenWith(ctx, dsn, o)
	if err != nil {
		return nil, err
	}
	if mode == existingDB {
		ok, err := db.Initialized(ctx)
		if err != nil {
			db.Close()
			return nil, err
		}
		if !ok {
			db.Close()
			return nil, fmt.Errorf("%s is empty: Ashlar has never run on it (this command does not set it up): %s", redact(dsn), fix)
		}
	}
	if _, err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate %s: %w", redact(dsn), err)
	}
	return db, nil
}

var (
	kvPassword = regexp.MustCompile(`(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)`)
	qPassword  = regexp.MustCompile(`([?&]password=)[^&]*`)
)

// redact hides passwords in a DSN for messages: a URL's user info, a
// password= query parameter, a libpq password= keyword.
func redact(dsn string) string {
	if i := strings.Index(dsn, "://"); i >= 0 {
		if at := strings.LastIndex(dsn, "@"); at > i {
			if colon := strings.Index(dsn[i+3:at], ":"); colon >= 0 {
				dsn = dsn[:i+3+colon+1] + "****" + dsn[at:]
			}
		}
		return qPassword.ReplaceAllString(dsn, "${1}****")
	}
	return kvPassword.ReplaceAllString(dsn, "${1}****")
}
