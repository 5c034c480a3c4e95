package files

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/store/storetest"
)

// AWS's published Signature Version 4 example for S3 ("GET Object" in
// "Signature Calculations for the Authorization Header").
func TestS3SignatureVector(t *testing.T) {
	s := &S3{Region: "us-east-1", AccessKey: "AKIAIOSFODNN7EXAMPLE", SecretKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
	req, _ := http.NewRequest(http.MethodGet, "https://examplebucket.s3.amazonaws.com/test.txt", nil)
	req.Header.Set("Range", "bytes=0-9")
	s.sign(req, emptySHA256, time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC))
	want := "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
	if got := req.Header.Get("Authorization"); got != want {
		t.Fatalf("Authorization:\n got %s\nwant %s", got, want)
	}
}

func TestS3ObjectURL(t *testing.T) {
	path := &S3{Endpoint: "http://127.0.0.1:9000", Bucket: "ashlar", PathStyle: true}
	if u, _ := path.objectURL("org/a/b"); u.String() != "http://127.0.0.1:9000/ashlar/org/a/b" {
		t.Fatalf("path style: %s", u)
	}
	host := &S3{Endpoint: "https://s3.eu-west-1.amazonaws.com", Bucket: "ashlar"}
	if u, _ := host.objectURL("org/a/b"); u.String() != "https://ashlar.s3.eu-west-1.amazonaws.com/org/a/b" {
		t.Fatalf("virtual host style: %s", u)
	}
	if _, err := host.objectURL("../etc/passwd"); err == nil {
		t.Fatal("a key with .. was accepted")
	}
}

func writeTemp(t *testing.T, b []byte) (*os.File, int64) {
	f, err := os.CreateTemp(t.TempDir(), "sniff")
	if err != nil {
		t.Fatal(err)
	}
	f.Write(b)
	t.Cleanup(func() { f.Close() })
	return f, int64(len(b))
}

func zipOf(t *testing.T, files map[string]string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		w, _ := zw.Create(name)
		io.WriteString(w, body)
	}
	zw.Close()
	return buf.Bytes()
}

func TestSniff(t *testing.T) {
	ole := append(append([]byte{}, oleMagic...), make([]byte, 600)...)
	word := append(append([]byte{}, ole...), []byte("W\x00o\x00r\x00d\x00D\x00o\x00c\x00u\x00m\x00e\x00n\x00t\x00")...)
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"pdf", []byte("%PDF-1.7\n..."), TypePDF},
		{"png", append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 32)...), TypePNG},
		{"jpeg", append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, make([]byte, 32)...), TypeJPEG},
		{"docx", zipOf(t, map[string]string{"[Content_Types].xml": "<Types/>", "word/document.xml": "<w/>"}), TypeDOCX},
		{"odt", zipOf(t, map[string]string{"mimetype": TypeODT, "content.xml": "<x/>"}), TypeODT},
		{"plain zip", zipOf(t, map[string]string{"evil.exe": "MZ"}), "application/zip"},
		{"word 97", word, TypeDOC},
		{"other OLE (an MSI)", ole, "application/x-ole-storage"},
		{"rtf", []byte(`{\rtf1\ansi hello}`), TypeRTF},
		{"text", []byte("Ada Lovelace\nEngineer – London\n"), TypeText},
		{"text with NUL", []byte("abc\x00def"), "application/octet-stream"},
		{"windows executable", append([]byte("MZ\x90\x00"), make([]byte, 64)...), "application/octet-stream"},
		{"elf", append([]byte("\x7fELF"), make([]byte, 64)...), "application/octet-stream"},
		{"html", []byte("<!DOCTYPE html><script>alert(1)</script>"), "text/html"},
	}
	for _, c := range cases {
		f, n := writeTemp(t, c.data)
		got, err := Sniff(f, n)
		if err != nil || got != c.want {
			t.Errorf("%s: got %q (%v), want %q", c.name, got, err, c.want)
		}
	}
}

func TestCleanName(t *testing.T) {
	for in, want := range map[string]string{
		"../../etc/passwd": "passwd", `C:\Users\ada\cv.pdf`: "cv.pdf", "a\x00b\nc.pdf": "abc.pdf", "": "file", "..": "file",
		strings.Repeat("é", 150): strings.Repeat("é", 100),
	} {
		if got := cleanName(in); got != want {
			t.Errorf("cleanName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDiskKeys(t *testing.T) {
	d, _ := NewDisk(t.TempDir())
	ctx := context.Background()
	for _, bad := range []string{"../x", "/abs", "org/../../x", "Org/A", "a//b/../c", ""} {
		if err := d.Put(ctx, bad, strings.NewReader("x"), 1, "", ""); err == nil {
			t.Errorf("key %q accepted", bad)
		}
	}
	if err := d.Put(ctx, "org/o1/f1", strings.NewReader("hello"), 5, "text/plain", ""); err != nil {
		t.Fatal(err)
	}
	rc, err := d.Get(ctx, "org/o1/f1")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "hello" {
		t.Fatalf("read back %q", b)
	}
	if err := d.Put(ctx, "org/o1/f2", strings.NewReader("hel"), 5, "", ""); err == nil {
		t.Fatal("a short write was kept")
	}
	if _, err := d.Get(ctx, "org/o1/f2"); !errors.Is(err, ErrBlobNotFound) {
		t.Fatalf("a failed Put left a blob: %v", err)
	}
	d.Delete(ctx, "org/o1/f1")
	if _, err := d.Get(ctx, "org/o1/f1"); !errors.Is(err, ErrBlobNotFound) {
		t.Fatalf("after delete: %v", err)
	}
}

func newStore(t *testing.T, cfg Config) *Store {
	db := storetest.Open(t, store.SQLite)
	if cfg.Blobs == nil {
		cfg.Blobs, _ = NewDisk(t.TempDir())
	}
	cfg.TempDir = t.TempDir()
	s, err := New(db, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func script(t *testing.T, body string) string {
	p := filepath.Join(t.TempDir(), "scan.sh")
	os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755)
	return p
}

const eicar = `X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*`

func TestStageLimitsTypesAndScanning(t *testing.T) {
	ctx := context.Background()
	pdf := []byte("%PDF-1.4\nhello\n%%EOF\n")
	// The scanner flags files holding the EICAR test string, as ClamAV does.
	scanner := CommandScanner{Command: []string{script(t, `if grep -q EICAR-STANDARD "$1"; then echo "$1: Eicar-Signature FOUND"; exit 1; fi; exit 0`)}}
	s := newStore(t, Config{MaxSize: 128, Scanner: scanner})
	st, err := s.Stage(ctx, bytes.NewReader(pdf), "../cv.pdf", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Remove()
	if st.ContentType != TypePDF || st.Size != int64(len(pdf)) || st.Name != "cv.pdf" || len(st.SHA256) != 64 {
		t.Fatalf("staged: %+v", st)
	}
	reject := func(data []byte, reason string) {
		t.Helper()
		_, err := s.Stage(ctx, bytes.NewReader(data), "x.pdf", 0)
		var rej *Rejected
		if !errors.As(err, &rej) || rej.Reason != reason {
			t.Fatalf("want %s, got %v", reason, err)
		}
	}
	reject(append([]byte("%PDF-1.4\n"), make([]byte, 120)...), "too_large")
	reject(nil, "empty")
	reject([]byte("MZ\x90\x00 not a resume"), "unsupported_type")
	reject([]byte("<html><script>x</script></html>"), "unsupported_type")
	reject([]byte("%PDF-1.4\n"+eicar), "infected")
}

func TestScannerVerdicts(t *testing.T) {
	ctx := context.Background()
	pdf := []byte("%PDF-1.4\n" + eicar + "\n")
	for _, c := range []struct {
		name, body, reason string
	}{
		{"clean", "exit 0", ""},
		{"infected", `echo "$1: Eicar-Signature FOUND"; exit 1`, "infected"},
		{"scanner broken", "echo 'cannot connect to clamd' >&2; exit 2", "scan_failed"},
	} {
		s := newStore(t, Config{Scanner: CommandScanner{Command: []string{script(t, c.body)}}})
		st, err := s.Stage(ctx, bytes.NewReader(pdf), "x.pdf", 0)
		var rej *Rejected
		switch {
		case c.reason == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.reason != "" && (!errors.As(err, &rej) || rej.Reason != c.reason):
			t.Errorf("%s: want %s, got %v", c.name, c.reason, err)
		}
		st.Remove()
	}
}

// fakeClamd speaks clamd's INSTREAM protocol on a Unix socket: it checks
// the framing and answers FOUND for streams holding the EICAR string.
func fakeClamd(t *testing.T) string {
	dir, err := os.MkdirTemp("", "clamd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "clamd.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				cmd := make([]byte, len("zINSTREAM\x00"))
				if _, err := io.ReadFull(c, cmd); err != nil || string(cmd) != "zINSTREAM\x00" {
					c.Write([]byte("UNKNOWN COMMAND\x00"))
					return
				}
				var data []byte
				for {
					var n uint32
					if err := binary.Read(c, binary.BigEndian, &n); err != nil {
						return
					}
					if n == 0 {
						break
					}
					chunk := make([]byte, n)
					if _, err := io.ReadFull(c, chunk); err != nil {
						return
					}
					data = append(data, chunk...)
				}
				if bytes.Contains(data, []byte("EICAR-STANDARD-ANTIVIRUS-TEST-FILE")) {
					c.Write([]byte("stream: Win.Test.EICAR_HDB-1 FOUND\x00"))
				} else {
					c.Write([]byte("stream: OK\x00"))
				}
			}(conn)
		}
	}()
	return "unix:" + sock
}

func TestClamdScanner(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, Config{Scanner: ClamdScanner{Addr: fakeClamd(t)}})
	// More than one INSTREAM chunk, to exercise the framing.
	big := append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte("x"), 200<<10)...)
	st, err := s.Stage(ctx, bytes.NewReader(big), "big.pdf", 0)
	if err != nil {
		t.Fatal(err)
	}
	st.Remove()
	_, err = s.Stage(ctx, bytes.NewReader(append(big, eicar...)), "bad.pdf", 0)
	var rej *Rejected
	if !errors.As(err, &rej) || rej.Reason != "infected" || !strings.Contains(rej.Message, "EICAR") {
		t.Fatalf("infected file: %v", err)
	}
	down := newStore(t, Config{Scanner: ClamdScanner{Addr: "unix:/nonexistent/clamd.sock"}})
	if _, err := down.Stage(ctx, bytes.NewReader(big), "x.pdf", 0); !errors.As(err, &rej) || rej.Reason != "scan_failed" {
		t.Fatalf("clamd unreachable must refuse the file: %v", err)
	}
}

func TestHandles(t *testing.T) {
	s := newStore(t, Config{})
	org, other := ashby.NewID(), ashby.NewID()
	id := ashby.NewID()
	h := s.Handle(org, id)
	if got, err := s.ParseHandle(org, h); err != nil || got != id {
		t.Fatalf("round trip: %s %v", got, err)
	}
	if _, err := s.ParseHandle(other, h); err == nil {
		t.Fatal("another organization's handle was accepted")
	}
	tampered := []byte(h)
	tampered[5] ^= 1
	for _, bad := range []string{string(tampered), h + "x", "", "abc", strings.Replace(h, ".", "", 1)} {
		if _, err := s.ParseHandle(org, bad); err == nil {
			t.Errorf("handle %q accepted", bad)
		}
	}
}

func TestSaveClaimSweep(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, Config{})
	org, cand := ashby.NewID(), ashby.NewID()
	stage := func() *Staged {
		st, err := s.Stage(ctx, strings.NewReader("%PDF-1.4\n"), "cv.pdf", 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(st.Remove)
		return st
	}
	kept, err := s.Save(ctx, org, ashby.UploadApplicationForm, stage())
	if err != nil {
		t.Fatal(err)
	}
	orphan, err := s.Save(ctx, org, ashby.UploadApplicationForm, stage())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.db.Write(ctx, func(tx *store.Tx) error { return s.Claim(ctx, tx, org, cand, kept.ID) }); err != nil {
		t.Fatal(err)
	}
	err = s.db.Write(ctx, func(tx *store.Tx) error { return s.Claim(ctx, tx, org, ashby.NewID(), kept.ID) })
	if ae, ok := ashby.AsError(err); !ok || ae.Code != "file_in_use" {
		t.Fatalf("claiming another candidate's file: %v", err)
	}
	// A day later the unclaimed file is swept, the claimed one kept.
	s.db.Now = func() time.Time { return time.Now().Add(25 * time.Hour) }
	if n, err := s.Sweep(ctx); err != nil || n != 1 {
		t.Fatalf("sweep: %d %v", n, err)
	}
	if _, err := s.Resolve(ctx, s.db, org, orphan.Handle); err == nil {
		t.Fatal("the swept file still resolves")
	}
	f, err := s.Resolve(ctx, s.db, org, kept.Handle)
	if err != nil || f.CandidateID != cand {
		t.Fatalf("claimed file: %+v %v", f, err)
	}
	// Anonymizing the candidate deletes the file and its contents.
	if err := s.db.Write(ctx, func(tx *store.Tx) error { return s.DeleteCandidateFiles(ctx, tx, org, cand) }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Resolve(ctx, s.db, org, kept.Handle); err == nil {
		t.Fatal("the anonymized candidate's file still resolves")
	}
	if _, err := s.cfg.Blobs.Get(ctx, f.BlobKey); !errors.Is(err, ErrBlobNotFound) {
		t.Fatalf("contents after deletion: %v", err)
	}
}
