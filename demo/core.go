package demo

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
)

func init() {
	AddStep("organization", seedOrganization)
	AddStep("hiring process", seedHiringProcess)
	AddStep("jobs", seedJobs)
	AddStep("candidates", seedCandidates)
}

var firstNames = []string{"Ada", "Grace", "Alan", "Katherine", "Linus", "Margaret", "Dennis", "Barbara", "Ken", "Frances",
	"Donald", "Radia", "John", "Hedy", "Tim", "Shafi", "Edsger", "Lynn", "Guido", "Sophie", "Yukihiro", "Anita", "Bjarne",
	"Jean", "Niklaus", "Adele", "Leslie", "Carol", "Robin", "Mary", "Ivan", "Susan", "Vint", "Elizabeth", "Whitfield",
	"Amara", "Kwame", "Priya", "Mateo", "Lucía", "Chen", "Aisha", "Omar", "Ingrid", "Sven", "Yara", "Tomás", "Noor"}

var lastNames = []string{"Lovelace", "Hopper", "Turing", "Johnson", "Torvalds", "Hamilton", "Ritchie", "Liskov", "Thompson",
	"Allen", "Knuth", "Perlman", "McCarthy", "Lamarr", "Berners-Lee", "Goldwasser", "Dijkstra", "Conway", "van Rossum",
	"Wilson", "Matsumoto", "Borg", "Stroustrup", "Sammet", "Wirth", "Goldberg", "Lamport", "Shaw", "Milner", "Keller",
	"Sutherland", "Kare", "Cerf", "Feigenbaum", "Diffie", "Okafor", "Mensah", "Raman", "García", "Fernández", "Wei",
	"Haddad", "Nasser", "Lindqvist", "Nilsson", "Farouk", "Silva", "Rahman"}

func seedOrganization(ctx context.Context, d *Demo) error {
	users := []struct{ first, last, role string }{
		{"Riley", "Chen", "Organization Admin"}, {"Morgan", "Patel", "Elevated Access"}, {"Jordan", "Okafor", "Elevated Access"},
		{"Casey", "Lindqvist", "Limited Access"}, {"Avery", "García", "Limited Access"}, {"Quinn", "Haddad", "Limited Access"},
		{"Taylor", "Nguyen", "Limited Access"}, {"Sam", "Mensah", "Limited Access"}, {"Jamie", "Rossi", "Limited Access"},
		{"Drew", "Kowalski", "Limited Access"}, {"Skyler", "Ito", "External Recruiter"},
	}
	for _, u := range users {
		var out ashby.User
		email := strings.ToLower(strings.ReplaceAll(u.first+"."+u.last, "í", "i")) + "@northwind.example"
		if err := d.Invoke(ctx, "user.create", map[string]any{"firstName": u.first, "lastName": u.last, "email": email, "globalRole": u.role}, &out); err != nil {
			return err
		}
		d.Users = append(d.Users, out)
	}
	depts := []struct{ name, parent string }{
		{"Engineering", ""}, {"Platform", "Engineering"}, {"Robotics Software", "Engineering"}, {"Hardware", "Engineering"},
		{"Product", ""}, {"Design", ""}, {"Sales", ""}, {"Marketing", ""}, {"People", ""}, {"Finance", ""},
	}
	byName := map[string]string{}
	for _, dep := range depts {
		req := map[string]any{"name": dep.name}
		if dep.parent != "" {
			req["parentId"] = byName[dep.parent]
		}
		var out ashby.Department
		if err := d.Invoke(ctx, "department.create", req, &out); err != nil {
			return err
		}
		byName[dep.name] = out.ID
		d.Departments = append(d.Departments, out)
	}
	regions := map[string]string{}
	for _, r := range []string{"North America", "Europe"} {
		var out ashby.Location
		if err := d.Invoke(ctx, "location.create", map[string]any{"name": r, "type": "LocationHierarchy"}, &out); err != nil {
			return err
		}
		regions[r] = out.ID
	}
	locs := []struct{ name, region, city, regionName, country, workplace string }{
		{"San Francisco", "North America", "San Francisco", "California", "United States", "Hybrid"},
		{"New York", "North America", "New York", "New York", "United States", "OnSite"},
		{"Toronto", "North America", "Toronto", "Ontario", "Canada", "Hybrid"},
		{"London", "Europe", "London", "England", "United Kingdom", "Hybrid"},
		{"Berlin", "Europe", "Berlin", "Berlin", "Germany", "OnSite"},
		{"Remote (US)", "North America", "", "", "United States", "Remote"},
	}
	for _, l := range locs {
		req := map[string]any{"name": l.name, "type": "Location", "parentLocationId": regions[l.region], "workplaceType": l.workplace,
			"isRemote": l.workplace == "Remote",
			"address":  map[string]any{"postalAddress": map[string]any{"addressLocality": l.city, "addressRegion": l.regionName, "addressCountry": l.country}}}
		var out ashby.Location
		if err := d.Invoke(ctx, "location.create", req, &out); err != nil {
			return err
		}
		d.Locations = append(d.Locations, out)
	}
	return nil
}

func seedHiringProcess(ctx context.Context, d *Demo) error {
	eng := map[string]any{"title": "Engineering Interview Plan", "stages": []map[string]string{
		{"title": "Lead", "type": "Lead"}, {"title": "Application Review", "type": "PreInterviewScreen"},
		{"title": "Recruiter Screen", "type": "Active"}, {"title": "Technical Screen", "type": "Active"},
		{"title": "Take-home Exercise", "type": "Active"}, {"title": "Onsite Loop", "type": "Active"},
		{"title": "Reference Check", "type": "Active"}, {"title": "Offer", "type": "Offer"},
		{"title": "Hired", "type": "Hired"}, {"title": "Archived", "type": "Archived"}}}
	sales := map[string]any{"title": "Sales Interview Plan", "stages": []map[string]string{
		{"title": "Application Review", "type": "PreInterviewScreen"}, {"title": "Hiring Manager Screen", "type": "Active"},
		{"title": "Mock Pitch", "type": "Active"}, {"title": "Offer", "type": "Offer"},
		{"title": "Hired", "type": "Hired"}, {"title": "Archived", "type": "Archived"}}}
	for _, p := range []map[string]any{eng, sales} {
		if err := d.Invoke(ctx, "interviewPlan.create", p, nil); err != nil {
			return err
		}
	}
	var plans []ashby.InterviewPlan
	if err := d.Invoke(ctx, "interviewPlan.list", map[string]any{}, &plans); err != nil {
		return err
	}
	d.Plans = plans
	for _, p := range plans {
		var stages []ashby.InterviewStage
		if err := d.Invoke(ctx, "interviewStage.list", map[string]any{"interviewPlanId": p.ID}, &stages); err != nil {
			return err
		}
		d.Stages[p.ID] = stages
	}
	if err := d.Invoke(ctx, "source.list", map[string]any{}, &d.Sources); err != nil {
		return err
	}
	if err := d.Invoke(ctx, "archiveReason.list", map[string]any{}, &d.ArchiveReasons); err != nil {
		return err
	}
	for _, t := range []string{"Strong referral", "Returning candidate", "Needs visa sponsorship", "Open source contributor", "Silver medalist", "Relocation"} {
		var tag ashby.CandidateTag
		if err := d.Invoke(ctx, "candidateTag.create", map[string]any{"title": t}, &tag); err != nil {
			return err
		}
		d.Tags = append(d.Tags, tag)
	}
	for _, f := range []map[string]any{
		{"title": "Years of experience", "fieldType": "Number", "objectType": "Candidate"},
		{"title": "Work authorization", "fieldType": "ValueSelect", "objectType": "Candidate", "selectableValues": []map[string]string{
			{"label": "Authorized", "value": "authorized"}, {"label": "Needs sponsorship", "value": "sponsorship"}}},
		{"title": "Cost center", "fieldType": "String", "objectType": "Job"},
		{"title": "Priority", "fieldType": "ValueSelect", "objectType": "Application", "selectableValues": []map[string]string{
			{"label": "High", "value": "high"}, {"label": "Normal", "value": "normal"}}},
	} {
		if err := d.Invoke(ctx, "customField.create", f, nil); err != nil {
			return err
		}
	}
	return nil
}

// Plan returns the demo plan with this title.
func (d *Demo) Plan(title string) ashby.InterviewPlan {
	for _, p := range d.Plans {
		if p.Title == title {
			return p
		}
	}
	return d.Plans[0]
}

func (d *Demo) department(name string) string {
	for _, dep := range d.Departments {
		if dep.Name == name {
			return dep.ID
		}
	}
	return d.Departments[0].ID
}

func (d *Demo) location(name string) string {
	for _, l := range d.Locations {
		if l.Name == name {
			return l.ID
		}
	}
	return d.Locations[0].ID
}

func seedJobs(ctx context.Context, d *Demo) error {
	jobs := []struct{ title, dept, loc, plan, status, req string }{
		{"Senior Backend Engineer", "Platform", "San Francisco", "Engineering Interview Plan", "Open", "ENG-101"},
		{"Site Reliability Engineer", "Platform", "Remote (US)", "Engineering Interview Plan", "Open", "ENG-102"},
		{"Robotics Software Engineer", "Robotics Software", "Berlin", "Engineering Interview Plan", "Open", "ENG-103"},
		{"Embedded Systems Engineer", "Hardware", "Toronto", "Engineering Interview Plan", "Open", "ENG-104"},
		{"Product Designer", "Design", "London", "Default Interview Plan", "Open", "DES-201"},
		{"Account Executive", "Sales", "New York", "Sales Interview Plan", "Open", "SAL-301"},
		{"Product Manager, Fleet", "Product", "San Francisco", "Default Interview Plan", "Open", "PRD-401"},
		{"Frontend Engineer", "Engineering", "London", "Engineering Interview Plan", "Closed", "ENG-105"},
		{"Recruiting Coordinator", "People", "New York", "Default Interview Plan", "Closed", "PPL-501"},
		{"Staff Machine Learning Engineer", "Robotics Software", "San Francisco", "Engineering Interview Plan", "Draft", "ENG-106"},
		{"Financial Analyst", "Finance", "Toronto", "Default Interview Plan", "Draft", "FIN-601"},
		{"Marketing Manager", "Marketing", "Remote (US)", "Default Interview Plan", "Archived", "MKT-701"},
	}
	for _, j := range jobs {
		var job ashby.Job
		plan := d.Plan(j.plan)
		if err := d.Invoke(ctx, "job.create", map[string]any{"title": j.title, "teamId": d.department(j.dept), "locationId": d.location(j.loc),
			"defaultInterviewPlanId": plan.ID}, &job); err != nil {
			return err
		}
		if err := d.Invoke(ctx, "job.update", map[string]any{"jobId": job.ID, "customRequisitionId": j.req}, &job); err != nil {
			return err
		}
		path := map[string][]string{"Open": {"Open"}, "Closed": {"Open", "Closed"}, "Archived": {"Open", "Closed", "Archived"}}[j.status]
		for _, st := range path {
			if err := d.Invoke(ctx, "job.setStatus", map[string]any{"jobId": job.ID, "status": st}, &job); err != nil {
				return err
			}
		}
		d.Jobs = append(d.Jobs, job)
	}
	return nil
}

var noteTexts = []string{
	"Great conversation about distributed systems; strong on trade-offs.",
	"Prefers a hybrid schedule. Available to start in six weeks.",
	"<b>Strong signal</b> on collaboration. Follow up about <i>relocation</i>.",
	"Referred by a current team member; fast-track to the technical screen.",
	"Compensation expectations are above the band; discuss with the hiring manager.",
	"Asked thoughtful questions about the robotics roadmap.",
}

func seedCandidates(ctx context.Context, d *Demo) error {
	var appliable []ashby.Job
	for _, j := range d.Jobs {
		if j.Status == "Open" || j.Status == "Closed" {
			appliable = append(appliable, j)
		}
	}
	start := time.Now().Add(-120 * 24 * time.Hour)
	for i := 0; i < d.Candidates; i++ {
		first, last := Pick(d, firstNames), Pick(d, lastNames)
		name := first + " " + last
		email := fmt.Sprintf("%s.%s.%d@example.com", strings.ToLower(asciiOnly(first)), strings.ToLower(asciiOnly(last)), i)
		created := ashby.NewTime(start.Add(time.Duration(i) * 120 * 24 * time.Hour / time.Duration(d.Candidates+1)))
		req := map[string]any{"name": name, "email": email, "sourceId": Pick(d, d.Sources).ID, "createdAt": created,
			"location": map[string]string{"city": Pick(d, []string{"Oakland", "Brooklyn", "Toronto", "Manchester", "Munich", "Austin"}), "country": "United States"}}
		if d.Rand.IntN(3) == 0 {
			req["phoneNumber"] = fmt.Sprintf("+1 415 555 %04d", i)
		}
		if d.Rand.IntN(2) == 0 {
			req["linkedInUrl"] = "https://www.linkedin.com/in/" + strings.ToLower(asciiOnly(first+last)) + fmt.Sprint(i)
		}
		if d.Rand.IntN(4) == 0 {
			req["creditedToUserId"] = Pick(d, d.Users).ID
		}
		var cand ashby.Candidate
		if err := d.Invoke(ctx, "candidate.create", req, &cand); err != nil {
			return err
		}
		if d.Rand.IntN(5) == 0 {
			if err := d.Invoke(ctx, "candidate.addTag", map[string]any{"candidateId": cand.ID, "tagId": Pick(d, d.Tags).ID}, &cand); err != nil {
				return err
			}
		}
		if d.Rand.IntN(3) == 0 {
			n := Pick(d, noteTexts)
			note := any(n)
			if strings.Contains(n, "<") {
				note = map[string]string{"type": "text/html", "value": n}
			}
			if err := d.Invoke(ctx, "candidate.createNote", map[string]any{"candidateId": cand.ID, "note": note}, nil); err != nil {
				return err
			}
		}
		apps := 1
		if d.Rand.IntN(8) == 0 {
			apps = 2
		}
		used := map[string]bool{}
		for a := 0; a < apps; a++ {
			job := Pick(d, appliable)
			if used[job.ID] {
				continue
			}
			used[job.ID] = true
			app, err := d.progress(ctx, cand, job, created)
			if err != nil {
				return err
			}
			d.Applications = append(d.Applications, app)
		}
		d.CandidateList = append(d.CandidateList, cand)
	}
	return nil
}

// progress creates an application and moves it some way through the plan:
// most stay early, some reach offer or hire, a good share is archived.
func (d *Demo) progress(ctx context.Context, cand ashby.Candidate, job ashby.Job, created ashby.Time) (ashby.Application, error) {
	var app ashby.Application
	stages := d.Stages[job.DefaultInterviewPlanID]
	if err := d.Invoke(ctx, "application.create", map[string]any{"candidateId": cand.ID, "jobId": job.ID, "createdAt": created}, &app); err != nil {
		return app, err
	}
	var active []ashby.InterviewStage
	var hired, archived ashby.InterviewStage
	for _, st := range stages {
		switch st.Type {
		case "Hired":
			hired = st
		case "Archived":
			archived = st
		case "Lead":
		default:
			active = append(active, st)
		}
	}
	roll := d.Rand.IntN(100)
	steps := 0
	switch {
	case roll < 15: // stays a lead / in review
	case roll < 70:
		steps = 1 + d.Rand.IntN(len(active))
	default:
		steps = len(active)
	}
	for i := 0; i < steps && i < len(active); i++ {
		if err := d.Invoke(ctx, "application.changeStage", map[string]any{"applicationId": app.ID, "interviewStageId": active[i].ID}, &app); err != nil {
			return app, err
		}
	}
	switch {
	case roll >= 40 && roll < 70 || roll >= 92:
		reason := Pick(d, d.ArchiveReasons)
		err := d.Invoke(ctx, "application.changeStage", map[string]any{"applicationId": app.ID, "interviewStageId": archived.ID, "archiveReasonId": reason.ID}, &app)
		return app, err
	case roll >= 85 && job.Status == "Open":
		err := d.Invoke(ctx, "application.changeStage", map[string]any{"applicationId": app.ID, "interviewStageId": hired.ID}, &app)
		return app, err
	}
	return app, nil
}

func asciiOnly(s string) string {
	r := strings.NewReplacer("í", "i", "á", "a", "é", "e", "ó", "o", "ú", "u", "ñ", "n", "-", "", " ", "")
	return r.Replace(s)
}
