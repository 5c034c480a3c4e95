package api

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/sanitize"
	"github.com/ashlarhq/ashlar/store"
)

// Sourcing sequence templates (https://developers.ashbyhq.com/reference; docs/sequences.md).
// Ashby's sequenceTemplate.list and .info expose a template's cadence but
// never its messages; templates are designed in Ashby's web app, so
// Ashlar adds sequenceTemplate.create and .archive. The stages' subjects
// and bodies are kept in the template's meta, from which sequence.add
// copies them into a candidate's sequence.

func init() { register((*Service).sequenceTemplateEndpoints) }

// CodeSequenceTemplateNotFound is Ashby's code for an unknown template.
const CodeSequenceTemplateNotFound = "sequence_template_not_found"

// SequenceTemplates: Archived = isArchived; Search = title.
var SequenceTemplates = store.Kind[ashby.SequenceTemplate]{Name: "sequence_template", Index: func(t *ashby.SequenceTemplate) store.Index {
	return store.Index{ID: t.ID, CreatedAt: t.CreatedAt.Time, Archived: t.IsArchived, Search: lc(t.Title)}
}}

// sequenceTemplateMeta holds what templates do not expose: each stage's
// message, by stage id.
type sequenceTemplateMeta struct {
	Stages map[string]stageContent `json:"stages"`
}

type stageContent struct {
	Subject  string `json:"subject"`
	BodyHTML string `json:"bodyHtml"`
}

func (s *Service) sequenceTemplateEndpoints() []*rpc.Endpoint {
	return []*rpc.Endpoint{
		rpc.List[ashby.SequenceTemplate](rpc.Spec{Name: "sequenceTemplate.list", Permission: ashby.SourcingRead,
			Summary: "List sourcing sequence templates (their cadence, not their messages); archived ones with includeArchived. Supports incremental sync."}, s.sequenceTemplateList),
		rpc.Object(rpc.Spec{Name: "sequenceTemplate.info", Permission: ashby.SourcingRead,
			Summary: "Fetch a sourcing sequence template's cadence (archived ones too)."}, s.sequenceTemplateInfo),
		rpc.Object(rpc.Spec{Name: "sequenceTemplate.create", Permission: ashby.SourcingWrite, Extension: true,
			Summary: "Create a sourcing sequence template: its email stages, their delays and messages (Ashby does this in its web app)."}, s.sequenceTemplateCreate),
		rpc.Object(rpc.Spec{Name: "sequenceTemplate.archive", Permission: ashby.SourcingWrite, Extension: true,
			Summary: "Archive a sourcing sequence template: no new sequences can use it; existing ones go on."}, s.sequenceTemplateArchive),
	}
}

type sequenceTemplateListRequest struct {
	rpc.SyncParams
	IncludeArchived bool `json:"includeArchived,omitempty" doc:"Include archived templates (default false)."`
}

func (s *Service) sequenceTemplateList(ctx context.Context, c *rpc.Call, req *sequenceTemplateListRequest) (*rpc.Page, error) {
	spec := listSpec(c, SequenceTemplates.Name, req.SyncParams)
	spec.Filter.IncludeArchived = req.IncludeArchived
	return s.listPage(ctx, spec)
}

type sequenceTemplateIDRequest struct {
	SequenceTemplateID ashby.ID `json:"sequenceTemplateId" required:"true"`
}

func (s *Service) sequenceTemplateInfo(ctx context.Context, c *rpc.Call, req *sequenceTemplateIDRequest) (rpc.Result[ashby.SequenceTemplate], error) {
	doc, err := SequenceTemplates.GetRaw(ctx, s.DB, c.Org(), string(req.SequenceTemplateID))
	if err != nil {
		return rpc.Result[ashby.SequenceTemplate]{}, notFound(err, "sequence_template", "Sequence template not found")
	}
	return rpc.Raw[ashby.SequenceTemplate](doc), nil
}

type sequenceTemplateStageInput struct {
	DelayDays int    `json:"delayDays" doc:"Days after the previous stage (the first: after the sequence starts), 0–365."`
	Subject   string `json:"subject" required:"true" doc:"Plain-text subject; may contain tokens such as {{candidate.firstName}}." maxLength:"998"`
	BodyHTML  string `json:"bodyHtml" required:"true" doc:"HTML body; may contain tokens such as {{candidate.firstName}}." maxLength:"long"`
}

type sequenceTemplateCreateRequest struct {
	Title                 string                       `json:"title" required:"true"`
	UnsubscribeLinkActive *bool                        `json:"unsubscribeLinkActive,omitempty" doc:"Whether emails carry an unsubscribe link (default true)."`
	Stages                []sequenceTemplateStageInput `json:"stages" required:"true" doc:"The email stages in order, 1 to 20."`
}

const (
	maxSequenceStages = 20
	maxStageDelayDays = 365
)

func (s *Service) sequenceTemplateCreate(ctx context.Context, c *rpc.Call, req *sequenceTemplateCreateRequest) (rpc.Result[ashby.SequenceTemplate], error) {
	title := strings.TrimSpace(req.Title)
	if len(title) > 255 {
		return rpc.Result[ashby.SequenceTemplate]{}, ashby.InvalidInput("title", "title may be at most 255 characters")
	}
	if len(req.Stages) == 0 || len(req.Stages) > maxSequenceStages {
		return rpc.Result[ashby.SequenceTemplate]{}, ashby.InvalidInput("stages", "A template has 1 to %d stages; got %d", maxSequenceStages, len(req.Stages))
	}
	now := s.now()
	t := &ashby.SequenceTemplate{ID: ashby.NewID(), Title: title, UnsubscribeLinkActive: true, CreatedAt: now, UpdatedAt: now}
	if req.UnsubscribeLinkActive != nil {
		t.UnsubscribeLinkActive = *req.UnsubscribeLinkActive
	}
	meta := sequenceTemplateMeta{Stages: map[string]stageContent{}}
	for i, in := range req.Stages {
		path := fmt.Sprintf("stages[%d]", i)
		if in.DelayDays < 0 || in.DelayDays > maxStageDelayDays {
			return rpc.Result[ashby.SequenceTemplate]{}, ashby.InvalidInput(path+".delayDays", "delayDays must be 0 to %d", maxStageDelayDays)
		}
		subject, err := stageSubject(path+".subject", in.Subject)
		if err != nil {
			return rpc.Result[ashby.SequenceTemplate]{}, err
		}
		body, err := stageBody(path+".bodyHtml", in.BodyHTML)
		if err != nil {
			return rpc.Result[ashby.SequenceTemplate]{}, err
		}
		st := ashby.SequenceTemplateStage{ID: ashby.NewID(), StageNumber: i + 1, Type: ashby.StageTypeEmail, DelayDays: in.DelayDays}
		t.Stages = append(t.Stages, st)
		meta.Stages[st.ID] = stageContent{Subject: subject, BodyHTML: body}
	}
	err := s.write(ctx, func(tx *store.Tx) error {
		if err := SequenceTemplates.Put(ctx, tx, c.Org(), t); err != nil {
			return err
		}
		return tx.SetMeta(ctx, c.Org(), SequenceTemplates.Name, t.ID, meta)
	})
	if err != nil {
		return rpc.Result[ashby.SequenceTemplate]{}, err
	}
	return rpc.Value(t), nil
}

func (s *Service) sequenceTemplateArchive(ctx context.Context, c *rpc.Call, req *sequenceTemplateIDRequest) (rpc.Result[ashby.SequenceTemplate], error) {
	var t *ashby.SequenceTemplate
	err := s.write(ctx, func(tx *store.Tx) error {
		var err error
		t, err = SequenceTemplates.GetForUpdate(ctx, tx, c.Org(), string(req.SequenceTemplateID))
		if err != nil {
			return notFound(err, "sequence_template", "Sequence template not found")
		}
		if t.IsArchived {
			return nil // archiving twice changes nothing
		}
		t.IsArchived, t.UpdatedAt = true, s.now()
		return SequenceTemplates.Put(ctx, tx, c.Org(), t)
	})
	if err != nil {
		return rpc.Result[ashby.SequenceTemplate]{}, err
	}
	return rpc.Value(t), nil
}

// Tokens are the placeholders a stage's subject and body may contain; they
// are resolved when an email is sent, which is outside Ashlar, so they
// are stored and returned as written (docs/sequences.md#tokens).
var sequenceTokens = []string{"candidate.firstName", "candidate.name", "job.title", "sender.firstName", "sender.name", "organization.name"}

var tokenRE = regexp.MustCompile(`\{\{\s*([^{}]*?)\s*\}\}`)

// checkTokens refuses unknown or malformed token markers.
func checkTokens(field, s string) error {
	for _, m := range tokenRE.FindAllStringSubmatch(s, -1) {
		if !slices.Contains(sequenceTokens, m[1]) {
			return ashby.InvalidInput(field, "Unknown token {{%s}} in %s; known tokens: {{%s}}", m[1], field, strings.Join(sequenceTokens, "}}, {{"))
		}
	}
	if rest := tokenRE.ReplaceAllString(s, ""); strings.Contains(rest, "{{") || strings.Contains(rest, "}}") {
		return ashby.InvalidInput(field, "Malformed token marker in %s: tokens are written {{name}}", field)
	}
	return nil
}

// stageSubject validates a plain-text subject.
func stageSubject(field, v string) (string, error) {
	v = strings.TrimSpace(v)
	switch {
	case v == "":
		return "", ashby.InvalidInput(field, "%s must not be empty", field)
	case len(v) > 255:
		return "", ashby.InvalidInput(field, "%s may be at most 255 characters", field)
	case strings.ContainsAny(v, "\r\n"):
		return "", ashby.InvalidInput(field, "%s is plain text on one line", field)
	}
	return v, checkTokens(field, v)
}

// stageBody validates an HTML body and sanitises it to the tags Ashby
// allows in rich text.
func stageBody(field, v string) (string, error) {
	if err := checkTokens(field, v); err != nil {
		return "", err
	}
	clean := strings.TrimSpace(sanitize.DescriptionHTML(v))
	if sanitize.PlainText(clean) == "" {
		return "", ashby.InvalidInput(field, "%s must not be empty", field)
	}
	if len(clean) > 100_000 {
		return "", ashby.InvalidInput(field, "%s may be at most 100,000 characters", field)
	}
	return clean, nil
}
