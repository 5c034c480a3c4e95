package store

import (
	"fmt"
	"hash/fnv"
	"strings"
	"testing"
)

// scopeReference is how scopes were computed when tokens were first
// issued: cursors and sync tokens in clients' hands must stay valid.
func scopeReference(s ListSpec) scopes {
	hash := func(parts ...string) uint32 {
		h := fnv.New32a()
		for _, p := range parts {
			h.Write([]byte(p))
			h.Write([]byte{0})
		}
		return h.Sum32()
	}
	f := s.Filter
	base := []string{s.Org, s.Kind, s.Endpoint, f.Parent, f.Ref, f.Search, f.SearchPrefix, f.SearchContains, f.Unique, fmt.Sprint(s.CreatedAfter)}
	for _, c := range s.Conds {
		base = append(base, c.SQL, fmt.Sprint(c.Args...))
	}
	full := append(base[:len(base):len(base)], strings.Join(f.State, ","), fmt.Sprint(f.IncludeArchived))
	for _, c := range s.FullConds {
		full = append(full, c.SQL, fmt.Sprint(c.Args...))
	}
	return scopes{token: hash(base...), cursor: hash(full...)}
}

func TestScopesMatchIssuedTokens(t *testing.T) {
	specs := []ListSpec{
		{},
		{Org: "o", Kind: "candidate", Endpoint: "candidate.list"},
		{Org: "o", Kind: "application", Endpoint: "application.list", CreatedAfter: 1733000000000,
			Filter: Filter{Parent: "job", State: []string{"Active", "Hired"}, IncludeArchived: true}},
		{Org: "o", Kind: "x", Filter: Filter{Ref: "r", Search: "s", SearchPrefix: "p", SearchContains: "c", Unique: "u", State: []string{"Lead"}},
			Conds: []Cond{{SQL: "t1 >= ?", Args: []any{5, "a"}}}, FullConds: []Cond{{SQL: "t2 = ?", Args: []any{true}}}, CreatedAfter: -1},
	}
	for i, s := range specs {
		if got, want := s.scope(), scopeReference(s); got != want {
			t.Errorf("spec %d: scope %+v, want %+v", i, got, want)
		}
	}
}
