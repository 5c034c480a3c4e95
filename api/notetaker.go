package api

import (
	"context"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/rpc"
)

// Ashlar records no interviews, so it has no notetaker: it answers
// notetakerTranscript.info as Ashby does for an organization without the
// notetaker, with notetaker_transcript_not_enabled (docs/interviews.md).

func init() {
	register(func(s *Service) []*rpc.Endpoint {
		return []*rpc.Endpoint{
			rpc.Object(rpc.Spec{Name: "notetakerTranscript.info", Permission: ashby.NotetakerRead, Summary: "Fetch a notetaker transcript; Ashlar has no notetaker, so this answers notetaker_transcript_not_enabled."}, s.notetakerTranscriptInfo),
		}
	})
}

type notetakerTranscriptRequest struct {
	NotetakerTranscriptID ashby.ID `json:"notetakerTranscriptId" required:"true"`
}

func (s *Service) notetakerTranscriptInfo(ctx context.Context, c *rpc.Call, req *notetakerTranscriptRequest) (rpc.Result[ashby.NotetakerTranscript], error) {
	return rpc.Result[ashby.NotetakerTranscript]{}, ashby.Errorf("notetaker_transcript_not_enabled",
		"The notetaker is not enabled for this organization: Ashlar does not record interviews, so there are no transcripts")
}
