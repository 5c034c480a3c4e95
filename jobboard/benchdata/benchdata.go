// Package benchdata seeds a job board of a given size through the API,
// for the posting API and careers site benchmarks.
package benchdata

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/ashlarhq/ashlar/api"
	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/rpc"
)

// Seed creates an organization whose board (named slug) holds n
// published postings spread over 50 open jobs in 5 departments and 5
// locations, half of them with compensation tiers.
func Seed(ctx context.Context, svc *api.Service, slug string, n int) error {
	org, err := svc.CreateOrg(ctx, slug, "Bench "+slug)
	if err != nil {
		return err
	}
	table := svc.API()
	call := &rpc.Call{Principal: &rpc.Principal{OrgID: org.ID, KeyTitle: "bench", KeyCreated: time.Now(), Permissions: ashby.AllPermissions}, RequestID: "bench"}
	invoke := func(endpoint string, req, out any) error {
		raw, err := table.Invoke(ctx, call, endpoint, req)
		if err != nil {
			return fmt.Errorf("%s: %w", endpoint, err)
		}
		if out != nil {
			return json.Unmarshal(raw, out)
		}
		return nil
	}
	var plans []ashby.InterviewPlan
	if err := invoke("interviewPlan.list", map[string]any{}, &plans); err != nil {
		return err
	}
	var depts, locs []string
	for i, name := range []string{"Engineering", "Product", "Design", "Sales", "Operations"} {
		var d ashby.Department
		if err := invoke("department.create", map[string]any{"name": name}, &d); err != nil {
			return err
		}
		depts = append(depts, d.ID)
		var l ashby.Location
		city := []string{"Berlin", "London", "New York", "Toronto", "Remote"}[i]
		if err := invoke("location.create", map[string]any{"name": city, "type": "Location", "workplaceType": []string{"OnSite", "Hybrid", "Hybrid", "OnSite", "Remote"}[i],
			"address": map[string]any{"postalAddress": map[string]any{"addressLocality": city, "addressCountry": "Somewhere"}}}, &l); err != nil {
			return err
		}
		locs = append(locs, l.ID)
	}
	var jobs []string
	for i := 0; i < 50; i++ {
		var job ashby.Job
		if err := invoke("job.create", map[string]any{"title": fmt.Sprintf("Role %d", i), "teamId": depts[i%5], "locationId": locs[(i/5)%5],
			"defaultInterviewPlanId": plans[0].ID}, &job); err != nil {
			return err
		}
		if err := invoke("job.setStatus", map[string]any{"jobId": job.ID, "status": "Open"}, nil); err != nil {
			return err
		}
		jobs = append(jobs, job.ID)
	}
	para := "<p>" + strings.Repeat("You will design, build and operate systems that our customers rely on every day. ", 6) + "</p>"
	desc := "<h2>About the role</h2>" + para + "<h2>What you will do</h2><ul><li>Own services end to end</li><li>Work with product and design</li><li>Mentor others</li></ul>" + para
	for i := 0; i < n; i++ {
		var p ashby.JobPostingInfo
		if err := invoke("jobPosting.create", map[string]any{"jobId": jobs[i%len(jobs)], "title": fmt.Sprintf("Engineer %d", i),
			"descriptionHtml": desc, "status": "Published"}, &p); err != nil {
			return err
		}
		if i%2 == 0 {
			if err := invoke("jobPosting.updateCompensation", map[string]any{"jobPostingId": p.ID, "compensationTiers": []any{map[string]any{"components": []any{
				map[string]any{"compensationType": "Salary", "interval": "1 YEAR", "currencyCode": "USD", "minValue": 100000 + i*100, "maxValue": 150000 + i*100},
				map[string]any{"compensationType": "EquityPercentage", "interval": "NONE", "minValue": 0.1, "maxValue": 0.5}}}}}, nil); err != nil {
				return err
			}
		}
	}
	return nil
}
