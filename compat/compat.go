// Package compat measures how much of Ashby's API Ashlar implements and
// how faithfully: the reference endpoint list (Ashby's published
// description plus the endpoints documented after it), the compatibility
// table `ashlar endpoints` prints, and a validator of responses against
// Ashby's own response schemas.
//
// The reference lists are embedded so that the binary never reads files
// outside itself at run time.
package compat

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/ashlarhq/ashlar/rpc"
)

// endpointsTSV has one row per path of Ashby's August 2026 OpenAPI
// description (the API reference at https://developers.ashbyhq.com/reference), generated from it.
//
//go:embed endpoints.tsv
var endpointsTSV []byte

// laterTSV lists the endpoints documented after that description
// (on https://developers.ashbyhq.com/reference).
//
//go:embed later.tsv
var laterTSV []byte

// Sources of a reference endpoint.
const (
	SourceSpec  = "openapi-2026-08"
	SourceLater = "documented-later"
)

// Roles of a reference endpoint: who serves it.
const (
	RoleAshby   = "ashby"   // Ashby serves it; so must Ashlar
	RolePartner = "partner" // an integration partner serves it and Ashby calls it
	RoleAlias   = "alias"   // a deprecated spelling of another endpoint
)

// Endpoint is one endpoint of Ashby's API.
type Endpoint struct {
	Name       string
	Permission string
	Paged      bool
	Sync       bool
	Expand     []string
	Source     string
	Role       string
	Notes      string
}

// partnerEndpoints are the paths of the August description that partners
// host (the assessments framework, https://developers.ashbyhq.com/docs/creating-an-assessments-integration); they carry no
// permission there.
var partnerEndpoints = []string{"assessment.list", "assessment.start", "assessment.cancel", "assessment.customField.list"}

// Reference returns every endpoint of Ashby's API, sorted by name.
func Reference() []Endpoint {
	var out []Endpoint
	seen := map[string]bool{}
	rows := readTSV(endpointsTSV)
	for _, r := range rows {
		e := Endpoint{Name: r["endpoint"], Permission: normPermission(r["permission"]), Paged: r["paginated"] == "yes",
			Sync: r["syncToken"] == "yes", Source: SourceSpec, Role: RoleAshby}
		if x := r["expand"]; x != "" && x != "-" {
			e.Expand = strings.Split(x, ",")
		}
		if slices.Contains(partnerEndpoints, e.Name) {
			e.Role, e.Permission = RolePartner, ""
		}
		seen[e.Name] = true
		out = append(out, e)
	}
	for _, r := range readTSV(laterTSV) {
		if seen[r["endpoint"]] {
			continue
		}
		out = append(out, Endpoint{Name: r["endpoint"], Permission: normPermission(r["permission"]), Source: SourceLater,
			Role: r["role"], Notes: r["notes"]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// normPermission fixes the description's typo ("candidateWrite") and its
// "-" for none.
func normPermission(p string) string {
	switch p {
	case "-", "":
		return ""
	case "candidateWrite":
		return "candidatesWrite"
	}
	return p
}

func readTSV(b []byte) []map[string]string {
	sc := bufio.NewScanner(bytes.NewReader(b))
	var header []string
	var out []map[string]string
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "" {
			continue
		}
		cols := strings.Split(line, "\t")
		if header == nil {
			header = cols
			continue
		}
		row := map[string]string{}
		for i, h := range header {
			if i < len(cols) {
				row[h] = strings.TrimSpace(cols[i])
			}
		}
		out = append(out, row)
	}
	return out
}

// Status says whether Ashlar serves a reference endpoint.
type Status string

const (
	Implemented Status = "implemented"
	Missing     Status = "missing"
	// PartnerSide endpoints are served by partners, not by Ashby; Ashlar
	// counts them implemented when it has them anyway.
	PartnerSide Status = "partner-side"
)

// Row is one line of the compatibility table.
type Row struct {
	Endpoint
	Status Status
	// AliasOf names the canonical endpoint of an implemented alias.
	AliasOf string
	// Extension marks Ashlar's own endpoints (not in the reference).
	Extension bool
	// PermissionMismatch is Ashlar's permission when it differs from the
	// reference's.
	PermissionMismatch string
	Summary            string
}

// Table compares the reference with an endpoint table: one row per
// reference endpoint, then one per Ashlar extension.
func Table(a *rpc.API) []Row {
	var rows []Row
	ref := map[string]bool{}
	for _, e := range Reference() {
		ref[e.Name] = true
		r := Row{Endpoint: e, Status: Missing}
		if e.Role == RolePartner {
			r.Status = PartnerSide
		}
		if ep, ok := a.Endpoint(e.Name); ok {
			r.Status = Implemented
			r.AliasOf = ep.AliasOf
			r.Summary = ep.Summary
			if e.Permission != "" && string(ep.Permission) != e.Permission {
				r.PermissionMismatch = string(ep.Permission)
			}
		}
		rows = append(rows, r)
	}
	for _, ep := range a.Endpoints() {
		if ref[ep.Name] {
			continue
		}
		rows = append(rows, Row{Endpoint: Endpoint{Name: ep.Name, Permission: string(ep.Permission), Paged: ep.Paged, Sync: ep.Sync, Expand: ep.Expand},
			Status: Implemented, Extension: true, AliasOf: ep.AliasOf, Summary: ep.Summary})
	}
	return rows
}

// Counts summarises a table.
type Counts struct {
	Reference   int `json:"reference"`
	Implemented int `json:"implemented"`
	Missing     int `json:"missing"`
	PartnerSide int `json:"partnerSide"`
	Extensions  int `json:"extensions"`
}

// Count tallies rows.
func Count(rows []Row) Counts {
	var c Counts
	for _, r := range rows {
		if r.Extension {
			c.Extensions++
			continue
		}
		c.Reference++
		switch r.Status {
		case Implemented:
			c.Implemented++
		case Missing:
			c.Missing++
		case PartnerSide:
			c.PartnerSide++
		}
	}
	return c
}

// Summary says in words what a table's counts mean.
func Summary(c Counts) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Ashlar implements %d of the %d endpoints in Ashby's API reference", c.Implemented, c.Reference)
	if c.Missing == 0 {
		b.WriteString("; none is missing.")
	} else {
		fmt.Fprintf(&b, "; %d are not implemented yet (ashlar endpoints --missing lists them).", c.Missing)
	}
	if c.PartnerSide > 0 {
		fmt.Fprintf(&b, " The other %d are partner-side: an assessment or workflow partner serves them and Ashby calls them (Ashlar calls partners the same way), so they are not a server's to implement.", c.PartnerSide)
	}
	if c.Extensions > 0 {
		fmt.Fprintf(&b, " Ashlar adds %d endpoints of its own.", c.Extensions)
	}
	return b.String()
}

// Write renders rows as "text" (aligned columns), "markdown" or "json",
// followed by the counts c (of the whole table, when rows are a part).
func Write(w io.Writer, rows []Row, c Counts, format string) error {
	switch format {
	case "json":
		type jsonRow struct {
			Endpoint   string   `json:"endpoint"`
			Permission string   `json:"permission,omitempty"`
			Source     string   `json:"source,omitempty"`
			Role       string   `json:"role,omitempty"`
			Status     Status   `json:"status"`
			Extension  bool     `json:"extension,omitempty"`
			AliasOf    string   `json:"aliasOf,omitempty"`
			Paged      bool     `json:"paged,omitempty"`
			Sync       bool     `json:"sync,omitempty"`
			Expand     []string `json:"expand,omitempty"`
			Mismatch   string   `json:"ashlarPermission,omitempty"`
		}
		out := make([]jsonRow, len(rows))
		for i, r := range rows {
			out[i] = jsonRow{r.Name, r.Permission, r.Source, r.Role, r.Status, r.Extension, r.AliasOf, r.Paged, r.Sync, r.Expand, r.PermissionMismatch}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"counts": c, "summary": Summary(c), "endpoints": out})
	case "markdown":
		fmt.Fprintln(w, "| endpoint | permission | source | status | notes |")
		fmt.Fprintln(w, "| --- | --- | --- | --- | --- |")
		for _, r := range rows {
			fmt.Fprintf(w, "| `%s` | %s | %s | %s | %s |\n", r.Name, r.Permission, source(r), r.Status, notes(r))
		}
		_, err := fmt.Fprintf(w, "\n%s\n", Summary(c))
		return err
	case "text", "":
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ENDPOINT\tPERMISSION\tSOURCE\tSTATUS\tNOTES")
		for _, r := range rows {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Name, dash(r.Permission), source(r), r.Status, notes(r))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		_, err := fmt.Fprintf(w, "\n%s\n", Summary(c))
		return err
	}
	return fmt.Errorf("unknown format %q: use text, markdown or json", format)
}

func source(r Row) string {
	if r.Extension {
		return "ashlar-extension"
	}
	return r.Source
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func notes(r Row) string {
	var n []string
	if r.AliasOf != "" {
		n = append(n, "alias of "+r.AliasOf)
	}
	if r.Role == RolePartner {
		n = append(n, "hosted by partners")
	}
	if r.PermissionMismatch != "" {
		n = append(n, "Ashlar requires "+r.PermissionMismatch)
	}
	if r.Sync {
		n = append(n, "sync")
	} else if r.Paged {
		n = append(n, "paged")
	}
	if len(r.Expand) > 0 {
		n = append(n, "expand: "+strings.Join(r.Expand, ","))
	}
	return strings.Join(n, "; ")
}

// gapRow matches a row of the "not implemented" table in
// docs/compatibility.md: | `endpoint` | reason |.
var gapRow = regexp.MustCompile("^\\|\\s*`([A-Za-z_.]+)`\\s*\\|\\s*([^|]*\\S)\\s*\\|")

// ParseGaps reads the endpoints docs/compatibility.md explains under the
// heading "## Endpoints not implemented", with their reasons.
func ParseGaps(markdown []byte) map[string]string {
	out := map[string]string{}
	in := false
	for _, line := range strings.Split(string(markdown), "\n") {
		if strings.HasPrefix(line, "## ") {
			in = strings.HasPrefix(strings.ToLower(line), "## endpoints not implemented")
			continue
		}
		if !in {
			continue
		}
		if m := gapRow.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
			out[m[1]] = strings.TrimSpace(m[2])
		}
	}
	return out
}
