package main

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/client"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/testserver"
)

// End-to-end tests of job boards, postings, application forms and
// files, on both engines, against the real binary.

// pdfBytes is a small but real PDF (the sniffer reads its magic number).
var pdfBytes = []byte("%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")

// richForm asks one question of every field type the careers site renders.
func richForm() map[string]any {
	field := func(typ, path, title string, required bool, opts ...string) map[string]any {
		f := map[string]any{"type": typ, "path": path, "title": title}
		if len(opts) > 0 {
			var vals []map[string]string
			for _, o := range opts {
				vals = append(vals, map[string]string{"label": strings.ToUpper(o[:1]) + o[1:], "value": o})
			}
			f["selectableValues"] = vals
		}
		return map[string]any{"isRequired": required, "field": f}
	}
	return map[string]any{"sections": []any{
		map[string]any{"title": "About you", "fields": []any{
			field("String", "_systemfield_name", "Name", true),
			field("Email", "_systemfield_email", "Email", true),
			field("Phone", "_systemfield_phone", "Phone", false),
			field("Location", "_systemfield_location", "Location", false),
			field("File", "_systemfield_resume", "Resume", true),
			field("SocialLink", "_systemfield_linkedin", "LinkedIn", false),
		}},
		map[string]any{"title": "Questions", "descriptionHtml": "<p>Tell us <b>more</b></p><script>x()</script>", "fields": []any{
			field("LongText", "q_why", "Why us?", true),
			field("Boolean", "q_remote", "Open to remote work?", false),
			field("Date", "q_start", "Earliest start date", false),
			field("Number", "q_years", "Years of experience", false),
			field("ValueSelect", "q_level", "Level", false, "junior", "senior"),
			field("MultiValueSelect", "q_langs", "Languages", false, "go", "rust", "python"),
			field("Url", "q_portfolio", "Portfolio", false),
			field("RichText", "q_note", "Anything else?", false),
			field("Score", "q_self", "Rate your Go", false),
			field("File", "q_cover", "Cover letter", false),
		}},
	}}
}

// postingFixture is an organization with an open job and a published,
// listed posting that uses richForm.
type postingFixture struct {
	*fixture
	board   ashby.JobBoard
	posting ashby.JobPostingInfo
	slug    string
	srv     *testserver.Server
}

func newPostingFixture(t *testing.T, srv *testserver.Server) *postingFixture {
	slug, key := srv.NewOrg()
	c := srv.Client(key)
	f := &postingFixture{fixture: newFixture(t, c), slug: slug, srv: srv}
	var boards []ashby.JobBoard
	must(t, c, "jobBoard.list", nil, &boards)
	if len(boards) != 1 || boards[0].IsInternal {
		t.Fatalf("a new organization has one external board: %+v", boards)
	}
	f.board = boards[0]
	must(t, c, "jobPosting.create", map[string]any{"jobId": f.job.ID, "title": "Backend Engineer (Go)",
		"descriptionHtml":           "<h2>About</h2><p>Build <b>things</b>.</p><script>alert(1)</script><img src=x onerror=alert(1)>",
		"applicationFormDefinition": richForm(), "status": "Published"}, &f.posting)
	return f
}

func TestE2EJobPostings(t *testing.T) {
	t.Parallel()
	testserver.Engines(t, func(t *testing.T, engine store.Engine) {
		srv := testserver.Start(t, engine, testserver.Options{Args: []string{"--files-dir", t.TempDir()}})
		f := newPostingFixture(t, srv)
		c := f.c
		var settings ashby.JobBoardSettings
		must(t, c, "jobBoard.info", map[string]any{"jobBoardId": f.board.ID}, &settings)
		if settings.Name != f.slug || !strings.HasSuffix(settings.PostingAPIURL, "/posting-api/job-board/"+f.slug) {
			t.Fatalf("default board is named after the organization: %+v", settings)
		}

		// The description is sanitized to Ashby's tags; parts and plain text follow.
		p := f.posting
		if strings.Contains(p.DescriptionHTML, "script") || strings.Contains(p.DescriptionHTML, "onerror") || !strings.Contains(p.DescriptionHTML, "<h2>About</h2>") {
			t.Fatalf("description not sanitized: %s", p.DescriptionHTML)
		}
		if p.DescriptionPlain != "About\nBuild things." || p.DescriptionParts.DescriptionBody.HTML != p.DescriptionHTML {
			t.Fatalf("plain description %q / parts %+v", p.DescriptionPlain, p.DescriptionParts)
		}
		if p.Status != "Published" || p.PublishedDate == nil || !p.IsListed || p.JobID != f.job.ID || p.DepartmentName != "Engineering" ||
			p.LocationName != "Berlin" || p.LocationIDs.PrimaryLocationID != f.loc || p.EmploymentType != "FullTime" {
			t.Fatalf("posting: %+v", p.JobPostingListItem)
		}
		if p.LinkedData.Type != "JobPosting" || p.LinkedData.EmploymentType != "FULL_TIME" || p.LinkedData.Identifier.Value != p.ID {
			t.Fatalf("linkedData: %+v", p.LinkedData)
		}
		if len(p.ApplicationFormDefinition.Sections) != 2 || p.ApplicationFormDefinition.Sections[1].DescriptionHTML != "<p>Tell us <b>more</b></p>" {
			t.Fatalf("form: %+v", p.ApplicationFormDefinition)
		}
		for _, e := range p.ApplicationFormDefinition.Sections[0].Fields {
			if !ashby.IsUUID(e.Field.ID) || e.Field.HumanReadablePath == "" {
				t.Fatalf("form fields get ids and human-readable paths: %+v", e)
			}
		}
		if !strings.HasSuffix(p.ApplyLink, "/jobs/"+f.slug+"/"+p.ID+"/application") || p.ExternalLink == nil {
			t.Fatalf("links: %s %v", p.ApplyLink, p.ExternalLink)
		}

		// A draft is hidden unless asked for.
		var draft ashby.JobPostingInfo
		must(t, c, "jobPosting.create", map[string]any{"jobId": f.job.ID, "title": "Draft role", "isListed": false}, &draft)
		if draft.Status != "Draft" || draft.PublishedDate != nil {
			t.Fatalf("new posting is a draft: %+v", draft.JobPostingListItem)
		}
		wantCode(t, c, "jobPosting.info", map[string]any{"jobPostingId": draft.ID}, "job_posting_not_found")
		must(t, c, "jobPosting.info", map[string]any{"jobPostingId": draft.ID, "includeUnpublishedJobPostings": true}, &draft)
		var list []ashby.JobPostingListItem
		must(t, c, "jobPosting.list", nil, &list)
		if len(list) != 1 || list[0].ID != p.ID {
			t.Fatalf("list shows published postings: %+v", list)
		}
		must(t, c, "jobPosting.list", map[string]any{"includeUnpublishedJobPostings": true}, &list)
		if len(list) != 2 {
			t.Fatalf("list with unpublished: %d", len(list))
		}
		must(t, c, "jobPosting.list", map[string]any{"includeUnpublishedJobPostings": true, "listedOnly": true}, &list)
		if len(list) != 1 {
			t.Fatalf("listedOnly: %d", len(list))
		}
		for _, q := range []map[string]any{{"location": "Berlin"}, {"department": "Engineering"}} {
			must(t, c, "jobPosting.list", q, &list)
			if len(list) != 1 {
				t.Fatalf("filter %v: %d", q, len(list))
			}
		}
		for _, q := range []map[string]any{{"location": "berlin"}, {"department": "Sales"}} {
			must(t, c, "jobPosting.list", q, &list)
			if len(list) != 0 {
				t.Fatalf("filter %v is exact: %d", q, len(list))
			}
		}
		wantCode(t, c, "jobPosting.list", map[string]any{"jobBoardId": ashby.NewID()}, "job_board_not_found")

		// Publishing checks Ashby's rules; job.info hides draft posting ids.
		wantCode(t, c, "jobPosting.setStatus", map[string]any{"jobPostingId": draft.ID, "status": "Published"}, "job_posting_not_publishable")
		var job ashby.Job
		must(t, c, "job.info", map[string]any{"id": f.job.ID}, &job)
		if len(job.JobPostingIDs) != 1 || job.JobPostingIDs[0] != p.ID {
			t.Fatalf("job.info jobPostingIds: %v", job.JobPostingIDs)
		}
		must(t, c, "job.info", map[string]any{"id": f.job.ID, "includeUnpublishedJobPostingsIds": true}, &job)
		if len(job.JobPostingIDs) != 2 {
			t.Fatalf("job.info with unpublished ids: %v", job.JobPostingIDs)
		}
		wantCode(t, c, "jobPosting.update", map[string]any{"jobPostingId": draft.ID, "title": "x"}, "job_posting_not_found")
		must(t, c, "jobPosting.update", map[string]any{"jobPostingId": draft.ID, "includeUnpublishedJobPostings": true,
			"description": map[string]any{"type": "text/html", "content": "<p>Now with a description</p>"}, "workplaceType": "Remote"}, &draft)
		must(t, c, "jobPosting.setStatus", map[string]any{"jobPostingId": draft.ID, "status": "Published"}, &draft)
		if draft.Status != "Published" || draft.WorkplaceType != "Remote" || !draft.IsRemote {
			t.Fatalf("published draft: %+v", draft.JobPostingListItem)
		}
		must(t, c, "jobPosting.setStatus", map[string]any{"jobPostingId": draft.ID, "status": "Draft"}, &draft)
		wantCode(t, c, "jobPosting.setStatus", map[string]any{"jobPostingId": draft.ID, "status": "Closed"}, "invalid_input")

		// Compensation: the posting's own tiers, then null to inherit the job's (none).
		var withComp ashby.JobPostingInfo
		must(t, c, "jobPosting.updateCompensation", map[string]any{"jobPostingId": p.ID, "compensationTiers": []any{map[string]any{
			"title": "Zone A", "components": []any{
				map[string]any{"compensationType": "Salary", "interval": "1 YEAR", "currencyCode": "EUR", "minValue": 72000, "maxValue": 100000},
				map[string]any{"compensationType": "EquityPercentage", "interval": "NONE", "minValue": 1, "maxValue": 2.5},
				map[string]any{"compensationType": "Bonus", "interval": "1 YEAR"}}}}}, &withComp)
		if withComp.Compensation.CompensationTierSummary == nil || *withComp.Compensation.CompensationTierSummary != "€72K – €100K • 1% – 2.5% • Offers Bonus" ||
			withComp.CompensationTierSummary == nil || len(withComp.Compensation.SummaryComponents) != 3 {
			t.Fatalf("compensation: %+v", withComp.Compensation)
		}
		if withComp.LinkedData.BaseSalary == nil || withComp.LinkedData.BaseSalary.Currency != "EUR" {
			t.Fatalf("JSON-LD salary: %+v", withComp.LinkedData.BaseSalary)
		}
		wantCode(t, c, "jobPosting.updateCompensation", map[string]any{"jobPostingId": p.ID}, "invalid_input")
		wantCode(t, c, "jobPosting.updateCompensation", map[string]any{"jobPostingId": p.ID, "compensationTiers": []any{map[string]any{
			"components": []any{map[string]any{"compensationType": "Salary", "interval": "1 YEAR", "minValue": 5}}}}}, "invalid_input")
		var inherited ashby.JobPostingInfo
		must(t, c, "jobPosting.updateCompensation", map[string]any{"jobPostingId": p.ID, "compensationTiers": nil}, &inherited)
		if inherited.Compensation.CompensationTierSummary != nil || len(inherited.Compensation.CompensationTiers) != 0 {
			t.Fatalf("inherit: %+v", inherited.Compensation)
		}

		// Settings: secondary locations, an internal board, a bad form.
		var berlin2 ashby.Location
		must(t, c, "location.create", map[string]any{"name": "Munich", "type": "Location"}, &berlin2)
		var moved ashby.JobPostingInfo
		must(t, c, "jobPosting.updateSettings", map[string]any{"jobPostingId": p.ID, "locationIds": map[string]any{"primaryLocationId": f.loc, "secondaryLocationIds": []string{berlin2.ID}}}, &moved)
		if len(moved.LocationIDs.SecondaryLocationIDs) != 1 {
			t.Fatalf("secondary locations: %+v", moved.LocationIDs)
		}
		must(t, c, "jobPosting.list", map[string]any{"location": "Munich"}, &list)
		if len(list) != 1 {
			t.Fatalf("location filter matches secondary locations: %d", len(list))
		}
		wantCode(t, c, "jobPosting.updateSettings", map[string]any{"jobPostingId": p.ID, "applicationFormDefinition": map[string]any{"sections": []any{
			map[string]any{"fields": []any{map[string]any{"isRequired": true, "field": map[string]any{"type": "String", "path": "q", "title": "Q"}}}}}}}, "invalid_input")
		wantCode(t, c, "jobPosting.updateSettings", map[string]any{"jobPostingId": p.ID, "applicationFormDefinition": map[string]any{"sections": []any{
			map[string]any{"fields": []any{map[string]any{"isRequired": true, "field": map[string]any{"type": "Nonsense", "path": "_systemfield_name", "title": "Q"}}}}}}}, "invalid_input")
		var internal ashby.JobBoardSettings
		must(t, c, "jobBoard.create", map[string]any{"title": "Internal moves", "isInternal": true}, &internal)
		wantCode(t, c, "jobBoard.create", map[string]any{"title": "Dup", "name": f.slug}, "job_board_name_taken")
		must(t, c, "jobPosting.updateSettings", map[string]any{"jobPostingId": draft.ID, "jobBoardId": internal.ID}, &draft)
		if draft.ExternalLink != nil {
			t.Fatalf("internal boards have no external link: %v", *draft.ExternalLink)
		}
		var boards []ashby.JobBoard
		must(t, c, "jobBoard.list", nil, &boards)
		if len(boards) != 2 || !boards[1].IsInternal {
			t.Fatalf("boards: %+v", boards)
		}
		var expanded map[string]json.RawMessage
		must(t, c, "jobPosting.info", map[string]any{"jobPostingId": p.ID, "expand": []string{"job"}}, &expanded)
		if !bytes.Contains(expanded["job"], []byte(f.job.ID)) {
			t.Fatalf("expand job: %s", expanded["job"])
		}

		// Posting events are in the outbox, written with their changes.
		db, err := store.Open(context.Background(), srv.DSN)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		rows, err := db.QueryContext(context.Background(), `SELECT action, payload FROM events WHERE action LIKE 'jobPosting%' ORDER BY seq`)
		if err != nil {
			t.Fatal(err)
		}
		counts := map[string]int{}
		for rows.Next() {
			var action, payload string
			rows.Scan(&action, &payload)
			counts[action]++
			var ev struct {
				JobPosting ashby.JobPostingListItem `json:"jobPosting"`
			}
			if json.Unmarshal([]byte(payload), &ev) != nil || ev.JobPosting.ID == "" {
				t.Fatalf("%s payload: %s", action, payload)
			}
		}
		rows.Close()
		// Publishing: the fixture's posting and the draft; unpublishing: the draft.
		if counts["jobPostingPublish"] != 2 || counts["jobPostingUnpublish"] != 1 || counts["jobPostingUpdate"] < 8 {
			t.Fatalf("posting events: %v", counts)
		}

		// Another organization sees none of it.
		_, key2 := srv.NewOrg()
		c2 := srv.Client(key2)
		wantCode(t, c2, "jobPosting.info", map[string]any{"jobPostingId": p.ID}, "job_posting_not_found")
		must(t, c2, "jobPosting.list", nil, &list)
		if len(list) != 0 {
			t.Fatalf("tenancy: %d postings", len(list))
		}
	})
}

// multipartBody builds a multipart request from text fields and files.
type filePart struct {
	field, name string
	data        []byte
}

func multipartBody(t *testing.T, fields map[string]string, parts ...filePart) ([]byte, string) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range fields {
		if err := w.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range parts {
		fw, err := w.CreateFormFile(p.field, p.name)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(p.data)
	}
	w.Close()
	return buf.Bytes(), w.FormDataContentType()
}

func answers(kv ...any) map[string]any {
	var subs []map[string]any
	for i := 0; i+1 < len(kv); i += 2 {
		subs = append(subs, map[string]any{"path": kv[i], "value": kv[i+1]})
	}
	return map[string]any{"fieldSubmissions": subs}
}

// upload runs the handle flow: createFileUploadHandle, then the POST.
func upload(t *testing.T, c *client.Client, uploadContext, name string, data []byte) (ashby.FileUploadHandle, int) {
	t.Helper()
	var h ashby.FileUploadHandle
	must(t, c, "file.createFileUploadHandle", map[string]any{"fileUploadContext": uploadContext, "filename": name, "contentType": "application/pdf", "contentLength": len(data)}, &h)
	fields := map[string]string{}
	for k, v := range h.Fields {
		fields[k] = v
	}
	body, ct := multipartBody(t, fields, filePart{"file", name, data})
	resp, err := http.Post(h.URL, ct, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return h, resp.StatusCode
}

func download(t *testing.T, c *client.Client, handle string) ([]byte, http.Header) {
	t.Helper()
	var u ashby.FileURL
	must(t, c, "file.info", map[string]any{"fileHandle": handle}, &u)
	resp, err := http.Get(u.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("download %s: %d %s", u.URL, resp.StatusCode, b)
	}
	return b, resp.Header
}

func TestE2EApplicationFormSubmit(t *testing.T) {
	t.Parallel()
	testserver.Engines(t, func(t *testing.T, engine store.Engine) {
		srv := testserver.Start(t, engine, testserver.Options{Args: []string{"--files-dir", t.TempDir(), "--max-upload-size", "64KB"}})
		f := newPostingFixture(t, srv)
		c := f.c
		ctx := context.Background()
		var tag ashby.CandidateTag
		must(t, c, "candidateTag.create", map[string]any{"title": "Careers"}, &tag)

		// JSON form with an upload handle.
		h, status := upload(t, c, "ApplicationForm", "ada.pdf", pdfBytes)
		if status != http.StatusNoContent {
			t.Fatalf("upload: HTTP %d", status)
		}
		var res ashby.ApplicationFormSubmitResult
		must(t, c, "applicationForm.submit", map[string]any{"jobPostingId": f.posting.ID, "tagIds": []string{tag.ID},
			"utmData": map[string]string{"utm_source": "LinkedIn", "utm_campaign": "spring"},
			"applicationForm": answers("_systemfield_name", "Ada Lovelace", "_systemfield_email", "ada@example.com", "_systemfield_resume", h.Handle,
				"_systemfield_location", map[string]any{"city": "London", "country": "United Kingdom"}, "_systemfield_phone", "+44 20 7946 0000",
				"q_why", "Engines", "q_remote", true, "q_start", "2027-01-04", "q_years", 7, "q_level", "senior", "q_langs", []string{"go", "rust"},
				"q_portfolio", "https://ada.example.com", "q_note", map[string]any{"type": "PlainText", "value": "Hi"}, "q_self", map[string]any{"score": 4})}, &res)
		if res.FormMessages.Blocked || !ashby.IsUUID(res.SubmittedFormInstance.ID) || res.SubmittedFormInstance.SubmittedValues["q_level"] != "senior" {
			t.Fatalf("submit result: %+v", res)
		}
		var app map[string]any
		must(t, c, "application.info", map[string]any{"submittedFormInstanceId": res.SubmittedFormInstance.ID, "expand": []string{"applicationFormSubmissions"}}, &app)
		var a struct {
			ashby.Application
			Subs []ashby.SubmittedFormInstance `json:"applicationFormSubmissions"`
		}
		b, _ := json.Marshal(app)
		json.Unmarshal(b, &a)
		if a.Job.ID != f.job.ID || a.Status != "Lead" || a.AppliedViaJobPostingID != f.posting.ID || a.Source == nil || a.Source.Title != "LinkedIn" ||
			a.SubmitterUserAgent == "" || a.SubmitterClientIP != "127.0.0.1" || len(a.Subs) != 1 || a.Subs[0].ID != res.SubmittedFormInstance.ID {
			t.Fatalf("application: %+v", a)
		}
		var cand ashby.Candidate
		must(t, c, "candidate.info", map[string]any{"id": a.Candidate.ID}, &cand)
		if cand.ResumeFileHandle == nil || len(cand.Tags) != 1 || cand.PrimaryPhoneNumber == nil || cand.Location == nil || !strings.Contains(cand.Location.LocationSummary, "London") {
			t.Fatalf("candidate: %+v", cand)
		}
		got, hdr := download(t, c, cand.ResumeFileHandle.Handle)
		if !bytes.Equal(got, pdfBytes) || hdr.Get("Content-Type") != "application/pdf" || hdr.Get("X-Content-Type-Options") != "nosniff" ||
			!strings.HasPrefix(hdr.Get("Content-Disposition"), "attachment") {
			t.Fatalf("download: %d bytes, %v", len(got), hdr)
		}
		// An upload handle is used once per candidate; a forged handle is refused.
		wantCode(t, c, "file.info", map[string]any{"fileHandle": cand.ResumeFileHandle.Handle + "x"}, "file_not_found")

		// Multipart form, the same candidate (matched by email) applying to another job.
		var job2 ashby.Job
		must(t, c, "job.create", map[string]any{"title": "SRE", "teamId": f.dept, "locationId": f.loc, "defaultInterviewPlanId": f.job.DefaultInterviewPlanID}, &job2)
		must(t, c, "job.setStatus", map[string]any{"jobId": job2.ID, "status": "Open"}, &job2)
		var p2 ashby.JobPostingInfo
		must(t, c, "jobPosting.create", map[string]any{"jobId": job2.ID, "descriptionHtml": "<p>Keep it up</p>", "status": "Published"}, &p2)
		form, _ := json.Marshal(answers("_systemfield_name", "Ada L.", "_systemfield_email", "ADA@example.com", "_systemfield_resume", "resume_file"))
		body, ct := multipartBody(t, map[string]string{"jobPostingId": p2.ID, "applicationForm": string(form), "utmData": `{"utm_source":"nowhere"}`},
			filePart{"resume_file", "cv.pdf", pdfBytes})
		var res2 ashby.ApplicationFormSubmitResult
		if _, err := c.CallMultipart(ctx, "applicationForm.submit", body, ct, &res2); err != nil {
			t.Fatal(err)
		}
		var a2 ashby.Application
		must(t, c, "application.info", map[string]any{"submittedFormInstanceId": res2.SubmittedFormInstance.ID}, &a2)
		if a2.Candidate.ID != cand.ID || a2.Job.ID != job2.ID || a2.Source == nil || a2.Source.Title != "Applied" {
			t.Fatalf("multipart application: %+v", a2)
		}
		must(t, c, "candidate.info", map[string]any{"id": cand.ID}, &cand)
		if cand.Name != "Ada Lovelace" || len(cand.FileHandles) != 1 || cand.ResumeFileHandle.Name != "cv.pdf" {
			t.Fatalf("matched candidate keeps its name, gains the new resume: %+v", cand)
		}
		// Bracket keys, as some clients send them.
		body, ct = multipartBody(t, map[string]string{"jobPostingId": p2.ID, "applicationForm[_systemfield_name]": "Grace Hopper",
			"applicationForm[_systemfield_email]": "grace@example.com", "utmData[utm_source]": "Indeed"},
			filePart{"applicationForm[_systemfield_resume]", "grace.pdf", pdfBytes})
		if _, err := c.CallMultipart(ctx, "applicationForm.submit", body, ct, &res2); err != nil {
			t.Fatal(err)
		}
		must(t, c, "application.info", map[string]any{"submittedFormInstanceId": res2.SubmittedFormInstance.ID}, &a2)
		if a2.Candidate.Name != "Grace Hopper" || a2.Source == nil || a2.Source.Title != "Indeed" {
			t.Fatalf("bracket-key application: %+v", a2)
		}

		// A second submission for the same job keeps the data on the existing application.
		var again ashby.ApplicationFormSubmitResult
		must(t, c, "applicationForm.submit", map[string]any{"jobPostingId": p2.ID, "applicationForm": answers("_systemfield_name", "Grace Hopper",
			"_systemfield_email", "grace@example.com", "_systemfield_resume", mustUpload(t, c, "g2.pdf"))}, &again)
		must(t, c, "application.info", map[string]any{"submittedFormInstanceId": again.SubmittedFormInstance.ID}, &a)
		if a.ID != a2.ID {
			t.Fatalf("re-application created application %s besides %s", a.ID, a2.ID)
		}

		// Concurrent submissions from one new address make one candidate
		// and one application, and keep every submission.
		var handles []string
		for i := 0; i < 5; i++ {
			handles = append(handles, mustUpload(t, c, fmt.Sprintf("race%d.pdf", i)))
		}
		var wg sync.WaitGroup
		errs := make(chan error, len(handles))
		for _, h := range handles {
			wg.Add(1)
			go func(h string) {
				defer wg.Done()
				_, err := c.Call(ctx, "applicationForm.submit", map[string]any{"jobPostingId": f.posting.ID, "applicationForm": answers(
					"_systemfield_name", "Rae Condition", "_systemfield_email", "rae@example.com", "_systemfield_resume", h, "q_why", "Timing")}, nil)
				errs <- err
			}(h)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("concurrent submission: %v", err)
			}
		}
		var found []ashby.Candidate
		must(t, c, "candidate.search", map[string]any{"email": "rae@example.com"}, &found)
		if len(found) != 1 || len(found[0].ApplicationIDs) != 1 {
			t.Fatalf("concurrent submissions: %d candidates %+v", len(found), found)
		}
		var raced map[string]any
		must(t, c, "application.info", map[string]any{"applicationId": found[0].ApplicationIDs[0], "expand": []string{"applicationFormSubmissions"}}, &raced)
		if n := len(raced["applicationFormSubmissions"].([]any)); n != len(handles) {
			t.Fatalf("%d concurrent submissions, %d kept", len(handles), n)
		}

		// Validation: every field type refuses a wrong value, with Ashby's error and field errors.
		base := []any{"_systemfield_name", "Val Idation", "_systemfield_email", "val@example.com", "_systemfield_resume", mustUpload(t, c, "v.pdf"), "q_why", "Because"}
		bad := []struct {
			path  string
			value any
		}{
			{"_systemfield_email", "not-an-email"}, {"_systemfield_phone", "call me"}, {"_systemfield_location", "Berlin"},
			{"_systemfield_linkedin", "javascript:alert(1)"}, {"q_remote", "yes"}, {"q_start", "2027-13-01"}, {"q_years", "seven"},
			{"q_level", "principal"}, {"q_langs", []string{"cobol"}}, {"q_portfolio", "ftp://x"}, {"q_note", map[string]any{"type": "Html"}},
			{"q_self", map[string]any{"score": 5}}, {"q_cover", "no-such-handle"}, {"q_unknown", "x"},
		}
		for _, tc := range bad {
			_, err := c.Call(ctx, "applicationForm.submit", map[string]any{"jobPostingId": f.posting.ID, "applicationForm": answers(append(append([]any{}, base...), tc.path, tc.value)...)}, nil)
			ce, ok := err.(*client.Error)
			if !ok || ce.Code != "invalid_input" || ce.Status != 200 {
				t.Fatalf("%s=%v: %v", tc.path, tc.value, err)
			}
			fe, _ := ce.Meta["fieldErrors"].([]any)
			if len(fe) != 1 || fe[0].(map[string]any)["path"] != tc.path {
				t.Fatalf("%s=%v: field errors %v", tc.path, tc.value, ce.Meta)
			}
		}
		// Required fields, the forced failure and unpublished postings.
		_, err := c.Call(ctx, "applicationForm.submit", map[string]any{"jobPostingId": f.posting.ID, "applicationForm": answers("_systemfield_name", "X")}, nil)
		if ce, _ := err.(*client.Error); ce == nil || len(ce.Meta["fieldErrors"].([]any)) != 3 {
			t.Fatalf("missing email, resume and q_why: %v", err)
		}
		wantCode(t, c, "applicationForm.submit", map[string]any{"jobPostingId": f.posting.ID, "applicationForm": answers(append(append([]any{}, base[:2]...), "_systemfield_email", "testing-fail-validation@example.com", "_systemfield_resume", base[5], "q_why", "x")...)}, "invalid_input")
		must(t, c, "jobPosting.setStatus", map[string]any{"jobPostingId": p2.ID, "status": "Draft"}, nil)
		wantCode(t, c, "applicationForm.submit", map[string]any{"jobPostingId": p2.ID, "allowSubmissionForUnpublishedJobPosting": false,
			"applicationForm": answers("_systemfield_name", "Late", "_systemfield_email", "late@example.com", "_systemfield_resume", base[5])}, "job_posting_not_published")
		wantCode(t, c, "applicationForm.submit", map[string]any{"jobPostingId": ashby.NewID(), "applicationForm": answers("_systemfield_name", "x")}, "job_posting_not_found")
		wantCode(t, c, "applicationForm.submit", map[string]any{"jobPostingId": f.posting.ID}, "invalid_input")

		// Upload limits and type sniffing, in every upload path.
		big := bytes.Repeat([]byte("a"), 65<<10)
		var small ashby.FileUploadHandle
		must(t, c, "file.createFileUploadHandle", map[string]any{"fileUploadContext": "ApplicationForm", "filename": "x.pdf", "contentType": "application/pdf", "contentLength": 100}, &small)
		body, ct = multipartBody(t, small.Fields, filePart{"file", "x.pdf", append([]byte("%PDF-1.4\n"), make([]byte, 200)...)})
		if resp, err := http.Post(small.URL, ct, bytes.NewReader(body)); err != nil || resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("upload beyond the declared contentLength: %v %v", resp.Status, err)
		}
		wantCode(t, c, "file.createFileUploadHandle", map[string]any{"fileUploadContext": "ApplicationForm", "filename": "big.pdf", "contentType": "application/pdf", "contentLength": 65 << 10}, "invalid_input")
		exe := append([]byte("MZ\x90\x00\x03\x00\x00\x00"), make([]byte, 100)...)
		if _, status := upload(t, c, "ApplicationForm", "resume.pdf", exe); status != http.StatusUnsupportedMediaType {
			t.Fatalf("an executable named .pdf: HTTP %d", status)
		}
		body, ct = multipartBody(t, map[string]string{"jobPostingId": f.posting.ID, "applicationForm": string(mustJSONBytes(answers(append(append([]any{}, base[:4]...), "_systemfield_resume", "cv", "q_why", "x")...)))},
			filePart{"cv", "cv.pdf", exe})
		_, err = c.CallMultipart(ctx, "applicationForm.submit", body, ct, nil)
		if ce, _ := err.(*client.Error); ce == nil || ce.Code != "invalid_input" || !strings.Contains(ce.Message, "not an accepted type") {
			t.Fatalf("multipart executable: %v", err)
		}
		body, ct = multipartBody(t, map[string]string{"candidateId": cand.ID}, filePart{"resume", "huge.pdf", append([]byte("%PDF-1.4\n"), big...)})
		_, err = c.CallMultipart(ctx, "candidate.uploadResume", body, ct, nil)
		if ce, _ := err.(*client.Error); ce == nil || ce.Code != "invalid_input" || ce.Meta["reason"] != "too_large" {
			t.Fatalf("oversized multipart resume: %v", err)
		}
		docx := makeDocx(t)
		body, ct = multipartBody(t, map[string]string{"candidateId": cand.ID}, filePart{"file", "notes.docx", docx})
		if _, err := c.CallMultipart(ctx, "candidate.uploadFile", body, ct, &cand); err != nil {
			t.Fatal(err)
		}
		if n := len(cand.FileHandles); n != 2 || cand.FileHandles[1].Name != "notes.docx" {
			t.Fatalf("uploadFile: %+v", cand.FileHandles)
		}
		_, hdr = download(t, c, cand.FileHandles[1].Handle)
		if !strings.HasPrefix(hdr.Get("Content-Type"), "application/vnd.openxmlformats-officedocument.wordprocessingml") {
			t.Fatalf("docx sniffed as %s", hdr.Get("Content-Type"))
		}
		// JSON uploadResume with a handle of the right context.
		rh, _ := upload(t, c, "CandidateResume", "new.pdf", pdfBytes)
		must(t, c, "candidate.uploadResume", map[string]any{"candidateId": cand.ID, "resumeHandle": rh.Handle}, &cand)
		if cand.ResumeFileHandle.ID == "" || cand.ResumeFileHandle.Name != "new.pdf" {
			t.Fatalf("uploadResume: %+v", cand.ResumeFileHandle)
		}
		fh, _ := upload(t, c, "CandidateFiles", "other.pdf", pdfBytes)
		wantCode(t, c, "candidate.uploadResume", map[string]any{"candidateId": cand.ID, "resumeHandle": fh.Handle}, "invalid_input")

		// Anonymizing the candidate deletes their files.
		var apps []ashby.Application
		must(t, c, "application.list", nil, &apps)
		for _, a := range apps {
			if a.Candidate.ID == cand.ID {
				must(t, c, "application.changeStage", map[string]any{"applicationId": a.ID, "interviewStageId": f.stageByTyp["Archived"].ID, "archiveReasonId": f.reasons[0].ID}, nil)
			}
		}
		resume := cand.ResumeFileHandle.Handle
		download(t, c, resume)
		must(t, c, "candidate.anonymize", map[string]any{"candidateId": cand.ID}, nil)
		wantCode(t, c, "file.info", map[string]any{"fileHandle": resume}, "file_not_found")
		wantCode(t, c, "file.info", map[string]any{"fileHandle": cand.FileHandles[1].Handle}, "file_not_found")
		var anonApp map[string]any
		must(t, c, "application.info", map[string]any{"submittedFormInstanceId": res.SubmittedFormInstance.ID, "expand": []string{"applicationFormSubmissions"}}, &anonApp)
		if vals := anonApp["applicationFormSubmissions"].([]any)[0].(map[string]any)["submittedValues"].(map[string]any); len(vals) != 0 {
			t.Fatalf("an anonymized candidate's answers remain: %v", vals)
		}
	})
}

func mustJSONBytes(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func mustUpload(t *testing.T, c *client.Client, name string) string {
	t.Helper()
	h, status := upload(t, c, "ApplicationForm", name, pdfBytes)
	if status != http.StatusNoContent {
		t.Fatalf("upload %s: HTTP %d", name, status)
	}
	return h.Handle
}

// makeDocx writes a minimal Word document (a zip with the parts Word
// requires), to check that sniffing looks inside zip files.
func makeDocx(t *testing.T) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range map[string]string{
		"[Content_Types].xml": `<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>`,
		"word/document.xml":   `<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"/>`,
	} {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, body)
	}
	zw.Close()
	return buf.Bytes()
}

func get(t *testing.T, url string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	// A transport of its own, so that Go does not add and undo gzip itself.
	resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func publicBoard(t *testing.T, url string) ashby.PublicBoard {
	t.Helper()
	resp, body := get(t, url, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, body)
	}
	var b ashby.PublicBoard
	if err := json.Unmarshal(body, &b); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestE2EPostingAPI(t *testing.T) {
	t.Parallel()
	testserver.Engines(t, func(t *testing.T, engine store.Engine) {
		srv := testserver.Start(t, engine, testserver.Options{Args: []string{"--files-dir", t.TempDir(), "--posting-api-refresh", "200ms"}})
		f := newPostingFixture(t, srv)
		c := f.c
		must(t, c, "jobPosting.updateCompensation", map[string]any{"jobPostingId": f.posting.ID, "compensationTiers": []any{
			map[string]any{"title": "A", "components": []any{map[string]any{"compensationType": "Salary", "interval": "1 YEAR", "currencyCode": "USD", "minValue": 100000, "maxValue": 120000},
				map[string]any{"compensationType": "Bonus", "interval": "1 YEAR"}}},
			map[string]any{"title": "B", "components": []any{map[string]any{"compensationType": "Salary", "interval": "1 YEAR", "currencyCode": "USD", "minValue": 90000, "maxValue": 110000}}}}}, nil)
		var unlisted, draft ashby.JobPostingInfo
		must(t, c, "jobPosting.create", map[string]any{"jobId": f.job.ID, "title": "Unlisted", "descriptionHtml": "<p>x</p>", "isListed": false, "status": "Published"}, &unlisted)
		must(t, c, "jobPosting.create", map[string]any{"jobId": f.job.ID, "title": "Draft"}, &draft)
		var internal ashby.JobBoardSettings
		must(t, c, "jobBoard.create", map[string]any{"title": "Internal", "isInternal": true}, &internal)
		url := srv.URL + "/posting-api/job-board/" + f.slug

		// Shape (https://developers.ashbyhq.com/docs/public-job-posting-api): published, listed postings only.
		resp, body := get(t, url, nil)
		if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "*" || !strings.HasPrefix(resp.Header.Get("Cache-Control"), "public") ||
			resp.Header.Get("ETag") == "" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Fatalf("posting API: %d %v", resp.StatusCode, resp.Header)
		}
		var raw struct {
			APIVersion string           `json:"apiVersion"`
			Jobs       []map[string]any `json:"jobs"`
		}
		json.Unmarshal(body, &raw)
		if raw.APIVersion != "1" || len(raw.Jobs) != 1 {
			t.Fatalf("board: %s", body)
		}
		j := raw.Jobs[0]
		for _, k := range []string{"id", "title", "department", "team", "employmentType", "location", "secondaryLocations", "address", "isRemote", "isListed",
			"publishedAt", "jobUrl", "applyUrl", "descriptionHtml", "descriptionPlain", "shouldDisplayCompensationOnJobPostings"} {
			if _, ok := j[k]; !ok {
				t.Errorf("job lacks %s: %v", k, j)
			}
		}
		if _, ok := j["compensation"]; ok {
			t.Errorf("compensation without includeCompensation")
		}
		if j["id"] != f.posting.ID || j["department"] != "Engineering" || j["location"] != "Berlin" || !strings.HasSuffix(j["publishedAt"].(string), "+00:00") ||
			!strings.HasSuffix(j["applyUrl"].(string), "/application") || strings.Contains(j["descriptionHtml"].(string), "script") {
			t.Fatalf("job: %v", j)
		}
		withComp := publicBoard(t, url+"?includeCompensation=true")
		comp := withComp.Jobs[0].Compensation
		if comp == nil || comp.CompensationTierSummary == nil || *comp.CompensationTierSummary != "$90K – $120K • Offers Bonus" ||
			comp.ScrapeableCompensationSalarySummary == nil || *comp.ScrapeableCompensationSalarySummary != "$90K – $120K" || len(comp.CompensationTiers) != 2 || len(comp.SummaryComponents) != 2 {
			t.Fatalf("compensation: %+v", comp)
		}

		// Compensation a posting does not display is not published.
		must(t, c, "jobPosting.updateSettings", map[string]any{"jobPostingId": f.posting.ID, "shouldDisplayCompensationOnJobBoard": false}, nil)
		hidden := publicBoard(t, url+"?includeCompensation=true").Jobs[0]
		if hidden.ShouldDisplayCompensationOnJobPostings || hidden.Compensation == nil || hidden.Compensation.CompensationTierSummary != nil || len(hidden.Compensation.CompensationTiers) != 0 {
			t.Fatalf("hidden compensation: %+v", hidden.Compensation)
		}
		must(t, c, "jobPosting.updateSettings", map[string]any{"jobPostingId": f.posting.ID, "shouldDisplayCompensationOnJobBoard": true}, nil)
		resp, body = get(t, url, nil)

		// ETag and 304; gzip; CORS preflight; case-insensitive names.
		etag := resp.Header.Get("ETag")
		r304, b304 := get(t, url, map[string]string{"If-None-Match": etag})
		if r304.StatusCode != http.StatusNotModified || len(b304) != 0 || r304.Header.Get("ETag") != etag {
			t.Fatalf("If-None-Match: %d %q", r304.StatusCode, b304)
		}
		rgz, bgz := get(t, url, map[string]string{"Accept-Encoding": "gzip, deflate"})
		if rgz.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(rgz.Header.Get("Vary"), "Accept-Encoding") {
			t.Fatalf("gzip: %v", rgz.Header)
		}
		zr, err := gzip.NewReader(bytes.NewReader(bgz))
		if err != nil {
			t.Fatal(err)
		}
		plain, _ := io.ReadAll(zr)
		if !bytes.Equal(plain, body) {
			t.Fatal("gzip body differs from the identity body")
		}
		if r, _ := get(t, url, map[string]string{"If-None-Match": rgz.Header.Get("ETag")}); r.StatusCode != http.StatusNotModified {
			t.Fatalf("gzip ETag revalidation: %d", r.StatusCode)
		}
		req, _ := http.NewRequest(http.MethodOptions, url, nil)
		req.Header.Set("Origin", "https://example.com")
		req.Header.Set("Access-Control-Request-Method", "GET")
		if pr, err := http.DefaultClient.Do(req); err != nil || pr.StatusCode != http.StatusNoContent || pr.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Fatalf("preflight: %v %v", pr, err)
		}
		if b := publicBoard(t, srv.URL+"/posting-api/job-board/"+strings.ToUpper(f.slug)); len(b.Jobs) != 1 {
			t.Fatal("board names are case-insensitive")
		}

		// Unknown and internal boards: 404 in Ashby's error shape.
		for _, name := range []string{"no-such-board", internal.Name} {
			r, b := get(t, srv.URL+"/posting-api/job-board/"+name, nil)
			var e struct {
				Success   bool     `json:"success"`
				Errors    []string `json:"errors"`
				ErrorInfo struct{ Code, Message string }
			}
			if r.StatusCode != http.StatusNotFound || json.Unmarshal(b, &e) != nil || e.Success || e.ErrorInfo.Code != "job_board_not_found" || len(e.Errors) != 1 {
				t.Fatalf("board %s: %d %s", name, r.StatusCode, b)
			}
		}

		// A change through this process shows at once, with a new ETag.
		must(t, c, "jobPosting.update", map[string]any{"jobPostingId": f.posting.ID, "title": "Staff Engineer"}, nil)
		r2, b2 := get(t, url, map[string]string{"If-None-Match": etag})
		if r2.StatusCode != 200 || r2.Header.Get("ETag") == etag || !bytes.Contains(b2, []byte("Staff Engineer")) {
			t.Fatalf("after an update: %d %s", r2.StatusCode, r2.Header.Get("ETag"))
		}

		// Another process on the same database sees changes made here
		// within the refresh interval (the version check), and the other
		// way round.
		other := testserver.Start(t, engine, testserver.Options{DSN: srv.DSN, Args: []string{"--files-dir", t.TempDir(), "--posting-api-refresh", "200ms"}})
		otherURL := other.URL + "/posting-api/job-board/" + f.slug
		if b := publicBoard(t, otherURL); len(b.Jobs) != 1 || b.Jobs[0].Title != "Staff Engineer" {
			t.Fatalf("second process: %+v", b.Jobs)
		}
		eventually := func(what string, cond func() bool) {
			t.Helper()
			for i := 0; i < 100; i++ {
				if cond() {
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
			t.Fatalf("the other process never saw: %s", what)
		}
		must(t, c, "jobPosting.update", map[string]any{"jobPostingId": f.posting.ID, "title": "Principal Engineer"}, nil)
		eventually("a retitled posting", func() bool {
			b := publicBoard(t, otherURL)
			return len(b.Jobs) == 1 && b.Jobs[0].Title == "Principal Engineer"
		})
		must(t, c, "jobPosting.updateSettings", map[string]any{"jobPostingId": unlisted.ID, "isListed": true}, nil)
		eventually("a newly listed posting", func() bool { return len(publicBoard(t, otherURL).Jobs) == 2 })
		must(t, c, "department.update", map[string]any{"departmentId": f.dept, "name": "Platform Engineering"}, nil)
		eventually("a renamed department", func() bool { return publicBoard(t, otherURL).Jobs[0].Department == "Platform Engineering" })
		must(t, c, "jobPosting.delete", map[string]any{"jobPostingId": unlisted.ID}, nil)
		eventually("a deleted posting", func() bool { return len(publicBoard(t, otherURL).Jobs) == 1 })
		must(t, c, "job.setStatus", map[string]any{"jobId": f.job.ID, "status": "Closed"}, nil)
		eventually("a closed job's posting gone", func() bool { return len(publicBoard(t, otherURL).Jobs) == 0 })
		if b := publicBoard(t, url); len(b.Jobs) != 0 {
			t.Fatalf("this process after closing the job: %d jobs", len(b.Jobs))
		}
	})
}

var (
	csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	keyRE  = regexp.MustCompile(`name="idempotency_key" value="([^"]+)"`)
)

// careersForm opens the apply form in a cookie-keeping client and returns
// its CSRF token and idempotency key.
func careersForm(t *testing.T, hc *http.Client, url string) (csrf, key string) {
	t.Helper()
	resp, err := hc.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m, k := csrfRE.FindSubmatch(b), keyRE.FindSubmatch(b)
	if resp.StatusCode != 200 || m == nil || k == nil {
		t.Fatalf("apply form: %d", resp.StatusCode)
	}
	return html.UnescapeString(string(m[1])), string(k[1])
}

func TestE2ECareersProtections(t *testing.T) {
	t.Parallel()
	testserver.Engines(t, func(t *testing.T, engine store.Engine) {
		srv := testserver.Start(t, engine, testserver.Options{Args: []string{"--files-dir", t.TempDir(), "--careers-rate-limit", "3", "--careers-rate-burst", "3"}})
		f := newPostingFixture(t, srv)
		jar, _ := cookiejar.New(nil)
		hc := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		list := srv.URL + "/jobs/" + f.slug
		formURL := list + "/" + f.posting.ID + "/application"

		resp, err := hc.Get(list + "?department=Engineering&q=GO")
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		csp := resp.Header.Get("Content-Security-Policy")
		if resp.StatusCode != 200 || !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") ||
			resp.Header.Get("X-Content-Type-Options") != "nosniff" || !bytes.Contains(page, []byte(f.posting.Title)) {
			t.Fatalf("listing: %d %v", resp.StatusCode, resp.Header)
		}
		if _, b := get(t, list+"?q=zzzz", nil); !bytes.Contains(b, []byte("No positions match")) {
			t.Fatal("search for nothing")
		}
		if r, _ := get(t, srv.URL+"/jobs/no-such-board", nil); r.StatusCode != http.StatusNotFound {
			t.Fatalf("unknown careers board: %d", r.StatusCode)
		}
		if r, _ := get(t, list+"/"+ashby.NewID(), nil); r.StatusCode != http.StatusNotFound {
			t.Fatalf("unknown posting: %d", r.StatusCode)
		}
		// No page carries an API key or script.
		if bytes.Contains(page, []byte("<script>")) || bytes.Contains(page, []byte("Authorization")) {
			t.Fatal("the listing carries a script")
		}

		post := func(fields map[string]string, withFile bool) *http.Response {
			var parts []filePart
			if withFile {
				parts = append(parts, filePart{"_systemfield_resume", "cv.pdf", pdfBytes})
			}
			body, ct := multipartBody(t, fields, parts...)
			resp, err := hc.Post(formURL, ct, bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return resp
		}
		csrf, key := careersForm(t, hc, formURL)
		good := map[string]string{"csrf": csrf, "idempotency_key": key, "_systemfield_name": "Ken Thompson", "_systemfield_email": "ken@example.com", "q_why": "Unix", "utm_source": "Indeed"}
		bad := func(k, v string) map[string]string {
			m := map[string]string{}
			for a, b := range good {
				m[a] = b
			}
			m[k] = v
			return m
		}
		if r := post(bad("csrf", "forged"), true); r.StatusCode != http.StatusForbidden {
			t.Fatalf("forged CSRF token: %d", r.StatusCode)
		}
		if r := post(bad("fax_number", "+1 555"), true); r.StatusCode != http.StatusBadRequest {
			t.Fatalf("honeypot: %d", r.StatusCode)
		}
		r := post(good, true)
		if r.StatusCode != http.StatusSeeOther || !strings.Contains(r.Header.Get("Location"), "/application/submitted?ref=") {
			t.Fatalf("good submission: %d %s", r.StatusCode, r.Header.Get("Location"))
		}
		if r := post(good, true); r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
			t.Fatalf("fourth POST from one address: %d", r.StatusCode)
		}
		apps, _, err := client.All[ashby.Application](context.Background(), f.c, "application.list", nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(apps) != 1 || apps[0].Source == nil || apps[0].Source.Title != "Indeed" {
			t.Fatalf("refused posts must create nothing; the good one one application: %+v", apps)
		}
		if r, b := get(t, srv.URL+r.Header.Get("Location"), nil); r.StatusCode != 200 || !bytes.Contains(b, []byte("Application received")) {
			t.Fatalf("confirmation: %d", r.StatusCode)
		}
	})
}

// The demo organization's careers site and posting API have data on
// first run, with forms asking questions of every type the site renders.
func TestE2EDemoCareers(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, store.SQLite, testserver.Options{Args: []string{"--demo", "--demo-candidates", "60", "--files-dir", t.TempDir()}})
	key := srv.WaitStdout(regexp.MustCompile(`ashlar_[A-Za-z0-9_-]+`), 60*time.Second)
	c := srv.Client(key)
	board := publicBoard(t, srv.URL+"/posting-api/job-board/demo?includeCompensation=true")
	if len(board.Jobs) < 5 {
		t.Fatalf("the demo board has %d jobs", len(board.Jobs))
	}
	withComp := 0
	for _, j := range board.Jobs {
		if j.Compensation != nil && j.Compensation.CompensationTierSummary != nil {
			withComp++
		}
	}
	if withComp < 3 {
		t.Fatalf("%d demo jobs show compensation", withComp)
	}
	var postings []ashby.JobPostingListItem
	must(t, c, "jobPosting.list", map[string]any{"includeUnpublishedJobPostings": true}, &postings)
	if len(postings) <= len(board.Jobs) {
		t.Fatalf("the demo has unlisted and draft postings besides the public ones: %d vs %d", len(postings), len(board.Jobs))
	}
	var info ashby.JobPostingInfo
	must(t, c, "jobPosting.info", map[string]any{"jobPostingId": board.Jobs[0].ID}, &info)
	types := map[string]bool{}
	for _, s := range info.ApplicationFormDefinition.Sections {
		for _, e := range s.Fields {
			types[e.Field.Type] = true
		}
	}
	for _, want := range []string{"String", "Email", "Phone", "Location", "File", "SocialLink", "LongText", "Boolean", "ValueSelect", "MultiValueSelect", "Number", "Date", "Url", "Score", "RichText"} {
		if !types[want] {
			t.Errorf("the demo form has no %s question", want)
		}
	}
	var links []ashby.SourceTrackingLink
	must(t, c, "sourceTrackingLink.list", nil, &links)
	if len(links) == 0 {
		t.Error("the demo has no source tracking links")
	}
	if r, b := get(t, srv.URL+"/jobs/demo", nil); r.StatusCode != 200 || !bytes.Contains(b, []byte("Northwind Robotics")) {
		t.Fatalf("/jobs/demo: %d", r.StatusCode)
	}
}
