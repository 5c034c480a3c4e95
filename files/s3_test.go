package files

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// The S3 client against s3rver, an S3-compatible server (installed from
// npm by .ci/setup.d/browser.sh into files/testdata/s3): addressing,
// uploads, downloads, deletes and their error statuses. s3rver checks the
// access key but not Version 4 signatures, so signing itself is checked
// against AWS's published vector (TestS3SignatureVector). Skipped when
// s3rver or node is missing, unless ASHLAR_REQUIRE_S3=1 (set by .ci/run),
// which makes that a failure.
func startS3rver(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	bin := filepath.Join(filepath.Dir(file), "testdata", "s3", "node_modules", "s3rver", "bin", "s3rver.js")
	node, err := exec.LookPath("node")
	if _, serr := os.Stat(bin); serr != nil || err != nil {
		if os.Getenv("ASHLAR_REQUIRE_S3") == "1" {
			t.Fatalf("s3rver is required (ASHLAR_REQUIRE_S3=1) but not installed (npm ci in files/testdata/s3): %v %v", serr, err)
		}
		t.Skipf("s3rver not installed (npm ci in files/testdata/s3): %v %v", serr, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(node, bin, "-d", t.TempDir(), "-a", "127.0.0.1", "-p", fmt.Sprint(port), "--configure-bucket", "ashlar", "-s", "--no-vhost-buckets")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return "http://" + addr
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("s3rver did not start")
	return ""
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestS3AgainstS3rver(t *testing.T) {
	endpoint := startS3rver(t)
	ctx := context.Background()
	s3 := &S3{Endpoint: endpoint, Bucket: "ashlar", Region: "us-east-1", AccessKey: "S3RVER", SecretKey: "S3RVER", PathStyle: true}
	data := bytes.Repeat([]byte("%PDF-1.4 ashlar "), 5000)
	key := "org/o1/f1"
	if err := s3.Put(ctx, key, bytes.NewReader(data), int64(len(data)), TypePDF, sum(data)); err != nil {
		t.Fatal(err)
	}
	rc, err := s3.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes, want %d", len(got), len(data))
	}
	// An unknown access key is refused, and reported as an error, not as
	// a missing object.
	bad := *s3
	bad.AccessKey = "NOBODY"
	if _, err := bad.Get(ctx, key); err == nil || errors.Is(err, ErrBlobNotFound) || !strings.Contains(err.Error(), "403") {
		t.Errorf("a request with an unknown access key: %v", err)
	}
	if err := s3.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if _, err := s3.Get(ctx, key); !errors.Is(err, ErrBlobNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	if err := s3.Delete(ctx, key); err != nil {
		t.Fatalf("deleting a missing object: %v", err)
	}

	// The whole store on S3: save, resolve, delete with the candidate.
	st := newStore(t, Config{Blobs: s3})
	staged, err := st.Stage(ctx, bytes.NewReader(data), "cv.pdf", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer staged.Remove()
	h, err := st.Save(ctx, "org1", "ApplicationForm", staged)
	if err != nil {
		t.Fatal(err)
	}
	f, err := st.Resolve(ctx, st.db, "org1", h.Handle)
	if err != nil {
		t.Fatal(err)
	}
	rc, err = s3.Get(ctx, f.BlobKey)
	if err != nil {
		t.Fatal(err)
	}
	got, _ = io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, data) {
		t.Fatal("saved contents differ")
	}
}
