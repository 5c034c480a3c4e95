package careers

import (
	"context"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"strings"

	"github.com/ashlarhq/ashlar/files"
	"github.com/ashlarhq/ashlar/webform"
)

// The apply form's posted body: text inputs and files (webform renders
// the form and turns the text back into field submissions).

// readForm reads a posted apply form: text fields into memory, files
// staged (sized, typed and scanned) under their field's path.
func readForm(ctx context.Context, fs *files.Store, r *http.Request, maxBody int64) (webform.Values, map[string]*files.Staged, map[string]*files.Rejected, error) {
	vals := webform.Values{}
	staged := map[string]*files.Staged{}
	rejected := map[string]*files.Rejected{}
	cleanup := func() {
		for _, st := range staged {
			st.Remove()
		}
	}
	r.Body = http.MaxBytesReader(nil, r.Body, maxBody)
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, nil, nil, err
	}
	for i := 0; ; i++ {
		part, err := mr.NextPart()
		if err == io.EOF {
			return vals, staged, rejected, nil
		}
		if err != nil {
			cleanup()
			return nil, nil, nil, err
		}
		if i > 500 {
			cleanup()
			return nil, nil, nil, errors.New("too many form fields")
		}
		name := part.FormName()
		if part.FileName() == "" && !isFilePart(part) {
			b, err := io.ReadAll(io.LimitReader(part, 200<<10))
			if err != nil {
				cleanup()
				return nil, nil, nil, err
			}
			vals[name] = append(vals[name], string(b))
			continue
		}
		if part.FileName() == "" || staged[name] != nil || rejected[name] != nil {
			io.Copy(io.Discard, part) // an empty file input, or a duplicate
			continue
		}
		if fs == nil {
			cleanup()
			return nil, nil, nil, errors.New("file storage is not configured")
		}
		st, err := fs.Stage(ctx, part, part.FileName(), 0)
		var rej *files.Rejected
		switch {
		case errors.As(err, &rej):
			rejected[name] = rej
			io.Copy(io.Discard, part)
		case err != nil:
			cleanup()
			return nil, nil, nil, err
		default:
			staged[name] = st
		}
	}
}

// isFilePart reports whether a part came from a file input left empty
// (browsers send those with filename="" and a content type).
func isFilePart(p *multipart.Part) bool {
	cd := p.Header.Get("Content-Disposition")
	return strings.Contains(cd, "filename=")
}
