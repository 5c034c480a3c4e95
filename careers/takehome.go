package careers

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ashlarhq/ashlar/api"
	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/files"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/sanitize"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/webform"
)

// The take-home submission page (docs/interviews.md, "Take-home
// assignments"): GET /take-home/{token} shows the assignment's
// instructions and a form for text, links and files; POST records the
// submission and redirects back, where the page then confirms it.
//
// The token is the secret of the assignment's submission URL, so these
// pages are never cached and send no Referer; a token that names no
// assignment, or that was replaced by a newer link, is answered 404.

// takeHomeLinkSlots is how many link inputs the form offers.
const takeHomeLinkSlots = 3

// maxTakeHomeTextPart bounds a text part of the form: the answer's
// character limit in 4-byte characters, and some room.
const maxTakeHomeTextPart = 4*api.MaxTakeHomeText + 1024

type linkSlot struct {
	N     int
	Value string
}

type takeHomeData struct {
	page
	Heading, JobTitle string
	Instructions      template.HTML
	DueAt             string
	Overdue           bool
	Action, CSRF      string
	Text              string
	Links             []linkSlot
	MaxText, MaxFiles int
	MaxSize, Accept   string
	Errors            []webform.ErrorLink
	Reattach          bool
	TextError         string
	LinksError        string
	FilesError        string
}

func takeHomeHeaders(h http.Header) {
	h.Set("Cache-Control", "no-store")
	h.Set("X-Robots-Tag", "noindex, nofollow")
}

// takeHomeMessage renders a message page. securityHeaders (set by write)
// leave the origin in cross-origin referrers; these pages send none, as
// their URL is a secret.
func (s *Site) takeHomeMessage(w http.ResponseWriter, status int, orgName, heading, msg string) {
	takeHomeHeaders(w.Header())
	s.renderTakeHome(w, status, "message", messageData{page: page{Title: heading, OrgName: orgName, Lang: "en", Base: s.base}, Heading: heading, Message: msg})
}

func (s *Site) renderTakeHome(w http.ResponseWriter, status int, name string, data any) {
	w = noReferrer{w}
	s.render(w, status, name, data)
}

// noReferrer overrides the careers site's Referrer-Policy once the
// security headers are set, just before the page is written.
type noReferrer struct{ http.ResponseWriter }

func (n noReferrer) WriteHeader(status int) {
	n.Header().Set("Referrer-Policy", "no-referrer")
	n.ResponseWriter.WriteHeader(status)
}

func (s *Site) takeHomeNotFound(w http.ResponseWriter) {
	s.takeHomeMessage(w, http.StatusNotFound, "", "Link not valid",
		"This take-home link is not valid. Check that you opened the complete link; if you received a newer link, use that one.")
}

// takeHomePage loads the page of the token in the URL, answering 404
// itself.
func (s *Site) takeHomePage(w http.ResponseWriter, r *http.Request) (*api.TakeHomePage, bool) {
	p, err := s.svc.TakeHomeByToken(r.Context(), r.PathValue("token"))
	if errors.Is(err, store.ErrNotFound) {
		s.takeHomeNotFound(w)
		return nil, false
	}
	if err != nil {
		s.log.Error("take-home page", "error", err)
		s.takeHomeMessage(w, webform.FailureStatus(w, err), "", "Something went wrong", "This page could not be loaded. Please try again in a moment.")
		return nil, false
	}
	return p, true
}

func formatDue(t time.Time) string {
	return t.UTC().Format("Monday, 2 January 2006, 15:04 UTC")
}

// closed answers for an assignment that no longer takes submissions:
// a confirmation once submitted, else that it was withdrawn.
func (s *Site) takeHomeClosed(w http.ResponseWriter, status int, p *api.TakeHomePage) {
	th := p.Assignment
	switch th.Status {
	case ashby.TakeHomeWaitingOnFeedback, ashby.TakeHomeComplete:
		when := ""
		if th.Submission != nil {
			when = " on " + formatDue(th.Submission.SubmittedAt.Time)
		}
		s.takeHomeMessage(w, status, p.OrgName, "Submission received",
			fmt.Sprintf("Thank you: we received your work%s. The hiring team at %s will review it and be in touch. There is nothing more to do on this page.", when, p.OrgName))
	default:
		s.takeHomeMessage(w, http.StatusGone, p.OrgName, "Take-home closed",
			fmt.Sprintf("%s is no longer accepting submissions for this take-home assignment. If you think this is a mistake, please contact the person who sent you the link.", p.OrgName))
	}
}

func (s *Site) takeHomeForm(w http.ResponseWriter, r *http.Request, status int, p *api.TakeHomePage, text string, links []string, errs []webform.ErrorLink, reattach bool) {
	th := p.Assignment
	heading := p.Title
	if heading == "" {
		heading = "Take-home assignment"
	}
	d := takeHomeData{page: page{Title: heading + " – " + p.OrgName, OrgName: p.OrgName, Lang: "en", Base: s.base}, Heading: heading, JobTitle: p.JobTitle,
		Instructions: sanitize.NotePage(th.InstructionsHTML),
		Action:       s.base + "/take-home/" + r.PathValue("token"), CSRF: s.takeHomeCSRF.Token(w, r), Text: text,
		MaxText: api.MaxTakeHomeText, MaxFiles: api.MaxTakeHomeFiles, Accept: webform.AcceptFiles, Errors: errs, Reattach: reattach}
	if th.DueAt != nil {
		d.DueAt, d.Overdue = formatDue(th.DueAt.Time), !th.DueAt.After(time.Now())
	}
	if fs, err := s.svc.FileStore(); err == nil {
		d.MaxSize = files.HumanSize(fs.MaxSize())
	}
	for i := range takeHomeLinkSlots {
		v := ""
		if i < len(links) {
			v = links[i]
		}
		d.Links = append(d.Links, linkSlot{N: i + 1, Value: v})
	}
	for _, e := range errs {
		switch e.ID {
		case "th-text":
			d.TextError = e.Message
		case "th-links":
			d.LinksError = e.Message
		case "th-files":
			d.FilesError = e.Message
		}
	}
	takeHomeHeaders(w.Header())
	s.renderTakeHome(w, status, "takehome", d)
}

func (s *Site) serveTakeHome(w http.ResponseWriter, r *http.Request) {
	p, ok := s.takeHomePage(w, r)
	if !ok {
		return
	}
	if p.Assignment.Status != ashby.TakeHomeWaitingOnSubmission {
		s.takeHomeClosed(w, http.StatusOK, p)
		return
	}
	s.takeHomeForm(w, r, http.StatusOK, p, "", nil, nil, false)
}

// takeHomePost is a posted submission form: text parts by name, and the
// files, staged (sized, typed and scanned), or refused.
type takeHomePost struct {
	vals     webform.Values
	staged   []*files.Staged
	rejected []*files.Rejected
	tooMany  bool
}

func (f *takeHomePost) cleanup() {
	for _, st := range f.staged {
		st.Remove()
	}
}

var errTextTooLong = errors.New("text part too long")

// readTakeHomeForm reads the posted form. Files beyond the limit are not
// staged, only counted; a text part over its limit is an error.
func readTakeHomeForm(ctx context.Context, fs *files.Store, r *http.Request) (*takeHomePost, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, err
	}
	f := &takeHomePost{vals: webform.Values{}}
	for i := 0; ; i++ {
		part, err := mr.NextPart()
		if err == io.EOF {
			f.vals = webform.Posted(f.vals)
			return f, nil
		}
		if err != nil {
			f.cleanup()
			return nil, err
		}
		if i > 50 {
			f.cleanup()
			return nil, errors.New("too many form fields")
		}
		name := part.FormName()
		if !isFilePart(part) {
			b, err := io.ReadAll(io.LimitReader(part, maxTakeHomeTextPart+1))
			if err != nil {
				f.cleanup()
				return nil, err
			}
			if len(b) > maxTakeHomeTextPart {
				f.cleanup()
				return nil, errTextTooLong
			}
			f.vals[name] = append(f.vals[name], string(b))
			continue
		}
		if name != "files" || part.FileName() == "" {
			io.Copy(io.Discard, part) // an empty file input, or an unknown one
			continue
		}
		if len(f.staged)+len(f.rejected) >= api.MaxTakeHomeFiles {
			f.tooMany = true
			io.Copy(io.Discard, part)
			continue
		}
		if fs == nil {
			f.rejected = append(f.rejected, &files.Rejected{Reason: "unavailable", Message: "This server does not accept file uploads; please send your work as text or links."})
			io.Copy(io.Discard, part)
			continue
		}
		st, err := fs.Stage(ctx, part, part.FileName(), 0)
		var rej *files.Rejected
		switch {
		case errors.As(err, &rej):
			f.rejected = append(f.rejected, rej)
			io.Copy(io.Discard, part)
		case err != nil:
			f.cleanup()
			return nil, err
		default:
			f.staged = append(f.staged, st)
		}
	}
}

func (s *Site) serveTakeHomeSubmit(w http.ResponseWriter, r *http.Request) {
	takeHomeHeaders(w.Header())
	ip := rpc.ClientIP(r)
	if ok, wait := s.takeHomeLimit.Allow(r.Context(), ip); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)+1))
		s.takeHomeMessage(w, http.StatusTooManyRequests, "", "Too many submissions", "Too many submissions were sent from your network just now. Your work was not submitted; please wait a minute and try again.")
		return
	}
	// The token is checked before the body is read, so that a wrong link
	// costs no upload.
	p, ok := s.takeHomePage(w, r)
	if !ok {
		return
	}
	if p.Assignment.Status != ashby.TakeHomeWaitingOnSubmission {
		s.takeHomeClosed(w, http.StatusConflict, p)
		return
	}
	fs, _ := s.svc.FileStore()
	maxBody := int64(1 << 20)
	limitNote := ""
	if fs != nil {
		maxBody += int64(api.MaxTakeHomeFiles) * (fs.MaxSize() + 4<<10)
		limitNote = fmt.Sprintf(" Each file may be up to %s, and at most %d files can be attached.", files.HumanSize(fs.MaxSize()), api.MaxTakeHomeFiles)
	}
	webform.BodyDeadline(w, r, s.bodyTimeout, maxBody)
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	form, err := readTakeHomeForm(r.Context(), fs, r)
	if err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			s.takeHomeMessage(w, http.StatusRequestEntityTooLarge, p.OrgName, "Submission too large",
				"Your work was not submitted: what you sent is larger than this page accepts."+limitNote+" Please go back, attach smaller files (or share large ones as a link) and submit again.")
		case errors.Is(err, errTextTooLong):
			s.takeHomeMessage(w, http.StatusRequestEntityTooLarge, p.OrgName, "Submission too large",
				fmt.Sprintf("Your work was not submitted: the answer is longer than %d characters. Please go back, shorten it or attach it as a file, and submit again.", api.MaxTakeHomeText))
		default:
			s.log.Warn("take-home: unreadable submission", "error", err)
			s.takeHomeMessage(w, http.StatusBadRequest, p.OrgName, "Submission not sent", "Your work could not be read. Please go back and try again.")
		}
		return
	}
	defer form.cleanup()
	if !s.takeHomeCSRF.Valid(r, form.vals.Get("csrf")) {
		s.takeHomeMessage(w, http.StatusForbidden, p.OrgName, "Submission not sent",
			"Your session expired or the form came from another site. Your work was not submitted: please open your take-home link again and resubmit.")
		return
	}
	var text string // the answer as typed: the service trims it
	if v := form.vals["text"]; len(v) > 0 {
		text = v[0]
	}
	links := form.vals["link"]
	var errs []webform.ErrorLink
	for _, rej := range form.rejected {
		errs = append(errs, webform.ErrorLink{ID: "th-files", Title: "Files", Message: rej.Message})
	}
	if form.tooMany {
		errs = append(errs, webform.ErrorLink{ID: "th-files", Title: "Files", Message: fmt.Sprintf("At most %d files can be attached.", api.MaxTakeHomeFiles)})
	}
	if len(errs) > 0 {
		s.takeHomeForm(w, r, http.StatusUnprocessableEntity, p, text, links, errs, len(form.staged)+len(form.rejected) > 0)
		return
	}
	call := &rpc.Call{Principal: &rpc.Principal{OrgID: p.OrgID, KeyTitle: "take-home submission page"}, RequestID: rpc.NewRequestID(), HTTP: r}
	ctx := rpc.WithCall(r.Context(), call)
	_, err = s.svc.SubmitTakeHome(ctx, r.PathValue("token"), api.TakeHomeSubmissionInput{Text: text, Links: links, Files: form.staged})
	if err == nil {
		// Back to the page, which now confirms the submission; reloading it
		// cannot submit again.
		http.Redirect(w, r, s.base+"/take-home/"+r.PathValue("token"), http.StatusSeeOther)
		return
	}
	s.takeHomeSubmitFailed(w, r, p, text, links, len(form.staged) > 0, err)
}

func (s *Site) takeHomeSubmitFailed(w http.ResponseWriter, r *http.Request, p *api.TakeHomePage, text string, links []string, hadFiles bool, err error) {
	if errors.Is(err, store.ErrNotFound) {
		s.takeHomeNotFound(w) // the link was replaced meanwhile
		return
	}
	ae, ok := ashby.AsError(err)
	switch {
	case ok && ae.Code == ashby.CodeTakeHomeNotWaitingOnSubmission:
		// Submitted a moment ago (a double click), or cancelled meanwhile.
		if fresh, ok := s.takeHomePage(w, r); ok {
			s.takeHomeClosed(w, http.StatusConflict, fresh)
		}
	case ok && ae.Status < 500:
		field, _ := ae.Meta["field"].(string)
		e := webform.ErrorLink{Message: webform.Sentence(ae.Message)}
		switch {
		case field == "text":
			e.ID, e.Title = "th-text", "Your answer"
		case strings.HasPrefix(field, "links"):
			e.ID, e.Title = "th-links", "Links"
		case strings.HasPrefix(field, "files"):
			e.ID, e.Title = "th-files", "Files"
		}
		s.takeHomeForm(w, r, http.StatusUnprocessableEntity, p, text, links, []webform.ErrorLink{e}, hadFiles)
	default:
		s.log.Error("take-home: submit", "error", err)
		s.takeHomeMessage(w, webform.FailureStatus(w, err), p.OrgName, "Submission not sent",
			"We could not save your work because of a problem on our side. Nothing was submitted; please try again in a few minutes.")
	}
}
