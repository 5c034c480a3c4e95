// Package files keeps uploaded files: resumes, cover letters and other
// candidate files, from file.createFileUploadHandle uploads, multipart
// API calls and the careers site.
//
// Contents live in a Blobs store (local disk by default, or S3-compatible
// object storage) under keys made from ids; metadata lives in the files
// table. Every file is staged to a temporary file first, where it is
// size-limited, typed from its content (Sniff) against an allow-list and
// scanned (Scanner) before anything is kept. Downloads go through
// short-lived signed URLs served by this server, never straight from the
// blob store, so access is checked and the store can stay private.
package files

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/webform"
)

//go:embed migrations/*.sql
var migrations embed.FS

func init() { store.RegisterMigrations(migrations, "migrations") }

// Defaults.
const (
	DefaultMaxSize     = 20 << 20
	DefaultUploadTTL   = 10 * time.Minute // Ashby's upload handles expire after 10 minutes
	DefaultDownloadTTL = 5 * time.Minute
	// UnclaimedTTL is how long a stored file may wait to be attached to a
	// candidate before Sweep deletes it.
	UnclaimedTTL = 24 * time.Hour
)

// Config configures a Store.
type Config struct {
	Blobs Blobs
	// MaxSize bounds one file, in bytes (default 20 MiB).
	MaxSize int64
	// Allowed lists the accepted content types (default DefaultAllowed).
	Allowed []string
	// Scanner, when set, must pass every file.
	Scanner Scanner
	// TempDir holds files while they are checked (default os.TempDir()).
	TempDir string
	// BaseURL is the server's public URL, for upload and download links.
	BaseURL     string
	UploadTTL   time.Duration
	DownloadTTL time.Duration
	Log         *slog.Logger
	// UploadsPerMinute and UploadBurst limit POSTs to the upload URL per
	// client IP, as the public forms are limited (default 60 a minute in
	// bursts of 30; a negative UploadBurst turns the limit off).
	UploadsPerMinute, UploadBurst int
	// BodyTimeout is the base time an upload's body has to arrive
	// (webform.BodyDeadline; 0: its default).
	BodyTimeout time.Duration
}

// Store keeps files.
type Store struct {
	db      *store.DB
	cfg     Config
	signKey []byte
	limit   *webform.Limiter
}

// New returns a Store on db. The database must be migrated: links are
// signed with a key derived from its server secret, so that every
// process on the database accepts every other's links.
func New(db *store.DB, cfg Config) (*Store, error) {
	if cfg.Blobs == nil {
		return nil, errors.New("files: no blob store configured")
	}
	if cfg.MaxSize <= 0 {
		cfg.MaxSize = DefaultMaxSize
	}
	if len(cfg.Allowed) == 0 {
		cfg.Allowed = DefaultAllowed
	}
	if cfg.UploadTTL <= 0 {
		cfg.UploadTTL = DefaultUploadTTL
	}
	if cfg.DownloadTTL <= 0 {
		cfg.DownloadTTL = DefaultDownloadTTL
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if len(db.Secret()) == 0 {
		return nil, errors.New("files: database has no server secret (not migrated?)")
	}
	if cfg.UploadsPerMinute == 0 && cfg.UploadBurst == 0 {
		cfg.UploadsPerMinute, cfg.UploadBurst = 60, 30
	}
	if cfg.UploadBurst < 0 {
		cfg.UploadsPerMinute = 0
	}
	m := hmac.New(sha256.New, db.Secret())
	m.Write([]byte("ashlar files v1"))
	return &Store{db: db, cfg: cfg, signKey: m.Sum(nil), limit: webform.NewLimiter(cfg.UploadsPerMinute, cfg.UploadBurst)}, nil
}

// MaxSize is the per-file size limit.
func (s *Store) MaxSize() int64 { return s.cfg.MaxSize }

// Rejected is a file refused for what it is: too large, of a type not
// allowed, or flagged by the scanner. Its Message can be shown to the
// person who uploaded it.
type Rejected struct {
	Reason  string // "too_large", "unsupported_type", "infected", "scan_failed", "empty"
	Message string
}

func (r *Rejected) Error() string { return r.Message }

// APIError renders the rejection as Ashby's invalid_input error.
func (r *Rejected) APIError(field string) *ashby.Error {
	e := ashby.InvalidInput(field, "%s", r.Message)
	if e.Meta == nil {
		e.Meta = map[string]any{}
	}
	e.Meta["reason"] = r.Reason
	return e
}

// Staged is a checked file waiting in a temporary file to be saved.
type Staged struct {
	// ID is the id the file will be saved under.
	ID          string
	Name        string
	Path        string
	Size        int64
	SHA256      string
	ContentType string
}

// Remove deletes the temporary file.
func (st *Staged) Remove() {
	if st != nil && st.Path != "" {
		os.Remove(st.Path)
	}
}

// Stage copies at most limit bytes (0: MaxSize) of r to a temporary file,
// types it from its content and scans it. It returns *Rejected for files
// that must not be kept. The caller removes the staged file.
func (s *Store) Stage(ctx context.Context, r io.Reader, name string, limit int64) (*Staged, error) {
	return stage(ctx, s.cfg, r, name, limit)
}

// Stager checks uploads as a Store does (size, type, malware scan) and
// stages them in temporary files, for a program that forwards files
// rather than keeps them (ashlar careers in front of an upstream API). It
// needs no database.
type Stager struct{ cfg Config }

// NewStager returns a Stager with cfg's MaxSize, Allowed, Scanner,
// TempDir and Log (the same defaults as New); the rest is unused.
func NewStager(cfg Config) *Stager {
	if cfg.MaxSize <= 0 {
		cfg.MaxSize = DefaultMaxSize
	}
	if len(cfg.Allowed) == 0 {
		cfg.Allowed = DefaultAllowed
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Stager{cfg: cfg}
}

// MaxSize is the per-file size limit.
func (s *Stager) MaxSize() int64 { return s.cfg.MaxSize }

// Stage is Store.Stage.
func (s *Stager) Stage(ctx context.Context, r io.Reader, name string, limit int64) (*Staged, error) {
	return stage(ctx, s.cfg, r, name, limit)
}

func stage(ctx context.Context, cfg Config, r io.Reader, name string, limit int64) (*Staged, error) {
	s := struct{ cfg Config }{cfg}
	if limit <= 0 || limit > s.cfg.MaxSize {
		limit = s.cfg.MaxSize
	}
	f, err := os.CreateTemp(s.cfg.TempDir, "ashlar-upload-*")
	if err != nil {
		return nil, fmt.Errorf("stage upload: %w", err)
	}
	st := &Staged{ID: ashby.NewID(), Name: cleanName(name), Path: f.Name()}
	ok := false
	defer func() {
		f.Close()
		if !ok {
			st.Remove()
		}
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("stage upload: %w", err)
	}
	if n > limit {
		return nil, &Rejected{Reason: "too_large", Message: fmt.Sprintf("The file %q is larger than the %s limit.", st.Name, HumanSize(limit))}
	}
	if n == 0 {
		return nil, &Rejected{Reason: "empty", Message: fmt.Sprintf("The file %q is empty.", st.Name)}
	}
	st.Size, st.SHA256 = n, hex.EncodeToString(h.Sum(nil))
	ct, err := Sniff(f, n)
	if err != nil {
		return nil, fmt.Errorf("stage upload: %w", err)
	}
	if !slices.Contains(s.cfg.Allowed, ct) {
		return nil, &Rejected{Reason: "unsupported_type", Message: fmt.Sprintf("The file %q is not an accepted type (PDF, Word, OpenDocument, RTF, plain text or an image); its content is %s.", st.Name, ct)}
	}
	st.ContentType = ct
	if s.cfg.Scanner != nil {
		found, err := s.cfg.Scanner.Scan(ctx, st.Path)
		if err != nil {
			s.cfg.Log.Error("file scan failed", "error", err)
			return nil, &Rejected{Reason: "scan_failed", Message: fmt.Sprintf("The file %q could not be checked for malware; please try again later.", st.Name)}
		}
		if found != "" {
			s.cfg.Log.Warn("file rejected by scanner", "found", found, "sha256", st.SHA256)
			return nil, &Rejected{Reason: "infected", Message: fmt.Sprintf("The file %q was rejected by the malware scanner (%s).", st.Name, found)}
		}
	}
	ok = true
	return st, nil
}

// HumanSize writes a size limit the way messages to people state it.
func HumanSize(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MB", n>>20)
	}
	if n >= 1<<10 {
		return fmt.Sprintf("%d KB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// cleanName keeps a file name for display: the last path element, no
// control characters, at most 200 bytes. It is never used as a path.
func cleanName(name string) string {
	name = strings.ReplaceAll(name, "\\", "/")
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	for len(name) > 200 {
		_, size := lastRune(name)
		name = name[:len(name)-size]
	}
	if name == "" || name == "." || name == ".." {
		name = "file"
	}
	return name
}

func lastRune(s string) (rune, int) {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i]&0xC0 != 0x80 {
			return rune(s[i]), len(s) - i
		}
	}
	return 0, 1
}

func blobKey(org, id string) string { return "org/" + org + "/" + id }

// Save stores a staged file for org as an unclaimed file of the given
// upload context and returns its handle. Claim attaches it to a candidate.
func (s *Store) Save(ctx context.Context, org, uploadContext string, st *Staged) (ashby.FileHandle, error) {
	key := blobKey(org, st.ID)
	if err := s.putBlob(ctx, key, st); err != nil {
		return ashby.FileHandle{}, err
	}
	now := store.Millis(s.db.Now())
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO files (id, org_id, context, name, declared_type, declared_size, state, content_type, size, sha256, blob_key, created_at, expires_at, stored_at)
			VALUES ($1, $2, $3, $4, $5, $6, 'stored', $5, $6, $7, $8, $9, $9, $9)`,
			st.ID, org, uploadContext, st.Name, st.ContentType, st.Size, st.SHA256, key, now)
		return err
	})
	if err != nil {
		s.cfg.Blobs.Delete(context.WithoutCancel(ctx), key)
		return ashby.FileHandle{}, fmt.Errorf("save file: %w", err)
	}
	return s.handleFor(org, st.ID, st.Name), nil
}

func (s *Store) putBlob(ctx context.Context, key string, st *Staged) error {
	f, err := os.Open(st.Path)
	if err != nil {
		return fmt.Errorf("save file: %w", err)
	}
	defer f.Close()
	if err := s.cfg.Blobs.Put(ctx, key, f, st.Size, st.ContentType, st.SHA256); err != nil {
		return fmt.Errorf("save file: %w", err)
	}
	return nil
}

func (s *Store) handleFor(org, id, name string) ashby.FileHandle {
	return ashby.FileHandle{ID: id, Name: name, Handle: s.Handle(org, id)}
}

func (s *Store) mac(parts ...string) []byte {
	m := hmac.New(sha256.New, s.signKey)
	m.Write([]byte(strings.Join(parts, "\x00")))
	return m.Sum(nil)
}

// Handle is the opaque, signed token for a file (FileHandle.handle).
func (s *Store) Handle(org, id string) string {
	payload := "v1:" + org + ":" + id
	return base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." + base64.RawURLEncoding.EncodeToString(s.mac("handle", payload)[:18])
}

// ErrBadHandle means a handle is malformed, forged or of another organization.
var ErrBadHandle = errors.New("invalid file handle")

// ParseHandle checks a handle and returns its file id.
func (s *Store) ParseHandle(org, handle string) (string, error) {
	p, sig, ok := strings.Cut(strings.TrimSpace(handle), ".")
	if !ok {
		return "", ErrBadHandle
	}
	payload, err1 := base64.RawURLEncoding.DecodeString(p)
	mac, err2 := base64.RawURLEncoding.DecodeString(sig)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, s.mac("handle", string(payload))[:18]) {
		return "", ErrBadHandle
	}
	parts := strings.Split(string(payload), ":")
	if len(parts) != 3 || parts[0] != "v1" || parts[1] != org || !ashby.IsUUID(parts[2]) {
		return "", ErrBadHandle
	}
	return parts[2], nil
}

// File is a file's metadata.
type File struct {
	ID, OrgID, Context, Name, State string
	ContentType                     string
	Size                            int64
	SHA256, BlobKey, CandidateID    string
	ExpiresAt                       time.Time
}

// FileHandle returns the file's API handle.
func (s *Store) FileHandle(f *File) ashby.FileHandle { return s.handleFor(f.OrgID, f.ID, f.Name) }

func (s *Store) get(ctx context.Context, q store.Q, org, id string) (*File, error) {
	var f File
	var ct, sum, key, cand sql.NullString
	var size sql.NullInt64
	var expires int64
	query := `SELECT id, org_id, context, name, state, content_type, size, sha256, blob_key, candidate_id, expires_at FROM files WHERE id = $1`
	args := []any{id}
	if org != "" {
		query += ` AND org_id = $2`
		args = append(args, org)
	}
	err := q.QueryRowContext(ctx, query, args...).Scan(&f.ID, &f.OrgID, &f.Context, &f.Name, &f.State, &ct, &size, &sum, &key, &cand, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("load file %s: %w", id, err)
	}
	f.ContentType, f.Size, f.SHA256, f.BlobKey, f.CandidateID = ct.String, size.Int64, sum.String, key.String, cand.String
	f.ExpiresAt = time.UnixMilli(expires)
	return &f, nil
}

// Resolve checks a handle given by a client and returns the stored file
// it names, which must have been uploaded for one of the contexts given
// (none: any).
func (s *Store) Resolve(ctx context.Context, q store.Q, org, handle string, contexts ...string) (*File, error) {
	id, err := s.ParseHandle(org, handle)
	if err != nil {
		return nil, ashby.Errorf("file_not_found", "The file handle is not valid for this organization")
	}
	f, err := s.get(ctx, q, org, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ashby.Errorf("file_not_found", "File not found")
	}
	if err != nil {
		return nil, err
	}
	if f.State != "stored" {
		return nil, ashby.Errorf("file_not_uploaded", "The file for this handle has not been uploaded yet: POST it to the handle's url first")
	}
	if len(contexts) > 0 && !slices.Contains(contexts, f.Context) {
		return nil, ashby.InvalidInput("", "The file handle was created for fileUploadContext %s, not %s", f.Context, strings.Join(contexts, " or "))
	}
	return f, nil
}

// Claim attaches stored files to a candidate, in tx. A file already
// attached to another candidate is refused.
func (s *Store) Claim(ctx context.Context, tx *store.Tx, org, candidateID string, ids ...string) error {
	for _, id := range ids {
		res, err := tx.ExecContext(ctx, `UPDATE files SET candidate_id = $3 WHERE org_id = $1 AND id = $2 AND state = 'stored' AND (candidate_id IS NULL OR candidate_id = $3)`, org, id, candidateID)
		if err != nil {
			return fmt.Errorf("claim file %s: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ashby.Errorf("file_in_use", "File %s belongs to another candidate", id)
		}
	}
	return nil
}

// CreateUpload starts an upload (file.createFileUploadHandle): a pending
// file and a signed POST target that accepts its bytes until it expires.
func (s *Store) CreateUpload(ctx context.Context, org, uploadContext, filename, contentType string, length int64) (*ashby.FileUploadHandle, error) {
	if length <= 0 {
		return nil, ashby.InvalidInput("contentLength", "contentLength must be a positive number of bytes")
	}
	if length > s.cfg.MaxSize {
		return nil, (&Rejected{Reason: "too_large", Message: fmt.Sprintf("contentLength %d exceeds the %s file size limit", length, HumanSize(s.cfg.MaxSize))}).APIError("contentLength")
	}
	id := ashby.NewID()
	now := s.db.Now()
	expires := now.Add(s.cfg.UploadTTL)
	name := cleanName(filename)
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO files (id, org_id, context, name, declared_type, declared_size, state, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $8)`, id, org, uploadContext, name, contentType, length, store.Millis(now), store.Millis(expires))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("create upload: %w", err)
	}
	exp := fmt.Sprint(expires.Unix())
	fields := map[string]string{"key": id, "expires": exp, "signature": hex.EncodeToString(s.mac("upload", id, exp))}
	// The URL carries the signed fields too, so that the upload target can
	// check the handle before it reads any of the body.
	q := url.Values{}
	for k, v := range fields {
		q.Set(k, v)
	}
	return &ashby.FileUploadHandle{Handle: s.Handle(org, id), URL: s.cfg.BaseURL + "/files/upload?" + q.Encode(), Fields: fields}, nil
}

// DownloadURL returns a short-lived signed URL for a file (file.info).
func (s *Store) DownloadURL(ctx context.Context, org, handle string) (string, error) {
	f, err := s.Resolve(ctx, s.db, org, handle)
	if err != nil {
		return "", err
	}
	exp := fmt.Sprint(s.db.Now().Add(s.cfg.DownloadTTL).Unix())
	return s.cfg.BaseURL + "/files/" + f.ID + "?expires=" + exp + "&signature=" + hex.EncodeToString(s.mac("download", f.ID, exp)), nil
}

// DeleteCandidateFiles deletes every file of a candidate in tx (when the
// candidate is anonymized); the contents go once tx commits.
func (s *Store) DeleteCandidateFiles(ctx context.Context, tx *store.Tx, org, candidateID string) error {
	rows, err := tx.QueryContext(ctx, `SELECT blob_key FROM files WHERE org_id = $1 AND candidate_id = $2 AND blob_key IS NOT NULL`, org, candidateID)
	if err != nil {
		return fmt.Errorf("find candidate files: %w", err)
	}
	var keys []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			rows.Close()
			return err
		}
		keys = append(keys, k)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM files WHERE org_id = $1 AND candidate_id = $2`, org, candidateID); err != nil {
		return fmt.Errorf("delete candidate files: %w", err)
	}
	tx.AfterCommit(func() { s.deleteBlobs(keys) })
	return nil
}

// DeleteFiles deletes files of org by id in tx (the files of a take-home
// submission whose application is deleted); the contents go once tx
// commits. Ids that do not exist are skipped.
func (s *Store) DeleteFiles(ctx context.Context, tx *store.Tx, org string, ids ...string) error {
	var keys []string
	for _, id := range ids {
		var key sql.NullString
		err := tx.QueryRowContext(ctx, `DELETE FROM files WHERE org_id = $1 AND id = $2 RETURNING blob_key`, org, id).Scan(&key)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return fmt.Errorf("delete file %s: %w", id, err)
		}
		if key.Valid {
			keys = append(keys, key.String)
		}
	}
	if len(keys) > 0 {
		tx.AfterCommit(func() { s.deleteBlobs(keys) })
	}
	return nil
}

func (s *Store) deleteBlobs(keys []string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, k := range keys {
		if err := s.cfg.Blobs.Delete(ctx, k); err != nil {
			s.cfg.Log.Error("delete file contents", "key", k, "error", err)
		}
	}
}

// Sweep deletes expired upload handles that never received their bytes
// and stored files that no candidate claimed within UnclaimedTTL (a
// submission that failed validation after its files were saved).
func (s *Store) Sweep(ctx context.Context) (int, error) {
	now := s.db.Now()
	cutoff := store.Millis(now.Add(-UnclaimedTTL))
	rows, err := s.db.QueryContext(ctx, `SELECT id, blob_key FROM files WHERE candidate_id IS NULL AND created_at < $1 AND (state = 'stored' OR expires_at < $2)`, cutoff, store.Millis(now))
	if err != nil {
		return 0, fmt.Errorf("sweep files: %w", err)
	}
	type victim struct{ id, key string }
	var found []victim
	for rows.Next() {
		var v victim
		var key sql.NullString
		if err := rows.Scan(&v.id, &key); err != nil {
			rows.Close()
			return 0, err
		}
		v.key = key.String
		found = append(found, v)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("sweep files: %w", err)
	}
	var keys []string
	deleted := 0
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		keys, deleted = keys[:0], 0
		for _, v := range found {
			// A file claimed since it was read is kept.
			res, err := tx.ExecContext(ctx, `DELETE FROM files WHERE id = $1 AND candidate_id IS NULL`, v.id)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n > 0 {
				deleted++
				if v.key != "" {
					keys = append(keys, v.key)
				}
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("sweep files: %w", err)
	}
	s.deleteBlobs(keys)
	return deleted, nil
}
