package files

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"time"
)

// Scanner checks an uploaded file for malware before it is kept. Its
// verdict is enforced: an infected file is refused, and so is a file the
// scanner could not check (Scan returning an error): Ashlar fails closed.
type Scanner interface {
	// Scan returns "" for a clean file, or what was found.
	Scan(ctx context.Context, path string) (found string, err error)
}

// CommandScanner runs a command with the file's path as its last
// argument, following clamscan's convention: exit status 0 means clean,
// 1 means infected (its output says what), anything else is an error.
type CommandScanner struct {
	Command []string
	Timeout time.Duration
}

// Scan runs the command.
func (c CommandScanner) Scan(ctx context.Context, path string) (string, error) {
	if len(c.Command) == 0 {
		return "", errors.New("scan: no command configured")
	}
	timeout := c.Timeout
	if timeout == 0 {
		timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.Command[0], append(c.Command[1:], path)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return "", nil
	case errors.As(err, &exit) && exit.ExitCode() == 1:
		found := strings.TrimSpace(out.String())
		if found == "" {
			found = "rejected by " + c.Command[0]
		}
		return lastLine(found), nil
	}
	return "", fmt.Errorf("scan with %s: %v: %s", c.Command[0], err, lastLine(strings.TrimSpace(out.String())))
}

func lastLine(s string) string {
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// ClamdScanner streams files to a clamd daemon with its INSTREAM
// command. Addr is "unix:/path/to/clamd.sock" or "tcp:host:port" (a bare
// host:port means TCP).
type ClamdScanner struct {
	Addr    string
	Timeout time.Duration
}

// Scan sends the file to clamd.
func (c ClamdScanner) Scan(ctx context.Context, path string) (string, error) {
	network, addr := "tcp", c.Addr
	if rest, ok := strings.CutPrefix(addr, "unix:"); ok {
		network, addr = "unix", rest
	} else if rest, ok := strings.CutPrefix(addr, "tcp:"); ok {
		addr = rest
	}
	timeout := c.Timeout
	if timeout == 0 {
		timeout = 2 * time.Minute
	}
	var d net.Dialer
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return "", fmt.Errorf("clamd: %w", err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if _, err := conn.Write([]byte("zINSTREAM\x00")); err != nil {
		return "", fmt.Errorf("clamd: %w", err)
	}
	buf := make([]byte, 64<<10)
	var size [4]byte
	for {
		n, rerr := f.Read(buf)
		if n > 0 {
			binary.BigEndian.PutUint32(size[:], uint32(n))
			if _, err := conn.Write(size[:]); err != nil {
				return "", fmt.Errorf("clamd: %w", err)
			}
			if _, err := conn.Write(buf[:n]); err != nil {
				return "", fmt.Errorf("clamd: %w", err)
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return "", rerr
		}
	}
	if _, err := conn.Write([]byte{0, 0, 0, 0}); err != nil {
		return "", fmt.Errorf("clamd: %w", err)
	}
	reply, err := io.ReadAll(io.LimitReader(conn, 4096))
	if err != nil && len(reply) == 0 {
		return "", fmt.Errorf("clamd: read reply: %w", err)
	}
	r := strings.TrimSpace(strings.TrimRight(string(reply), "\x00"))
	switch {
	case strings.HasSuffix(r, " OK"):
		return "", nil
	case strings.HasSuffix(r, " FOUND"):
		r = strings.TrimSuffix(r, " FOUND")
		if _, sig, ok := strings.Cut(r, ": "); ok {
			r = sig
		}
		return r, nil
	}
	return "", fmt.Errorf("clamd: %s", r)
}
