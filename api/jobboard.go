package api

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/ashlarhq/ashlar/ashby"
	_ "github.com/ashlarhq/ashlar/jobboard/schema" // the job_board_names table
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/store"
)

func init() {
	register((*Service).jobBoardEndpoints)
	OnBootstrap(func(ctx context.Context, s *Service, tx *store.Tx, org *store.Org) error {
		_, err := s.createBoard(ctx, tx, org.ID, boardInput{Title: org.Name, Name: org.Slug}, true)
		return err
	})
}

// JobBoards: Unique = the public name; State = "internal" or "external".
// The record is the board's full settings; jobBoard.list shows Ashby's
// three fields of it.
var JobBoards = store.Kind[ashby.JobBoardSettings]{Name: "job_board", Index: func(b *ashby.JobBoardSettings) store.Index {
	state := "external"
	if b.IsInternal {
		state = "internal"
	}
	return store.Index{ID: b.ID, CreatedAt: b.CreatedAt.Time, Unique: b.Name, State: state, Search: lc(b.Title)}
}}

func (s *Service) jobBoardEndpoints() []*rpc.Endpoint {
	return []*rpc.Endpoint{
		rpc.List[ashby.JobBoard](rpc.Spec{Name: "jobBoard.list", Permission: ashby.JobsRead, Summary: "List job boards (external and internal)."}, s.jobBoardList),
		rpc.Object(rpc.Spec{Name: "jobBoard.create", Permission: ashby.JobsWrite, Extension: true, Summary: "Create a job board with a public name (Ashby does this in its web app)."}, s.jobBoardCreate),
		rpc.Object(rpc.Spec{Name: "jobBoard.info", Permission: ashby.JobsRead, Extension: true, Summary: "A job board's settings: public name, theme, description opening and closing."}, s.jobBoardInfo),
		rpc.Object(rpc.Spec{Name: "jobBoard.update", Permission: ashby.JobsWrite, Extension: true, Summary: "Change a job board's title, public name, theme or description opening and closing."}, s.jobBoardUpdate),
	}
}

type jobBoardListRequest struct{}

func (s *Service) jobBoardList(ctx context.Context, c *rpc.Call, _ *jobBoardListRequest) (*rpc.Page, error) {
	boards, err := JobBoards.Find(ctx, s.DB, c.Org(), store.Filter{})
	if err != nil {
		return nil, err
	}
	out := make([]ashby.JobBoard, len(boards))
	for i, b := range boards {
		out[i] = ashby.JobBoard{ID: b.ID, Title: b.Title, IsInternal: b.IsInternal}
	}
	return items(out), nil
}

type boardInput struct {
	Title                  string            `json:"title" required:"true"`
	Name                   string            `json:"name,omitempty" doc:"Public name used in /jobs/{name} and /posting-api/job-board/{name}: lower-case letters, digits and dashes. Default: from the title."`
	IsInternal             bool              `json:"isInternal,omitempty"`
	Theme                  *ashby.BoardTheme `json:"theme,omitempty"`
	DescriptionOpeningHTML *string           `json:"descriptionOpeningHtml,omitempty" maxLength:"long"`
	DescriptionClosingHTML *string           `json:"descriptionClosingHtml,omitempty" maxLength:"long"`
}

var colorRE = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

func checkTheme(t *ashby.BoardTheme) error {
	if t == nil {
		return nil
	}
	if t.PrimaryColor != "" && !colorRE.MatchString(t.PrimaryColor) {
		return ashby.InvalidInput("theme.primaryColor", "primaryColor must be a #rrggbb colour")
	}
	if t.LogoURL != "" {
		u, err := url.Parse(t.LogoURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return ashby.InvalidInput("theme.logoUrl", "logoUrl must be an http or https URL")
		}
	}
	return nil
}

// boardName makes a public name from a title: "Acme Careers" → "acme-careers".
func boardName(title string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(title) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	n := strings.Trim(b.String(), "-")
	if len(n) > 60 {
		n = strings.Trim(n[:60], "-")
	}
	if n == "" {
		n = "jobs"
	}
	return n
}

// createBoard stores a board and claims its public name. With pickFree,
// a taken name gets a numeric suffix (a new organization's default board);
// otherwise it is an error.
func (s *Service) createBoard(ctx context.Context, tx *store.Tx, org string, in boardInput, pickFree bool) (*ashby.JobBoardSettings, error) {
	if err := checkTheme(in.Theme); err != nil {
		return nil, err
	}
	now := s.now()
	b := &ashby.JobBoardSettings{ID: ashby.NewID(), Title: strings.TrimSpace(in.Title), IsInternal: in.IsInternal, CreatedAt: now, UpdatedAt: now}
	if b.Title == "" {
		return nil, ashby.InvalidInput("title", "Missing required field: title")
	}
	if in.Theme != nil {
		b.Theme = *in.Theme
	}
	if in.DescriptionOpeningHTML != nil {
		b.DescriptionOpeningHTML = sanitizeDescription(*in.DescriptionOpeningHTML)
	}
	if in.DescriptionClosingHTML != nil {
		b.DescriptionClosingHTML = sanitizeDescription(*in.DescriptionClosingHTML)
	}
	name := strings.ToLower(strings.TrimSpace(in.Name))
	if name == "" {
		name = boardName(b.Title)
	} else if !store.ValidSlug(name) {
		return nil, ashby.InvalidInput("name", "name must be lower-case letters, digits and dashes (at most 63)")
	}
	base := name
	for i := 2; ; i++ {
		free, err := boardNameFree(ctx, tx, name, "")
		if err != nil {
			return nil, err
		}
		if free {
			break
		}
		if !pickFree {
			return nil, ashby.Errorf("job_board_name_taken", "The job board name %q is taken", name)
		}
		name = fmt.Sprintf("%s-%d", base, i)
	}
	b.Name = name
	s.boardLinks(b)
	if _, err := tx.ExecContext(ctx, `INSERT INTO job_board_names (name, org_id, board_id) VALUES ($1, $2, $3)`, name, org, b.ID); err != nil {
		return nil, fmt.Errorf("claim job board name: %w", err)
	}
	return b, JobBoards.Put(ctx, tx, org, b)
}

func boardNameFree(ctx context.Context, q store.Q, name, exceptBoard string) (bool, error) {
	var board string
	err := q.QueryRowContext(ctx, `SELECT board_id FROM job_board_names WHERE name = $1`, name).Scan(&board)
	if errors.Is(err, sql.ErrNoRows) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("look up job board name: %w", err)
	}
	return board == exceptBoard, nil
}

func (s *Service) boardLinks(b *ashby.JobBoardSettings) {
	b.CareersURL = s.BaseURL + "/jobs/" + b.Name
	b.PostingAPIURL = s.BaseURL + "/posting-api/job-board/" + b.Name
}

// BoardByName resolves a public board name to its organization and
// board. Names are case-insensitive. It returns store.ErrNotFound for
// unknown names.
func BoardByName(ctx context.Context, q store.Q, name string) (org string, board *ashby.JobBoardSettings, err error) {
	var id string
	err = q.QueryRowContext(ctx, `SELECT org_id, board_id FROM job_board_names WHERE name = $1`, strings.ToLower(name)).Scan(&org, &id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil, store.ErrNotFound
	}
	if err != nil {
		return "", nil, fmt.Errorf("look up job board %q: %w", name, err)
	}
	board, err = JobBoards.Get(ctx, q, org, id)
	return org, board, err
}

// PrimaryBoard is the organization's oldest external board: the default
// of jobPosting.list and jobPosting.create, as in Ashby.
func PrimaryBoard(ctx context.Context, q store.Q, org string) (*ashby.JobBoardSettings, error) {
	b, err := JobBoards.FindOne(ctx, q, org, store.Filter{State: []string{"external"}})
	if errors.Is(err, store.ErrNotFound) {
		return nil, ashby.NotFound("job_board", "The organization has no external job board")
	}
	return b, err
}

func (s *Service) jobBoardCreate(ctx context.Context, c *rpc.Call, req *boardInput) (rpc.Result[ashby.JobBoardSettings], error) {
	var b *ashby.JobBoardSettings
	err := s.write(ctx, func(tx *store.Tx) error {
		var err error
		b, err = s.createBoard(ctx, tx, c.Org(), *req, false)
		return err
	})
	if err != nil {
		return rpc.Result[ashby.JobBoardSettings]{}, err
	}
	return rpc.Value(b), nil
}

type jobBoardIDRequest struct {
	JobBoardID ashby.ID `json:"jobBoardId" required:"true"`
}

func (s *Service) jobBoardInfo(ctx context.Context, c *rpc.Call, req *jobBoardIDRequest) (rpc.Result[ashby.JobBoardSettings], error) {
	b, err := JobBoards.Get(ctx, s.DB, c.Org(), string(req.JobBoardID))
	if err != nil {
		return rpc.Result[ashby.JobBoardSettings]{}, notFound(err, "job_board", "Job board not found")
	}
	s.boardLinks(b)
	return rpc.Value(b), nil
}

type jobBoardUpdateRequest struct {
	JobBoardID             ashby.ID          `json:"jobBoardId" required:"true"`
	Title                  string            `json:"title,omitempty"`
	Name                   string            `json:"name,omitempty"`
	Theme                  *ashby.BoardTheme `json:"theme,omitempty"`
	DescriptionOpeningHTML *string           `json:"descriptionOpeningHtml,omitempty" maxLength:"long"`
	DescriptionClosingHTML *string           `json:"descriptionClosingHtml,omitempty" maxLength:"long"`
}

func (s *Service) jobBoardUpdate(ctx context.Context, c *rpc.Call, req *jobBoardUpdateRequest) (rpc.Result[ashby.JobBoardSettings], error) {
	if err := checkTheme(req.Theme); err != nil {
		return rpc.Result[ashby.JobBoardSettings]{}, err
	}
	var b *ashby.JobBoardSettings
	err := s.write(ctx, func(tx *store.Tx) error {
		var err error
		b, err = JobBoards.GetForUpdate(ctx, tx, c.Org(), string(req.JobBoardID))
		if err != nil {
			return notFound(err, "job_board", "Job board not found")
		}
		if t := strings.TrimSpace(req.Title); t != "" {
			b.Title = t
		}
		if req.Theme != nil {
			b.Theme = *req.Theme
		}
		if req.DescriptionOpeningHTML != nil {
			b.DescriptionOpeningHTML = sanitizeDescription(*req.DescriptionOpeningHTML)
		}
		if req.DescriptionClosingHTML != nil {
			b.DescriptionClosingHTML = sanitizeDescription(*req.DescriptionClosingHTML)
		}
		if name := strings.ToLower(strings.TrimSpace(req.Name)); name != "" && name != b.Name {
			if !store.ValidSlug(name) {
				return ashby.InvalidInput("name", "name must be lower-case letters, digits and dashes (at most 63)")
			}
			free, err := boardNameFree(ctx, tx, name, b.ID)
			if err != nil {
				return err
			}
			if !free {
				return ashby.Errorf("job_board_name_taken", "The job board name %q is taken", name)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE job_board_names SET name = $1 WHERE board_id = $2`, name, b.ID); err != nil {
				return fmt.Errorf("rename job board: %w", err)
			}
			b.Name = name
		}
		b.UpdatedAt = s.now()
		s.boardLinks(b)
		// Putting the board moves its change position, which is what the
		// posting API and careers site caches check.
		return JobBoards.Put(ctx, tx, c.Org(), b)
	})
	if err != nil {
		return rpc.Result[ashby.JobBoardSettings]{}, err
	}
	return rpc.Value(b), nil
}
