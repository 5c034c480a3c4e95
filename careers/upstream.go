package careers

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ashlarhq/ashlar/api"
	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/client"
	"github.com/ashlarhq/ashlar/client/webhooks"
	"github.com/ashlarhq/ashlar/forms"
	"github.com/ashlarhq/ashlar/store"
)

// UpstreamOptions configure an Upstream.
type UpstreamOptions struct {
	// Client calls the upstream API with a key that may read job
	// postings (jobsRead) and submit applications (candidatesWrite).
	Client *client.Client
	// Board is the board's public name upstream (jobs.ashbyhq.com/NAME).
	Board string
	// BoardID skips finding the board's id (for its unlisted postings)
	// by matching jobBoard.list against the posting API.
	BoardID string
	// OrgName, LogoURL and PrimaryColor theme the pages: Ashby's API does
	// not publish a board's theme. OrgName defaults to the hiring
	// organization named in the postings' linked data, else the board's
	// name.
	OrgName, LogoURL, PrimaryColor string
	// CacheFile keeps the last good copy of the board across restarts
	// ("": memory only).
	CacheFile string
	// Refresh is how often the board is read again (default 5 minutes);
	// Notify refreshes it at once.
	Refresh time.Duration
	// Uploads checks and stages applicants' files (nil: no files).
	Uploads Uploads
	// Secret signs confirmation links.
	Secret []byte
	Log    *slog.Logger
}

// Upstream is the Source of ashlar careers: one board of an upstream
// Ashby-compatible API (Ashby's, or another Ashlar), the caching and
// submission proxy of Ashby's integration guide. Listings come from the
// public posting API, unlisted postings from jobPosting.list, and every
// posting's page and form from jobPosting.info; the whole board is kept
// in memory and, with CacheFile, on disk, and replaced only by a
// complete, successful read. While the upstream is down the site keeps
// serving the last good copy. Applications are validated against the
// cached form definition (package forms, as the local site's are) and
// forwarded with applicationForm.submit as multipart, the key staying on
// the server.
type Upstream struct {
	o     UpstreamOptions
	state atomic.Pointer[upstreamState]
	// refreshing serialises reads of the upstream; lastTry spaces out
	// the synchronous attempts of a cold start.
	refreshing sync.Mutex
	lastTry    atomic.Int64
	kick       chan struct{}
	boardID    atomic.Pointer[string]
	submits    submitCache
}

// upstreamState is one complete read of the board, immutable.
type upstreamState struct {
	snap     *api.BoardSnapshot // nil when the board does not exist upstream
	unlisted map[string]*ashby.JobPostingInfo
	doc      []byte // the cache file's content, to tell whether anything changed
}

// cacheDoc is the cache file: everything a board's pages need.
type cacheDoc struct {
	Version  int                    `json:"version"`
	Board    string                 `json:"board"`
	BoardID  string                 `json:"boardId,omitempty"`
	NotFound bool                   `json:"notFound,omitempty"`
	Public   []ashby.PublicJob      `json:"public"`
	Info     []ashby.JobPostingInfo `json:"info"`
	Unlisted []ashby.JobPostingInfo `json:"unlisted"`
	OrgName  string                 `json:"orgName"`
	Built    time.Time              `json:"built"`
}

// NewUpstream returns the source, with the cache file's copy if there is
// one. Call Run to keep it fresh.
func NewUpstream(o UpstreamOptions) (*Upstream, error) {
	if o.Client == nil || o.Board == "" || len(o.Secret) == 0 {
		return nil, errors.New("careers: an upstream needs a client, a board name and a secret")
	}
	if o.Refresh <= 0 {
		o.Refresh = 5 * time.Minute
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	u := &Upstream{o: o, kick: make(chan struct{}, 1)}
	if o.BoardID != "" {
		u.boardID.Store(&o.BoardID)
	}
	if o.CacheFile != "" {
		b, err := os.ReadFile(o.CacheFile)
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("read the careers cache: %w", err)
		default:
			var doc cacheDoc
			if err := json.Unmarshal(b, &doc); err != nil || doc.Version != 1 || !strings.EqualFold(doc.Board, o.Board) {
				o.Log.Warn("careers: ignoring the cache file (another board, or unreadable)", "file", o.CacheFile, "error", err)
				break
			}
			u.state.Store(u.stateOf(&doc, b))
			if doc.BoardID != "" && o.BoardID == "" {
				u.boardID.Store(&doc.BoardID)
			}
			o.Log.Info("careers: serving the cached board until the upstream is read", "board", o.Board, "built", doc.Built.Format(time.RFC3339), "postings", len(doc.Info))
		}
	}
	return u, nil
}

func (u *Upstream) stateOf(doc *cacheDoc, raw []byte) *upstreamState {
	st := &upstreamState{doc: raw, unlisted: map[string]*ashby.JobPostingInfo{}}
	if doc.NotFound {
		return st
	}
	name := strings.ToLower(u.o.Board)
	org := doc.OrgName
	if u.o.OrgName != "" {
		org = u.o.OrgName
	}
	st.snap = &api.BoardSnapshot{Org: &store.Org{Name: org},
		Board: &ashby.JobBoardSettings{ID: "upstream:" + name, Name: name, Title: org,
			Theme: ashby.BoardTheme{PrimaryColor: u.o.PrimaryColor, LogoURL: u.o.LogoURL}},
		Version: doc.Built.Format(time.RFC3339Nano), Info: doc.Info, Public: doc.Public, PublicWithCompensation: doc.Public, Built: doc.Built}
	for i := range doc.Unlisted {
		st.unlisted[doc.Unlisted[i].ID] = &doc.Unlisted[i]
	}
	return st
}

// Run reads the board now, then every Refresh and on each Notify, until
// ctx ends.
func (u *Upstream) Run(ctx context.Context) {
	t := time.NewTicker(u.o.Refresh)
	defer t.Stop()
	for {
		if err := u.Refresh(ctx); err != nil && ctx.Err() == nil {
			u.o.Log.Error("careers: refresh from the upstream failed; serving the last good copy", "board", u.o.Board, "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-u.kick:
		}
	}
}

// Notify asks Run to read the board again now (a webhook said it changed).
func (u *Upstream) Notify() {
	select {
	case u.kick <- struct{}{}:
	default:
	}
}

// WebhookHandler refreshes the board on the job and job posting events
// (jobPostingUpdate, jobPostingPublish, jobPostingUnpublish,
// jobPostingDelete, jobUpdate …); mount it behind webhooks.Handler, which
// verifies Ashby-Signature. Other events are acknowledged and ignored.
func (u *Upstream) WebhookHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ev, ok := webhooks.FromContext(r.Context()); ok && strings.HasPrefix(ev.Action, "job") {
			u.o.Log.Info("careers: webhook; refreshing the board", "action", ev.Action, "webhook_action_id", ev.WebhookActionID)
			u.Notify()
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// Refresh reads the whole board from the upstream and, when every call
// succeeded, replaces the copy served (and the cache file).
func (u *Upstream) Refresh(ctx context.Context) error {
	u.refreshing.Lock()
	defer u.refreshing.Unlock()
	u.lastTry.Store(time.Now().UnixNano())
	doc, err := u.read(ctx)
	if err != nil {
		return err
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	if old := u.state.Load(); old != nil && bytes.Equal(stripBuilt(old.doc), stripBuilt(raw)) {
		return nil // unchanged: keep the snapshot, and so the rendered listing pages
	}
	u.state.Store(u.stateOf(doc, raw))
	u.o.Log.Info("careers: board refreshed from the upstream", "board", u.o.Board, "postings", len(doc.Info), "unlisted", len(doc.Unlisted), "not_found", doc.NotFound)
	if u.o.CacheFile != "" {
		if err := writeAtomic(u.o.CacheFile, raw); err != nil {
			u.o.Log.Warn("careers: write the cache file", "error", err)
		}
	}
	return nil
}

// stripBuilt is a cache document without its build time, for comparison.
func stripBuilt(raw []byte) []byte {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return raw
	}
	delete(m, "built")
	b, _ := json.Marshal(m)
	return b
}

func writeAtomic(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".careers-cache-*")
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// read is one complete read of the board: the posting API for what is
// listed, jobPosting.list for the unlisted postings, and jobPosting.info
// for every posting's page and form.
func (u *Upstream) read(ctx context.Context) (*cacheDoc, error) {
	c := u.o.Client
	doc := &cacheDoc{Version: 1, Board: u.o.Board, Built: time.Now().UTC(), Public: []ashby.PublicJob{}, Info: []ashby.JobPostingInfo{}, Unlisted: []ashby.JobPostingInfo{}}
	board, err := c.JobBoard(ctx, u.o.Board, true)
	var ce *client.Error
	if errors.As(err, &ce) && ce.Status == http.StatusNotFound {
		doc.NotFound = true
		return doc, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the posting API: %w", err)
	}
	var listed []ashby.PublicJob
	for _, j := range board.Jobs {
		if j.IsListed {
			listed = append(listed, j)
		}
	}
	boardID, err := u.findBoardID(ctx, listed)
	if err != nil {
		return nil, err
	}
	doc.BoardID = boardID
	var unlisted []string
	if boardID != "" {
		for p, err := range c.JobPostings.List(ctx, &client.JobPostingListOptions{JobBoardID: boardID}) {
			if err != nil {
				return nil, fmt.Errorf("jobPosting.list: %w", err)
			}
			if p.IsListed || p.Status != "" && p.Status != ashby.PostingPublished || p.ApplicationDeadline != nil && !p.ApplicationDeadline.After(time.Now()) {
				continue
			}
			var job struct {
				Status string `json:"status"`
			}
			if _, err := c.Call(ctx, "job.info", map[string]any{"id": p.JobID}, &job); err != nil {
				return nil, fmt.Errorf("job.info: %w", err)
			}
			if job.Status == ashby.JobOpen {
				unlisted = append(unlisted, p.ID)
			}
		}
	}
	ids := make([]string, 0, len(listed)+len(unlisted))
	for _, j := range listed {
		ids = append(ids, j.ID)
	}
	infos, err := u.infos(ctx, append(ids, unlisted...))
	if err != nil {
		return nil, err
	}
	for _, j := range listed {
		if info := infos[j.ID]; info != nil {
			doc.Public = append(doc.Public, j)
			doc.Info = append(doc.Info, *info)
			if doc.OrgName == "" {
				doc.OrgName = info.LinkedData.HiringOrganization.Name
			}
		}
	}
	for _, id := range unlisted {
		if info := infos[id]; info != nil {
			doc.Unlisted = append(doc.Unlisted, *info)
		}
	}
	if doc.OrgName == "" {
		doc.OrgName = u.o.Board
	}
	return doc, nil
}

// infos calls jobPosting.info for each id, a few at a time. A posting
// gone in the meantime (not found) is left out.
func (u *Upstream) infos(ctx context.Context, ids []string) (map[string]*ashby.JobPostingInfo, error) {
	out := make(map[string]*ashby.JobPostingInfo, len(ids))
	var (
		mu       sync.Mutex
		wg       sync.WaitGroup
		firstErr error
	)
	sem := make(chan struct{}, 4)
	for _, id := range ids {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			info, _, err := u.o.Client.JobPostings.Info(ctx, id)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				out[id] = info
			case client.Code(err) == "job_posting_not_found":
			case firstErr == nil:
				firstErr = fmt.Errorf("jobPosting.info %s: %w", id, err)
			}
		}()
	}
	wg.Wait()
	return out, firstErr
}

// findBoardID finds the upstream id of the board, which jobPosting.list
// filters by: Ashby's API names boards by id, the posting API by name, so
// the board whose listed postings include the posting API's first one is
// it. Without listed postings it cannot be told (unlisted postings wait
// for the next read).
func (u *Upstream) findBoardID(ctx context.Context, listed []ashby.PublicJob) (string, error) {
	if id := u.boardID.Load(); id != nil {
		return *id, nil
	}
	if len(listed) == 0 {
		return "", nil
	}
	var boards []ashby.JobBoard
	if _, err := u.o.Client.Call(ctx, "jobBoard.list", nil, &boards); err != nil {
		return "", fmt.Errorf("jobBoard.list: %w", err)
	}
	for _, b := range boards {
		if b.IsInternal {
			continue
		}
		for p, err := range u.o.Client.JobPostings.List(ctx, &client.JobPostingListOptions{JobBoardID: b.ID, ListedOnly: true}) {
			if err != nil {
				return "", fmt.Errorf("jobPosting.list: %w", err)
			}
			if p.ID == listed[0].ID {
				id := b.ID
				u.boardID.Store(&id)
				return id, nil
			}
		}
	}
	return "", nil
}

// current is the copy to serve. Before the first read has finished (a
// cold start without a cache file) one request at a time, at most every
// few seconds, tries a read itself, so that a crowd of visitors does not
// hammer a down upstream; the others are told it is unavailable.
func (u *Upstream) current(ctx context.Context) (*upstreamState, error) {
	if st := u.state.Load(); st != nil {
		return st, nil
	}
	last := u.lastTry.Load()
	if time.Since(time.Unix(0, last)) > 5*time.Second && u.lastTry.CompareAndSwap(last, time.Now().UnixNano()) {
		rctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		err := u.Refresh(rctx)
		cancel()
		if err != nil {
			u.o.Log.Warn("careers: the upstream cannot be read and nothing is cached", "error", err)
		}
	}
	if st := u.state.Load(); st != nil {
		return st, nil
	}
	return nil, ErrUnavailable
}

// Board implements Source: the one board this proxy serves.
func (u *Upstream) Board(ctx context.Context, name string) (*api.BoardSnapshot, error) {
	if !strings.EqualFold(name, u.o.Board) {
		return nil, nil
	}
	st, err := u.current(ctx)
	if err != nil {
		return nil, err
	}
	return st.snap, nil
}

// Unlisted implements Source.
func (u *Upstream) Unlisted(ctx context.Context, b *api.BoardSnapshot, id string) (*ashby.JobPostingInfo, error) {
	if st := u.state.Load(); st != nil {
		return st.unlisted[id], nil
	}
	return nil, nil
}

// Uploads implements Source.
func (u *Upstream) Uploads() Uploads { return u.o.Uploads }

// Submit implements Source: it validates the application against the
// posting's form as cached, then posts it upstream as Ashby documents
// applicationForm.submit's multipart form
// (https://developers.ashbyhq.com/reference/applicationformsubmit):
// jobPostingId, applicationForm (JSON with fieldSubmissions), utmData
// (JSON) and one part per file, named by its File field's value.
func (u *Upstream) Submit(ctx context.Context, b *api.BoardSnapshot, a Application) (string, error) {
	return u.submits.do(a.Posting.ID+":"+a.Key, func() (string, error) { return u.submit(ctx, a) })
}

func (u *Upstream) submit(ctx context.Context, a Application) (string, error) {
	_, err := forms.Validate(a.Posting.ApplicationFormDefinition, a.Answers, forms.Options{File: func(f ashby.FormField, v any) (any, error) {
		name, _ := v.(string)
		if rej := a.Rejected[name]; rej != nil {
			return nil, forms.FileError("%s", rej.Message)
		}
		if a.Files[name] == nil {
			return nil, forms.FileError("no file was attached")
		}
		return name, nil
	}})
	var ferrs forms.Errors
	if errors.As(err, &ferrs) {
		return "", ferrs.APIError()
	}
	if err != nil {
		return "", err
	}
	body, contentType, err := multipartApplication(a)
	if err != nil {
		return "", err
	}
	var res ashby.ApplicationFormSubmitResult
	_, err = u.o.Client.CallMultipart(ctx, "applicationForm.submit", body, contentType, &res)
	if err != nil {
		return "", upstreamError(err)
	}
	id := res.SubmittedFormInstance.ID
	return id + "." + u.sign(a.Posting.ID, id), nil
}

func multipartApplication(a Application) ([]byte, string, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	form, err := json.Marshal(map[string]any{"fieldSubmissions": a.Answers})
	if err != nil {
		return nil, "", err
	}
	mw.WriteField("jobPostingId", a.Posting.ID)
	mw.WriteField("applicationForm", string(form))
	if a.UTM != nil {
		utm, _ := json.Marshal(a.UTM)
		mw.WriteField("utmData", string(utm))
	}
	for _, s := range a.Answers {
		name, _ := s.Value.(string)
		st := a.Files[name]
		if st == nil {
			continue
		}
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="%s"; filename="%s"`, quoteEscape(name), quoteEscape(st.Name)))
		h.Set("Content-Type", st.ContentType)
		pw, err := mw.CreatePart(h)
		if err != nil {
			return nil, "", err
		}
		f, err := os.Open(st.Path)
		if err != nil {
			return nil, "", fmt.Errorf("read staged upload: %w", err)
		}
		_, err = io.Copy(pw, f)
		f.Close()
		if err != nil {
			return nil, "", fmt.Errorf("read staged upload: %w", err)
		}
	}
	if err := mw.Close(); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), mw.FormDataContentType(), nil
}

var quoteEscaper = strings.NewReplacer("\\", "\\\\", `"`, "\\\"", "\r", "", "\n", "")

func quoteEscape(s string) string { return quoteEscaper.Replace(s) }

// ErrUncertain means the upstream may or may not have filed an
// application: the request was sent and no answer came back. It is not
// retried (Ashby's applicationForm.submit takes no idempotency key).
var ErrUncertain = errors.New("careers: the hiring system did not confirm the application")

// upstreamError turns the upstream's answer into what the site shows:
// a refusal becomes an *ashby.Error with its field problems
// (errorInfo.meta.fieldErrors, or errorInfo.meta.field) for the form.
func upstreamError(err error) error {
	var ce *client.Error
	if !errors.As(err, &ce) {
		// A connection never made sent nothing; any other transport
		// failure may have come after the upstream filed it.
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		return fmt.Errorf("%w: %v", ErrUncertain, err)
	}
	if ce.Status >= 500 || ce.Status == http.StatusTooManyRequests {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	ae := &ashby.Error{Code: ce.Code, Message: ce.Message, Status: http.StatusBadRequest, Meta: map[string]any{}}
	if ce.Status >= 400 {
		ae.Status = ce.Status
	}
	if raw, ok := ce.Meta["fieldErrors"]; ok {
		b, _ := json.Marshal(raw)
		var fe []forms.FieldError
		if json.Unmarshal(b, &fe) == nil && len(fe) > 0 {
			ae.Meta["fieldErrors"] = fe
		}
	} else if field, ok := ce.Meta["field"].(string); ok && field != "" {
		ae.Meta["fieldErrors"] = []forms.FieldError{{Path: field, Message: ce.Message}}
	}
	if ae.Message == "" {
		ae.Message = "The application was refused (" + ce.Code + ")."
	}
	return ae
}

func (u *Upstream) sign(postingID, id string) string {
	m := hmac.New(sha256.New, u.o.Secret)
	m.Write([]byte("careers confirmation\x00" + postingID + "\x00" + id))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:12])
}

// Confirmation implements Source: the reference is the upstream's form
// instance id, signed by Submit so that a link cannot be made up.
func (u *Upstream) Confirmation(ctx context.Context, b *api.BoardSnapshot, postingID, ref string) (string, bool) {
	id, sig, ok := strings.Cut(ref, ".")
	if !ok || id == "" || !hmac.Equal([]byte(sig), []byte(u.sign(postingID, id))) {
		return "", false
	}
	return id, true
}

// submitCache makes a form submitted twice (a double click, a retried
// POST) reach the upstream once: the second waits for the first and gets
// its result. Failures are forgotten, so that a corrected form can be
// sent again. It is per process, like the rate limit.
type submitCache struct {
	mu      sync.Mutex
	entries map[string]*submitEntry
}

type submitEntry struct {
	done chan struct{}
	ref  string
	err  error
	at   time.Time
}

const maxSubmitEntries = 10000

func (c *submitCache) do(key string, fn func() (string, error)) (string, error) {
	c.mu.Lock()
	if c.entries == nil || len(c.entries) >= maxSubmitEntries {
		// Forget old results; a repeat after a day is a new application.
		old := c.entries
		c.entries = map[string]*submitEntry{}
		for k, e := range old {
			if time.Since(e.at) < time.Hour {
				c.entries[k] = e
			}
		}
		if len(c.entries) >= maxSubmitEntries {
			c.entries = map[string]*submitEntry{}
		}
	}
	if e := c.entries[key]; e != nil {
		c.mu.Unlock()
		<-e.done
		if e.err == nil {
			return e.ref, nil
		}
		return "", e.err
	}
	e := &submitEntry{done: make(chan struct{}), at: time.Now()}
	c.entries[key] = e
	c.mu.Unlock()
	e.ref, e.err = fn()
	if e.err != nil {
		c.mu.Lock()
		delete(c.entries, key)
		c.mu.Unlock()
	}
	close(e.done)
	return e.ref, e.err
}
