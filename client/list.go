package client

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
)

// Page is one page of a list.
type Page struct {
	Results           []json.RawMessage
	MoreDataAvailable bool
	NextCursor        string
	SyncToken         string
}

// ListPage fetches one page of a list endpoint. params are the request's
// other fields; cursor and syncToken are added when non-empty.
func (c *Client) ListPage(ctx context.Context, endpoint string, params map[string]any, cursor, syncToken string) (*Page, error) {
	req := maps.Clone(params)
	if req == nil {
		req = map[string]any{}
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
	return &Page{Results: results, MoreDataAvailable: res.MoreDataAvailable, NextCursor: res.NextCursor, SyncToken: res.SyncToken}, nil
}

// Sync walks every page of a list endpoint, calling fn for each record.
// With syncToken "" it is a full sync; otherwise an incremental one. It
// returns the token to store for the next incremental sync, which Ashby
// gives only on the last page: persist it only after fn has handled
// everything.
func (c *Client) Sync(ctx context.Context, endpoint string, params map[string]any, syncToken string, fn func(json.RawMessage) error) (string, error) {
	cursor := ""
	for pages := 0; ; pages++ {
		p, err := c.ListPage(ctx, endpoint, params, cursor, syncToken)
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
		if p.NextCursor == "" {
			return "", fmt.Errorf("%s: moreDataAvailable without nextCursor", endpoint)
		}
		cursor = p.NextCursor
	}
}

// All decodes every record of a list into a slice of T.
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
