package api

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/store"
)

func init() {
	register((*Service).communicationEndpoints)
}

// CommunicationTemplates: Search = title. Whether a template is archived
// is not part of Ashby's object, so it lives in the row's meta.
var CommunicationTemplates = store.Kind[ashby.CommunicationTemplate]{Name: "communication_template", Index: func(t *ashby.CommunicationTemplate) store.Index {
	return store.Index{ID: t.ID, CreatedAt: t.CreatedAt.Time, Search: lc(t.Title)}
}}

// templateMeta is what Ashlar keeps about a template beyond the wire
// object: its content, and whether it is archived.
type templateMeta struct {
	Subject    string `json:"subject,omitempty"`
	BodyHTML   string `json:"bodyHtml,omitempty"`
	IsArchived bool   `json:"isArchived,omitempty"`
}

func (s *Service) communicationEndpoints() []*rpc.Endpoint {
	return []*rpc.Endpoint{
		rpc.Array[ashby.CommunicationTemplate](rpc.Spec{Name: "communicationTemplate.list", Permission: ashby.HiringProcessMetadataRead, Summary: "List the communication templates that are not archived."}, s.communicationTemplateList),
		rpc.Object(rpc.Spec{Name: "communicationTemplate.create", Permission: ashby.HiringProcessMetadataWrite, Extension: true, Summary: "Create a communication template (Ashby does this in its web app)."}, s.communicationTemplateCreate),
		rpc.Object(rpc.Spec{Name: "communicationTemplate.setArchived", Permission: ashby.HiringProcessMetadataWrite, Extension: true, Summary: "Archive or restore a communication template."}, s.communicationTemplateSetArchived),
		rpc.List[ashby.CriteriaEvaluation](rpc.Spec{Name: "application.listCriteriaEvaluations", Permission: ashby.CandidatesRead, Summary: "AI application review results; Ashlar has no AI review, so the list is always empty."}, s.applicationListCriteriaEvaluations),
	}
}

func templateArchived(ctx context.Context, q store.Q, org, id string) (bool, error) {
	var m templateMeta
	if _, err := store.GetMeta(ctx, q, org, CommunicationTemplates.Name, id, &m); err != nil {
		return false, err
	}
	return m.IsArchived, nil
}

func (s *Service) communicationTemplateList(ctx context.Context, c *rpc.Call, _ *emptyRequest) (*rpc.Page, error) {
	all, err := CommunicationTemplates.Find(ctx, s.DB, c.Org(), store.Filter{})
	if err != nil {
		return nil, err
	}
	out := make([]*ashby.CommunicationTemplate, 0, len(all))
	for _, t := range all {
		archived, err := templateArchived(ctx, s.DB, c.Org(), t.ID)
		if err != nil {
			return nil, err
		}
		if !archived {
			out = append(out, t)
		}
	}
	return items(out), nil
}

type communicationTemplateCreateRequest struct {
	Title         string   `json:"title" required:"true"`
	IntendedTypes []string `json:"intendedTypes,omitempty" enum:"email,inMail,linkedInConnection" doc:"Default: [\"email\"]."`
	Subject       string   `json:"subject,omitempty" maxLength:"998"`
	BodyHTML      string   `json:"bodyHtml,omitempty" maxLength:"long"`
}

func (s *Service) communicationTemplateCreate(ctx context.Context, c *rpc.Call, req *communicationTemplateCreateRequest) (rpc.Result[ashby.CommunicationTemplate], error) {
	now := s.now()
	t := &ashby.CommunicationTemplate{ID: ashby.NewID(), CreatedAt: now, UpdatedAt: now, Title: strings.TrimSpace(req.Title), IntendedTypes: []string{}}
	for _, it := range req.IntendedTypes {
		if !slices.Contains(t.IntendedTypes, it) {
			t.IntendedTypes = append(t.IntendedTypes, it)
		}
	}
	if len(t.IntendedTypes) == 0 {
		t.IntendedTypes = []string{"email"}
	}
	err := s.write(ctx, func(tx *store.Tx) error {
		if err := CommunicationTemplates.Put(ctx, tx, c.Org(), t); err != nil {
			return err
		}
		return tx.SetMeta(ctx, c.Org(), CommunicationTemplates.Name, t.ID, templateMeta{Subject: req.Subject, BodyHTML: req.BodyHTML})
	})
	if err != nil {
		return rpc.Result[ashby.CommunicationTemplate]{}, err
	}
	return rpc.Value(t), nil
}

type communicationTemplateSetArchivedRequest struct {
	CommunicationTemplateID ashby.ID `json:"communicationTemplateId" required:"true"`
	IsArchived              *bool    `json:"isArchived" required:"true"`
}

func (s *Service) communicationTemplateSetArchived(ctx context.Context, c *rpc.Call, req *communicationTemplateSetArchivedRequest) (rpc.Result[ashby.CommunicationTemplate], error) {
	var t *ashby.CommunicationTemplate
	err := s.write(ctx, func(tx *store.Tx) error {
		var err error
		if t, err = CommunicationTemplates.GetForUpdate(ctx, tx, c.Org(), string(req.CommunicationTemplateID)); err != nil {
			return notFound(err, "communication_template", "Communication template not found")
		}
		var m templateMeta
		if _, err := store.GetMeta(ctx, tx, c.Org(), CommunicationTemplates.Name, t.ID, &m); err != nil {
			return err
		}
		if m.IsArchived == *req.IsArchived {
			return nil
		}
		m.IsArchived = *req.IsArchived
		t.UpdatedAt = s.now()
		if err := CommunicationTemplates.Put(ctx, tx, c.Org(), t); err != nil {
			return err
		}
		return tx.SetMeta(ctx, c.Org(), CommunicationTemplates.Name, t.ID, m)
	})
	if err != nil {
		return rpc.Result[ashby.CommunicationTemplate]{}, err
	}
	return rpc.Value(t), nil
}

// checkArchiveEmailTemplate accepts a template for application.changeStage's
// archiveEmail: it must exist, be meant for email and not be archived.
func checkArchiveEmailTemplate(ctx context.Context, q store.Q, org, id string) error {
	t, err := CommunicationTemplates.Get(ctx, q, org, id)
	if errors.Is(err, store.ErrNotFound) {
		return ashby.Errorf("communication_template_not_found", "Communication template %s not found", id)
	}
	if err != nil {
		return err
	}
	if !slices.Contains(t.IntendedTypes, "email") {
		return ashby.Errorf("communication_template_not_allowed", "Communication template %q is not an email template", t.Title)
	}
	archived, err := templateArchived(ctx, q, org, id)
	if err != nil {
		return err
	}
	if archived {
		return ashby.Errorf("communication_template_not_allowed", "Communication template %q is archived", t.Title)
	}
	return nil
}
