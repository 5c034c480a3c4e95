package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/client"
)

// fakeAshby stands in for https://api.ashbyhq.com (or an Ashlar server)
// so that the examples run: three candidates, two per page, and a sync
// token on the last page.
func fakeAshby() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req map[string]any
		json.NewDecoder(r.Body).Decode(&req)
		w.Header().Set("x-ashby-request-id", "01EXAMPLE")
		switch r.URL.Path {
		case "/candidate.list":
			switch {
			case req["syncToken"] == "expired":
				io.WriteString(w, `{"success":false,"errors":["sync_token_expired"],"errorInfo":{"code":"sync_token_expired","message":"Sync token expired"}}`)
			case req["syncToken"] == "T1":
				io.WriteString(w, `{"success":true,"results":[{"id":"c2","name":"Grace Hopper"}],"moreDataAvailable":false,"syncToken":"T2"}`)
			case req["cursor"] == nil:
				io.WriteString(w, `{"success":true,"results":[{"id":"c1","name":"Ada Lovelace"},{"id":"c2","name":"Grace Hopper"}],"moreDataAvailable":true,"nextCursor":"P2"}`)
			default:
				io.WriteString(w, `{"success":true,"results":[{"id":"c3","name":"Alan Turing"}],"moreDataAvailable":false,"syncToken":"T1"}`)
			}
		case "/candidate.info":
			fmt.Fprintf(w, `{"success":true,"results":{"id":%q,"name":"Ada Lovelace"}}`, req["id"])
		case "/candidate.create":
			io.WriteString(w, `{"success":false,"errors":["invalid_input"],"errorInfo":{"code":"invalid_input","message":"Invalid value for email","requestId":"01EXAMPLE","meta":{"field":"email"}}}`)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
}

func Example() {
	srv := fakeAshby()
	defer srv.Close()
	ctx := context.Background()

	c := client.New(srv.URL, "YOUR_API_KEY") // client.New("", key) for Ashby itself
	cand, res, err := c.Candidates.Info(ctx, "c1")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cand.Name, "request", res.RequestID)
	// Output: Ada Lovelace request 01EXAMPLE
}

func ExampleCandidatesService_List() {
	srv := fakeAshby()
	defer srv.Close()
	c := client.New(srv.URL, "YOUR_API_KEY")

	// Pages are fetched as the loop needs them.
	for cand, err := range c.Candidates.List(context.Background(), &client.ListOptions{Limit: 2}) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(cand.ID, cand.Name)
	}
	// Output:
	// c1 Ada Lovelace
	// c2 Grace Hopper
	// c3 Alan Turing
}

func ExampleList() {
	srv := fakeAshby()
	defer srv.Close()
	c := client.New(srv.URL, "YOUR_API_KEY")

	// Any list endpoint, decoded into any type.
	type idOnly struct{ ID string }
	n := 0
	for _, err := range client.List[idOnly](context.Background(), c, "candidate.list", map[string]any{"limit": 2}) {
		if err != nil {
			fmt.Println(err)
			return
		}
		n++
	}
	fmt.Println(n, "candidates")
	// Output: 3 candidates
}

func ExampleClient_Call() {
	srv := fakeAshby()
	defer srv.Close()
	c := client.New(srv.URL, "YOUR_API_KEY")

	var cand ashby.Candidate
	_, err := c.Call(context.Background(), "candidate.info", map[string]any{"id": "c1"}, &cand)
	fmt.Println(cand.Name, err)
	// Output: Ada Lovelace <nil>
}

func ExampleError() {
	srv := fakeAshby()
	defer srv.Close()
	c := client.New(srv.URL, "YOUR_API_KEY")

	_, _, err := c.Candidates.Create(context.Background(), &client.CandidateCreate{Name: "Ada", Email: "not-an-email"})
	var apiErr *client.Error
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.Code, apiErr.Meta["field"], apiErr.RequestID)
	}
	// Output: invalid_input email 01EXAMPLE
}

func ExampleClient_Incremental() {
	srv := fakeAshby()
	defer srv.Close()
	c := client.New(srv.URL, "YOUR_API_KEY")
	ctx := context.Background()

	upsert := func(p *client.Page) error {
		for _, raw := range p.Results {
			_ = raw // write the record by its id
		}
		return nil
	}
	// First run: a full sync. Store the token only once it returns.
	res, _ := c.Incremental(ctx, "candidate.list", nil, "", upsert, nil)
	fmt.Println("full:", res.Records, "records, token", res.Token)

	// Next run: only what changed.
	res, _ = c.Incremental(ctx, "candidate.list", nil, res.Token, upsert, nil)
	fmt.Println("incremental:", res.Records, "record, token", res.Token)

	// A token the server no longer accepts: a full sync instead, and the
	// result says why.
	res, _ = c.Incremental(ctx, "candidate.list", nil, "expired", upsert, func(code string) error {
		fmt.Println("falling back:", code)
		return nil
	})
	fmt.Println("full:", res.Full, res.FellBack, strings.ToLower(res.Token))
	// Output:
	// full: 3 records, token T1
	// incremental: 1 record, token T2
	// falling back: sync_token_expired
	// full: true sync_token_expired t1
}
