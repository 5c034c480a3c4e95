package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
)

// Hiring teams, compensation, openings, job templates, brands and offers
// for the demo organization, seeded through the API like everything else.

func init() {
	AddStep("hiring teams, compensation and openings", seedJobExtras)
	AddStep("offers", seedOffers)
}

func seedJobExtras(ctx context.Context, d *Demo) error {
	var roles []ashby.HiringTeamRole
	if err := d.Invoke(ctx, "hiringTeamRole.list", map[string]any{"namesOnly": false}, &roles); err != nil {
		return err
	}
	role := map[string]string{}
	for _, r := range roles {
		role[r.Title] = r.ID
	}
	if err := d.Invoke(ctx, "brand.create", map[string]any{"name": "Northwind Labs", "hostedJobsPageSlug": "northwind-labs"}, nil); err != nil {
		return err
	}
	for _, t := range []map[string]any{
		{"title": "Software Engineer", "departmentId": d.department("Engineering"), "locationId": d.location("San Francisco"), "defaultInterviewPlanId": d.Plan("Engineering Interview Plan").ID},
		{"title": "Account Executive", "departmentId": d.department("Sales"), "locationId": d.location("New York"), "defaultInterviewPlanId": d.Plan("Sales Interview Plan").ID},
		{"title": "Intern (Summer)", "departmentId": d.department("Engineering"), "locationId": d.location("Berlin"), "status": "Inactive"},
	} {
		if err := d.Invoke(ctx, "jobTemplate.create", t, nil); err != nil {
			return err
		}
	}
	var reasons []ashby.CloseReason
	if err := d.Invoke(ctx, "closeReason.list", map[string]any{}, &reasons); err != nil {
		return err
	}
	for i, job := range d.Jobs {
		if job.Status == ashby.JobArchived {
			continue
		}
		// Recruiters are the elevated users, hiring managers the others;
		// open jobs also get a coordinator.
		team := [][2]string{{"Recruiter", d.Users[1+i%2].ID}, {"Hiring Manager", d.Users[3+i%6].ID}}
		if job.Status == ashby.JobOpen {
			team = append(team, [2]string{"Coordinator", d.Users[9].ID})
		}
		for _, m := range team {
			if err := d.Invoke(ctx, "hiringTeam.addMember", map[string]any{"jobId": job.ID, "teamMemberId": m[1], "roleId": role[m[0]]}, nil); err != nil {
				return err
			}
		}
		if err := d.Invoke(ctx, "job.updateCompensation", map[string]any{"jobId": job.ID, "compensationTiers": d.demoCompensation(job)}, nil); err != nil {
			return err
		}
		states := map[string][]string{ashby.JobOpen: {"Open", "Open", "Approved"}, ashby.JobClosed: {"Closed"}, ashby.JobDraft: {"Draft"}}[job.Status]
		for k, state := range states {
			req := map[string]any{"jobIds": []string{job.ID}, "locationIds": []string{job.LocationID}, "teamId": job.DepartmentID,
				"openingState": state, "isBackfill": k == 1, "description": fmt.Sprintf("%s #%d", job.Title, k+1),
				"targetHireDate": time.Now().AddDate(0, 2+k, 0).Format("2006-01-02")}
			var op ashby.Opening
			if err := d.Invoke(ctx, "opening.create", req, &op); err != nil {
				return err
			}
			if state == "Closed" && len(reasons) > 2 {
				// A closed job's opening closes with a reason.
				if err := d.Invoke(ctx, "opening.setOpeningState", map[string]any{"openingId": op.ID, "openingState": "Open"}, nil); err != nil {
					return err
				}
				if err := d.Invoke(ctx, "opening.setOpeningState", map[string]any{"openingId": op.ID, "openingState": "Closed", "closeReasonId": reasons[2].ID}, nil); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// demoCompensation is a job's pay: salary in the location's currency,
// plus equity for engineering, commission for sales, a bonus otherwise.
func (d *Demo) demoCompensation(job ashby.Job) []map[string]any {
	currency := "USD"
	for _, l := range d.Locations {
		if l.ID == job.LocationID {
			currency = map[string]string{"London": "GBP", "Berlin": "EUR", "Toronto": "CAD"}[l.Name]
			if currency == "" {
				currency = "USD"
			}
		}
	}
	base := 120000.0 + float64(len(job.Title)%5)*10000
	salary := func(lo, hi float64) map[string]any {
		return map[string]any{"compensationType": "Salary", "interval": "1 YEAR", "currencyCode": currency, "minValue": lo, "maxValue": hi}
	}
	extra := map[string]any{"compensationType": "Bonus", "interval": "1 YEAR", "minValue": nil, "maxValue": nil}
	switch {
	case job.DepartmentID == d.department("Sales"):
		extra = map[string]any{"compensationType": "Commission", "interval": "1 YEAR", "currencyCode": currency, "minValue": 40000, "maxValue": 80000}
	case job.DepartmentID != d.department("Design") && job.DepartmentID != d.department("Product") && job.DepartmentID != d.department("Finance") &&
		job.DepartmentID != d.department("People") && job.DepartmentID != d.department("Marketing"):
		extra = map[string]any{"compensationType": "EquityPercentage", "interval": "NONE", "minValue": 0.05, "maxValue": 0.25}
	}
	return []map[string]any{
		{"title": "Level 1", "components": []map[string]any{salary(base, base*1.25), extra}},
		{"title": "Level 2", "additionalInformation": "Relocation support available", "components": []map[string]any{salary(base*1.25, base*1.6), extra}},
	}
}

func seedOffers(ctx context.Context, d *Demo) error {
	used := map[string]bool{} // openings promised to an offer
	jobs := map[string]ashby.Job{}
	for _, j := range d.Jobs {
		jobs[j.ID] = j
	}
	var hired ashby.InterviewStage
	approvers := []map[string]any{
		{"approvalsRequired": 1, "approvers": []map[string]any{{"userId": d.Users[1].ID, "type": "user"}, {"userId": d.Users[2].ID, "type": "user"}}},
		{"approvalsRequired": 1, "approvers": []map[string]any{{"userId": d.Users[0].ID, "type": "user"}}},
	}
	n := 0
	for ai, app := range d.Applications {
		inOffer := app.Status == ashby.ApplicationActive && app.CurrentInterviewStage.Type == ashby.StageOffer
		if !inOffer && app.Status != ashby.ApplicationHired {
			continue
		}
		var p ashby.OfferProcess
		if err := d.Invoke(ctx, "offerProcess.start", map[string]any{"applicationId": app.ID}, &p); err != nil {
			return err
		}
		var form ashby.OfferForm
		if err := d.Invoke(ctx, "offer.start", map[string]any{"offerProcessId": p.ID}, &form); err != nil {
			return err
		}
		job := jobs[app.Job.ID]
		amount := 130000 + 1000*(n%20)
		currency := d.demoCompensation(job)[0]["components"].([]map[string]any)[0]["currencyCode"].(string)
		subs := []map[string]any{
			{"path": "_systemfield_start_date", "value": time.Now().AddDate(0, 0, 30+n%30).Format("2006-01-02")},
			{"path": "_systemfield_salary", "value": map[string]any{"currencyCode": currency, "value": amount}},
		}
		if inOffer && n%5 == 3 {
			// An offer that will be accepted names one of the job's open
			// openings (hires fill openings, so look at the current ones).
			var withOpenings struct {
				Openings []ashby.Opening `json:"openings"`
			}
			if err := d.Invoke(ctx, "job.info", map[string]any{"id": job.ID, "expand": []string{"openings"}}, &withOpenings); err != nil {
				return err
			}
			for _, o := range withOpenings.Openings {
				if o.OpeningState == ashby.OpeningOpen && !used[o.ID] {
					used[o.ID] = true
					subs = append(subs, map[string]any{"path": "_systemfield_opening", "value": o.ID})
					break
				}
			}
		}
		var offer ashby.Offer
		if err := d.Invoke(ctx, "offer.create", map[string]any{"offerProcessId": p.ID, "offerFormId": form.ID, "offerForm": map[string]any{"fieldSubmissions": subs}}, &offer); err != nil {
			return err
		}
		if app.Status == ashby.ApplicationHired {
			// Hired before offers were seeded: record the accepted offer.
			if err := d.Invoke(ctx, "approvalDefinition.update", map[string]any{"entityType": "offer", "entityId": offer.LatestVersion.ID, "approvalStepDefinitions": []any{}}, nil); err != nil {
				return err
			}
			if err := d.Invoke(ctx, "offer.setStatus", map[string]any{"offerId": offer.ID, "acceptanceStatus": "Accepted"}, nil); err != nil {
				return err
			}
			continue
		}
		n++
		if n%7 == 0 {
			// A revised offer: a second version.
			subs = []map[string]any{{"path": "_systemfield_salary", "value": map[string]any{"currencyCode": currency, "value": amount + 5000}}}
			if err := d.Invoke(ctx, "offer.update", map[string]any{"offerId": offer.ID, "offerForm": map[string]any{"fieldSubmissions": subs}}, &offer); err != nil {
				return err
			}
		}
		version := offer.LatestVersion.ID
		if err := d.Invoke(ctx, "approvalDefinition.update", map[string]any{"entityType": "offer", "entityId": version, "approvalStepDefinitions": approvers, "submitApprovalRequest": n%5 != 0}, nil); err != nil {
			return err
		}
		if n%5 == 0 || n%5 == 1 {
			continue // waiting on the approval's start, or on approvers
		}
		var approvals []ashby.Approval
		if err := d.Invoke(ctx, "approval.list", map[string]any{"entityType": "offer", "entityId": version}, &approvals); err != nil {
			return err
		}
		for k, step := range approvals[0].Steps {
			user := step.Approvers[(n+k)%len(step.Approvers)].UserID
			if err := d.Invoke(ctx, "offer.approve", map[string]any{"offerVersionId": version, "approvalStepId": step.ID, "userId": user}, nil); err != nil {
				return err
			}
		}
		switch n % 5 {
		case 3:
			if err := d.Invoke(ctx, "offer.setStatus", map[string]any{"offerId": offer.ID, "acceptanceStatus": "Accepted"}, nil); err != nil {
				return err
			}
			for _, st := range d.Stages[job.DefaultInterviewPlanID] {
				if st.Type == ashby.StageHired {
					hired = st
				}
			}
			var out ashby.Application
			if err := d.Invoke(ctx, "application.changeStage", map[string]any{"applicationId": app.ID, "interviewStageId": hired.ID}, &out); err != nil {
				return err
			}
			d.Applications[ai] = out
		case 4:
			if err := d.Invoke(ctx, "offer.setStatus", map[string]any{"offerId": offer.ID, "acceptanceStatus": "Declined"}, nil); err != nil {
				return err
			}
		}
	}
	return nil
}
