package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/store/storetest"
	"github.com/ashlarhq/ashlar/testserver"
)

// cliResult is what one run of the binary did.
type cliResult struct {
	stdout, stderr string
	code           int
}

// cli runs the real binary in dir with env added to an environment
// cleared of ASHLAR_ variables (a developer's ASHLAR_DB must not leak in).
// A stdout of "/dev/full" makes every write to standard output fail.
func cli(t *testing.T, dir string, env []string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, testserver.Binary(t), args...)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ASHLAR_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	var full *os.File
	for _, kv := range env {
		if kv == "stdout=/dev/full" {
			f, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
			if err != nil {
				t.Skip("no /dev/full")
			}
			full = f
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if full != nil {
		defer full.Close()
		cmd.Stdout = full
	}
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatalf("ashlar %s: %v", strings.Join(args, " "), err)
	}
	return cliResult{out.String(), errOut.String(), code}
}

func (r cliResult) String() string {
	return "exit " + strconv.Itoa(r.code) + "\n--- stdout:\n" + r.stdout + "--- stderr:\n" + r.stderr
}

// errorLines are stderr's lines other than the "database: …" status line.
func (r cliResult) errorLines() []string {
	var out []string
	for _, l := range strings.Split(strings.TrimRight(r.stderr, "\n"), "\n") {
		if l != "" && !strings.HasPrefix(l, "ashlar: database: ") {
			out = append(out, l)
		}
	}
	return out
}

// walkCommands calls fn with the path of every command of the tree, the
// root (an empty path) and groups included.
func walkCommands(fn func(path []string, c *command)) {
	var walk func(path []string, c *command)
	walk = func(path []string, c *command) {
		fn(path, c)
		for _, s := range c.subs {
			walk(append(append([]string{}, path...), s.name), s)
		}
	}
	walk(nil, &command{name: "ashlar", subs: commands()})
}

// The command line's conventions, checked on every command and
// subcommand the tree has: help on stdout with exit 0, a usage error as
// one line on stderr with exit 2, a runtime error with exit 1; version;
// --json on every listing; what apikey create prints; revoking by id or
// secret.
func TestE2ECommandConventions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.db")
	// Arguments that get each command past its usage checks to a failure
	// at run time (most: a database that does not exist). Every leaf
	// command must have an entry, so a new command is checked too.
	runtimeFailure := map[string][]string{
		"serve":                     {"--db", filepath.Join(dir, "serve.db"), "--addr", "127.0.0.1:99999"},
		"migrate":                   {"--db", dir}, // a directory
		"backup":                    {"--db", missing, "--out", filepath.Join(dir, "b.db")},
		"org create":                {"acme", "--db", dir},
		"org list":                  {"--db", missing},
		"apikey create":             {"--org", "acme", "--name", "k", "--scopes", "all", "--db", missing},
		"apikey list":               {"--org", "acme", "--db", missing},
		"apikey revoke":             {"--org", "acme", ashby.NewID(), "--db", missing},
		"user create":               {"--org", "acme", "--email", "ada@acme.example", "--name", "Ada Lovelace", "--role", "admin", "--db", missing},
		"user list":                 {"--org", "acme", "--db", missing},
		"user set-password":         {"--org", "acme", "--email", "ada@acme.example", "--password-stdin", "--db", missing},
		"user deactivate":           {"--org", "acme", "--email", "ada@acme.example", "--db", missing},
		"webhook create":            {"--org", "acme", "--db", missing},
		"webhook list":              {"--org", "acme", "--db", missing},
		"webhook update":            {"--org", "acme", ashby.NewID(), "--db", missing},
		"webhook delete":            {"--org", "acme", ashby.NewID(), "--db", missing},
		"webhook ping":              {"--org", "acme", ashby.NewID(), "--db", missing},
		"webhook deliveries":        {"--org", "acme", "--db", missing},
		"webhook redeliver":         {"--org", "acme", ashby.NewID(), "--db", missing},
		"partner create":            {"--org", "acme", "--db", missing},
		"partner list":              {"--org", "acme", "--db", missing},
		"partner update":            {"--org", "acme", ashby.NewID(), "--db", missing},
		"partner delete":            {"--org", "acme", ashby.NewID(), "--db", missing},
		"partner sync":              {"--org", "acme", ashby.NewID(), "--db", missing},
		"partner calls":             {"--org", "acme", "--db", missing},
		"partner feed create":       {"--name", "jobsite", "--db", missing},
		"partner feed list":         {"--db", missing},
		"partner feed rotate-token": {"jobsite", "--db", missing},
		"partner feed delete":       {"jobsite", "--db", missing},
		"partner feed opt-in":       {"jobsite", "--org", "acme", "--db", missing},
		"partner feed opt-out":      {"jobsite", "--org", "acme", "--db", missing},
		// A warehouse or inbox that cannot be opened (a directory).
		"sync":   {"--into", dir, "--api-key", "k", "--base-url", "http://127.0.0.1:1"},
		"listen": {"--db", dir, "--secret", "s", "--exec", "true"},
		// An address that cannot be listened on.
		"careers": {"--board", "acme", "--api-key", "k", "--upstream", "http://127.0.0.1:1", "--cache-dir", filepath.Join(dir, "careers-cache"), "--addr", "127.0.0.1:99999"},
		// No database: these fail when their output cannot be written.
		"endpoints":  {"stdout=/dev/full"},
		"config-doc": {"stdout=/dev/full"},
		// version only prints what the binary holds; nothing can fail.
		"version": nil,
	}
	leaves := map[string]bool{}
	walkCommands(func(path []string, c *command) {
		name := strings.Join(path, " ")
		args := func(extra ...string) []string { return append(append([]string{}, path...), extra...) }
		for _, h := range []string{"--help", "-h"} {
			r := cli(t, dir, nil, args(h)...)
			if r.code != 0 || !strings.Contains(r.stdout, "Usage") || r.stderr != "" {
				t.Errorf("ashlar %s %s: want usage on stdout, nothing on stderr, exit 0; got %s", name, h, r)
			}
		}
		bad := "--no-such-flag"
		if c.run == nil {
			bad = "no-such-command"
		}
		r := cli(t, dir, nil, args(bad)...)
		if lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n"); r.code != 2 || len(lines) != 1 || !strings.Contains(r.stderr, "no-such") ||
			strings.Contains(r.stderr, "Flags:") || r.stdout != "" {
			t.Errorf("ashlar %s %s: want one line on stderr naming it, exit 2; got %s", name, bad, r)
		}
		if c.run == nil {
			return
		}
		leaves[name] = true
		fail, ok := runtimeFailure[name]
		if !ok {
			t.Errorf("ashlar %s: add the arguments of a runtime failure to runtimeFailure", name)
			return
		}
		if fail == nil {
			return
		}
		var env []string
		if fail[0] == "stdout=/dev/full" {
			env, fail = fail[:1], fail[1:]
		}
		r = cli(t, dir, env, args(fail...)...)
		if errs := r.errorLines(); r.code != 1 || len(errs) != 1 || !strings.HasPrefix(errs[0], "ashlar: ") {
			t.Errorf("ashlar %s %s: want one error line and exit 1; got %s", name, strings.Join(fail, " "), r)
		}
	})
	for name := range runtimeFailure {
		if !leaves[name] {
			t.Errorf("runtimeFailure names %q, which is not a command", name)
		}
	}
	if _, err := os.Stat(missing); err == nil {
		t.Errorf("a command created %s", missing)
	}

	// version and --version: the module, the VCS stamp when there is one,
	// and Go's version.
	v1, v2 := cli(t, dir, nil, "version"), cli(t, dir, nil, "--version")
	if v1.code != 0 || v1.stdout != v2.stdout || v2.code != 0 || !strings.Contains(v1.stdout, "module:   github.com/ashlarhq/ashlar") ||
		!regexp.MustCompile(`go:\s+go1\.\d+`).MatchString(v1.stdout) || !strings.Contains(v1.stdout, "revision: ") {
		t.Errorf("version:\n%s\n--version:\n%s", v1, v2)
	}

	// A database to list: an organization, keys, a webhook (with its
	// ping's delivery), a partner integration and a feed.
	db := "sqlite:" + filepath.Join(dir, "ashlar.db")
	run := func(args ...string) cliResult {
		t.Helper()
		r := cli(t, dir, []string{"ASHLAR_DB=" + db}, args...)
		if r.code != 0 {
			t.Fatalf("ashlar %s: %s", strings.Join(args, " "), r)
		}
		return r
	}
	run("org", "create", "acme", "--name", "Acme Inc.")
	created := run("apikey", "create", "--org", "acme", "--name", "warehouse sync", "--scopes", "candidatesRead,jobsRead")
	secret := strings.TrimSpace(created.stdout)
	idRE := regexp.MustCompile(`created API key ([0-9a-f-]{36})`)
	m := idRE.FindStringSubmatch(created.stderr)
	if !regexp.MustCompile(`^ashlar_[A-Za-z0-9_-]+\n$`).MatchString(created.stdout) || m == nil || !strings.Contains(created.stderr, "shown once") {
		t.Fatalf("apikey create: want the secret alone on stdout, the id and a shown-once note on stderr; got %s", created)
	}
	second := run("apikey", "create", "--org", "acme", "--name", "second", "--scopes", "all")
	secondID := idRE.FindStringSubmatch(second.stderr)[1]
	run("webhook", "create", "--org", "acme", "--type", "candidateHire", "--url", "https://hooks.example.com/ashlar", "--secret", "s3cret-token")
	run("partner", "create", "--org", "acme", "--title", "Skills Co", "--url", "https://partner.example.com/ashby")
	run("partner", "feed", "create", "--name", "jobsite", "--title", "Job Site")
	run("partner", "feed", "opt-in", "--org", "acme", "jobsite")
	nonEmpty := map[string]bool{"org list": true, "apikey list": true, "webhook list": true, "webhook deliveries": true, "partner list": true, "partner feed list": true}
	listings := 0
	walkCommands(func(path []string, c *command) {
		if c.run == nil || len(path) == 0 {
			return
		}
		name, last := strings.Join(path, " "), path[len(path)-1]
		if last != "list" && last != "deliveries" && last != "calls" {
			return
		}
		listings++
		args := append(append([]string{}, path...), "--json")
		if path[0] != "org" && !(len(path) > 1 && path[1] == "feed") {
			args = append(args, "--org", "acme")
		}
		r := run(args...)
		lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
		if r.stdout == "" {
			lines = nil
		}
		if nonEmpty[name] && len(lines) == 0 {
			t.Errorf("ashlar %s --json printed nothing", name)
		}
		for _, l := range lines {
			var v map[string]any
			if err := json.Unmarshal([]byte(l), &v); err != nil {
				t.Errorf("ashlar %s --json: line %q is not a JSON object: %v", name, l, err)
			}
		}
	})
	if listings < 7 {
		t.Errorf("only %d listing commands found", listings)
	}

	// Revoking by secret or by id; the listing shows both revoked.
	if r := run("apikey", "revoke", "--org", "acme", secret); !strings.Contains(r.stdout, m[1]) {
		t.Errorf("revoke by secret: %s", r)
	}
	run("apikey", "revoke", "--org", "acme", secondID)
	if r := cli(t, dir, []string{"ASHLAR_DB=" + db}, "apikey", "revoke", "--org", "acme", "ashlar_not-a-key"); r.code != 1 || strings.Contains(r.stderr, "ashlar_not-a-key") {
		t.Errorf("revoking an unknown secret should fail without echoing it: %s", r)
	}
	var keys []keyRow
	for _, l := range strings.Split(strings.TrimSpace(run("apikey", "list", "--org", "acme", "--json").stdout), "\n") {
		var k keyRow
		if err := json.Unmarshal([]byte(l), &k); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	if len(keys) != 2 || keys[0].RevokedAt == nil || keys[1].RevokedAt == nil {
		t.Errorf("after revoking both keys: %+v", keys)
	}
}

// The README's "Running it for real": the server on PostgreSQL, ASHLAR_DB
// set once, and the admin commands then use the server's database. A
// command that forgets it fails instead of creating ./ashlar.db.
func TestE2EReadmeRunningForReal(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, store.Postgres, testserver.Options{})
	dir := t.TempDir()
	env := []string{"ASHLAR_DB=" + srv.DSN}
	r := cli(t, dir, env, "org", "create", "acme", "--name", "Acme Inc.")
	if r.code != 0 || !strings.Contains(r.stderr, "database: postgres ") {
		t.Fatalf("org create: %s", r)
	}
	r = cli(t, dir, env, "apikey", "create", "--org", "acme", "--name", "warehouse sync", "--scopes", "candidatesRead,jobsRead")
	if r.code != 0 {
		t.Fatalf("apikey create: %s", r)
	}
	must(t, srv.Client(strings.TrimSpace(r.stdout)), "candidate.list", nil, nil)

	// Without ASHLAR_DB: refused, and nothing created.
	r = cli(t, dir, nil, "apikey", "create", "--org", "acme", "--name", "warehouse sync", "--scopes", "candidatesRead")
	if r.code != 1 || !strings.Contains(r.stderr, "database: sqlite ./ashlar.db") || !strings.Contains(r.stderr, "does not create") {
		t.Errorf("apikey create without a database: %s", r)
	}
	if _, err := os.Stat(filepath.Join(dir, "ashlar.db")); err == nil {
		t.Error("apikey create made ./ashlar.db")
	}
	// A PostgreSQL database Ashlar never ran on is refused too.
	empty := storetest.DSN(t, store.Postgres)
	if r := cli(t, dir, nil, "org", "list", "--db", empty); r.code != 1 || !strings.Contains(r.stderr, "is empty") {
		t.Errorf("org list on an empty PostgreSQL database: %s", r)
	}
}

// Database strings: PostgreSQL URLs of either scheme and libpq key=value
// strings reach the same database; other schemes are refused naming what
// works; passwords never reach the terminal; SQLite errors name the file.
func TestE2EDatabaseStrings(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, store.Postgres, testserver.Options{})
	slug, _ := srv.NewOrg()
	dir := t.TempDir()
	u, err := url.Parse(srv.DSN)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(u.User.Username(), "hunter2") // trust auth ignores it
	alt := *u
	alt.Scheme = "postgresql"
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = "5432"
	}
	kv := "host=" + host + " port=" + port + " user=" + u.User.Username() + " password=hunter2 dbname=" + strings.TrimPrefix(u.Path, "/") +
		" sslmode=disable search_path=" + u.Query().Get("search_path")
	for _, dsn := range []string{u.String(), alt.String(), kv} {
		r := cli(t, dir, nil, "org", "list", "--db", dsn)
		if r.code != 0 || !strings.Contains(r.stdout, slug) || !strings.Contains(r.stderr, "database: postgres ") {
			t.Errorf("org list --db %s: %s", dsn, r)
		}
		if strings.Contains(r.stdout+r.stderr, "hunter2") {
			t.Errorf("org list --db %s printed the password: %s", dsn, r)
		}
	}
	for _, dsn := range []string{"mysql://root@localhost/ashlar", "sqlserver://sa@localhost"} {
		r := cli(t, dir, nil, "org", "list", "--db", dsn)
		if r.code != 2 || !strings.Contains(r.stderr, "postgres://") {
			t.Errorf("org list --db %s: %s", dsn, r)
		}
	}
	bad := filepath.Join(dir, "no", "such", "dir", "a.db")
	if r := cli(t, dir, nil, "migrate", "--db", bad); r.code != 1 || !strings.Contains(r.stderr, bad) || !strings.Contains(r.stderr, "does not exist") {
		t.Errorf("migrate --db %s: %s", bad, r)
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:pw@h/db":                      "postgres://u:****@h/db",
		"postgresql://u@h/db?password=pw&x=1":       "postgresql://u@h/db?password=****&x=1",
		"host=h user=u password=pw dbname=d":        "host=h user=u password=**** dbname=d",
		"host=h password = 'p w\\'x' dbname=d":      "host=h password = **** dbname=d",
		"./ashlar.db":                               "./ashlar.db",
		"postgres://u:p@ss@h:5432/db?sslmode=false": "postgres://u:****@h:5432/db?sslmode=false",
	} {
		if got := redact(in); got != want {
			t.Errorf("redact(%q) = %q, want %q", in, got, want)
		}
	}
}
