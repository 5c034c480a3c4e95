package ashby

import "encoding/json"

// Wire types of auditLog.list (https://developers.ashbyhq.com/reference/auditloglist; docs/audit-log.md).
// Ashby documents the entry's top-level fields and the actor types; the
// inner shapes of actor, target, request, parentAction and changedFields
// are Ashlar's, written down in docs/audit-log.md.

// AuditLogEntry is one change recorded in the audit log.
type AuditLogEntry struct {
	ID        string     `json:"id"`
	Timestamp Time       `json:"timestamp"`
	Actor     AuditActor `json:"actor"`
	// Category is "<targetType in lowerCamelCase>.<created|updated|deleted>".
	Category string `json:"category"`
	// ChangedFields maps each top-level field of the target that an update
	// changed to its value before and after; null for creations and
	// deletions, and for the first update of a record that predates the
	// audit log's history of it.
	ChangedFields map[string]AuditChange `json:"changedFields"`
	Description   string                 `json:"description"`
	// ParentAction points, on the entries of the records a call changed
	// besides its main one, at the main entry; null on the main entry.
	ParentAction *AuditParentAction `json:"parentAction"`
	// Request is the API request that made the change; null for changes
	// made outside any request (command line, background work).
	Request *AuditRequest `json:"request"`
	Target  AuditTarget   `json:"target"`
}

// Actor types Ashby documents for audit entries. Ashlar records ApiUser
// (a request with an API key) and System (everything else).
const (
	ActorUser       = "User"
	ActorAPIUser    = "ApiUser"
	ActorAutomation = "Automation"
	ActorSupport    = "Support"
	ActorCandidate  = "Candidate"
	ActorOperations = "Operations"
	ActorSystem     = "System"
	ActorOther      = "Other"
)

// AuditActor is who made a change.
type AuditActor struct {
	Type string `json:"type" enum:"User,ApiUser,Automation,Support,Candidate,Operations,System,Other"`
	// ID is the API key's id for ApiUser, the user's id for User (a
	// person signed in to the web app); null for System.
	ID *string `json:"id"`
	// Name is the API key's title, the user's name, or what ran a system
	// change.
	Name string `json:"name"`
	// UserID is the user an API key acts as, when it has one, or the
	// signed-in user.
	UserID string `json:"userId,omitempty"`
}

// AuditChange is one changed field: its value before and after.
type AuditChange struct {
	From json.RawMessage `json:"from"`
	To   json.RawMessage `json:"to"`
}

// AuditParentAction points at the entry a change was part of.
type AuditParentAction struct {
	ID       string `json:"id"`
	Category string `json:"category"`
}

// AuditRequest describes the API request behind a change.
type AuditRequest struct {
	ID        string `json:"id"`
	Endpoint  string `json:"endpoint,omitempty"`
	IPAddress string `json:"ipAddress,omitempty"`
	UserAgent string `json:"userAgent,omitempty"`
}

// AuditTarget is the record a change was made to.
type AuditTarget struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	// Name is the record's title or name when it has one.
	Name string `json:"name,omitempty"`
}
