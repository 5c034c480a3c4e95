package client

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"maps"
)

// Page is one page of a list.
type Page struct {
	Results           []json.RawMessage
	MoreDataAvailable bool
	NextCursor        string
	// SyncToken comes on the last page of a sync-capable list only.
	SyncToken string
	Warnings  []string
	RequestID string
}

// requestMap turns params (nil, a map, or a JSON-encodable struct) into a
// request body to which cursor and syncToken can be added.
func requestMap(params any) (map[string]any, error) {
	switch p := params.(type) {
	case nil:
		return map[string]any{}, nil
	case map[string]any:
		if p == nil {
			return map[string]any{}, nil
		}
		return maps.Clone(p), nil
	}
	b, err := json.Marshal(params)
	if err != nil {
		return nil, fmt.Errorf("encode list parameters: %w", err)
	}
	var m map[string]any // a nil pointer encodes as null: no parameters
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("list parameters must encode as a JSON object: %w", err)
	}
	if m == nil {
		m = map[string]any{}
	}
	return m, nil
}

// ListPage fetches one page of a list endpoint. params are the request's
// other fields; cursor and syncToken are added when non-empty.
func (c *Client) ListPage(ctx context.Context, endpoint string, params map[string]any, cursor, syncToken string) (*Page, error) {
	return c.page(ctx, endpoint, params, cursor, syncToken)
}

func (c *Client) page(ctx context.Context, endpoint string, params any, cursor, syncToken string) (*Page, error) {
	req, err := requestMap(params)
	if err != nil {
		return nil, err
	}
	if cursor != "" {
		req["cursor"] = cursor
	}
	if syncToken != "" {
		req["syncToken"] = syncToken
	}
	var results []json.RawMessage
	res, err := c.Call(ctx, endpoint, req, &results)
	if err != nil {
		return nil, err
	}
	return &Page{Results: results, MoreDataAvailable: res.MoreDataAvailable, NextCursor: res.NextCursor,
		SyncToken: res.SyncToken, Warnings: res.Warnings, RequestID: res.RequestID}, nil
}

// Pages walks a list endpoint page by page, following nextCursor until
// moreDataAvailable is false. With a syncToken it is an incremental walk:
// the same token goes with every page. The walk stops at the first error,
// which is yielded with a nil page.
func (c *Client) Pages(ctx context.Context, endpoint string, params any, syncToken string) iter.Seq2[*Page, error] {
	return func(yield func(*Page, error) bool) {
		cursor := ""
		for {
			p, err := c.page(ctx, endpoint, params, cursor, syncToken)
			if err != nil {
				yield(nil, err)
				return
			}
			if !yield(p, nil) || !p.MoreDataAvailable {
				return
			}
			if p.NextCursor == "" {
				yield(nil, fmt.Errorf("%s: moreDataAvailable without nextCursor", endpoint))
				return
			}
			cursor = p.NextCursor
		}
	}
}

// List iterates over every record of a list endpoint, fetching pages as
// the loop needs them (stop the loop to stop fetching). params is nil, a
// map or a JSON-encodable struct of the endpoint's filters. An error ends
// the iteration; it is yielded with T's zero value.
//
//	for cand, err := range client.List[ashby.Candidate](ctx, c, "candidate.list", nil) {
//		if err != nil { return err }
//		…
//	}
func List[T any](ctx context.Context, c *Client, endpoint string, params any) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		for p, err := range c.Pages(ctx, endpoint, params, "") {
			if err != nil {
				yield(zero, err)
				return
			}
			for _, raw := range p.Results {
				var v T
				if err := json.Unmarshal(raw, &v); err != nil {
					yield(zero, fmt.Errorf("decode %s record: %w", endpoint, err))
					return
				}
				if !yield(v, nil) {
					return
				}
			}
		}
	}
}

// Sync walks every page of a list endpoint, calling fn for each record.
// With syncToken "" it is a full sync; otherwise an incremental one. It
// returns the token to store for the next incremental sync, which Ashby
// gives only on the last page: persist it only after fn has handled
// everything. Sync returns sync-token errors as they are; Incremental
// falls back to a full sync instead.
func (c *Client) Sync(ctx context.Context, endpoint string, params map[string]any, syncToken string, fn func(json.RawMessage) error) (string, error) {
	for p, err := range c.Pages(ctx, endpoint, params, syncToken) {
		if err != nil {
			return "", err
		}
		for _, r := range p.Results {
			if err := fn(r); err != nil {
				return "", err
			}
		}
		if !p.MoreDataAvailable {
			return p.SyncToken, nil
		}
	}
	return "", ctx.Err()
}

// All decodes every record of a list into a slice of T and returns the
// sync token of its last page.
func All[T any](ctx context.Context, c *Client, endpoint string, params map[string]any) ([]T, string, error) {
	var out []T
	tok, err := c.Sync(ctx, endpoint, params, "", func(raw json.RawMessage) error {
		var v T
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		out = append(out, v)
		return nil
	})
	return out, tok, err
}

// SyncResult is the outcome of Incremental.
type SyncResult struct {
	// Token is the syncToken of the last page: store it, now that every
	// page has been handled, for the next run. "" if the endpoint gave
	// none (it does not support incremental sync).
	Token string
	// Full is true when every record was walked: no token was given, or
	// the server refused it and the walk started over.
	Full bool
	// FellBack is the error code that made an incremental sync fall back
	// to a full one (sync_token_expired, sync_token_invalid,
	// incremental_sync_too_large), or "".
	FellBack string
	Pages    int
	Records  int
}

// Incremental walks a sync-capable list: everything changed since token
// (every record when token is ""), page by page, keeping the same token
// on every page as Ashby requires. onPage is called with each page in
// order; when it returns, the page is the caller's (write it down). The
// new token is returned only after the last page was handled, so a caller
// that stores it then never skips a change.
//
// If the server refuses the token (sync_token_expired,
// sync_token_invalid, incremental_sync_too_large), Incremental calls
// onFallback (if not nil) with the code, then starts over as a full sync;
// the result says so. Pages already handled may be sent again: upsert by
// id.
func (c *Client) Incremental(ctx context.Context, endpoint string, params any, token string, onPage func(*Page) error, onFallback func(code string) error) (*SyncResult, error) {
	res := &SyncResult{Full: token == ""}
	for {
		done, err := c.walk(ctx, endpoint, params, token, res, onPage)
		if err != nil && token != "" && IsSyncTokenInvalid(err) {
			res.FellBack, res.Full, token = Code(err), true, ""
			if onFallback != nil {
				if err := onFallback(res.FellBack); err != nil {
					return res, err
				}
			}
			continue
		}
		if err != nil {
			return res, err
		}
		res.Token = done
		return res, nil
	}
}

func (c *Client) walk(ctx context.Context, endpoint string, params any, token string, res *SyncResult, onPage func(*Page) error) (string, error) {
	for p, err := range c.Pages(ctx, endpoint, params, token) {
		if err != nil {
			return "", err
		}
		res.Pages++
		res.Records += len(p.Results)
		if err := onPage(p); err != nil {
			return "", err
		}
		if !p.MoreDataAvailable {
			return p.SyncToken, nil
		}
	}
	return "", ctx.Err()
}
