package audit

import (
	"slices"
	"strings"
	"sync"
	"unicode"
)

// The vocabulary of target types and categories (docs/audit-log.md).
//
// Every record kind of the docs table is a target type: its name in
// PascalCase ("job_posting" → "JobPosting"). Each target type has three
// categories, "<type in lowerCamelCase>.created", ".updated" and
// ".deleted", so each category belongs to exactly one target type, as in
// Ashby. Filters must use values of this vocabulary (Ashby answers
// unknown ones with an error); responses may carry types of kinds added
// later, derived the same way.

// Actions, the suffixes of categories.
const (
	ActionCreated = "created"
	ActionUpdated = "updated"
	ActionDeleted = "deleted"
)

// knownKinds are the record kinds of this build. A kind missing here is
// still audited, under its derived type, but cannot be used in filters;
// api's tests check that every kind it declares is listed.
var knownKinds = []string{
	"api_key", "application", "application_feedback", "application_form_submission", "application_history",
	"approval", "approval_definition", "archive_reason", "assessment", "assessment_stage_trigger", "assessment_start",
	"assessment_type", "brand",
	"candidate", "candidate_project", "candidate_tag", "close_reason", "communication_template",
	"criteria_evaluation", "custom_field", "department", "email_message", "feedback_form_definition",
	"fraud_check", "hiring_team_role", "hris_push", "interview", "interview_activity", "interview_defaults",
	"interview_event", "interview_plan", "interview_schedule", "interview_stage", "interview_stage_group",
	"interviewer_pause", "interviewer_pool", "interviewer_settings", "job", "job_board", "job_posting",
	"job_template", "location", "note", "offer", "offer_form", "offer_process", "offer_version", "opening", "organization",
	"partner_custom_fields", "partner_integration", "project", "referral", "referral_form", "sequence",
	"sequence_template", "source", "source_tracking_link", "survey_form_definition", "survey_request",
	"survey_submission", "take_home_assignment", "user", "webhook", "workflow_run",
}

var vocab struct {
	sync.RWMutex
	kinds map[string]bool
}

func init() {
	vocab.kinds = map[string]bool{}
	for _, k := range knownKinds {
		vocab.kinds[k] = true
	}
}

// RegisterKind adds a record kind to the vocabulary, for packages that
// declare kinds of their own; call it from an init function.
func RegisterKind(kind string) {
	vocab.Lock()
	vocab.kinds[kind] = true
	vocab.Unlock()
}

// KnownKind reports whether kind is in the vocabulary.
func KnownKind(kind string) bool {
	vocab.RLock()
	defer vocab.RUnlock()
	return vocab.kinds[kind]
}

// TargetType is the target type of a record kind.
func TargetType(kind string) string {
	var b strings.Builder
	for _, part := range strings.Split(kind, "_") {
		if part == "" {
			continue
		}
		r := []rune(part)
		b.WriteRune(unicode.ToUpper(r[0]))
		b.WriteString(string(r[1:]))
	}
	return b.String()
}

// Category is the category of an action on a record kind.
func Category(kind, action string) string {
	t := []rune(TargetType(kind))
	if len(t) == 0 {
		return action
	}
	t[0] = unicode.ToLower(t[0])
	return string(t) + "." + action
}

// TargetTypes lists the vocabulary's target types, sorted.
func TargetTypes() []string {
	vocab.RLock()
	defer vocab.RUnlock()
	out := make([]string, 0, len(vocab.kinds))
	for k := range vocab.kinds {
		out = append(out, TargetType(k))
	}
	slices.Sort(out)
	return out
}

// Categories lists the vocabulary's categories, sorted.
func Categories() []string {
	vocab.RLock()
	defer vocab.RUnlock()
	out := make([]string, 0, 3*len(vocab.kinds))
	for k := range vocab.kinds {
		for _, a := range []string{ActionCreated, ActionUpdated, ActionDeleted} {
			out = append(out, Category(k, a))
		}
	}
	slices.Sort(out)
	return out
}

// ValidTargetType reports whether s is a target type of the vocabulary.
func ValidTargetType(s string) bool {
	vocab.RLock()
	defer vocab.RUnlock()
	for k := range vocab.kinds {
		if TargetType(k) == s {
			return true
		}
	}
	return false
}

// ValidCategory reports whether s is a category of the vocabulary.
func ValidCategory(s string) bool {
	vocab.RLock()
	defer vocab.RUnlock()
	for k := range vocab.kinds {
		for _, a := range []string{ActionCreated, ActionUpdated, ActionDeleted} {
			if Category(k, a) == s {
				return true
			}
		}
	}
	return false
}

// label is a target type as words for descriptions ("JobPosting" → "job posting").
func label(targetType string) string {
	var b strings.Builder
	for i, r := range targetType {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte(' ')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}
