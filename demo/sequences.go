package demo

import (
	"context"
	"fmt"

	"github.com/ashlarhq/ashlar/ashby"
)

func init() { AddStep("sourcing sequences", seedSequences) }

// seedSequences creates sourcing sequence templates and enrolls sourced
// candidates: a few sequences running, one cancelled, a few drafts.
func seedSequences(ctx context.Context, d *Demo) error {
	type stage struct {
		delay         int
		subject, body string
	}
	var templates []ashby.SequenceTemplate
	for _, t := range []struct {
		title  string
		stages []stage
	}{
		{"Engineering outreach", []stage{
			{0, "{{job.title}} at {{organization.name}}", "<p>Hi {{candidate.firstName}},</p><p>Your work caught our eye: we are hiring a {{job.title}} and would love to talk.</p><p>{{sender.name}}</p>"},
			{3, "Re: {{job.title}} at {{organization.name}}", "<p>Hi {{candidate.firstName}}, just bumping this up in case it got buried.</p><p>{{sender.firstName}}</p>"},
			{7, "Last note from {{organization.name}}", "<p>Hi {{candidate.firstName}}, I will not write again, but our door stays open.</p><p>{{sender.firstName}}</p>"},
		}},
		{"Silver medalist re-engagement", []stage{
			{0, "Something new at {{organization.name}}", "<p>Hi {{candidate.firstName}},</p><p>You impressed us last time. We have a new {{job.title}} role that fits you well.</p>"},
			{5, "Coffee next week?", "<p>Hi {{candidate.firstName}}, would a 20-minute call next week work?</p>"},
		}},
	} {
		var stages []map[string]any
		for _, s := range t.stages {
			stages = append(stages, map[string]any{"delayDays": s.delay, "subject": s.subject, "bodyHtml": s.body})
		}
		var out ashby.SequenceTemplate
		if err := d.Invoke(ctx, "sequenceTemplate.create", map[string]any{"title": t.title, "stages": stages}, &out); err != nil {
			return err
		}
		templates = append(templates, out)
	}
	var retired ashby.SequenceTemplate
	if err := d.Invoke(ctx, "sequenceTemplate.create", map[string]any{"title": "2025 campus outreach", "unsubscribeLinkActive": false,
		"stages": []map[string]any{{"delayDays": 0, "subject": "Internships at {{organization.name}}", "bodyHtml": "<p>Hi {{candidate.firstName}}, applications are open.</p>"}}}, &retired); err != nil {
		return err
	}
	if err := d.Invoke(ctx, "sequenceTemplate.archive", map[string]any{"sequenceTemplateId": retired.ID}, nil); err != nil {
		return err
	}

	// Sourced candidates (Lead applications) are the ones sequences reach.
	n := 0
	seen := map[string]bool{}
	for _, app := range d.Applications {
		if app.Status != ashby.ApplicationLead || seen[app.Candidate.ID] {
			continue
		}
		seen[app.Candidate.ID] = true
		tmpl := templates[n%len(templates)]
		start := n%4 != 3 // every fourth stays a draft
		var seq ashby.Sequence
		if err := d.Invoke(ctx, "sequence.add", map[string]any{"sequenceTemplateId": tmpl.ID, "candidateId": app.Candidate.ID,
			"applicationId": app.ID, "start": start}, &seq); err != nil {
			return err
		}
		if start && seq.StartResult != nil && seq.StartResult.Status != ashby.StartStarted {
			return fmt.Errorf("sequence for %s did not start: %+v", app.Candidate.Name, seq.StartResult.Errors)
		}
		if n == 1 {
			if err := d.Invoke(ctx, "sequence.cancel", map[string]any{"sequenceId": seq.ID, "reason": "candidate_replied"}, nil); err != nil {
				return err
			}
		}
		if n++; n == 8 {
			break
		}
	}
	return nil
}
