package main

import (
	"html"
	"regexp"
	"strings"
	"testing"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/testserver"
)

var metaDescRE = regexp.MustCompile(`<meta name="description" content="([^"]*)">`)

// The careers site's words: "1 open position"; a posting's department
// (the top of its team's hierarchy) and its team; a meta description in
// which no two blocks' words run together.
func TestE2ECareersCopy(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, store.SQLite, testserver.Options{})
	slug, key := srv.NewOrg()
	c := srv.Client(key)
	f := newFixture(t, c) // a job in the Engineering department
	var team ashby.Department
	must(t, c, "department.create", map[string]any{"name": "Platform", "parentId": f.dept}, &team)
	var plans []ashby.InterviewPlan
	must(t, c, "interviewPlan.list", nil, &plans)
	var job ashby.Job
	must(t, c, "job.create", map[string]any{"title": "SRE", "teamId": team.ID, "locationId": f.loc, "defaultInterviewPlanId": plans[0].ID}, &job)
	must(t, c, "job.setStatus", map[string]any{"jobId": job.ID, "status": "Open"}, &job)
	var p ashby.JobPostingInfo
	must(t, c, "jobPosting.create", map[string]any{"jobId": job.ID, "status": "Published",
		"descriptionHtml": "<p>We are hybrid and remote.</p><h2>About the role</h2><ul><li>Keep it up</li><li>Sleep well</li></ul>"}, &p)
	if p.DescriptionSocial != "We are hybrid and remote. About the role Keep it up Sleep well" {
		t.Errorf("descriptionSocial %q: want the blocks' text on one line, apart", p.DescriptionSocial)
	}
	if p.DepartmentName != "Engineering" || p.TeamName != "Platform" {
		t.Errorf("posting: department %q, team %q", p.DepartmentName, p.TeamName)
	}

	_, list := get(t, srv.URL+"/jobs/"+slug, nil)
	if !strings.Contains(string(list), ">1 open position<") || strings.Contains(string(list), "1 open positions") {
		t.Errorf("listing count:\n%s", list)
	}
	if m := metaDescRE.FindSubmatch(list); m == nil || html.UnescapeString(string(m[1])) != "1 open position at Test "+slug {
		t.Errorf("listing meta description: %q", m)
	}
	_, filtered := get(t, srv.URL+"/jobs/"+slug+"?q=SRE", nil)
	if !strings.Contains(string(filtered), ">1 of 1 position<") {
		t.Errorf("filtered count:\n%s", filtered)
	}

	_, page := get(t, srv.URL+"/jobs/"+slug+"/"+p.ID, nil)
	s := string(page)
	if !strings.Contains(s, "<dt>Department</dt><dd>Engineering</dd>") || !strings.Contains(s, "<dt>Team</dt><dd>Platform</dd>") {
		t.Errorf("posting facts: want department Engineering and team Platform:\n%s", s)
	}
	m := metaDescRE.FindStringSubmatch(s)
	if m == nil || html.UnescapeString(m[1]) != p.DescriptionSocial {
		t.Errorf("posting meta description %q, want descriptionSocial %q", m, p.DescriptionSocial)
	}

	// A job of a top-level department shows no separate team.
	var top ashby.JobPostingInfo
	must(t, c, "jobPosting.create", map[string]any{"jobId": f.job.ID, "status": "Published", "descriptionHtml": "<p>Go.</p>"}, &top)
	_, page = get(t, srv.URL+"/jobs/"+slug+"/"+top.ID, nil)
	if !strings.Contains(string(page), "<dt>Department</dt><dd>Engineering</dd>") || strings.Contains(string(page), "<dt>Team</dt>") {
		t.Errorf("a top-level department's posting:\n%s", page)
	}
	if _, list := get(t, srv.URL+"/jobs/"+slug, nil); !strings.Contains(string(list), ">2 open positions<") {
		t.Errorf("two postings:\n%s", list)
	}
}

// ashlar endpoints --missing says plainly what is and is not implemented.
func TestE2EEndpointsMissing(t *testing.T) {
	t.Parallel()
	r := cli(t, t.TempDir(), nil, "endpoints", "--missing")
	if r.code != 0 || !regexp.MustCompile(`Ashlar implements \d+ of the \d+ endpoints in Ashby's API reference; (none is missing|\d+ are not implemented yet)`).MatchString(r.stdout) ||
		strings.Contains(r.stdout, "0 of ") {
		t.Errorf("endpoints --missing: %s", r)
	}
}
