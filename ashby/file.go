package ashby

// File upload contexts (file.createFileUploadHandle's fileUploadContext):
// what an uploaded file may be used for.
const (
	UploadCandidateResume = "CandidateResume"
	UploadCandidateFiles  = "CandidateFiles"
	UploadApplicationForm = "ApplicationForm"
	// UploadTakeHomeSubmission marks files a candidate attached to a
	// take-home submission on its page. It is internal: upload handles
	// cannot be created for it.
	UploadTakeHomeSubmission = "TakeHomeSubmission"
)

// FileUploadHandle is file.createFileUploadHandle's result: POST the
// fields, then the file as the last part named "file", to URL as
// multipart/form-data; then use Handle with candidate.uploadResume,
// candidate.uploadFile or applicationForm.submit.
type FileUploadHandle struct {
	Handle string            `json:"handle"`
	URL    string            `json:"url"`
	Fields map[string]string `json:"fields"`
}

// FileURL is file.info's result: a short-lived download URL.
type FileURL struct {
	URL string `json:"url"`
}
