package files

import (
	"archive/zip"
	"bytes"
	"io"
	"net/http"
	"os"
	"strings"
	"unicode/utf8"
)

// Content types Ashlar accepts: documents a resume or cover letter comes
// in, and images (portfolios, scanned certificates). The type is decided
// from the bytes alone; the client's declared type and file extension are
// ignored, so a renamed executable is refused whatever it is called.
const (
	TypePDF  = "application/pdf"
	TypeDOC  = "application/msword"
	TypeDOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
	TypeODT  = "application/vnd.oasis.opendocument.text"
	TypeRTF  = "application/rtf"
	TypeText = "text/plain"
	TypePNG  = "image/png"
	TypeJPEG = "image/jpeg"
	TypeGIF  = "image/gif"
	TypeWebP = "image/webp"
)

// DefaultAllowed is the default content-type allow-list.
var DefaultAllowed = []string{TypePDF, TypeDOC, TypeDOCX, TypeODT, TypeRTF, TypeText, TypePNG, TypeJPEG, TypeGIF, TypeWebP}

// Extension is the file extension used for downloads of a content type.
func Extension(contentType string) string {
	switch contentType {
	case TypePDF:
		return ".pdf"
	case TypeDOC:
		return ".doc"
	case TypeDOCX:
		return ".docx"
	case TypeODT:
		return ".odt"
	case TypeRTF:
		return ".rtf"
	case TypeText:
		return ".txt"
	case TypePNG:
		return ".png"
	case TypeJPEG:
		return ".jpg"
	case TypeGIF:
		return ".gif"
	case TypeWebP:
		return ".webp"
	}
	return ""
}

var oleMagic = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}

// Sniff decides a stored file's content type from its bytes. f must be
// the whole file (zip-based formats are identified by their entries).
// It returns "application/octet-stream" for anything it does not know.
func Sniff(f *os.File, size int64) (string, error) {
	head := make([]byte, 4096)
	n, err := f.ReadAt(head, 0)
	if err != nil && err != io.EOF {
		return "", err
	}
	head = head[:n]
	switch {
	case bytes.HasPrefix(head, []byte("%PDF-")):
		return TypePDF, nil
	case bytes.HasPrefix(head, oleMagic):
		// Compound File Binary: Word 97–2003 documents, but also Excel,
		// PowerPoint and MSI installers. Word files name their main
		// stream "WordDocument" (UTF-16) in the directory.
		if hasUTF16(f, size, "WordDocument") {
			return TypeDOC, nil
		}
		return "application/x-ole-storage", nil
	case bytes.HasPrefix(head, []byte("{\\rtf")):
		return TypeRTF, nil
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return sniffZip(f, size), nil
	}
	ct := http.DetectContentType(head)
	ct, _, _ = strings.Cut(ct, ";")
	switch ct {
	case TypePNG, TypeJPEG, TypeGIF, TypeWebP:
		return ct, nil
	case "text/plain":
		// DetectContentType looks at 512 bytes; plain text must be UTF-8
		// throughout and free of control bytes other than whitespace.
		if isText(f, size) {
			return TypeText, nil
		}
	}
	if ct == "text/plain" || ct == "" {
		return "application/octet-stream", nil
	}
	return ct, nil
}

func sniffZip(f *os.File, size int64) string {
	zr, err := zip.NewReader(f, size)
	if err != nil {
		return "application/zip"
	}
	hasWord, hasTypes := false, false
	for _, zf := range zr.File {
		switch {
		case zf.Name == "[Content_Types].xml":
			hasTypes = true
		case strings.HasPrefix(zf.Name, "word/"):
			hasWord = true
		case zf.Name == "mimetype":
			rc, err := zf.Open()
			if err != nil {
				continue
			}
			b, _ := io.ReadAll(io.LimitReader(rc, 100))
			rc.Close()
			if string(b) == TypeODT {
				return TypeODT
			}
		}
	}
	if hasWord && hasTypes {
		return TypeDOCX
	}
	return "application/zip"
}

func hasUTF16(f *os.File, size int64, name string) bool {
	var pat []byte
	for _, r := range name {
		pat = append(pat, byte(r), 0)
	}
	buf := make([]byte, 64<<10)
	var carry []byte
	for off := int64(0); off < size; off += int64(len(buf)) {
		n, err := f.ReadAt(buf, off)
		chunk := append(carry, buf[:n]...)
		if bytes.Contains(chunk, pat) {
			return true
		}
		if len(chunk) >= len(pat) {
			carry = append([]byte(nil), chunk[len(chunk)-len(pat):]...)
		}
		if err != nil {
			break
		}
	}
	return false
}

func isText(f *os.File, size int64) bool {
	if size > 5<<20 {
		return false
	}
	b := make([]byte, size)
	if _, err := f.ReadAt(b, 0); err != nil && err != io.EOF {
		return false
	}
	if !utf8.Valid(b) {
		return false
	}
	for _, c := range b {
		if c < 0x20 && c != '\n' && c != '\r' && c != '\t' && c != '\f' {
			return false
		}
	}
	return true
}
