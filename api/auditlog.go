package api

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/audit"
	"github.com/ashlarhq/ashlar/rpc"
)

// auditLog.list (https://developers.ashbyhq.com/reference/auditloglist; docs/audit-log.md). The log itself is
// written by the audit package inside every transaction that changes a
// record; every Service attaches it to its database.

func init() {
	register((*Service).auditLogEndpoints)
	serviceHooks = append(serviceHooks, func(s *Service) {
		if s.DB != nil {
			audit.Attach(s.DB)
		}
	})
}

func (s *Service) auditLogEndpoints() []*rpc.Endpoint {
	return []*rpc.Endpoint{
		rpc.List[ashby.AuditLogEntry](rpc.Spec{Name: "auditLog.list", Permission: ashby.AuditLogsRead,
			Summary: "List the organization's audit log entries, newest first: who changed which record, when, through which request, and which fields changed."}, s.auditLogList),
	}
}

type auditLogListRequest struct {
	rpc.ListParams
	StartDate   string   `json:"startDate,omitempty" doc:"Earliest entry time (UTC): an ISO date (YYYY-MM-DD, from midnight) or date-time. Default: 24 hours before endDate."`
	EndDate     string   `json:"endDate,omitempty" doc:"Latest entry time (UTC), exclusive: an ISO date (the whole day is included) or date-time. Default: now. At most 18 months after startDate."`
	ActorIDs    []string `json:"actorIds,omitempty" doc:"Only entries by these actors (actor.id: an API key's id). At most 100."`
	TargetIDs   []string `json:"targetIds,omitempty" doc:"Only entries about these records (target.id). At most 100."`
	TargetTypes []string `json:"targetTypes,omitempty" doc:"Only entries about records of these types (ORed with categories). At most 100."`
	Categories  []string `json:"categories,omitempty" doc:"Only entries of these categories (ORed with targetTypes). At most 100."`
}

const (
	auditDefaultWindow = 24 * time.Hour
	auditMaxFilter     = 100
)

func (s *Service) auditLogList(ctx context.Context, c *rpc.Call, req *auditLogListRequest) (*rpc.Page, error) {
	now := s.DB.Now().UTC()
	start, startGiven, _, err := auditDate("startDate", req.StartDate)
	if err != nil {
		return nil, err
	}
	end, endGiven, endIsDay, err := auditDate("endDate", req.EndDate)
	if err != nil {
		return nil, err
	}
	// The span is measured between the dates as given; a date as endDate
	// then takes in its whole day.
	if startGiven && endGiven && start.AddDate(0, 18, 0).Before(end) {
		return nil, ashby.InvalidInput("endDate", "The span from startDate to endDate may be at most 18 months")
	}
	if endIsDay {
		end = end.AddDate(0, 0, 1)
	}
	switch {
	case startGiven && endGiven:
	case startGiven:
		end = now.Add(time.Millisecond) // entries up to now, this millisecond included
	case endGiven:
		start = end.Add(-auditDefaultWindow)
	default:
		end = now.Add(time.Millisecond)
		start = end.Add(-auditDefaultWindow)
	}
	if !start.Before(end) {
		return nil, ashby.InvalidInput("startDate", "startDate must be before endDate")
	}
	q := audit.Query{Org: c.Org(), Start: start, End: end, Limit: req.PageLimit(), Cursor: req.Cursor}
	for _, f := range []struct {
		field string
		vals  []string
		dst   *[]string
		valid func(string) bool
		vocab func() []string
	}{
		{"actorIds", req.ActorIDs, &q.ActorIDs, nil, nil},
		{"targetIds", req.TargetIDs, &q.TargetIDs, nil, nil},
		{"targetTypes", req.TargetTypes, &q.TargetTypes, audit.ValidTargetType, audit.TargetTypes},
		{"categories", req.Categories, &q.Categories, audit.ValidCategory, audit.Categories},
	} {
		if len(f.vals) > auditMaxFilter {
			return nil, ashby.InvalidInput(f.field, "%s may list at most %d values", f.field, auditMaxFilter)
		}
		for i, v := range f.vals {
			v = strings.TrimSpace(v)
			if ashby.IsUUID(v) {
				v = strings.ToLower(v)
			}
			field := fmt.Sprintf("%s[%d]", f.field, i)
			if v == "" {
				return nil, ashby.InvalidInput(field, "%s must not be empty", field)
			}
			if f.valid != nil && !f.valid(v) {
				return nil, ashby.InvalidInput(field, "%q is not a known value of %s; see docs/audit-log.md (for example %s)", v, f.field, strings.Join(f.vocab()[:3], ", "))
			}
			*f.dst = append(*f.dst, v)
		}
		slices.Sort(*f.dst)
		*f.dst = slices.Compact(*f.dst)
	}
	// A cursor is bound to the request as sent: the dates as given (a
	// defaulted window is carried in the cursor) and the filters.
	q.Scope = []string{c.Endpoint.Name, req.StartDate, req.EndDate, strings.Join(q.ActorIDs, ","), strings.Join(q.TargetIDs, ","),
		strings.Join(q.TargetTypes, ","), strings.Join(q.Categories, ",")}
	p, err := audit.List(ctx, s.DB, q)
	if err != nil {
		return nil, err
	}
	return &rpc.Page{Raw: p.Entries, MoreDataAvailable: p.MoreDataAvailable, NextCursor: p.NextCursor}, nil
}

// auditDate parses startDate or endDate: an ISO date (midnight UTC) or
// date-time. isDay reports a date without a time.
func auditDate(field, v string) (t time.Time, given, isDay bool, err error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, false, false, nil
	}
	if d, err := time.Parse("2006-01-02", v); err == nil {
		return d, true, true, nil
	}
	p, perr := ashby.ParseTime(v)
	if perr != nil {
		return time.Time{}, false, false, ashby.InvalidInput(field, "%s must be an ISO date (YYYY-MM-DD) or date-time; got %q", field, v)
	}
	return p.Time, true, false, nil
}
