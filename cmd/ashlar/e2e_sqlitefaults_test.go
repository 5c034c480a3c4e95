package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/client"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/testserver"
)

// smallDisk mounts a tmpfs of the given size in a temporary directory and
// returns it; it is unmounted when the test ends. A real file system that
// fills up (or is read-only) is the fault itself, not a simulation: SQLite
// sees ENOSPC or EROFS. Mounting needs root (as in .ci/run); elsewhere the
// test skips.
func smallDisk(t *testing.T, size string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "ashlar-disk-")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		os.Remove(dir)
		t.Skipf("cannot mount a small tmpfs (needs root): %v %s", err, out)
	}
	t.Cleanup(func() {
		exec.Command("umount", dir).Run()
		os.Remove(dir)
	})
	return dir
}

// fillDisk writes a file in dir until the file system is full.
func fillDisk(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return path
			}
			t.Fatalf("fill the disk: %v", err)
		}
	}
}

// integrityCheck runs PRAGMA integrity_check on the SQLite file.
func integrityCheck(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var res string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&res); err != nil || res != "ok" {
		t.Fatalf("integrity_check of %s: %q %v", path, res, err)
	}
}

// A full disk under SQLite: writes fail with 503, Retry-After and Ashby's
// envelope, the log names the cause, a command exits 1 saying so, reads
// go on; once space is freed the server writes again by itself, and the
// database passes integrity_check with every acknowledged write in it.
func TestE2ESQLiteDiskFull(t *testing.T) {
	t.Parallel()
	dir := smallDisk(t, "6m")
	path := filepath.Join(dir, "ashlar.db")
	srv := testserver.Start(t, store.SQLite, testserver.Options{DSN: "sqlite:" + path})
	_, key := srv.NewOrg()
	c := srv.Client(key)
	c.MaxRetries = 0
	var acked []string
	for i := range 5 {
		var cd ashby.Candidate
		must(t, c, "candidate.create", map[string]any{"name": fmt.Sprintf("Before %d", i)}, &cd)
		acked = append(acked, cd.ID)
	}
	filler := fillDisk(t, dir)
	// The WAL may still have room from earlier transactions, so write
	// until a write fails: each note takes a few pages.
	note := strings.Repeat("Disk full. ", 400)
	var full *client.Error
	for i := 0; full == nil; i++ {
		if i == 2000 {
			t.Fatal("2,000 writes succeeded on a full disk")
		}
		var cd ashby.Candidate
		_, err := c.Call(context.Background(), "candidate.create", map[string]any{"name": fmt.Sprintf("Full %d", i)}, &cd)
		if err == nil {
			acked = append(acked, cd.ID)
			_, err = c.Call(context.Background(), "candidate.createNote", map[string]any{"candidateId": cd.ID, "note": note}, nil)
		}
		if err != nil && !asError(err, &full) {
			t.Fatalf("write %d on a full disk: %v, want an API error", i, err)
		}
	}
	if full.Status != 503 || full.Code != ashby.CodeUnavailable || full.RetryAfter <= 0 {
		t.Fatalf("a write on a full disk: %+v, want 503 %s with Retry-After", full, ashby.CodeUnavailable)
	}
	waitFor(t, srv, "a log line naming the full disk", func(logs string) bool {
		return strings.Contains(logs, "status=503") && strings.Contains(logs, "the disk is full")
	})
	// Reads go on.
	if _, _, err := client.All[ashby.Candidate](context.Background(), c, "candidate.list", nil); err != nil {
		t.Errorf("candidate.list on a full disk: %v", err)
	}
	// A command that writes exits 1 and says why.
	out, errOut, err := srv.TryCLI("org", "create", "full-disk", "--name", "Full Disk")
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(errOut, "disk is full") {
		t.Errorf("org create on a full disk: %v\n%s%s", err, out, errOut)
	}
	// Space comes back: writes succeed again without a restart.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	var cd ashby.Candidate
	must(t, c, "candidate.create", map[string]any{"name": "After"}, &cd)
	acked = append(acked, cd.ID)
	srv.Stop()
	integrityCheck(t, path)
	srv.Restart()
	c = srv.Client(key)
	for _, id := range acked {
		must(t, c, "candidate.info", map[string]any{"id": id}, nil)
	}
	t.Logf("%d writes acknowledged around the full disk, all present; integrity_check ok", len(acked))
}

// A read-only SQLite database (here: its file system remounted
// read-only; chmod would not stop root): commands and the server refuse
// it at once with exit status 1 and a message that says so, and the file
// is intact.
func TestE2ESQLiteReadOnly(t *testing.T) {
	t.Parallel()
	dir := smallDisk(t, "8m")
	path := filepath.Join(dir, "ashlar.db")
	srv := testserver.Start(t, store.SQLite, testserver.Options{DSN: "sqlite:" + path})
	_, key := srv.NewOrg()
	c := srv.Client(key)
	var cd ashby.Candidate
	must(t, c, "candidate.create", map[string]any{"name": "Kept"}, &cd)
	srv.Stop()
	if out, err := exec.Command("mount", "-o", "remount,ro", dir).CombinedOutput(); err != nil {
		t.Fatalf("remount read-only: %v %s", err, out)
	}
	for _, args := range [][]string{
		{"org", "create", "read-only", "--name", "Read Only"},
		{"serve", "--addr", "127.0.0.1:0"},
	} {
		out, errOut, err := srv.TryCLI(args...)
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(errOut, "read-only file system") {
			t.Errorf("ashlar %s on a read-only database: %v\n%s%s", strings.Join(args, " "), err, out, errOut)
		}
	}
	if out, err := exec.Command("mount", "-o", "remount,rw", dir).CombinedOutput(); err != nil {
		t.Fatalf("remount read-write: %v %s", err, out)
	}
	integrityCheck(t, path)
	srv.Restart()
	must(t, srv.Client(key), "candidate.info", map[string]any{"id": cd.ID}, nil)
}

// waitFor waits until the server's logs satisfy cond.
func waitFor(t *testing.T, srv *testserver.Server, what string, cond func(string) bool) {
	t.Helper()
	waitUntil(t, what, 30*time.Second, func() bool { return cond(srv.Logs()) })
}
