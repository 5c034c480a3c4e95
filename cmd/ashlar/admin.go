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

func init() {
	addCommand(command{"migrate", "apply database migrations", runMigrate})
	addCommand(command{"org", "create and list organizations", runOrg})
	addCommand(command{"apikey", "create, list and revoke API keys", runAPIKey})
}

func runMigrate(ctx context.Context, e *env, args []string) error {
	fs := flags(e, "migrate", "ashlar migrate [--db DSN]")
	dsn := dbFlag(e, fs)
	if _, err := parse(fs, args); err != nil {
		return err
	}
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

func runOrg(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" {
		fmt.Fprintln(e.stderr, "Usage:\n  ashlar org create SLUG [--name NAME] [--db DSN]\n  ashlar org list [--db DSN]")
		if len(args) == 0 {
			return usageError{"org: give a subcommand"}
		}
		return nil
	}
	switch args[0] {
	case "create":
		fs := flags(e, "org create", "ashlar org create SLUG [--name NAME] [--db DSN]")
		name := fs.String("name", "", "display name (default: the slug)")
		dsn := dbFlag(e, fs)
		pos, err := parse(fs, args[1:])
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return usageError{"org create: give exactly one SLUG"}
		}
		db, err := openDB(ctx, *dsn)
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
	case "list":
		fs := flags(e, "org list", "ashlar org list [--db DSN]")
		dsn := dbFlag(e, fs)
		if _, err := parse(fs, args[1:]); err != nil {
			return err
		}
		db, err := openDB(ctx, *dsn)
		if err != nil {
			return err
		}
		defer db.Close()
		orgs, err := db.Orgs(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SLUG\tNAME\tID\tCREATED")
		for _, o := range orgs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", o.Slug, o.Name, o.ID, o.CreatedAt.Format(time.RFC3339))
		}
		return tw.Flush()
	}
	return usageError{fmt.Sprintf("org: unknown subcommand %q", args[0])}
}

func runAPIKey(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" {
		fmt.Fprintln(e.stderr, "Usage:\n  ashlar apikey create --org SLUG --name TITLE --scopes all|LIST [--db DSN]\n  ashlar apikey list --org SLUG [--db DSN]\n  ashlar apikey revoke --org SLUG KEY_ID [--db DSN]")
		if len(args) == 0 {
			return usageError{"apikey: give a subcommand"}
		}
		return nil
	}
	sub := args[0]
	fs := flags(e, "apikey "+sub, map[string]string{
		"create": "ashlar apikey create --org SLUG --name TITLE --scopes all|LIST [--db DSN]",
		"list":   "ashlar apikey list --org SLUG [--db DSN]",
		"revoke": "ashlar apikey revoke --org SLUG KEY_ID [--db DSN]",
	}[sub])
	orgSlug := fs.String("org", "", "organization slug (required)")
	dsn := dbFlag(e, fs)
	var title, scopes, user *string
	if sub == "create" {
		title = fs.String("name", "", "key title, shown by apiKey.info (required)")
		scopes = fs.String("scopes", "", "\"all\", or comma-separated Ashby permissions, e.g. candidatesRead,jobsRead (required)")
		user = fs.String("user", "", "email of the user the key acts as (default: the organization's admin)")
	}
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	if *orgSlug == "" {
		return usageError{"apikey: --org is required"}
	}
	db, err := openDB(ctx, *dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	org, err := db.OrgBySlug(ctx, *orgSlug)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no organization %q (create it with: ashlar org create %s)", *orgSlug, *orgSlug)
	}
	if err != nil {
		return err
	}
	switch sub {
	case "create":
		if *title == "" || *scopes == "" {
			return usageError{"apikey create: --name and --scopes are required"}
		}
		perms, err := ashby.ParsePermissions(*scopes)
		if err != nil {
			return usageError{err.Error()}
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
		var secret string
		err = db.Write(ctx, func(tx *store.Tx) error {
			_, secret, err = tx.CreateAPIKey(ctx, org.ID, *title, perms, userID)
			return err
		})
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, secret)
		return nil
	case "list":
		keys, err := db.APIKeys(ctx, org.ID)
		if err != nil {
			return err
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
	case "revoke":
		if len(pos) != 1 {
			return usageError{"apikey revoke: give exactly one KEY_ID (see ashlar apikey list)"}
		}
		err := db.Write(ctx, func(tx *store.Tx) error { return tx.RevokeAPIKey(ctx, org.ID, pos[0]) })
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no active key %s in %s", pos[0], org.Slug)
		}
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, "revoked", pos[0])
		return nil
	}
	return usageError{fmt.Sprintf("apikey: unknown subcommand %q", sub)}
}
