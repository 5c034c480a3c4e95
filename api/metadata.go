package api

import (
	"context"
	"errors"
	"strings"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/store"
)

func init() { register((*Service).metadataEndpoints) }

func (s *Service) metadataEndpoints() []*rpc.Endpoint {
	return []*rpc.Endpoint{
		rpc.List[ashby.Source](rpc.Spec{Name: "source.list", Permission: ashby.HiringProcessMetadataRead, Summary: "List sources."}, s.sourceList),
		rpc.Object(rpc.Spec{Name: "source.create", Permission: ashby.HiringProcessMetadataWrite, Extension: true, Summary: "Create a source (Ashby does this in its web app)."}, s.sourceCreate),
		rpc.Object(rpc.Spec{Name: "source.setArchived", Permission: ashby.HiringProcessMetadataWrite, Extension: true, Summary: "Archive or restore a source."}, s.sourceSetArchived),

		rpc.Array[ashby.ArchiveReason](rpc.Spec{Name: "archiveReason.list", Permission: ashby.HiringProcessMetadataRead, Summary: "List archive reasons."}, s.archiveReasonList),
		rpc.Object(rpc.Spec{Name: "archiveReason.create", Permission: ashby.HiringProcessMetadataWrite, Extension: true, Summary: "Create an archive reason (Ashby does this in its web app)."}, s.archiveReasonCreate),
		rpc.Object(rpc.Spec{Name: "archiveReason.setArchived", Permission: ashby.HiringProcessMetadataWrite, Extension: true, Summary: "Archive or restore an archive reason."}, s.archiveReasonSetArchived),

		rpc.Object(rpc.Spec{Name: "candidateTag.create", Permission: ashby.HiringProcessMetadataWrite, Summary: "Create a candidate tag; returns the existing tag when one has this title."}, s.candidateTagCreate),
		rpc.List[ashby.CandidateTag](rpc.Spec{Name: "candidateTag.list", Permission: ashby.HiringProcessMetadataRead, Summary: "List candidate tags."}, s.candidateTagList),
		rpc.Object(rpc.Spec{Name: "candidateTag.archive", Permission: ashby.HiringProcessMetadataWrite, Summary: "Archive a candidate tag."}, s.candidateTagArchive),

		rpc.Object(rpc.Spec{Name: "customField.create", Permission: ashby.HiringProcessMetadataWrite, Summary: "Create a custom field definition."}, s.customFieldCreate),
		rpc.Object(rpc.Spec{Name: "customField.info", Permission: ashby.HiringProcessMetadataRead, Summary: "Fetch a custom field definition."}, s.customFieldInfo),
		rpc.List[ashby.CustomField](rpc.Spec{Name: "customField.list", Permission: ashby.HiringProcessMetadataRead, Summary: "List custom field definitions."}, s.customFieldList),
	}
}

// Sources

type sourceListRequest struct {
	rpc.ListParams
	IncludeArchived bool `json:"includeArchived,omitempty"`
}

func (s *Service) sourceList(ctx context.Context, c *rpc.Call, req *sourceListRequest) (*rpc.Page, error) {
	spec := listSpec(c, Sources.Name, rpc.SyncParams{ListParams: req.ListParams})
	spec.Filter.IncludeArchived = req.IncludeArchived
	spec.NoSync = true
	return s.listPage(ctx, spec)
}

type sourceCreateRequest struct {
	Title      string `json:"title" required:"true"`
	SourceType string `json:"sourceType,omitempty" doc:"Title of the source type (Inbound, Outbound, Referral, Agency, Other …); an existing type is reused."`
}

func (s *Service) sourceCreate(ctx context.Context, c *rpc.Call, req *sourceCreateRequest) (rpc.Result[ashby.Source], error) {
	src := &ashby.Source{ID: ashby.NewID(), Title: strings.TrimSpace(req.Title)}
	err := s.write(ctx, func(tx *store.Tx) error {
		all, err := Sources.Find(ctx, tx, c.Org(), store.Filter{IncludeArchived: true})
		if err != nil {
			return err
		}
		for _, o := range all {
			if strings.EqualFold(o.Title, src.Title) {
				return ashby.Errorf("source_already_exists", "A source titled %q already exists (%s)", o.Title, o.ID)
			}
			if req.SourceType != "" && o.SourceType != nil && strings.EqualFold(o.SourceType.Title, req.SourceType) {
				src.SourceType = o.SourceType
			}
		}
		if req.SourceType != "" && src.SourceType == nil {
			src.SourceType = &ashby.SourceType{ID: ashby.NewID(), Title: req.SourceType}
		}
		return Sources.Put(ctx, tx, c.Org(), src)
	})
	if err != nil {
		return rpc.Result[ashby.Source]{}, err
	}
	return rpc.Value(src), nil
}

type setArchivedRequest struct {
	ID       ashby.ID `json:"id" required:"true"`
	Archived *bool    `json:"isArchived" required:"true"`
}

func (s *Service) sourceSetArchived(ctx context.Context, c *rpc.Call, req *setArchivedRequest) (rpc.Result[ashby.Source], error) {
	var src *ashby.Source
	err := s.write(ctx, func(tx *store.Tx) error {
		var err error
		src, err = Sources.Update(ctx, tx, c.Org(), string(req.ID), func(v *ashby.Source) error { v.IsArchived = *req.Archived; return nil })
		return notFound(err, "source", "Source not found")
	})
	if err != nil {
		return rpc.Result[ashby.Source]{}, err
	}
	return rpc.Value(src), nil
}

// Archive reasons

type archiveReasonListRequest struct {
	IncludeArchived bool `json:"includeArchived,omitempty"`
}

func (s *Service) archiveReasonList(ctx context.Context, c *rpc.Call, req *archiveReasonListRequest) (*rpc.Page, error) {
	docs, err := ArchiveReasons.FindRaw(ctx, s.DB, c.Org(), store.Filter{IncludeArchived: req.IncludeArchived})
	if err != nil {
		return nil, err
	}
	return &rpc.Page{Raw: docs}, nil
}

type archiveReasonCreateRequest struct {
	Text       string `json:"text" required:"true"`
	ReasonType string `json:"reasonType" required:"true" enum:"RejectedByCandidate,RejectedByOrg,Other"`
}

func (s *Service) archiveReasonCreate(ctx context.Context, c *rpc.Call, req *archiveReasonCreateRequest) (rpc.Result[ashby.ArchiveReason], error) {
	r := &ashby.ArchiveReason{ID: ashby.NewID(), Text: strings.TrimSpace(req.Text), ReasonType: req.ReasonType}
	if err := s.write(ctx, func(tx *store.Tx) error { return ArchiveReasons.Put(ctx, tx, c.Org(), r) }); err != nil {
		return rpc.Result[ashby.ArchiveReason]{}, err
	}
	return rpc.Value(r), nil
}

func (s *Service) archiveReasonSetArchived(ctx context.Context, c *rpc.Call, req *setArchivedRequest) (rpc.Result[ashby.ArchiveReason], error) {
	var r *ashby.ArchiveReason
	err := s.write(ctx, func(tx *store.Tx) error {
		var err error
		r, err = ArchiveReasons.Update(ctx, tx, c.Org(), string(req.ID), func(v *ashby.ArchiveReason) error { v.IsArchived = *req.Archived; return nil })
		return notFound(err, "archive_reason", "Archive reason not found")
	})
	if err != nil {
		return rpc.Result[ashby.ArchiveReason]{}, err
	}
	return rpc.Value(r), nil
}

// Candidate tags

type candidateTagCreateRequest struct {
	Title string `json:"title" required:"true"`
}

func (s *Service) candidateTagCreate(ctx context.Context, c *rpc.Call, req *candidateTagCreateRequest) (rpc.Result[ashby.CandidateTag], error) {
	title := strings.TrimSpace(req.Title)
	var tag *ashby.CandidateTag
	err := s.write(ctx, func(tx *store.Tx) error {
		existing, err := CandidateTags.FindOne(ctx, tx, c.Org(), store.Filter{Unique: lc(title), IncludeArchived: true})
		if err == nil {
			tag = existing
			return nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		tag = &ashby.CandidateTag{ID: ashby.NewID(), Title: title}
		return CandidateTags.Put(ctx, tx, c.Org(), tag)
	})
	if err != nil {
		return rpc.Result[ashby.CandidateTag]{}, err
	}
	return rpc.Value(tag), nil
}

func (s *Service) candidateTagList(ctx context.Context, c *rpc.Call, req *includeArchivedListRequest) (*rpc.Page, error) {
	spec := listSpec(c, CandidateTags.Name, req.SyncParams)
	spec.Filter.IncludeArchived = req.IncludeArchived
	return s.listPage(ctx, spec)
}

type candidateTagArchiveRequest struct {
	TagID ashby.ID `json:"tagId" required:"true"`
}

func (s *Service) candidateTagArchive(ctx context.Context, c *rpc.Call, req *candidateTagArchiveRequest) (rpc.Result[ashby.CandidateTag], error) {
	var tag *ashby.CandidateTag
	err := s.write(ctx, func(tx *store.Tx) error {
		var err error
		tag, err = CandidateTags.Update(ctx, tx, c.Org(), string(req.TagID), func(t *ashby.CandidateTag) error { t.IsArchived = true; return nil })
		if err != nil {
			return notFound(err, "candidate_tag", "Candidate tag not found")
		}
		// Candidates embed their tags; rewrite them so the flag is current.
		_, err = Candidates.RewriteByKey(ctx, tx, c.Org(), "tag", tag.ID, func(cand *ashby.Candidate) error {
			for i := range cand.Tags {
				if cand.Tags[i].ID == tag.ID {
					cand.Tags[i] = *tag
				}
			}
			return nil
		})
		return err
	})
	if err != nil {
		return rpc.Result[ashby.CandidateTag]{}, err
	}
	return rpc.Value(tag), nil
}

// Custom fields

type customFieldCreateRequest struct {
	FieldType        string `json:"fieldType" required:"true" enum:"Boolean,CompensationRange,Currency,Date,LongText,MultiValueSelect,Number,NumberRange,String,ValueSelect,Url,UUID,Location"`
	ObjectType       string `json:"objectType" required:"true" enum:"Application,Candidate,Job,Employee,Talent_Project,Opening_Version,Offer_Version"`
	Title            string `json:"title" required:"true"`
	Description      string `json:"description,omitempty" maxLength:"text"`
	SelectableValues []struct {
		Label string `json:"label" required:"true"`
		Value string `json:"value" required:"true"`
	} `json:"selectableValues,omitempty"`
	IsDateOnlyField        bool `json:"isDateOnlyField,omitempty"`
	IsExposableToCandidate bool `json:"isExposableToCandidate,omitempty"`
	IsPrivate              bool `json:"isPrivate,omitempty" doc:"Ashlar extension: hide values from keys without private-field access."`
	IsRequired             bool `json:"isRequired,omitempty" doc:"Ashlar extension."`
}

// customFieldObjectType maps create's object types to the ones definitions report.
var customFieldObjectType = map[string]string{"Opening_Version": "Opening", "Offer_Version": "Offer"}

func (s *Service) customFieldCreate(ctx context.Context, c *rpc.Call, req *customFieldCreateRequest) (rpc.Result[ashby.CustomField], error) {
	f := &ashby.CustomField{ID: ashby.NewID(), Title: strings.TrimSpace(req.Title), Description: req.Description, FieldType: req.FieldType,
		ObjectType: req.ObjectType, IsDateOnlyField: req.IsDateOnlyField, IsExposableToCandidate: req.IsExposableToCandidate,
		IsPrivate: req.IsPrivate, IsRequired: req.IsRequired}
	if t, ok := customFieldObjectType[f.ObjectType]; ok {
		f.ObjectType = t
	}
	isSelect := f.FieldType == "ValueSelect" || f.FieldType == "MultiValueSelect"
	if isSelect && len(req.SelectableValues) == 0 {
		return rpc.Result[ashby.CustomField]{}, ashby.InvalidInput("selectableValues", "%s fields need selectableValues", f.FieldType)
	}
	if !isSelect && len(req.SelectableValues) > 0 {
		return rpc.Result[ashby.CustomField]{}, ashby.InvalidInput("selectableValues", "Only ValueSelect and MultiValueSelect fields take selectableValues")
	}
	seen := map[string]bool{}
	for i, v := range req.SelectableValues {
		if seen[v.Value] {
			return rpc.Result[ashby.CustomField]{}, ashby.InvalidInput("selectableValues", "Duplicate selectable value %q at index %d", v.Value, i)
		}
		seen[v.Value] = true
		f.SelectableValues = append(f.SelectableValues, ashby.SelectableValue{Label: v.Label, Value: v.Value})
	}
	if err := s.write(ctx, func(tx *store.Tx) error { return CustomFields.Put(ctx, tx, c.Org(), f) }); err != nil {
		return rpc.Result[ashby.CustomField]{}, err
	}
	return rpc.Value(f), nil
}

type customFieldInfoRequest struct {
	CustomFieldID ashby.ID `json:"customFieldId" required:"true"`
}

func (s *Service) customFieldInfo(ctx context.Context, c *rpc.Call, req *customFieldInfoRequest) (rpc.Result[ashby.CustomField], error) {
	doc, err := CustomFields.GetRaw(ctx, s.DB, c.Org(), string(req.CustomFieldID))
	if err != nil {
		return rpc.Result[ashby.CustomField]{}, notFound(err, "custom_field", "Custom field not found")
	}
	return rpc.Raw[ashby.CustomField](doc), nil
}

func (s *Service) customFieldList(ctx context.Context, c *rpc.Call, req *includeArchivedListRequest) (*rpc.Page, error) {
	spec := listSpec(c, CustomFields.Name, req.SyncParams)
	spec.Filter.IncludeArchived = req.IncludeArchived
	return s.listPage(ctx, spec)
}
