package api

import (
	"context"
	"strings"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/store"
)

// emailSender.list (https://developers.ashbyhq.com/reference/emailsenderlist; docs/sequences.md#email-senders). In
// Ashby it lists the addresses the acting identity can send from: its
// primary address, personal and organization aliases, and no-reply
// addresses. Ashlar sends no email and configures no aliases or no-reply
// domains, so the one address it knows the acting user sends from is the
// user's own: the list is that Primary sender. The acting user is the
// API key's user, or the organization's admin for a key without one (as
// for notes).

func init() { register((*Service).emailSenderEndpoints) }

func (s *Service) emailSenderEndpoints() []*rpc.Endpoint {
	return []*rpc.Endpoint{
		rpc.List[ashby.EmailSender](rpc.Spec{Name: "emailSender.list", Permission: ashby.SourcingRead,
			Summary: "List the email addresses the acting user can send sequences from (in Ashlar: the user's own address, as Primary)."}, s.emailSenderList),
	}
}

type emailSenderListRequest struct {
	rpc.ListParams
}

func (s *Service) emailSenderList(ctx context.Context, c *rpc.Call, req *emailSenderListRequest) (*rpc.Page, error) {
	// The list is one page long, so no cursor is ever handed out.
	if req.Cursor != "" {
		return nil, ashby.Errorf(ashby.CodeInvalidNextCursor, "The cursor is not valid for this request; restart pagination from the first page without a cursor.")
	}
	senders, err := s.emailSenders(ctx, s.DB, c)
	if err != nil {
		return nil, err
	}
	return &rpc.Page{Items: senders}, nil
}

// emailSenders are the senders of the call's acting user.
func (s *Service) emailSenders(ctx context.Context, q store.Q, c *rpc.Call) ([]ashby.EmailSender, error) {
	u, err := s.actingUser(ctx, q, c)
	if err != nil {
		return nil, err
	}
	return senderOf(u), nil
}

func senderOf(u *ashby.User) []ashby.EmailSender {
	if u == nil || !u.IsEnabled || strings.TrimSpace(u.Email) == "" {
		return []ashby.EmailSender{}
	}
	return []ashby.EmailSender{{Email: u.Email, DisplayName: strings.TrimSpace(u.FirstName + " " + u.LastName), Type: ashby.SenderPrimary}}
}
