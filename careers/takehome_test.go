package careers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ashlarhq/ashlar/api"
	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/files"
	"github.com/ashlarhq/ashlar/jobboard"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/store/storetest"
)

// The candidate's take-home page against a real service and database:
// rendering, CSRF, size limits, a submission with a file, double
// submission, and links that are wrong, replaced or closed.

type thSite struct {
	t    *testing.T
	svc  *api.Service
	tbl  *rpc.API
	call *rpc.Call
	url  string
	hc   *http.Client
	fs   *files.Store
}

func (s *thSite) invoke(endpoint string, req, out any) {
	s.t.Helper()
	raw, err := s.tbl.Invoke(context.Background(), s.call, endpoint, req)
	if err != nil {
		s.t.Fatalf("%s: %v", endpoint, err)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			s.t.Fatal(err)
		}
	}
}

const uploadLimit = 64 << 10

func newTHSite(t *testing.T, db *store.DB) *thSite {
	svc := api.New(db, "http://ashlar.test", nil)
	blobs, err := files.NewDisk(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	fs, err := files.New(db, files.Config{Blobs: blobs, BaseURL: "http://ashlar.test", MaxSize: uploadLimit, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	svc.Files = fs
	boards := jobboard.New(svc, jobboard.Options{})
	t.Cleanup(func() { boards.Close() })
	site, err := New(svc, boards, Options{Burst: -1})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	site.Routes(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	org, err := svc.CreateOrg(context.Background(), "acme", "Acme Robotics")
	if err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	return &thSite{t: t, svc: svc, tbl: svc.API(), url: srv.URL, fs: fs,
		call: &rpc.Call{Principal: &rpc.Principal{OrgID: org.ID, KeyID: ashby.NewID(), KeyTitle: "test", Permissions: ashby.AllPermissions}, RequestID: "test"},
		hc:   &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// assign makes an application and a take-home for it; it returns the
// assignment and its page's URL on the test server.
func (s *thSite) assign(email string) (ashby.TakeHomeAssignment, string) {
	var dept ashby.Department
	s.invoke("department.create", map[string]any{"name": "Engineering"}, &dept)
	var loc ashby.Location
	s.invoke("location.create", map[string]any{"name": "Berlin", "type": "Location"}, &loc)
	var plans []ashby.InterviewPlan
	s.invoke("interviewPlan.list", map[string]any{}, &plans)
	var job ashby.Job
	s.invoke("job.create", map[string]any{"title": "Robotics Engineer", "teamId": dept.ID, "locationId": loc.ID, "defaultInterviewPlanId": plans[0].ID}, &job)
	var cand ashby.Candidate
	s.invoke("candidate.create", map[string]any{"name": "Grace Hopper", "email": email}, &cand)
	var app ashby.Application
	s.invoke("application.create", map[string]any{"candidateId": cand.ID, "jobId": job.ID}, &app)
	var iv ashby.Interview
	s.invoke("interview.create", map[string]any{"title": "Take-home", "externalTitle": "Path planning exercise"}, &iv)
	var users []ashby.User
	s.invoke("user.list", map[string]any{}, &users)
	var th ashby.TakeHomeAssignment
	s.invoke("takeHomeAssignment.create", map[string]any{"applicationId": app.ID, "interviewId": iv.ID, "reviewerUserIds": []string{users[0].ID},
		"dueAt": ashby.NewTime(time.Now().Add(48 * time.Hour)), "instructionsHtml": `<p>Plan a path around the <b>obstacles</b>; see <a href="https://example.com/spec">the spec</a>.</p>`}, &th)
	return th, s.url + strings.TrimPrefix(th.SubmissionURL, "http://ashlar.test")
}

func (s *thSite) get(url string) (*http.Response, string) {
	s.t.Helper()
	resp, err := s.hc.Get(url)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

type upload struct {
	name string
	data []byte
}

func (s *thSite) post(url string, fields map[string][]string, ups ...upload) (*http.Response, string) {
	s.t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, vs := range fields {
		for _, v := range vs {
			w.WriteField(k, v)
		}
	}
	for _, u := range ups {
		fw, _ := w.CreateFormFile("files", u.name)
		fw.Write(u.data)
	}
	w.Close()
	resp, err := s.hc.Post(url, w.FormDataContentType(), &buf)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (s *thSite) status(id string) *ashby.TakeHomeAssignment {
	s.t.Helper()
	var th ashby.TakeHomeAssignment
	s.invoke("takeHomeAssignment.info", map[string]any{"takeHomeAssignmentId": id}, &th)
	return &th
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

var pdfBytes = []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")

func TestTakeHomePage(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		s := newTHSite(t, db)
		th, page := s.assign("grace@example.com")

		// Wrong links.
		for _, bad := range []string{s.url + "/take-home/nonsense", page + "A", page[:strings.LastIndex(page, ".")+1] + strings.Repeat("A", 32)} {
			if resp, body := s.get(bad); resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "Link not valid") {
				t.Fatalf("GET %s: %d", bad, resp.StatusCode)
			}
		}

		// The form.
		resp, body := s.get(page)
		h := resp.Header
		if resp.StatusCode != 200 || !strings.Contains(body, "Path planning exercise") || !strings.Contains(body, "Robotics Engineer") ||
			!strings.Contains(body, "<b>obstacles</b>") || !strings.Contains(body, "Acme Robotics") || !strings.Contains(body, "Please submit by") ||
			!strings.Contains(body, `type="file" id="th-files" name="files" multiple`) || !strings.Contains(body, "64 KB") {
			t.Fatalf("page: %d\n%s", resp.StatusCode, body)
		}
		if h.Get("Cache-Control") != "no-store" || h.Get("Referrer-Policy") != "no-referrer" || !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") ||
			h.Get("X-Frame-Options") != "DENY" || !strings.Contains(h.Get("X-Robots-Tag"), "noindex") || strings.Contains(body, "<script") {
			t.Fatalf("headers: %v", h)
		}
		var cookiePath string
		for _, c := range resp.Cookies() {
			if c.Name == "ashlar_takehome_csrf" {
				cookiePath = c.Path
			}
		}
		m := csrfField.FindStringSubmatch(body)
		if cookiePath != "/take-home/" || m == nil {
			t.Fatalf("CSRF cookie path %q, field %v", cookiePath, m)
		}
		token := html.UnescapeString(m[1])
		form := func(kv ...string) map[string][]string {
			f := map[string][]string{"csrf": {token}}
			for i := 0; i+1 < len(kv); i += 2 {
				f[kv[i]] = append(f[kv[i]], kv[i+1])
			}
			return f
		}
		unchanged := func(what string) {
			t.Helper()
			if got := s.status(th.ID); got.Status != ashby.TakeHomeWaitingOnSubmission {
				t.Fatalf("%s changed the assignment: %s", what, got.Status)
			}
		}

		// Refused posts change nothing.
		if resp, _ := s.post(page, map[string][]string{"text": {"x"}}); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("without the CSRF token: %d", resp.StatusCode)
		}
		if resp, _ := s.post(page, map[string][]string{"csrf": {"forged"}, "text": {"x"}}); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("with a forged CSRF token: %d", resp.StatusCode)
		}
		resp, body = s.post(page, form("text", "My answer"), upload{"huge.pdf", append(append([]byte{}, pdfBytes...), bytes.Repeat([]byte("0"), uploadLimit)...)})
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "huge.pdf") || !strings.Contains(body, "larger than the 64 KB limit") ||
			!strings.Contains(body, "My answer") || !strings.Contains(body, "attach your files again") {
			t.Fatalf("an oversize file: %d\n%s", resp.StatusCode, body)
		}
		resp, body = s.post(page, form("text", "x", "link", "ftp://example.com/x"))
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "http or https link") || !strings.Contains(body, `value="ftp://example.com/x"`) {
			t.Fatalf("a bad link: %d\n%s", resp.StatusCode, body)
		}
		resp, body = s.post(page, form("text", "   "))
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "A submission needs text, a link or a file") {
			t.Fatalf("an empty submission: %d\n%s", resp.StatusCode, body)
		}
		resp, body = s.post(page, form("text", strings.Repeat("x", 4*api.MaxTakeHomeText+2048)))
		if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(body, "longer than 50000 characters") {
			t.Fatalf("a text part over its limit: %d\n%s", resp.StatusCode, body)
		}
		var many []upload
		for i := range 8 {
			many = append(many, upload{fmt.Sprintf("part%d.pdf", i), bytes.Repeat([]byte("1"), 300<<10)})
		}
		resp, body = s.post(page, form("text", "x"), many...)
		if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(body, "Each file may be up to 64 KB, and at most 5 files") {
			t.Fatalf("a body over the limit: %d\n%s", resp.StatusCode, body)
		}
		six := make([]upload, 6)
		for i := range six {
			six[i] = upload{fmt.Sprintf("f%d.pdf", i), pdfBytes}
		}
		if resp, body = s.post(page, form("text", "x"), six...); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "At most 5 files") {
			t.Fatalf("six files: %d\n%s", resp.StatusCode, body)
		}
		unchanged("refused submissions")
		var n int
		if err := db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM files WHERE org_id = $1`, s.call.OrgID).Scan(&n); err != nil || n != 0 {
			t.Fatalf("refused submissions kept %d files (%v)", n, err)
		}

		// The submission.
		good := form("text", "Dijkstra with a binary heap.", "link", "https://git.example.com/grace/paths", "link", "")
		resp, _ = s.post(page, good, upload{"solution.pdf", pdfBytes})
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != strings.TrimPrefix(page, s.url) {
			t.Fatalf("submission: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		got := s.status(th.ID)
		if got.Status != ashby.TakeHomeWaitingOnFeedback || got.Submission == nil || *got.Submission.Text != "Dijkstra with a binary heap." ||
			len(got.Submission.Links) != 1 || len(got.Submission.Files) != 1 || got.Submission.Files[0].Name != "solution.pdf" || got.Submission.Files[0].ContentType != "application/pdf" {
			t.Fatalf("after submitting: %+v", got.Submission)
		}
		if u, err := s.fs.DownloadURL(context.Background(), s.call.OrgID, got.Submission.Files[0].Handle); err != nil || !strings.Contains(u, got.Submission.Files[0].ID) {
			t.Fatalf("download: %s %v", u, err)
		}
		if resp, body = s.get(page); resp.StatusCode != 200 || !strings.Contains(body, "Submission received") || strings.Contains(body, "<form") {
			t.Fatalf("page after submitting: %d\n%s", resp.StatusCode, body)
		}
		// A second post (a double click, a resubmitted form) submits nothing.
		resp, body = s.post(page, good, upload{"solution.pdf", pdfBytes})
		if resp.StatusCode != http.StatusConflict || !strings.Contains(body, "Submission received") {
			t.Fatalf("second post: %d\n%s", resp.StatusCode, body)
		}
		if again := s.status(th.ID); !again.UpdatedAt.Equal(got.UpdatedAt.Time) {
			t.Fatal("the second post changed the assignment")
		}
		// The audit log names the page and the candidate's browser.
		var entries []ashby.AuditLogEntry
		s.invoke("auditLog.list", map[string]any{"targetIds": []string{th.ID}}, &entries)
		if len(entries) != 2 || entries[0].Actor.Type != ashby.ActorSystem || !strings.Contains(entries[0].Actor.Name, "take-home submission page") ||
			entries[0].Request == nil || entries[0].Request.IPAddress != "127.0.0.1" {
			t.Fatalf("audit: %+v", entries)
		}

		// A cancelled assignment's page, and a replaced link.
		th2, page2 := s.assign("ada@example.com")
		var fresh ashby.TakeHomeAssignment
		s.invoke("takeHomeAssignment.regenerateSubmissionUrl", map[string]any{"takeHomeAssignmentId": th2.ID}, &fresh)
		if resp, _ := s.get(page2); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("a replaced link: %d", resp.StatusCode)
		}
		page2 = s.url + strings.TrimPrefix(fresh.SubmissionURL, "http://ashlar.test")
		if resp, _ := s.get(page2); resp.StatusCode != 200 {
			t.Fatalf("the new link: %d", resp.StatusCode)
		}
		s.invoke("takeHomeAssignment.cancel", map[string]any{"takeHomeAssignmentId": th2.ID}, nil)
		if resp, body := s.get(page2); resp.StatusCode != http.StatusGone || !strings.Contains(body, "no longer accepting submissions") {
			t.Fatalf("a cancelled assignment: %d\n%s", resp.StatusCode, body)
		}
		if resp, _ := s.post(page2, form("text", "late")); resp.StatusCode != http.StatusGone {
			t.Fatalf("posting to a cancelled assignment: %d", resp.StatusCode)
		}
	})
}
