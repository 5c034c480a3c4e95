package ashby

// FormDefinition is the machine-readable form Ashby uses for application
// forms, feedback, offers, surveys and referrals (https://developers.ashbyhq.com/reference/applicationformsubmit).
type FormDefinition struct {
	Sections []FormSection `json:"sections"`
}

// FormSection is a titled group of fields.
type FormSection struct {
	Title            string      `json:"title,omitempty"`
	DescriptionHTML  string      `json:"descriptionHtml,omitempty" maxLength:"long"`
	DescriptionPlain string      `json:"descriptionPlain,omitempty" maxLength:"long"`
	Fields           []FormEntry `json:"fields"`
}

// FormEntry places a field in a section.
type FormEntry struct {
	IsRequired       bool      `json:"isRequired"`
	DescriptionHTML  string    `json:"descriptionHtml,omitempty" maxLength:"long"`
	DescriptionPlain string    `json:"descriptionPlain,omitempty" maxLength:"long"`
	Field            FormField `json:"field"`
}

// FormField is one question; Path is its submission key.
type FormField struct {
	ID                string                `json:"id"`
	Type              string                `json:"type"`
	Path              string                `json:"path"`
	HumanReadablePath string                `json:"humanReadablePath" maxLength:"1000"`
	Title             string                `json:"title" maxLength:"1000"`
	IsNullable        bool                  `json:"isNullable"`
	SelectableValues  []FormSelectableValue `json:"selectableValues,omitempty"`
}

// FormSelectableValue is an option of a select field: Value is what a
// submission carries and what is stored; Label is shown.
type FormSelectableValue struct {
	Label string `json:"label"`
	Value string `json:"value"`
}

// FieldSubmission is one answer.
type FieldSubmission struct {
	Path  string `json:"path" required:"true"`
	Value any    `json:"value"`
}

// SubmittedFormInstance is a stored form submission.
type SubmittedFormInstance struct {
	ID              string         `json:"id"`
	FormDefinition  FormDefinition `json:"formDefinition"`
	SubmittedValues map[string]any `json:"submittedValues"`
}

// Form field types.
const (
	FieldString            = "String"
	FieldEmail             = "Email"
	FieldPhone             = "Phone"
	FieldLongText          = "LongText"
	FieldRichText          = "RichText"
	FieldFile              = "File"
	FieldBoolean           = "Boolean"
	FieldDate              = "Date"
	FieldNumber            = "Number"
	FieldValueSelect       = "ValueSelect"
	FieldMultiValueSelect  = "MultiValueSelect"
	FieldScore             = "Score"
	FieldLocation          = "Location"
	FieldSocialLink        = "SocialLink"
	FieldURL               = "Url"
	FieldCurrency          = "Currency"
	FieldNumberRange       = "NumberRange"
	FieldCompensationRange = "CompensationRange"
	FieldUUID              = "UUID"
	FieldEducationHistory  = "EducationHistory"
	FieldDateRange         = "DateRange"
)

// FieldTypes lists every form field type Ashlar validates.
var FieldTypes = []string{FieldString, FieldEmail, FieldPhone, FieldLongText, FieldRichText, FieldFile, FieldBoolean,
	FieldDate, FieldNumber, FieldValueSelect, FieldMultiValueSelect, FieldScore, FieldLocation, FieldSocialLink, FieldURL,
	FieldCurrency, FieldNumberRange, FieldCompensationRange, FieldUUID, FieldEducationHistory, FieldDateRange}
