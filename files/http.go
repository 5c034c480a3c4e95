package files

import (
	"context"
	"crypto/hmac"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/webform"
)

// Routes mounts the upload target and signed downloads on mux:
//
//	POST /files/upload   multipart: the fields of file.createFileUploadHandle, then "file"
//	GET  /files/{id}     ?expires=…&signature=… from file.info
func (s *Store) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /files/upload", s.serveUpload)
	mux.HandleFunc("GET /files/{id}", s.serveDownload)
}

func requestID(r *http.Request) string {
	if id, ok := rpc.RequestIDFrom(r.Context()); ok {
		return id
	}
	return rpc.NewRequestID()
}

func fail(w http.ResponseWriter, r *http.Request, status int, code, format string, args ...any) {
	rpc.WriteError(w, requestID(r), &ashby.Error{Code: code, Status: status, Message: fmt.Sprintf(format, args...)})
}

// serveUpload receives a file for a pending upload handle, like an S3
// presigned POST. The handle's signed fields are in the URL (the url
// file.createFileUploadHandle returns carries them), and are checked
// before any of the body is read: the target is public, and a request
// without a valid handle must cost nothing but its headers. The body is
// multipart: the same fields again, which are ignored unless they name
// another key, then the file as the part named "file".
func (s *Store) serveUpload(w http.ResponseWriter, r *http.Request) {
	refuse := func(status int, code, msg string) {
		// The body is left unread: the connection is closed rather than
		// drained for another request.
		w.Header().Set("Connection", "close")
		fail(w, r, status, code, "%s", msg)
	}
	if ok, wait := s.limit.Allow(r.Context(), rpc.ClientIP(r)); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)+1))
		refuse(http.StatusTooManyRequests, ashby.CodeRateLimitExceeded, "Too many uploads from this address; retry later.")
		return
	}
	q := r.URL.Query()
	f, code, msg := s.checkUploadFields(r.Context(), map[string]string{"key": q.Get("key"), "expires": q.Get("expires"), "signature": q.Get("signature")})
	if f == nil {
		refuse(code, "upload_rejected", msg)
		return
	}
	maxBody := s.cfg.MaxSize + 1<<20
	if r.ContentLength > maxBody {
		refuse(http.StatusRequestEntityTooLarge, ashby.CodeRequestTooLarge, fmt.Sprintf("The upload exceeds the %s file size limit.", HumanSize(s.cfg.MaxSize)))
		return
	}
	webform.BodyDeadline(w, r, s.cfg.BodyTimeout, min(maxBody, f.declaredSize+1<<20))
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	mr, err := r.MultipartReader()
	if err != nil {
		fail(w, r, http.StatusBadRequest, ashby.CodeInvalidInput, "Send multipart/form-data: the handle's fields, then the file as the part named \"file\".")
		return
	}
	fields := map[string]string{}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			fail(w, r, http.StatusBadRequest, ashby.CodeInvalidInput, "The request has no part named \"file\".")
			return
		}
		if err != nil {
			s.uploadReadError(w, r, err)
			return
		}
		if part.FormName() != "file" {
			b, err := io.ReadAll(io.LimitReader(part, 4096))
			if err != nil {
				s.uploadReadError(w, r, err)
				return
			}
			fields[part.FormName()] = string(b)
			continue
		}
		if k := fields["key"]; k != "" && k != f.ID {
			fail(w, r, http.StatusForbidden, "upload_rejected", "The key field names another upload than the URL's.")
			return
		}
		name := f.Name
		if fn := part.FileName(); fn != "" && name == "" {
			name = fn
		}
		st, err := s.Stage(r.Context(), part, name, f.declaredSize)
		if err != nil {
			var rej *Rejected
			switch {
			case errors.As(err, &rej):
				status := http.StatusUnprocessableEntity
				switch rej.Reason {
				case "too_large":
					status = http.StatusRequestEntityTooLarge
				case "unsupported_type":
					status = http.StatusUnsupportedMediaType
				case "scan_failed":
					status = http.StatusServiceUnavailable
				}
				fail(w, r, status, ashby.CodeInvalidInput, "%s", rej.Message)
			default:
				s.uploadReadError(w, r, err)
			}
			return
		}
		defer st.Remove()
		st.ID, st.Name = f.ID, name
		if err := s.storePending(r.Context(), f, st); err != nil {
			var ae *ashby.Error
			if errors.As(err, &ae) {
				fail(w, r, http.StatusConflict, ae.Code, "%s", ae.Message)
				return
			}
			s.cfg.Log.Error("store upload", "error", err)
			fail(w, r, http.StatusInternalServerError, ashby.CodeInternal, "Internal error; quote the request id when reporting it.")
			return
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
}

func (s *Store) uploadReadError(w http.ResponseWriter, r *http.Request, err error) {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		fail(w, r, http.StatusRequestEntityTooLarge, ashby.CodeRequestTooLarge, "The upload exceeds the %s file size limit.", HumanSize(s.cfg.MaxSize))
		return
	}
	fail(w, r, http.StatusBadRequest, ashby.CodeInvalidInput, "Could not read the upload: %v", err)
}

type pendingFile struct {
	*File
	declaredSize int64
}

func (s *Store) checkUploadFields(ctx context.Context, fields map[string]string) (*pendingFile, int, string) {
	id, exp, sig := fields["key"], fields["expires"], fields["signature"]
	mac, err := hex.DecodeString(sig)
	if !ashby.IsUUID(id) || err != nil || !hmac.Equal(mac, s.mac("upload", id, exp)) {
		return nil, http.StatusForbidden, "The upload fields are missing or their signature does not match; send key, expires and signature exactly as file.createFileUploadHandle returned them, before the file."
	}
	secs, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || s.db.Now().Unix() > secs {
		return nil, http.StatusForbidden, "The upload handle has expired; create a new one with file.createFileUploadHandle."
	}
	f, err := s.get(ctx, s.db, "", id)
	if err != nil {
		return nil, http.StatusNotFound, "No pending upload for this key."
	}
	if f.State != "pending" {
		return nil, http.StatusConflict, "This upload handle has already received its file."
	}
	var declared int64
	s.db.QueryRowContext(ctx, `SELECT declared_size FROM files WHERE id = $1`, id).Scan(&declared)
	return &pendingFile{File: f, declaredSize: declared}, 0, ""
}

// storePending saves the bytes of a pending upload; a second upload for
// the same handle loses the race and its blob is removed.
func (s *Store) storePending(ctx context.Context, f *pendingFile, st *Staged) error {
	key := blobKey(f.OrgID, f.ID)
	if err := s.putBlob(ctx, key, st); err != nil {
		return err
	}
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE files SET state = 'stored', content_type = $2, size = $3, sha256 = $4, blob_key = $5, stored_at = $6
			WHERE id = $1 AND state = 'pending'`, f.ID, st.ContentType, st.Size, st.SHA256, key, store.Millis(s.db.Now()))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ashby.Errorf("upload_rejected", "This upload handle has already received its file.")
		}
		return nil
	})
	if err != nil {
		var ae *ashby.Error
		if !errors.As(err, &ae) {
			s.cfg.Blobs.Delete(context.WithoutCancel(ctx), key)
		}
		return err
	}
	return nil
}

// serveDownload streams a file to the holder of a valid signed link.
func (s *Store) serveDownload(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	exp := r.URL.Query().Get("expires")
	mac, err := hex.DecodeString(r.URL.Query().Get("signature"))
	if !ashby.IsUUID(id) || err != nil || !hmac.Equal(mac, s.mac("download", id, exp)) {
		fail(w, r, http.StatusForbidden, "invalid_signature", "The download link is not valid; get a new one from file.info.")
		return
	}
	secs, err := strconv.ParseInt(exp, 10, 64)
	now := s.db.Now().Unix()
	if err != nil || now > secs {
		fail(w, r, http.StatusForbidden, "link_expired", "The download link has expired; get a new one from file.info.")
		return
	}
	f, err := s.get(r.Context(), s.db, "", id)
	if err != nil || f.State != "stored" {
		fail(w, r, http.StatusNotFound, "file_not_found", "File not found.")
		return
	}
	rc, err := s.cfg.Blobs.Get(r.Context(), f.BlobKey)
	if err != nil {
		s.cfg.Log.Error("open file contents", "file", f.ID, "error", err)
		fail(w, r, http.StatusNotFound, "file_not_found", "File contents are not available.")
		return
	}
	defer rc.Close()
	h := w.Header()
	h.Set("Content-Type", f.ContentType)
	h.Set("Content-Length", strconv.FormatInt(f.Size, 10))
	h.Set("Content-Disposition", disposition(f.Name, f.ContentType))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cache-Control", "private, max-age="+strconv.FormatInt(max(0, secs-now), 10))
	io.Copy(w, rc)
}

// disposition makes an attachment header whose name cannot break out of
// the header: an ASCII fallback plus the RFC 5987 UTF-8 form.
func disposition(name, contentType string) string {
	if ext := Extension(contentType); ext != "" && !strings.HasSuffix(strings.ToLower(name), ext) {
		name += ext
	}
	ascii := strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' || r == '/' || r == ';' {
			return '_'
		}
		return r
	}, name)
	return mime.FormatMediaType("attachment", map[string]string{"filename": ascii}) + "; filename*=UTF-8''" + url.PathEscape(name)
}

// inlineTypes are the content types a browser shows within a page: PDFs
// in its viewer, images, plain text.
var inlineTypes = []string{"application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp", "text/plain"}

// Inline reports whether browsers show files of a content type within a
// page (a resume on a candidate's page).
func Inline(contentType string) bool {
	ct, _, _ := strings.Cut(contentType, ";")
	return slices.Contains(inlineTypes, strings.TrimSpace(ct))
}

// ServeFile writes a stored file to w, for a caller that has checked the
// person's access itself (the web app's candidate and interview pages).
// inline shows it in the page (an <object> or <img> of the same site)
// when browsers can; otherwise it is an attachment. Its response keeps
// what serveDownload's does: the stored type, nosniff, and a policy that
// lets the file run nothing (a PDF viewer cannot open in a sandboxed
// document, so PDFs shown inline get frame-ancestors 'self' instead of
// the sandbox).
func (s *Store) ServeFile(w http.ResponseWriter, r *http.Request, f *File, inline bool) {
	rc, err := s.cfg.Blobs.Get(r.Context(), f.BlobKey)
	if err != nil {
		s.cfg.Log.Error("open file contents", "file", f.ID, "error", err)
		http.Error(w, "File contents are not available.", http.StatusNotFound)
		return
	}
	defer rc.Close()
	inline = inline && Inline(f.ContentType)
	h := w.Header()
	h.Set("Content-Type", f.ContentType)
	h.Set("Content-Length", strconv.FormatInt(f.Size, 10))
	disp := disposition(f.Name, f.ContentType)
	if inline {
		disp = "inline" + strings.TrimPrefix(disp, "attachment")
	}
	h.Set("Content-Disposition", disp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "private, no-store")
	h.Set("Referrer-Policy", "no-referrer")
	if inline && strings.HasPrefix(f.ContentType, "application/pdf") {
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'self'")
		h.Set("X-Frame-Options", "SAMEORIGIN")
	} else {
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'self'; sandbox")
	}
	io.Copy(w, rc)
}
