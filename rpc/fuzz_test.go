package rpc

import (
	"errors"
	"testing"

	"github.com/ashlarhq/ashlar/ashby"
)

type fuzzRequest struct {
	SyncParams
	ExpandParam
	ID       ashby.ID                `json:"id" required:"true"`
	Status   ashby.OneOrMany[string] `json:"status,omitempty" enum:"Open,Closed"`
	At       *ashby.Time             `json:"at,omitempty"`
	Count    int                     `json:"count,omitempty"`
	Flag     *bool                   `json:"flag,omitempty"`
	Children []struct {
		Name string   `json:"name" required:"true"`
		Ref  ashby.ID `json:"ref,omitempty"`
	} `json:"children,omitempty"`
	Extra map[string]any `json:"extra,omitempty"`
}

// FuzzDecode feeds arbitrary bodies to request decoding: it must never
// panic, and must either accept a request that satisfies every rule or
// refuse it with invalid_input.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		``, `{}`, `null`, `[]`, `{"id":"6f1c0d4e-8f7a-4a3b-9c2d-1e2f3a4b5c6d"}`,
		`{"id":"6F1C0D4E-8F7A-4A3B-9C2D-1E2F3A4B5C6D","status":"Open","at":"2024-02-03T04:05:06.789Z","limit":5,"cursor":"x"}`,
		`{"id":"6f1c0d4e-8f7a-4a3b-9c2d-1e2f3a4b5c6d","status":["Open","Closed"],"children":[{"name":"a","ref":null}],"expand":["x"]}`,
		`{"id":"nope"}`, `{"id":1}`, `{"id":"6f1c0d4e-8f7a-4a3b-9c2d-1e2f3a4b5c6d","status":7}`, `{"id":"6f1c0d4e-8f7a-4a3b-9c2d-1e2f3a4b5c6d"} trailing`,
		`{"id":"6f1c0d4e-8f7a-4a3b-9c2d-1e2f3a4b5c6d","at":"yesterday"}`, `{"children":[{}]}`, "{\"id\":\"\u0000\"}", `{"id":"6f1c0d4e-8f7a-4a3b-9c2d-1e2f3a4b5c6d","count":1e400}`,
	} {
		f.Add([]byte(s))
	}
	e := &Endpoint{Expand: []string{"x"}}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := decode[fuzzRequest](body, e)
		if err != nil {
			var ae *ashby.Error
			if !errors.As(err, &ae) || ae.Code != ashby.CodeInvalidInput || ae.Status != 200 {
				t.Fatalf("decode error is not invalid_input: %#v", err)
			}
			return
		}
		if !ashby.IsUUID(string(req.ID)) {
			t.Fatalf("accepted a request without a valid id: %q", req.ID)
		}
		for _, s := range req.Status {
			if s != "Open" && s != "Closed" {
				t.Fatalf("accepted status %q", s)
			}
		}
		for _, c := range req.Children {
			if c.Name == "" || (c.Ref != "" && !ashby.IsUUID(string(c.Ref))) {
				t.Fatalf("accepted child %+v", c)
			}
		}
		for _, x := range req.Expand {
			if x != "x" {
				t.Fatalf("accepted expand %q", x)
			}
		}
	})
}
