package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/files"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/store"
)

func init() {
	register((*Service).fileEndpoints)
}

// anonymizeFiles deletes an anonymized candidate's files.
func (s *Service) anonymizeFiles(ctx context.Context, tx *store.Tx, org, candidateID string) error {
	if s.Files == nil {
		return nil
	}
	return s.Files.DeleteCandidateFiles(ctx, tx, org, candidateID)
}

// FileStore returns the file store the server keeps files in.
func (s *Service) FileStore() (*files.Store, error) { return s.files() }

func (s *Service) files() (*files.Store, error) {
	st := s.Files
	if st == nil {
		return nil, &ashby.Error{Code: ashby.CodeUnavailable, Status: http.StatusServiceUnavailable, Message: "File storage is not configured on this server."}
	}
	return st, nil
}

// multipartMaxBody bounds multipart requests; each file is also bounded
// by the file store's size limit as it is read.
const multipartMaxBody = 128 << 20

func (s *Service) fileEndpoints() []*rpc.Endpoint {
	return []*rpc.Endpoint{
		rpc.Object(rpc.Spec{Name: "file.createFileUploadHandle", Permission: ashby.CandidatesWrite, Summary: "Start a file upload: POST the returned fields and then the file (part \"file\") to url within 10 minutes, then pass handle to candidate.uploadResume, candidate.uploadFile or applicationForm.submit."}, s.fileCreateUploadHandle),
		rpc.Object(rpc.Spec{Name: "file.info", Permission: ashby.CandidatesRead, Summary: "A short-lived download URL for a file handle."}, s.fileInfo),
		rpc.Object(rpc.Spec{Name: "candidate.uploadResume", Permission: ashby.CandidatesWrite, MaxBody: multipartMaxBody, Summary: "Set a candidate's resume from an upload handle (JSON) or a multipart part named resume."}, s.candidateUploadResume).
			WithMultipart(s.candidateUploadMultipart("resume", ashby.UploadCandidateResume)),
		rpc.Object(rpc.Spec{Name: "candidate.uploadFile", Permission: ashby.CandidatesWrite, MaxBody: multipartMaxBody, Summary: "Add a file to a candidate from an upload handle (JSON) or a multipart part named file."}, s.candidateUploadFile).
			WithMultipart(s.candidateUploadMultipart("file", ashby.UploadCandidateFiles)),
	}
}

type fileCreateUploadHandleRequest struct {
	FileUploadContext string `json:"fileUploadContext" required:"true" enum:"CandidateResume,CandidateFiles,ApplicationForm"`
	Filename          string `json:"filename" required:"true"`
	ContentType       string `json:"contentType" required:"true"`
	ContentLength     *int64 `json:"contentLength" required:"true"`
}

func (s *Service) fileCreateUploadHandle(ctx context.Context, c *rpc.Call, req *fileCreateUploadHandleRequest) (rpc.Result[ashby.FileUploadHandle], error) {
	st, err := s.files()
	if err != nil {
		return rpc.Result[ashby.FileUploadHandle]{}, err
	}
	h, err := st.CreateUpload(ctx, c.Org(), req.FileUploadContext, req.Filename, req.ContentType, *req.ContentLength)
	if err != nil {
		return rpc.Result[ashby.FileUploadHandle]{}, err
	}
	return rpc.Value(h), nil
}

type fileInfoRequest struct {
	FileHandle string `json:"fileHandle" required:"true"`
}

func (s *Service) fileInfo(ctx context.Context, c *rpc.Call, req *fileInfoRequest) (rpc.Result[ashby.FileURL], error) {
	st, err := s.files()
	if err != nil {
		return rpc.Result[ashby.FileURL]{}, err
	}
	url, err := st.DownloadURL(ctx, c.Org(), req.FileHandle)
	if err != nil {
		return rpc.Result[ashby.FileURL]{}, err
	}
	return rpc.Value(&ashby.FileURL{URL: url}), nil
}

type candidateUploadResumeRequest struct {
	CandidateID  ashby.ID `json:"candidateId" required:"true"`
	ResumeHandle string   `json:"resumeHandle" required:"true"`
}

func (s *Service) candidateUploadResume(ctx context.Context, c *rpc.Call, req *candidateUploadResumeRequest) (rpc.Result[ashby.Candidate], error) {
	cand, err := s.attachFile(ctx, c.Org(), string(req.CandidateID), req.ResumeHandle, true)
	if err != nil {
		return rpc.Result[ashby.Candidate]{}, err
	}
	return rpc.Value(cand), nil
}

type candidateUploadFileRequest struct {
	CandidateID ashby.ID `json:"candidateId" required:"true"`
	FileHandle  string   `json:"fileHandle" required:"true"`
}

func (s *Service) candidateUploadFile(ctx context.Context, c *rpc.Call, req *candidateUploadFileRequest) (rpc.Result[ashby.Candidate], error) {
	cand, err := s.attachFile(ctx, c.Org(), string(req.CandidateID), req.FileHandle, false)
	if err != nil {
		return rpc.Result[ashby.Candidate]{}, err
	}
	return rpc.Value(cand), nil
}

// attachFile makes an uploaded file the candidate's resume, or adds it to
// their files.
func (s *Service) attachFile(ctx context.Context, org, candidateID, handle string, resume bool) (*ashby.Candidate, error) {
	st, err := s.files()
	if err != nil {
		return nil, err
	}
	want, field := ashby.UploadCandidateFiles, "fileHandle"
	if resume {
		want, field = ashby.UploadCandidateResume, "resumeHandle"
	}
	var cand *ashby.Candidate
	err = s.write(ctx, func(tx *store.Tx) error {
		var err error
		cand, err = s.updateCandidate(ctx, tx, org, candidateID, func(tx *store.Tx, cand *ashby.Candidate) error {
			return s.attachInTx(ctx, tx, st, org, cand, handle, want, field, resume)
		})
		return err
	})
	return cand, err
}

func (s *Service) attachInTx(ctx context.Context, tx *store.Tx, st *files.Store, org string, cand *ashby.Candidate, handle, want, field string, resume bool) error {
	{
		f, err := st.Resolve(ctx, tx, org, handle, want)
		if err != nil {
			if ae, ok := ashby.AsError(err); ok && ae.Code == ashby.CodeInvalidInput {
				ae.Meta = map[string]any{"field": field}
			}
			return err
		}
		if err := st.Claim(ctx, tx, org, cand.ID, f.ID); err != nil {
			return err
		}
		addCandidateFile(cand, st.FileHandle(f), resume)
		return nil
	}
}

// addCandidateFile records a file on a candidate: as the resume (the
// previous resume stays among their files), or among their files.
func addCandidateFile(cand *ashby.Candidate, h ashby.FileHandle, resume bool) {
	has := func(id string) bool {
		for _, x := range cand.FileHandles {
			if x.ID == id {
				return true
			}
		}
		return false
	}
	if resume {
		if cand.ResumeFileHandle != nil && cand.ResumeFileHandle.ID != h.ID && !has(cand.ResumeFileHandle.ID) {
			cand.FileHandles = append(cand.FileHandles, *cand.ResumeFileHandle)
		}
		cand.ResumeFileHandle = &h
		return
	}
	if !has(h.ID) {
		cand.FileHandles = append(cand.FileHandles, h)
	}
}

// multipartForm is a parsed multipart request: text parts in memory and
// file parts staged (sized, typed and scanned) in temporary files.
type multipartForm struct {
	values   map[string][]string
	staged   map[string]*files.Staged
	rejected map[string]*files.Rejected
}

func (m *multipartForm) value(name string) string {
	if v := m.values[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func (m *multipartForm) cleanup() {
	for _, st := range m.staged {
		st.Remove()
	}
}

const (
	maxTextPart = 1 << 20
	maxParts    = 200
)

// readMultipart reads every part. Parts with a file name are files; a
// file refused for its size, type or malware is kept in rejected so that
// the caller can say which field it was for.
func readMultipart(ctx context.Context, st *files.Store, r *http.Request) (*multipartForm, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, ashby.InvalidInput("", "Could not read the multipart body: %v", err)
	}
	m := &multipartForm{values: map[string][]string{}, staged: map[string]*files.Staged{}, rejected: map[string]*files.Rejected{}}
	for n := 0; ; n++ {
		part, err := mr.NextPart()
		if err == io.EOF {
			return m, nil
		}
		if err != nil {
			m.cleanup()
			return nil, multipartError(err)
		}
		if n >= maxParts {
			m.cleanup()
			return nil, ashby.InvalidInput("", "Too many multipart parts (at most %d)", maxParts)
		}
		name := part.FormName()
		if part.FileName() == "" {
			b, err := io.ReadAll(io.LimitReader(part, maxTextPart+1))
			if err != nil {
				m.cleanup()
				return nil, multipartError(err)
			}
			if len(b) > maxTextPart {
				m.cleanup()
				return nil, ashby.InvalidInput(name, "The part %q is larger than %d bytes", name, maxTextPart)
			}
			m.values[name] = append(m.values[name], string(b))
			continue
		}
		if _, dup := m.staged[name]; dup || m.rejected[name] != nil {
			m.cleanup()
			return nil, ashby.InvalidInput(name, "Two file parts are named %q", name)
		}
		if st == nil {
			m.cleanup()
			return nil, &ashby.Error{Code: ashby.CodeUnavailable, Status: http.StatusServiceUnavailable, Message: "File storage is not configured on this server."}
		}
		staged, err := st.Stage(ctx, part, part.FileName(), 0)
		var rej *files.Rejected
		switch {
		case errors.As(err, &rej):
			m.rejected[name] = rej
			// Drain the rest of a refused part so the next one can be read.
			io.Copy(io.Discard, part)
		case err != nil:
			m.cleanup()
			return nil, multipartError(err)
		default:
			m.staged[name] = staged
		}
	}
}

func multipartError(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return &ashby.Error{Code: ashby.CodeRequestTooLarge, Status: http.StatusRequestEntityTooLarge, Message: fmt.Sprintf("Request body exceeds %d bytes.", tooBig.Limit)}
	}
	if ae, ok := ashby.AsError(err); ok {
		return ae
	}
	if strings.Contains(err.Error(), "multipart") || errors.Is(err, io.ErrUnexpectedEOF) {
		return ashby.InvalidInput("", "Could not read the multipart body: %v", err)
	}
	return fmt.Errorf("read multipart body: %w", err)
}

// candidateUploadMultipart serves the deprecated multipart forms of
// candidate.uploadResume (part "resume") and candidate.uploadFile (part
// "file"), with candidateId as a text part.
func (s *Service) candidateUploadMultipart(part, uploadContext string) func(ctx context.Context, c *rpc.Call, r *http.Request) (any, error) {
	return func(ctx context.Context, c *rpc.Call, r *http.Request) (any, error) {
		st, err := s.files()
		if err != nil {
			return nil, err
		}
		m, err := readMultipart(ctx, st, r)
		if err != nil {
			return nil, err
		}
		defer m.cleanup()
		id := strings.TrimSpace(m.value("candidateId"))
		if id == "" {
			return nil, ashby.InvalidInput("candidateId", "Missing required field: candidateId")
		}
		if !ashby.IsUUID(id) {
			return nil, ashby.InvalidInput("candidateId", "Invalid value for candidateId: expected a UUID string")
		}
		if rej := m.rejected[part]; rej != nil {
			return nil, rej.APIError(part)
		}
		staged := m.staged[part]
		if staged == nil {
			return nil, ashby.InvalidInput(part, "Missing required file part: %s", part)
		}
		if ok, err := Candidates.Exists(ctx, s.DB, c.Org(), strings.ToLower(id)); err != nil {
			return nil, err
		} else if !ok {
			return nil, ashby.NotFound("candidate", "Candidate not found")
		}
		h, err := st.Save(ctx, c.Org(), uploadContext, staged)
		if err != nil {
			return nil, err
		}
		return s.attachFile(ctx, c.Org(), strings.ToLower(id), h.Handle, part == "resume")
	}
}
