package careers

import (
	"context"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/ashlarhq/ashlar/api"
	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/files"
	"github.com/ashlarhq/ashlar/jobboard"
	"github.com/ashlarhq/ashlar/store"
)

// Source is where the careers site's content comes from and where its
// applications go. The site is one code path over either source: this
// server's database (Local, in ashlar serve) or an upstream
// Ashby-compatible API (Upstream, in ashlar careers).
type Source interface {
	// Board returns the public snapshot of the board named name (listed
	// postings of open jobs, in the posting API's order), or nil when
	// there is no such public board. ErrUnavailable means no copy of it
	// can be had at the moment.
	Board(ctx context.Context, name string) (*api.BoardSnapshot, error)
	// Unlisted returns a posting of the board that is not listed but is
	// reachable by its link (published, its job open), or nil.
	Unlisted(ctx context.Context, b *api.BoardSnapshot, id string) (*ashby.JobPostingInfo, error)
	// Uploads checks and stages the files of applications; nil when
	// the site cannot take files.
	Uploads() Uploads
	// Submit files an application and returns the reference its
	// confirmation link carries. A refusal is an *ashby.Error
	// (invalid_input with errorInfo.meta.fieldErrors for problems of
	// fields); ErrUnavailable means it could not be filed now.
	Submit(ctx context.Context, b *api.BoardSnapshot, a Application) (ref string, err error)
	// Confirmation checks a confirmation link's reference for the
	// posting and returns the reference to show the applicant.
	Confirmation(ctx context.Context, b *api.BoardSnapshot, postingID, ref string) (shown string, ok bool)
}

// Uploads checks and stages uploaded files (files.Store, files.Stager).
type Uploads interface {
	Stage(ctx context.Context, r io.Reader, name string, limit int64) (*files.Staged, error)
	MaxSize() int64
}

// Application is an apply form as the site hands it to its Source:
// answers already read into field submissions, files checked and staged.
type Application struct {
	Posting  *ashby.JobPostingInfo
	Answers  []ashby.FieldSubmission
	Files    map[string]*files.Staged
	Rejected map[string]*files.Rejected
	UTM      *ashby.UTMData
	// ClientIP and UserAgent describe the applicant's browser.
	ClientIP, UserAgent string
	// Key is the form's idempotency key: the same form submitted again
	// (a double click, a retried POST) gets the first submission's result.
	Key string
}

// ErrUnavailable is a Source's answer when it can neither reach its data
// nor serve a kept copy.
var ErrUnavailable = errors.New("careers: the hiring system is unavailable")

// Local is the Source of ashlar serve: the organization's own database,
// through the hiring service in-process (no API key exists to leak) and
// the posting API's board snapshots (so the careers site and the posting
// API show the same postings).
func Local(svc *api.Service, boards *jobboard.Handler) Source {
	return &local{svc: svc, boards: boards}
}

type local struct {
	svc    *api.Service
	boards *jobboard.Handler
}

func (l *local) Board(ctx context.Context, name string) (*api.BoardSnapshot, error) {
	return l.boards.Snapshot(ctx, name)
}

func (l *local) Unlisted(ctx context.Context, snap *api.BoardSnapshot, id string) (*ashby.JobPostingInfo, error) {
	if !ashby.IsUUID(id) {
		return nil, nil
	}
	p, err := api.JobPostings.Get(ctx, l.svc.DB, snap.Org.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if p.JobBoardID != snap.Board.ID || p.Status != ashby.PostingPublished || p.IsListed {
		return nil, nil
	}
	job, err := api.Jobs.Get(ctx, l.svc.DB, snap.Org.ID, p.JobID)
	if err != nil || job.Status != ashby.JobOpen || p.ApplicationDeadline != nil && !p.ApplicationDeadline.After(time.Now()) {
		return nil, nil
	}
	return l.svc.PostingInfo(ctx, l.svc.DB, snap.Org.ID, p)
}

func (l *local) Uploads() Uploads {
	if fs, err := l.svc.FileStore(); err == nil {
		return fs
	}
	return nil
}

func (l *local) Submit(ctx context.Context, snap *api.BoardSnapshot, a Application) (string, error) {
	sub := api.Submission{JobPostingID: a.Posting.ID, Answers: a.Answers, Files: a.Files, Rejected: a.Rejected, UTM: a.UTM,
		ClientIP: a.ClientIP, UserAgent: a.UserAgent, IdempotencyKey: "careers:" + snap.Board.ID + ":" + a.Key, FallbackSource: "Careers Page"}
	res, err := l.svc.SubmitApplicationForm(ctx, snap.Org.ID, sub)
	if err != nil {
		return "", err
	}
	return res.SubmittedFormInstance.ID, nil
}

func (l *local) Confirmation(ctx context.Context, snap *api.BoardSnapshot, postingID, ref string) (string, bool) {
	if !ashby.IsUUID(ref) {
		return "", false
	}
	sub, err := api.FormSubmissions.Get(ctx, l.svc.DB, snap.Org.ID, strings.ToLower(ref))
	if err != nil || sub.JobPostingID != postingID {
		return "", false
	}
	return ref, true
}
