package api

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/ashlarhq/ashlar/ashby"
)

func sampleApplication() []byte {
	now := ashby.NewTime(time.Date(2026, 12, 4, 10, 11, 12, 345e6, time.UTC))
	app := ashby.Application{ID: "a1", CreatedAt: now, UpdatedAt: now, Status: ashby.ApplicationArchived, CustomFields: []ashby.CustomFieldValue{{ID: "f", Title: "T", Value: map[string]any{"x": "}"}}},
		Candidate:             ashby.ApplicationCandidate{ID: "c1", Name: `Zoë "Z" <O'Brien>`, PrimaryEmailAddress: &ashby.ContactInfo{Value: "z@example.com"}},
		CurrentInterviewStage: ashby.InterviewStage{ID: "s1", Title: "Archived", Type: ashby.StageArchived},
		Source:                &ashby.Source{ID: "src", Title: "Careers Page", SourceType: &ashby.SourceType{ID: "t", Title: "Inbound"}},
		ArchiveReason:         &ashby.ArchiveReason{ID: "r", Text: "Not a fit \\ now"}, Job: ashby.ApplicationJob{ID: "j1", Title: "Job"},
		HiringTeam: []ashby.HiringTeamMember{{UserID: "u", FirstName: "A"}}}
	b, _ := json.Marshal(app)
	return b
}

// decodeSlim reads what encoding/json would.
func TestDecodeSlim(t *testing.T) {
	doc := sampleApplication()
	var a slimApplication
	if err := decodeSlim(doc, &a); err != nil {
		t.Fatal(err)
	}
	want := slimApplication{ID: "a1", Status: "Archived", CandidateID: "c1", Name: `Zoë "Z" <O'Brien>`, StageID: "s1", SourceID: "src",
		Source: "Careers Page", ArchiveReason: "Not a fit \\ now", CreatedAt: time.Date(2026, 12, 4, 10, 11, 12, 345e6, time.UTC)}
	if a != want {
		t.Fatalf("got %+v\nwant %+v", a, want)
	}
	var none slimApplication
	if err := decodeSlim([]byte(`{"id":"a","createdAt":"2026-01-01T00:00:00.000Z","source":null,"archiveReason":null}`), &none); err != nil || none.SourceID != "" {
		t.Fatalf("nulls: %+v %v", none, err)
	}
	if err := decodeSlim([]byte(`{"id":`), &none); err == nil {
		t.Fatal("a truncated document decoded")
	}
}

func BenchmarkDecodeSlim(b *testing.B) {
	doc := sampleApplication()
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		var a slimApplication
		decodeSlim(doc, &a)
	}
}

func BenchmarkDecodeSlimEncodingJSON(b *testing.B) {
	doc := sampleApplication()
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		var a struct {
			ID        string     `json:"id"`
			CreatedAt ashby.Time `json:"createdAt"`
			Status    string     `json:"status"`
			Candidate struct {
				ID   string `json:"id"`
				Name string `json:"name"`
			} `json:"candidate"`
		}
		json.Unmarshal(doc, &a)
	}
}
