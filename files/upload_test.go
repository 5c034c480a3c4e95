package files

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
)

func uploadServer(t *testing.T, cfg Config) (*Store, *httptest.Server) {
	s := newStore(t, cfg)
	mux := http.NewServeMux()
	s.Routes(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return s, srv
}

// rawRequest writes a request's head (and body, if any) on a new
// connection and returns the connection, for requests whose body is
// never finished.
func rawRequest(t *testing.T, srv *httptest.Server, target string, contentLength int, body string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: ashlar.test\r\nContent-Type: multipart/form-data; boundary=XYZ\r\nContent-Length: %d\r\n\r\n%s", target, contentLength, body)
	// A guard against hanging, not a timing assertion: the server must
	// answer long before it.
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	return c
}

func readStatus(t *testing.T, c net.Conn) int {
	t.Helper()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no response: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// The upload URL is public: a request without a valid handle is refused
// from its headers alone, while its body has not even been sent.
func TestUploadChecksTheHandleBeforeTheBody(t *testing.T) {
	s, srv := uploadServer(t, Config{MaxSize: 1 << 20})
	h, err := s.CreateUpload(context.Background(), ashby.NewID(), ashby.UploadCandidateFiles, "cv.pdf", "application/pdf", 1000)
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(h.URL, "signature="+h.Fields["signature"], "signature="+strings.Repeat("0", 64), 1)
	for name, target := range map[string]string{
		"no handle":        "/files/upload",
		"forged signature": strings.TrimPrefix(bad, s.cfg.BaseURL),
		"unknown key":      "/files/upload?key=" + ashby.NewID() + "&expires=9999999999&signature=00",
	} {
		c := rawRequest(t, srv, target, 1<<20, "")
		if got := readStatus(t, c); got != http.StatusForbidden {
			t.Errorf("%s: %d, want 403 before the body", name, got)
		}
	}
	// A declared body larger than any upload is refused from the headers.
	c := rawRequest(t, srv, strings.TrimPrefix(h.URL, s.cfg.BaseURL), 64<<20, "")
	if got := readStatus(t, c); got != http.StatusRequestEntityTooLarge {
		t.Errorf("an oversized body: %d", got)
	}
	// The URL the handle gives works, with or without the fields repeated
	// in the body (as an S3 presigned POST sends them).
	for _, withFields := range []bool{true, false} {
		h, err := s.CreateUpload(context.Background(), ashby.NewID(), ashby.UploadCandidateFiles, "a.txt", "text/plain", 5)
		if err != nil {
			t.Fatal(err)
		}
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		if withFields {
			for k, v := range h.Fields {
				mw.WriteField(k, v)
			}
		}
		fw, _ := mw.CreateFormFile("file", "a.txt")
		io.WriteString(fw, "hello")
		mw.Close()
		resp, err := http.Post(srv.URL+strings.TrimPrefix(h.URL, s.cfg.BaseURL), mw.FormDataContentType(), &body)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("upload (fields in the body: %v): %d %s", withFields, resp.StatusCode, b)
		}
	}
}

// A body that trickles in is cut off at its read deadline instead of
// holding the connection for the server's whole read timeout.
func TestUploadBodyDeadline(t *testing.T) {
	s, srv := uploadServer(t, Config{MaxSize: 1 << 20, BodyTimeout: 200 * time.Millisecond})
	h, err := s.CreateUpload(context.Background(), ashby.NewID(), ashby.UploadCandidateFiles, "cv.pdf", "application/pdf", 1000)
	if err != nil {
		t.Fatal(err)
	}
	c := rawRequest(t, srv, strings.TrimPrefix(h.URL, s.cfg.BaseURL), 2000, "--XYZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"cv.pdf\"\r\n\r\n%PDF")
	// Nothing more is sent: the server answers and closes the connection.
	if got := readStatus(t, c); got != http.StatusBadRequest {
		t.Fatalf("a stalled body: %d", got)
	}
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("the connection stays open: %v", err)
	}
}

// The upload URL has a per-IP limit like the public forms.
func TestUploadRateLimitPerIP(t *testing.T) {
	_, srv := uploadServer(t, Config{MaxSize: 1 << 20, UploadsPerMinute: 1, UploadBurst: 2})
	var got []int
	for range 3 {
		resp, err := http.Post(srv.URL+"/files/upload", "multipart/form-data; boundary=XYZ", strings.NewReader("--XYZ--\r\n"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got = append(got, resp.StatusCode)
	}
	if got[0] != http.StatusForbidden || got[1] != http.StatusForbidden || got[2] != http.StatusTooManyRequests {
		t.Fatalf("statuses %v, want 403 403 429", got)
	}
}
