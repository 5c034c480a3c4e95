package webapp

// emailView is an email as the candidate's page and the outbox list it.
type emailView struct{}

func (a *App) candidateEmails(q *Request, candidateID string) ([]emailView, error) { return nil, nil }
