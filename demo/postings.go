package demo

import (
	"context"
	"fmt"
	"strings"

	"github.com/ashlarhq/ashlar/ashby"
)

func init() { AddStep("job postings", seedPostings) }

// seedPostings publishes a posting for every open demo job on the demo
// organization's board ("demo"), with rich application forms, so that the
// careers site at /jobs/demo and the posting API show data on first run.
func seedPostings(ctx context.Context, d *Demo) error {
	var boards []ashby.JobBoard
	if err := d.Invoke(ctx, "jobBoard.list", map[string]any{}, &boards); err != nil {
		return err
	}
	var board ashby.JobBoardSettings
	for _, b := range boards {
		if !b.IsInternal {
			if err := d.Invoke(ctx, "jobBoard.update", map[string]any{"jobBoardId": b.ID, "title": "Careers at Northwind Robotics",
				"theme":                  map[string]any{"primaryColor": "#0b6e4f"},
				"descriptionOpeningHtml": "<p><b>Northwind Robotics</b> builds autonomous robots for warehouses and farms. We are a team of 140 across four offices and remote.</p>",
				"descriptionClosingHtml": "<p>We welcome applicants of every background. Tell us about any adjustment you need during the process.</p>"}, &board); err != nil {
				return err
			}
			break
		}
	}
	var internal ashby.JobBoardSettings
	if err := d.Invoke(ctx, "jobBoard.create", map[string]any{"title": "Internal mobility", "name": "demo-internal", "isInternal": true}, &internal); err != nil {
		return err
	}
	published := 0
	for i, job := range d.Jobs {
		if job.Status != ashby.JobOpen {
			continue
		}
		req := map[string]any{"jobId": job.ID, "descriptionHtml": description(job.Title), "status": "Published",
			"applicationFormDefinition": applicationForm(i)}
		if i == 1 {
			// A remote role hiring in two places.
			req["locationIds"] = map[string]any{"primaryLocationId": d.location("Remote (US)"), "secondaryLocationIds": []string{d.location("Toronto")}}
		}
		if i == 6 {
			req["isListed"] = false // reachable by link only
		}
		var p ashby.JobPostingInfo
		if err := d.Invoke(ctx, "jobPosting.create", req, &p); err != nil {
			return fmt.Errorf("posting for %s: %w", job.Title, err)
		}
		if tiers := demoTiers(job.Title); tiers != nil {
			if err := d.Invoke(ctx, "jobPosting.updateCompensation", map[string]any{"jobPostingId": p.ID, "compensationTiers": tiers}, nil); err != nil {
				return err
			}
		}
		published++
	}
	// An internal posting and a draft, for jobPosting.list's filters.
	if len(d.Jobs) > 0 {
		var p ashby.JobPostingInfo
		if err := d.Invoke(ctx, "jobPosting.create", map[string]any{"jobId": d.Jobs[0].ID, "title": "Senior Backend Engineer (internal transfer)",
			"descriptionHtml": description(d.Jobs[0].Title), "jobBoardId": internal.ID, "status": "Published"}, &p); err != nil {
			return err
		}
		if err := d.Invoke(ctx, "jobPosting.create", map[string]any{"jobId": d.Jobs[0].ID, "title": "Principal Backend Engineer"}, nil); err != nil {
			return err
		}
	}
	for _, src := range d.Sources {
		if src.Title == "LinkedIn" || src.Title == "Event" {
			code := strings.ToLower(src.Title) + "-2026"
			if err := d.Invoke(ctx, "sourceTrackingLink.create", map[string]any{"sourceId": src.ID, "code": code}, nil); err != nil {
				return err
			}
		}
	}
	if published == 0 {
		return fmt.Errorf("no open jobs to post")
	}
	return nil
}

func description(title string) string {
	team := "our engineering teams"
	switch {
	case strings.Contains(title, "Design"):
		team = "design"
	case strings.Contains(title, "Account"):
		team = "sales"
	case strings.Contains(title, "Product"):
		team = "product"
	}
	return fmt.Sprintf(`<h2>About the role</h2>
<p>As a <b>%s</b> you will work with %s to ship robots that run around the clock. You will own problems end to end, from the first sketch to production.</p>
<h2>What you will do</h2>
<ul><li>Design and build systems our customers rely on every shift</li><li>Pair with operators in the field to understand their work</li><li>Raise the bar for quality, safety and observability</li></ul>
<h2>What we look for</h2>
<ul><li>Experience shipping and running software or hardware in production</li><li>Clear writing and a collaborative style</li><li>Curiosity about robotics (no prior robotics experience needed)</li></ul>
<h2>Benefits</h2>
<p>Health, dental and vision cover; 25 days of holiday; a learning budget; hybrid or remote work depending on the role.</p>`, title, team)
}

func demoTiers(title string) []map[string]any {
	sal := func(lo, hi float64, cur string) map[string]any {
		return map[string]any{"compensationType": "Salary", "interval": "1 YEAR", "currencyCode": cur, "minValue": lo, "maxValue": hi}
	}
	equity := map[string]any{"compensationType": "EquityPercentage", "interval": "NONE", "minValue": 0.05, "maxValue": 0.2}
	switch {
	case strings.Contains(title, "Backend"), strings.Contains(title, "Reliability"):
		return []map[string]any{
			{"title": "US (SF, NYC)", "components": []any{sal(170000, 215000, "USD"), equity}},
			{"title": "US (other)", "components": []any{sal(150000, 190000, "USD"), equity}},
		}
	case strings.Contains(title, "Robotics"):
		return []map[string]any{{"components": []any{sal(85000, 110000, "EUR"), equity}}}
	case strings.Contains(title, "Designer"):
		return []map[string]any{{"components": []any{sal(65000, 85000, "GBP"), map[string]any{"compensationType": "Bonus", "interval": "1 YEAR"}}}}
	case strings.Contains(title, "Account"):
		return []map[string]any{{"components": []any{sal(90000, 110000, "USD"),
			map[string]any{"compensationType": "Commission", "interval": "1 YEAR", "currencyCode": "USD", "minValue": 60000, "maxValue": 90000}}}}
	}
	return nil
}

// applicationForm is the system fields plus questions of every field
// type the careers site renders, varied a little by job.
func applicationForm(i int) map[string]any {
	field := func(typ, path, title string, required bool, help string, opts ...string) map[string]any {
		f := map[string]any{"type": typ, "path": path, "title": title}
		if len(opts) > 0 {
			var vals []map[string]string
			for _, o := range opts {
				vals = append(vals, map[string]string{"label": o, "value": strings.ToLower(strings.NewReplacer(" ", "_", "+", "plus", "(", "", ")", "").Replace(o))})
			}
			f["selectableValues"] = vals
		}
		e := map[string]any{"isRequired": required, "field": f}
		if help != "" {
			e["descriptionHtml"] = "<p>" + help + "</p>"
		}
		return e
	}
	about := []any{
		field("String", "_systemfield_name", "Full name", true, ""),
		field("Email", "_systemfield_email", "Email", true, ""),
		field("Phone", "_systemfield_phone", "Phone", false, "Include your country code."),
		field("Location", "_systemfield_location", "Where are you based?", false, ""),
		field("File", "_systemfield_resume", "Resume", true, "PDF or Word, up to 20 MB."),
		field("SocialLink", "_systemfield_linkedin", "LinkedIn profile", false, ""),
	}
	questions := []any{
		field("LongText", "why_northwind", "Why do you want to work at Northwind?", true, "A few sentences are plenty."),
		field("Boolean", "work_authorization", "Are you authorized to work in the country of this role?", true, ""),
		field("ValueSelect", "notice_period", "Notice period", false, "", "Immediately", "2 weeks", "1 month", "3 months+"),
		field("MultiValueSelect", "languages", "Which languages do you use at work?", false, "Choose all that apply.", "Go", "Rust", "Python", "C++", "TypeScript"),
		field("Number", "years_experience", "Years of professional experience", false, ""),
		field("Date", "start_date", "Earliest start date", false, ""),
		field("Url", "portfolio", "Portfolio or GitHub", false, ""),
		field("Score", "robotics_interest", "How excited are you about robotics?", false, ""),
		field("RichText", "anything_else", "Anything else we should know?", false, ""),
		field("File", "_systemfield_cover_letter", "Cover letter", false, "Optional."),
	}
	if i%2 == 1 {
		questions = append(questions,
			field("Currency", "salary_expectation", "Salary expectation", false, "Annual, in your currency."),
			field("EducationHistory", "education", "Education", false, ""))
	}
	return map[string]any{"sections": []any{
		map[string]any{"title": "About you", "fields": about},
		map[string]any{"title": "A few questions", "descriptionHtml": "<p>Your answers go to the hiring team only.</p>", "fields": questions},
	}}
}
