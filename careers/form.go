package careers

import (
	"context"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"strings"

	"github.com/ashlarhq/ashlar/files"
	"github.com/ashlarhq/ashlar/forms"
	"github.com/ashlarhq/ashlar/webform"
)

// The apply form's posted body: text inputs and files (webform renders
// the form and turns the text back into field submissions).

// maxTextPart bounds a text part: the longest answer (forms.MaxLongText
// characters of up to 4 bytes) and some room.
const maxTextPart = 4*forms.MaxLongText + 1024

// postedForm is a posted apply form: text by input name, files staged
// (sized, typed and scanned) or refused under their field's path, and the
// inputs whose text was longer than any answer may be.
type postedForm struct {
	vals     webform.Values
	staged   map[string]*files.Staged
	rejected map[string]*files.Rejected
	tooLong  map[string]bool
}

// readForm reads a posted apply form.
func readForm(ctx context.Context, fs Uploads, r *http.Request, maxBody int64) (*postedForm, error) {
	form, err := readParts(ctx, fs, r, maxBody)
	if err != nil {
		return nil, err
	}
	form.vals = webform.Posted(form.vals)
	return form, nil
}

func readParts(ctx context.Context, fs Uploads, r *http.Request, maxBody int64) (*postedForm, error) {
	vals := webform.Values{}
	tooLong := map[string]bool{}
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
		return nil, err
	}
	for i := 0; ; i++ {
		part, err := mr.NextPart()
		if err == io.EOF {
			return &postedForm{vals: vals, staged: staged, rejected: rejected, tooLong: tooLong}, nil
		}
		if err != nil {
			cleanup()
			return nil, err
		}
		if i > 500 {
			cleanup()
			return nil, errors.New("too many form fields")
		}
		name := part.FormName()
		if part.FileName() == "" && !isFilePart(part) {
			b, err := io.ReadAll(io.LimitReader(part, maxTextPart+1))
			if err != nil {
				cleanup()
				return nil, err
			}
			if len(b) > maxTextPart {
				// Not cut short silently: the field says it is too long.
				tooLong[name] = true
				io.Copy(io.Discard, part)
				continue
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
			return nil, errors.New("file storage is not configured")
		}
		st, err := fs.Stage(ctx, part, part.FileName(), 0)
		var rej *files.Rejected
		switch {
		case errors.As(err, &rej):
			rejected[name] = rej
			io.Copy(io.Discard, part)
		case err != nil:
			cleanup()
			return nil, err
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
