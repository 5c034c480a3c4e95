package api

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
)

// Stages come due with time, and a sequence whose stages are all due is
// completed, without any write (docs/sequences.md).
func TestSequenceStagesComeDue(t *testing.T) {
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	at := func(days int) *ashby.Time { return ashby.NewTime(t0.AddDate(0, 0, days)).Ptr() }
	running := func() *ashby.Sequence {
		return &ashby.Sequence{Status: ashby.SequenceActive, Stages: []ashby.SequenceStage{
			{Status: ashby.StageScheduled, ScheduledAt: at(0)},
			{Status: ashby.StageScheduled, ScheduledAt: at(2)},
			{Status: ashby.StageScheduled, ScheduledAt: at(5)},
		}}
	}
	statuses := func(q *ashby.Sequence) []string {
		out := []string{q.Status}
		for _, st := range q.Stages {
			out = append(out, st.Status)
		}
		return out
	}
	for _, tc := range []struct {
		now  time.Time
		want []string
	}{
		{t0.Add(-time.Minute), []string{"Active", "Scheduled", "Scheduled", "Scheduled"}},
		{t0, []string{"Active", "Due", "Scheduled", "Scheduled"}},
		{t0.AddDate(0, 0, 3), []string{"Active", "Due", "Due", "Scheduled"}},
		{t0.AddDate(0, 0, 5), []string{"Completed", "Due", "Due", "Due"}},
	} {
		q := running()
		settle(q, tc.now)
		if got := statuses(q); !slices.Equal(got, tc.want) {
			t.Errorf("at %s: %v, want %v", tc.now, got, tc.want)
		}
		if (q.Status == ashby.SequenceCompleted) != (q.CompletedAt != nil) || q.CompletedAt != nil && !q.CompletedAt.Equal(at(5).Time) {
			t.Errorf("at %s: completedAt %v", tc.now, q.CompletedAt)
		}
	}
	// Cancelled and draft sequences do not move; the stored document of
	// one is returned as it is.
	q := running()
	q.Status = ashby.SequenceCancelled
	q.Stages[1].Status, q.Stages[2].Status = ashby.StageCancelled, ashby.StageCancelled
	settle(q, t0.AddDate(1, 0, 0))
	if got := statuses(q); !slices.Equal(got, []string{"Cancelled", "Scheduled", "Cancelled", "Cancelled"}) {
		t.Errorf("cancelled: %v", got)
	}
	doc, _ := json.Marshal(&ashby.Sequence{Status: ashby.SequenceNotStarted, Stages: []ashby.SequenceStage{{Status: ashby.StageNotStarted}}})
	if out, err := settledDoc(doc, t0); err != nil || string(out) != string(doc) {
		t.Errorf("draft document rewritten: %s %v", out, err)
	}
	doc, _ = json.Marshal(running())
	out, err := settledDoc(doc, t0.AddDate(0, 0, 6))
	var got ashby.Sequence
	if err != nil || json.Unmarshal(out, &got) != nil || got.Status != ashby.SequenceCompleted {
		t.Errorf("running document at the end: %s %v", out, err)
	}
}
