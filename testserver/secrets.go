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

// CollectOutput adds what a process started outside Server (ashlar sync,
// ashlar listen, a command run by hand) printed to the logs searched.
func CollectOutput(out string) { collectCLI(out) }

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
	for _, l := range logs {
		r.Bytes += len(l)
	}
	r.Leaks = ScanSecrets(secrets, logs)
	return r
}

// ScanSecrets returns a line for each secret (secret → kind) found in a
// log: the kind, the log's index and the line, with the secret masked.
func ScanSecrets(secrets map[string]string, logs []string) []string {
	var leaks []string
	for i, l := range logs {
		for s, k := range secrets {
			j := strings.Index(l, s)
			if j < 0 {
				continue
			}
			line := l[strings.LastIndexByte(l[:j], '\n')+1:]
			if e := strings.IndexByte(line, '\n'); e >= 0 {
				line = line[:e]
			}
			leaks = append(leaks, fmt.Sprintf("%s in log %d: %s", k, i, strings.ReplaceAll(line, s, "<"+k+">")))
		}
	}
	return leaks
}

// MissingKinds lists the kinds of secret r has none of.
func (r SecretsReport) MissingKinds(kinds ...string) []string {
	var out []string
	for _, k := range kinds {
		if r.Secrets[k] == 0 {
			out = append(out, k)
		}
	}
	return out
}
