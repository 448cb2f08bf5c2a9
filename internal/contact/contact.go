// Package contact holds the contact model and the normalization of emails,
// phone numbers and postal addresses; it does no I/O.
package contact

import "time"

// Kind values of Contact.Kind.
const (
	KindPerson   = "person"
	KindBusiness = "business"
)

// Address is a structured postal address. Lines hold the delivery lines
// (recipient complement, street, building, lieu-dit) in order; Postcode,
// City and Country complete it. Country is an ISO 3166-1 alpha-2 code
// (default "FR").
type Address struct {
	Line1    string `json:"line1,omitempty"`
	Line2    string `json:"line2,omitempty"`
	Line3    string `json:"line3,omitempty"`
	Line4    string `json:"line4,omitempty"`
	Postcode string `json:"postcode,omitempty"`
	City     string `json:"city,omitempty"`
	Country  string `json:"country,omitempty"`
}

// Contact is one recipient. ID is the store's id (0 before it is stored).
// Email holds the address as given (trimmed); EmailNorm the lower-cased
// form used for matching and suppression. Phone is E.164 when it could be
// normalized, empty otherwise (the raw input is kept in PhoneRaw).
type Contact struct {
	ID         int64          `json:"id,omitempty"`
	ExternalID string         `json:"external_id,omitempty"`
	Title      string         `json:"title,omitempty"`
	FirstName  string         `json:"first_name,omitempty"`
	LastName   string         `json:"last_name,omitempty"`
	Company    string         `json:"company,omitempty"`
	Email      string         `json:"email,omitempty"`
	EmailNorm  string         `json:"email_norm,omitempty"` // "" when Email is empty or invalid
	Phone      string         `json:"phone,omitempty"`
	PhoneRaw   string         `json:"phone_raw,omitempty"` // input kept when Phone could not be normalized
	Address    Address        `json:"address"`
	Locale     string         `json:"locale,omitempty"`
	Timezone   string         `json:"timezone,omitempty"`
	Kind       string         `json:"kind,omitempty"`
	Attrs      map[string]any `json:"attrs,omitempty"`
	// Consent as read from an import or the API, per consent key of the
	// channels (the consent_<key> columns): nil means unknown.
	Consent   map[string]*bool `json:"consent,omitempty"`
	CreatedAt time.Time        `json:"created_at,omitzero"`
	UpdatedAt time.Time        `json:"updated_at,omitzero"`
	// ErasedAt is when the contact was forgotten (GDPR art. 17): its
	// personal fields are empty and no message may go to it. Zero: not
	// erased. Set by the store, never by an import.
	ErasedAt time.Time `json:"erased_at,omitzero"`
}

// CanonicalFields lists the column names recognized as they are in import
// headers and visible by these names in expressions.
var CanonicalFields = []string{
	"external_id", "title", "first_name", "last_name", "company", "email", "phone",
	"address_line1", "address_line2", "address_line3", "address_line4",
	"postcode", "city", "country", "locale", "timezone", "kind",
	"consent_email", "consent_sms", "consent_postal",
}
