// Package testserver runs the real ashlar binary for end-to-end tests: it
// builds it once per test process, starts it on a free port against a
// fresh database on either engine, and drives its command line.
package testserver

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ashlarhq/ashlar/client"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/store/storetest"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary returns the path of a freshly built ashlar binary.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ashlar-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "ashlar")
		args := []string{"build", "-o", binPath}
		if raceEnabled {
			args = append(args, "-race")
		}
		cmd := exec.Command("go", append(args, "github.com/ashlarhq/ashlar/cmd/ashlar")...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// Server is a running ashlar serve process.
type Server struct {
	// URL reaches the server directly (not its --base-url).
	URL string
	// MetricsURL is the metrics listener's, with --metrics-addr.
	MetricsURL string
	DSN        string
	Engine     store.Engine
	Args       []string
	Env        []string

	t      testing.TB
	cmd    *exec.Cmd
	mu     sync.Mutex
	stdout bytes.Buffer
	stderr bytes.Buffer
	done   chan struct{}
}

// Options adjust Start.
type Options struct {
	// Args are extra serve flags.
	Args []string
	// Env adds environment variables.
	Env []string
	// DSN reuses a database instead of a fresh one.
	DSN string
}

// Start runs ashlar serve on engine with a fresh database. It is stopped
// when the test ends.
func Start(t testing.TB, engine store.Engine, o Options) *Server {
	t.Helper()
	dsn := o.DSN
	if dsn == "" {
		dsn = storetest.DSN(t, engine)
	}
	// Uploaded files go to a directory of the test's own, kept across
	// Restart, rather than ./ashlar-files in the package directory.
	env := append([]string{"ASHLAR_FILES_DIR=" + t.TempDir()}, o.Env...)
	s := &Server{DSN: dsn, Engine: engine, Args: o.Args, Env: env, t: t}
	// Registered before starting, so that a start that fails the test
	// (a timeout) still stops the process instead of orphaning it.
	t.Cleanup(s.Stop)
	collectServer(s)
	s.start()
	return s
}

// The start-up lines, in text or JSON (--log-format json): the address
// the API listens on, and the metrics listener's with --metrics-addr.
var (
	listening        = regexp.MustCompile(`(?:ashlar: listening on |"msg":"listening","addr":")([0-9A-Za-z.:\[\]]+)`)
	metricsListening = regexp.MustCompile(`(?:ashlar: metrics on http://|"msg":"metrics listening","addr":")([0-9A-Za-z.:\[\]]+)`)
)

// startTimeout bounds start-up, which includes seeding for --demo; the
// race detector makes that several times slower.
var startTimeout = map[bool]time.Duration{false: time.Minute, true: 4 * time.Minute}[raceEnabled]

func (s *Server) start() {
	t := s.t
	t.Helper()
	args := append([]string{"serve", "--db", s.DSN, "--addr", "127.0.0.1:0", "--rate-limit", "0", "--log-level", "warn"}, s.Args...)
	cmd := exec.Command(Binary(t), args...)
	cmd.Env = append(os.Environ(), s.Env...)
	cmd.Stdout = &lockedWriter{mu: &s.mu, w: &s.stdout}
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.cmd, s.done = cmd, make(chan struct{})
	urlc := make(chan string, 1)
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.stderr.WriteString(line + "\n")
			s.mu.Unlock()
			// The metrics line comes before the listening line, whose
			// hand-over to start orders this write before any read.
			if m := metricsListening.FindStringSubmatch(line); m != nil {
				s.MetricsURL = "http://" + m[1]
			}
			if m := listening.FindStringSubmatch(line); m != nil {
				select {
				case urlc <- "http://" + m[1]:
				default:
				}
			}
		}
	}()
	go func() {
		cmd.Wait()
		pw.Close()
		// Every line is in Logs once Stop returns.
		<-scanned
		close(s.done)
	}()
	select {
	case s.URL = <-urlc:
	case <-s.done:
		t.Fatalf("ashlar serve exited before listening:\n%s", s.Logs())
	case <-time.After(startTimeout):
		t.Fatalf("ashlar serve did not start in %s:\n%s", startTimeout, s.Logs())
	}
}

// Logs returns what the server printed so far.
func (s *Server) Logs() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stdout.String() + s.stderr.String()
}

// Stdout returns what the server printed on standard output.
func (s *Server) Stdout() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stdout.String()
}

// WaitStdout waits until the server's standard output matches re and
// returns the first match, or fails the test after d.
func (s *Server) WaitStdout(re *regexp.Regexp, d time.Duration) string {
	s.t.Helper()
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := re.FindString(s.Stdout()); m != "" {
			return m
		}
	}
	s.t.Fatalf("server printed nothing matching %s in %s:\n%s", re, d, s.Logs())
	return ""
}

// Stop stops the server with SIGTERM and waits for it.
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.done:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
}

// Signal sends sig to the server process (0: checks that it runs).
func (s *Server) Signal(sig os.Signal) error {
	select {
	case <-s.done:
		return os.ErrProcessDone
	default:
	}
	return s.cmd.Process.Signal(sig)
}

// Kill stops the server with SIGKILL, as a crash would.
func (s *Server) Kill() {
	s.cmd.Process.Kill()
	<-s.done
}

// Restart starts the server again on the same database (after Stop or Kill).
func (s *Server) Restart() {
	s.Stop()
	s.start()
}

// CLI runs an ashlar command against the server's database and returns
// its standard output; it fails the test if the command fails.
func (s *Server) CLI(args ...string) string {
	s.t.Helper()
	out, errOut, err := s.TryCLI(args...)
	if err != nil {
		s.t.Fatalf("ashlar %s: %v\n%s%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// CLIInput is CLI with stdin as the command's standard input (for
// --password-stdin).
func (s *Server) CLIInput(stdin string, args ...string) string {
	s.t.Helper()
	if slices.Contains(args, "--password-stdin") {
		RegisterSecret(s.t, "password", strings.TrimSpace(stdin))
	}
	out, errOut, err := s.tryCLI(strings.NewReader(stdin), args...)
	if err != nil {
		s.t.Fatalf("ashlar %s: %v\n%s%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// TryCLI runs an ashlar command and returns stdout, stderr and its error.
func (s *Server) TryCLI(args ...string) (string, string, error) {
	return s.tryCLI(nil, args...)
}

func (s *Server) tryCLI(stdin io.Reader, args ...string) (string, string, error) {
	args = append(args, "--db", s.DSN)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, Binary(s.t), args...)
	cmd.Env = append(os.Environ(), s.Env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr, cmd.Stdin = &out, &errOut, stdin
	err := cmd.Run()
	collectCLI(errOut.String())
	return out.String(), errOut.String(), err
}

var orgSeq struct {
	sync.Mutex
	n int
}

// NewOrg creates an organization through the CLI and returns its slug
// and an API key holding every permission.
func (s *Server) NewOrg() (slug, key string) {
	orgSeq.Lock()
	orgSeq.n++
	slug = fmt.Sprintf("org-%d-%d", os.Getpid(), orgSeq.n)
	orgSeq.Unlock()
	s.CLI("org", "create", slug, "--name", "Test "+slug)
	return slug, s.Key(slug, "all")
}

// Key creates an API key in the organization with the given scopes.
func (s *Server) Key(slug, scopes string) string {
	key := strings.TrimSpace(s.CLI("apikey", "create", "--org", slug, "--name", "test key "+scopes, "--scopes", scopes))
	RegisterSecret(s.t, "api-key", key)
	return key
}

// Client returns an API client for key.
func (s *Server) Client(key string) *client.Client {
	c := client.New(s.URL, key)
	c.MaxRetries = 2
	return c
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// Engines runs fn as a subtest per engine.
func Engines(t *testing.T, fn func(t *testing.T, engine store.Engine)) {
	for _, e := range storetest.Engines {
		t.Run(e.String(), func(t *testing.T) { fn(t, e) })
	}
}
