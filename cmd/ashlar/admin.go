package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ashlarhq/ashlar/api"
	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/store"
)

func migrateCommand() *command {
	return &command{name: "migrate", summary: "apply database migrations (creating the database if needed)", run: runMigrate}
}

func runMigrate(ctx context.Context, e *env, args []string) error {
	fs := flags(e, "migrate", "ashlar migrate [--db DSN]")
	dsn := dbFlag(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs(fs, pos); err != nil {
		return err
	}
	engine, _, err := store.ParseDSN(*dsn)
	if err != nil {
		return usageError{fmt.Sprintf("--db: %v", err)}
	}
	e.sayDB(engine, *dsn)
	db, err := store.Open(ctx, *dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	applied, err := db.Migrate(ctx)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintln(e.stdout, "database is up to date")
	}
	for _, m := range applied {
		fmt.Fprintln(e.stdout, "applied", m)
	}
	return nil
}

func orgCommand() *command {
	return &command{name: "org", summary: "create and list organizations",
		usage: []string{"ashlar org create SLUG [--name NAME] [--db DSN]", "ashlar org list [--json] [--db DSN]"},
		subs: []*command{
			{name: "create", summary: "create an organization (and the database, if it does not exist yet)", run: runOrgCreate},
			{name: "list", summary: "list organizations", run: runOrgList},
		}}
}

func runOrgCreate(ctx context.Context, e *env, args []string) error {
	fs := flags(e, "org create", "ashlar org create SLUG [--name NAME] [--db DSN]")
	name := fs.String("name", "", "display name (default: the slug)")
	dsn := dbFlag(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{"org create: give exactly one SLUG (see 'ashlar org create --help')"}
	}
	db, err := openDB(ctx, e, *dsn, createDB)
	if err != nil {
		return err
	}
	defer db.Close()
	org, err := api.New(db, "", nil).CreateOrg(ctx, pos[0], *name)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "created organization %s (%s)\n", org.Slug, org.ID)
	return nil
}

// orgRow is an organization as `org list --json` prints it.
type orgRow struct {
	ID        string    `json:"id"`
	Slug      string    `json:"slug"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"createdAt"`
}

func runOrgList(ctx context.Context, e *env, args []string) error {
	fs := flags(e, "org list", "ashlar org list [--json] [--db DSN]")
	asJSON := fs.Bool("json", false, "print JSON, one organization per line")
	dsn := dbFlag(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs(fs, pos); err != nil {
		return err
	}
	db, err := openDB(ctx, e, *dsn, existingDB)
	if err != nil {
		return err
	}
	defer db.Close()
	orgs, err := db.Orgs(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		rows := make([]orgRow, len(orgs))
		for i, o := range orgs {
			rows[i] = orgRow{ID: o.ID, Slug: o.Slug, Name: o.Name, CreatedAt: o.CreatedAt}
		}
		return writeJSONLines(e.stdout, rows)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SLUG\tNAME\tID\tCREATED")
	for _, o := range orgs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", o.Slug, o.Name, o.ID, o.CreatedAt.Format(time.RFC3339))
	}
	return tw.Flush()
}

func apikeyCommand() *command {
	return &command{name: "apikey", summary: "create, list and revoke API keys",
		usage: []string{
			"ashlar apikey create --org SLUG --name TITLE --scopes all|LIST [--user EMAIL] [--db DSN]",
			"ashlar apikey list --org SLUG [--json] [--db DSN]",
			"ashlar apikey revoke --org SLUG KEY_ID|SECRET [--db DSN]",
		},
		help: "create prints the secret alone on standard output (it is shown once; only its hash is stored)\nand the key's id on standard error. Revocation takes effect on the next request.",
		subs: []*command{
			{name: "create", summary: "create an API key and print its secret", run: runAPIKeyCreate},
			{name: "list", summary: "list an organization's API keys", run: runAPIKeyList},
			{name: "revoke", summary: "revoke an API key, given its id or its secret", run: runAPIKeyRevoke},
		}}
}

// orgFor loads the organization named by --org.
func orgFor(ctx context.Context, db *store.DB, slug string) (*store.Org, error) {
	org, err := db.OrgBySlug(ctx, slug)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("no organization %q in this database (create it with: ashlar org create %s)", slug, slug)
	}
	return org, err
}

func runAPIKeyCreate(ctx context.Context, e *env, args []string) error {
	fs := flags(e, "apikey create", "ashlar apikey create --org SLUG --name TITLE --scopes all|LIST [--user EMAIL] [--db DSN]")
	orgSlug := fs.String("org", "", "organization slug (required)")
	title := fs.String("name", "", "key title, shown by apiKey.info (required)")
	scopes := fs.String("scopes", "", "\"all\", or comma-separated Ashby permissions, e.g. candidatesRead,jobsRead (required)")
	user := fs.String("user", "", "email of the user the key acts as (default: the organization's admin)")
	dsn := dbFlag(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs(fs, pos); err != nil {
		return err
	}
	if *orgSlug == "" || *title == "" || *scopes == "" {
		return usageError{"apikey create: --org, --name and --scopes are required (see 'ashlar apikey create --help')"}
	}
	perms, err := ashby.ParsePermissions(*scopes)
	if err != nil {
		return usageError{"apikey create: --scopes: " + err.Error()}
	}
	db, err := openDB(ctx, e, *dsn, existingDB)
	if err != nil {
		return err
	}
	defer db.Close()
	org, err := orgFor(ctx, db, *orgSlug)
	if err != nil {
		return err
	}
	userID := ""
	if *user != "" {
		us, err := api.Users.Find(ctx, db, org.ID, store.Filter{Search: strings.ToLower(*user), IncludeArchived: true, Limit: 1})
		if err != nil {
			return err
		}
		if len(us) == 0 {
			return fmt.Errorf("no user with email %s in %s", *user, org.Slug)
		}
		userID = us[0].ID
	}
	var key *store.APIKey
	var secret string
	err = db.Write(ctx, func(tx *store.Tx) error {
		key, secret, err = tx.CreateAPIKey(ctx, org.ID, *title, perms, userID)
		return err
	})
	if err != nil {
		return err
	}
	// The secret alone on stdout, so that KEY=$(ashlar apikey create …) works.
	fmt.Fprintln(e.stdout, secret)
	fmt.Fprintf(e.stderr, "ashlar: created API key %s (%q) in %s; its secret, above, is shown once: store it now\n", key.ID, key.Title, org.Slug)
	return nil
}

// keyRow is an API key as `apikey list --json` prints it (never a secret:
// none is stored).
type keyRow struct {
	ID          string             `json:"id"`
	Title       string             `json:"title"`
	Permissions []ashby.Permission `json:"permissions"`
	UserID      string             `json:"userId,omitempty"`
	CreatedAt   time.Time          `json:"createdAt"`
	RevokedAt   *time.Time         `json:"revokedAt"`
}

func runAPIKeyList(ctx context.Context, e *env, args []string) error {
	fs := flags(e, "apikey list", "ashlar apikey list --org SLUG [--json] [--db DSN]")
	orgSlug := fs.String("org", "", "organization slug (required)")
	asJSON := fs.Bool("json", false, "print JSON, one key per line")
	dsn := dbFlag(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs(fs, pos); err != nil {
		return err
	}
	if *orgSlug == "" {
		return usageError{"apikey list: --org is required"}
	}
	db, err := openDB(ctx, e, *dsn, existingDB)
	if err != nil {
		return err
	}
	defer db.Close()
	org, err := orgFor(ctx, db, *orgSlug)
	if err != nil {
		return err
	}
	keys, err := db.APIKeys(ctx, org.ID)
	if err != nil {
		return err
	}
	if *asJSON {
		rows := make([]keyRow, len(keys))
		for i, k := range keys {
			rows[i] = keyRow{ID: k.ID, Title: k.Title, Permissions: k.Permissions, UserID: k.UserID, CreatedAt: k.CreatedAt, RevokedAt: k.RevokedAt}
		}
		return writeJSONLines(e.stdout, rows)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTITLE\tCREATED\tSTATUS\tSCOPES")
	for _, k := range keys {
		status := "active"
		if k.RevokedAt != nil {
			status = "revoked " + k.RevokedAt.Format(time.RFC3339)
		}
		scopes := fmt.Sprint(len(k.Permissions), " permissions")
		if len(k.Permissions) == len(ashby.AllPermissions) {
			scopes = "all"
		} else if len(k.Permissions) <= 4 {
			var names []string
			for _, p := range k.Permissions {
				names = append(names, string(p))
			}
			scopes = strings.Join(names, ",")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.ID, k.Title, k.CreatedAt.Format(time.RFC3339), status, scopes)
	}
	return tw.Flush()
}

func runAPIKeyRevoke(ctx context.Context, e *env, args []string) error {
	fs := flags(e, "apikey revoke", "ashlar apikey revoke --org SLUG KEY_ID|SECRET [--db DSN]")
	orgSlug := fs.String("org", "", "organization slug (required)")
	dsn := dbFlag(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if *orgSlug == "" {
		return usageError{"apikey revoke: --org is required"}
	}
	if len(pos) != 1 {
		return usageError{"apikey revoke: give exactly one key id (see ashlar apikey list) or secret"}
	}
	db, err := openDB(ctx, e, *dsn, existingDB)
	if err != nil {
		return err
	}
	defer db.Close()
	org, err := orgFor(ctx, db, *orgSlug)
	if err != nil {
		return err
	}
	id := pos[0]
	if !ashby.IsUUID(id) {
		// Not an id: a secret (which only hashes are kept to recognise).
		k, err := db.APIKeyBySecret(ctx, id)
		if errors.Is(err, store.ErrNotFound) || err == nil && k.OrgID != org.ID {
			return fmt.Errorf("%s is neither a key id nor the secret of a key of %s (see ashlar apikey list --org %s)", abbreviate(id), org.Slug, org.Slug)
		}
		if err != nil {
			return err
		}
		id = k.ID
	}
	err = db.Write(ctx, func(tx *store.Tx) error { return tx.RevokeAPIKey(ctx, org.ID, id) })
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no active key %s in %s", id, org.Slug)
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "revoked", id)
	return nil
}

// abbreviate shows the start of what may be a secret, not all of it.
func abbreviate(s string) string {
	if len(s) > 12 {
		return s[:12] + "…"
	}
	return s
}

func backupCommand() *command {
	return &command{name: "backup", summary: "write a consistent snapshot of a SQLite database while the server runs", run: runBackup}
}

func runBackup(ctx context.Context, e *env, args []string) error {
	fs := flags(e, "backup", "ashlar backup --out FILE [--db DSN]")
	out := fs.String("out", "", "file to write the snapshot to; it must not exist (required)")
	dsn := dbFlag(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs(fs, pos); err != nil {
		return err
	}
	engine, _, err := store.ParseDSN(*dsn)
	if err != nil {
		return usageError{fmt.Sprintf("--db: %v", err)}
	}
	if engine == store.Postgres {
		return fmt.Errorf("%w. Uploaded files are not in the database: back up --files-dir or the S3 bucket too (docs/operations.md)", store.ErrBackupPostgres)
	}
	if *out == "" {
		return usageError{"backup: --out is required"}
	}
	db, err := openDB(ctx, e, *dsn, existingDB)
	if err != nil {
		return err
	}
	defer db.Close()
	started := time.Now()
	if err := db.Backup(ctx, *out); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "wrote %s in %s\n", *out, time.Since(started).Round(time.Millisecond))
	fmt.Fprintln(e.stderr, "ashlar: uploaded files are not in the database: copy --files-dir (or the S3 bucket) as well (docs/operations.md)")
	return nil
}
