package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ashlarhq/ashlar/accounts"
	"github.com/ashlarhq/ashlar/api"
	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/store"
)

func userCommand() *command {
	sub := func(name, summary string) *command {
		return &command{name: name, summary: summary, run: func(ctx context.Context, e *env, args []string) error { return runUser(ctx, e, name, args) }}
	}
	return &command{name: "user", summary: "create users who sign in to the web app, set passwords, deactivate",
		usage: []string{userUsage["create"], userUsage["list"], userUsage["set-password"], userUsage["deactivate"]},
		help:  "ROLE is one of Ashby's global roles: \"Organization Admin\", \"Elevated Access\", \"Limited Access\",\n\"External Recruiter\" (or admin, elevated, limited, external).",
		subs: []*command{
			sub("create", "create a user; with --password-stdin they sign in with that password, else print a one-time sign-in link"),
			sub("list", "list an organization's users and whether they can sign in"),
			sub("set-password", "set a user's password (read from standard input); their other sessions end"),
			sub("deactivate", "deactivate a user: they cannot sign in, and their sessions end"),
		}}
}

var userUsage = map[string]string{
	"create":       "ashlar user create --org SLUG --email EMAIL --name \"First Last\" --role ROLE [--password-stdin] [--db DSN]",
	"list":         "ashlar user list --org SLUG [--json] [--db DSN]",
	"set-password": "ashlar user set-password --org SLUG --email EMAIL --password-stdin [--db DSN]",
	"deactivate":   "ashlar user deactivate --org SLUG --email EMAIL [--db DSN]",
}

func runUser(ctx context.Context, e *env, sub string, args []string) error {
	if userUsage[sub] == "" {
		return usageError{fmt.Sprintf("user: unknown subcommand %q", sub)}
	}
	fs := flags(e, "user "+sub, userUsage[sub])
	orgSlug := fs.String("org", "", "organization slug (required)")
	dsn := dbFlag(fs)
	var email, name, role, baseURL *string
	var stdinPW, asJSON *bool
	if sub != "list" {
		email = fs.String("email", "", "the user's email address (required)")
	}
	switch sub {
	case "create":
		name = fs.String("name", "", "the user's name, \"First Last\" (required)")
		role = fs.String("role", "", "global role (required): admin, elevated, limited, external or Ashby's name")
		stdinPW = fs.Bool("password-stdin", false, "read the password from standard input; without it, print a one-time sign-in link")
		baseURL = fs.String("base-url", "", "public URL of the server, for the sign-in link (default http://localhost:8080)")
	case "set-password":
		stdinPW = fs.Bool("password-stdin", false, "read the password from standard input (required)")
	case "list":
		asJSON = fs.Bool("json", false, "print one JSON object per line")
	}
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs(fs, pos); err != nil {
		return err
	}
	if *orgSlug == "" {
		return usageError{"user " + sub + ": --org is required"}
	}
	if email != nil && strings.TrimSpace(*email) == "" {
		return usageError{"user " + sub + ": --email is required"}
	}
	if sub == "set-password" && !*stdinPW {
		return usageError{"user set-password: --password-stdin is required (the password is never a flag: flags show in process lists)"}
	}
	var password string
	var r accounts.Role
	if sub == "create" {
		first, last, ok := strings.Cut(strings.TrimSpace(*name), " ")
		if !ok || strings.TrimSpace(last) == "" {
			return usageError{"user create: give --name as \"First Last\""}
		}
		*name = first + "\x00" + strings.TrimSpace(last)
		var err error
		if r, err = accounts.ParseRole(*role); err != nil {
			return usageError{"user create: --role: " + err.Error()}
		}
	}
	// The database first: a wrong --db fails before a password is read.
	db, err := openDB(ctx, e, *dsn, existingDB)
	if err != nil {
		return err
	}
	defer db.Close()
	if stdinPW != nil && *stdinPW {
		if password, err = readPassword(os.Stdin); err != nil {
			return err
		}
		if err := accounts.CheckStrength(password, *email); err != nil {
			return err
		}
	}
	acc := accounts.New(db, accounts.Options{})
	invoke, err := orgInvoker(ctx, e, db, *orgSlug, "ashlar user")
	if err != nil {
		return err
	}
	org := orgID(ctx, db, *orgSlug)
	switch sub {
	case "create":
		first, last, _ := strings.Cut(*name, "\x00")
		return userCreate(ctx, e, acc, invoke, org, *email, first, last, r, *stdinPW, password, *baseURL)
	case "list":
		return userList(ctx, e, db, acc, org, *asJSON)
	}
	u, err := userByEmail(ctx, db, org, *email, *orgSlug)
	if err != nil {
		return err
	}
	switch sub {
	case "set-password":
		if err := acc.SetPassword(ctx, org, u, password); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "password set for %s; their other sessions have ended\n", u.Email)
	case "deactivate":
		if err := invoke("user.update", map[string]any{"userId": u.ID, "isEnabled": false}, nil); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "deactivated %s: they cannot sign in, and their sessions have ended\n", u.Email)
	}
	return nil
}

// readPassword reads a password from the first line of r.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the password from standard input: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", usageError{"--password-stdin: standard input held no password"}
	}
	return pw, nil
}

func userByEmail(ctx context.Context, db *store.DB, org, email, slug string) (*ashby.User, error) {
	us, err := api.Users.Find(ctx, db, org, store.Filter{Search: strings.ToLower(strings.TrimSpace(email)), IncludeArchived: true, Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(us) == 0 {
		return nil, fmt.Errorf("no user with email %s in %s (see ashlar user list --org %s)", email, slug, slug)
	}
	return us[0], nil
}

func userCreate(ctx context.Context, e *env, acc *accounts.Accounts, invoke func(string, any, any) error, org, email, first, last string, role accounts.Role, withPassword bool, password, baseURL string) error {
	if other, err := acc.EmailInOtherOrg(ctx, org, email); err != nil {
		return err
	} else if other {
		return fmt.Errorf("%s already signs in to another organization; an email address signs in to one organization", email)
	}
	var u ashby.User
	if err := invoke("user.create", map[string]any{"firstName": first, "lastName": last, "email": email, "globalRole": string(role)}, &u); err != nil {
		return err
	}
	if withPassword {
		if err := acc.SetPassword(ctx, org, &u, password); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "created %s (%s, %s); they can sign in with their password\n", u.Email, u.ID, role)
		return nil
	}
	secret, exp, err := acc.CreateLink(ctx, org, &u)
	if err != nil {
		return err
	}
	if baseURL == "" {
		baseURL = "http://localhost:8080"
	}
	fmt.Fprintf(e.stdout, "created %s (%s, %s)\nOne-time sign-in link (expires %s; it lets them choose a password):\n\n  %s%s%s\n\n",
		u.Email, u.ID, role, exp.Format(time.RFC3339), strings.TrimRight(baseURL, "/"), accounts.LinkPath, secret)
	return nil
}

type userRow struct {
	ID           string      `json:"id"`
	Email        string      `json:"email"`
	FirstName    string      `json:"firstName"`
	LastName     string      `json:"lastName"`
	GlobalRole   string      `json:"globalRole"`
	IsEnabled    bool        `json:"isEnabled"`
	HasPassword  bool        `json:"hasPassword"`
	LastSignInAt *ashby.Time `json:"lastSignInAt"`
}

func userList(ctx context.Context, e *env, db *store.DB, acc *accounts.Accounts, org string, asJSON bool) error {
	us, err := api.Users.Find(ctx, db, org, store.Filter{IncludeArchived: true})
	if err != nil {
		return err
	}
	accs, err := acc.List(ctx, org)
	if err != nil {
		return err
	}
	rows := make([]userRow, 0, len(us))
	for _, u := range us {
		r := userRow{ID: u.ID, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName, GlobalRole: u.GlobalRole, IsEnabled: u.IsEnabled}
		if a := accs[u.ID]; a != nil {
			r.HasPassword = a.HasPassword
			if a.SignedInAt != nil {
				t := ashby.NewTime(*a.SignedInAt)
				r.LastSignInAt = &t
			}
		}
		rows = append(rows, r)
	}
	if asJSON {
		return writeJSONLines(e.stdout, rows)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "EMAIL\tNAME\tROLE\tSTATUS\tPASSWORD\tLAST SIGN-IN")
	for _, r := range rows {
		status, pw, last := "active", "no", "never"
		if !r.IsEnabled {
			status = "deactivated"
		}
		if r.HasPassword {
			pw = "yes"
		}
		if r.LastSignInAt != nil {
			last = r.LastSignInAt.Time.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s %s\t%s\t%s\t%s\t%s\n", r.Email, r.FirstName, r.LastName, r.GlobalRole, status, pw, last)
	}
	return tw.Flush()
}
