package testserver

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
)

// The secrets check: every secret an end-to-end test hands the binary
// (API keys, passwords, webhook secrets, OIDC client secrets, session
// cookies, a database password) is registered here, and everything the
// binary prints (each server's stdout and stderr, each command's stderr)
// is collected. CheckSecrets, run from TestMain once every test has run,
// fails the suite if any log holds any secret (docs/testing.md).
var collector struct {
	mu      sync.Mutex
	secrets map[string]string // secret → what it is
	servers []*Server
	cli     []string // commands' standard error
}

// RegisterSecret notes that s is a secret (kind says which) that must
// appear in no log. Strings too short to be told from ordinary text are
// refused: the check would match them by chance.
func RegisterSecret(t testing.TB, kind, s string) {
	t.Helper()
	if len(s) < 8 {
		t.Fatalf("secret %s %q is too short for the log check; use testserver.Secret", kind, s)
	}
	collector.mu.Lock()
	defer collector.mu.Unlock()
	if collector.secrets == nil {
		collector.secrets = map[string]string{}
	}
	collector.secrets[s] = kind
}

// Secret returns a fresh random secret of the given kind, registered.
func Secret(t testing.TB, kind string) string {
	b := make([]byte, 12)
	rand.Read(b)
	s := "sx-" + kind + "-" + hex.EncodeToString(b)
	RegisterSecret(t, kind, s)
	return s
}

func collectServer(s *Server) {
	collector.mu.Lock()
	defer collector.mu.Unlock()
	collector.servers = append(collector.servers, s)
}

func collectCLI(errOut string) {
	if errOut == "" {
		return
	}
	collector.mu.Lock()
	defer collector.mu.Unlock()
	collector.cli = append(collector.cli, errOut)
}

// SecretsReport is what CheckSecrets found.
type SecretsReport struct {
	Secrets map[string]int // registered secrets by kind
	Logs    int            // logs searched (servers and commands)
	Bytes   int            // their size
	Leaks   []string       // "kind in log": one line per secret found
}

// CheckSecrets searches every collected log for every registered secret.
func CheckSecrets() SecretsReport {
	collector.mu.Lock()
	servers := slices.Clone(collector.servers)
	logs := slices.Clone(collector.cli)
	secrets := make(map[string]string, len(collector.secrets))
	for s, k := range collector.secrets {
		secrets[s] = k
	}
	collector.mu.Unlock()
	for _, s := range servers {
		logs = append(logs, s.Logs())
	}
	r := SecretsReport{Secrets: map[string]int{}, Logs: len(logs)}
	for _, k := range secrets {
		r.Secrets[k]++
	}
	for i, l := range logs {
		r.Bytes += len(l)
		for s, k := range secrets {
			if j := strings.Index(l, s); j >= 0 {
				line := l[strings.LastIndexByte(l[:j], '\n')+1:]
				if e := strings.IndexByte(line, '\n'); e >= 0 {
					line = line[:e]
				}
				r.Leaks = append(r.Leaks, fmt.Sprintf("%s in log %d: %s", k, i, strings.ReplaceAll(line, s, "<"+k+">")))
			}
		}
	}
	return r
}

// requiredKinds are the kinds of secret a full run of the end-to-end
// suite must have registered, so that the check cannot pass vacuously.
var requiredKinds = []string{"api-key", "password", "webhook", "session-cookie", "oidc-client-secret", "db-password"}

// MissingKinds lists the required kinds of secret r has none of.
func (r SecretsReport) MissingKinds() []string {
	var out []string
	for _, k := range requiredKinds {
		if r.Secrets[k] == 0 {
			out = append(out, k)
		}
	}
	return out
}

