package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ashlarhq/ashlar/warehouse"
)

func runCLI(args []string, envv map[string]string) (stdout, stderr string, code int) {
	var out, errOut bytes.Buffer
	e := &env{stdout: &out, stderr: &errOut, getenv: func(k string) string { return envv[k] }}
	err := run(context.Background(), e, args)
	if err != nil {
		code = exitCode(err)
	}
	return out.String(), errOut.String(), code
}

func TestToolCommandsConventions(t *testing.T) {
	t.Parallel()
	for _, cmd := range []string{"sync", "listen", "careers"} {
		out, _, code := runCLI([]string{cmd, "--help"}, nil)
		if code != 0 || !strings.Contains(out, "Usage: ashlar "+cmd) || !strings.Contains(out, "Flags:") {
			t.Errorf("%s --help: exit %d, stdout %q", cmd, code, out)
		}
		if _, _, code := runCLI([]string{cmd, "--no-such-flag"}, nil); code != 2 {
			t.Errorf("%s with a bad flag: exit %d, want 2", cmd, code)
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"sync", "--key-stdin=false"}, "--into is required"},
		{[]string{"sync", "--into", "x.db", "--streams", "candidates,bogus"}, "unknown stream bogus"},
		{[]string{"sync", "--into", "x.db", "--page-size", "500"}, "--page-size"},
		{[]string{"sync", "--into", "x.db"}, "give the API key"},
		{[]string{"listen", "--exec", "true"}, "secret token"},
		{[]string{"listen", "--secret", "s"}, "exactly one of --exec, --forward, --nats"},
		{[]string{"listen", "--secret", "s", "--exec", "true", "--nats", "x"}, "exactly one"},
		{[]string{"careers", "--api-key", "k"}, "--board"},
		{[]string{"careers", "--board", "Not A Slug"}, "--board"},
		{[]string{"careers", "--board", "acme"}, "give the API key"},
		{[]string{"careers", "--board", "acme", "--upstream", "ftp://x"}, "--upstream"},
		{[]string{"careers", "--board", "acme", "--max-upload-size", "lots"}, "--max-upload-size"},
	} {
		var errOut bytes.Buffer
		err := run(context.Background(), &env{stdout: &bytes.Buffer{}, stderr: &errOut, getenv: func(string) string { return "" }}, c.args)
		var u usageError
		if exitCode(err) != 2 || !errors.As(err, &u) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err %v (stderr %q), want a usage error about %q", c.args, err, errOut.String(), c.want)
		}
	}
	out, _, code := runCLI([]string{"sync", "--list-streams", "--json"}, nil)
	if code != 0 || strings.Count(out, "\n") != len(warehouse.Catalog) || !strings.Contains(out, `"stream":"candidates","endpoint":"candidate.list","incremental":true`) {
		t.Errorf("--list-streams --json: exit %d\n%s", code, out)
	}
}

func TestAPIKeySources(t *testing.T) {
	t.Parallel()
	if k, err := apiKey("ignored", true, strings.NewReader("  from-stdin \nrest")); err != nil || k != "from-stdin" {
		t.Errorf("stdin: %q %v", k, err)
	}
	if k, err := apiKey("from-flag-or-env", false, nil); err != nil || k != "from-flag-or-env" {
		t.Errorf("flag: %q %v", k, err)
	}
	if _, err := apiKey("", true, strings.NewReader("\n")); err == nil {
		t.Error("empty stdin accepted")
	}
	if _, err := apiKey("", false, nil); err == nil {
		t.Error("no key accepted")
	}
}

func TestTTYProgressDraws(t *testing.T) {
	t.Parallel()
	// Written by the drawing goroutine only; read after close has waited for it.
	var b bytes.Buffer
	p := newTTYProgress(&b)
	p.event(warehouse.Progress{Kind: "start", Stream: "candidates", Mode: "full"})
	p.event(warehouse.Progress{Kind: "page", Stream: "candidates", Mode: "full", Records: 100, Pages: 1})
	p.event(warehouse.Progress{Kind: "start", Stream: "users", Mode: "incremental"})
	p.event(warehouse.Progress{Kind: "done", Stream: "candidates", Mode: "full", Records: 250, Pages: 3})
	p.event(warehouse.Progress{Kind: "skipped", Stream: "users", Detail: "the API key lacks the permission for user.list"})
	time.Sleep(time.Millisecond) // let the rates have a non-zero duration
	p.close()
	out := b.String()
	if !strings.Contains(out, "\x1b[2Kcandidates") || !strings.Contains(out, "250 records") ||
		!strings.Contains(out, "skipped") || !strings.Contains(out, "lacks the permission") {
		t.Fatalf("display:\n%q", out)
	}
}
