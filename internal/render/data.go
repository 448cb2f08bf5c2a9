package render

import (
	"time"

	"github.com/relais-dev/relais/internal/contact"
)

// Data is everything a template sees . The field
// names are part of the campaign-file contract: templates in users'
// repositories reference them, so they are added to, never renamed.
type Data struct {
	Contact  ContactData
	Data     map[string]any // payload of an API-triggered (transactional) send
	Links    Links
	Response Response
	Campaign CampaignData
	Step     StepData
	Now      time.Time
	// Locale selects the language of date, number, money and title
	// ("fr", "en-GB"…); empty falls back to Contact.Locale, then to "fr".
	Locale string

	budget *budget // set by Execute on its own copy
}

// ContactData is the recipient as templates see it: names and address for
// personalization, Attrs for every other column or attribute.
type ContactData struct {
	FirstName string
	LastName  string
	Title     string
	Company   string
	Email     string
	Phone     string
	Address   contact.Address
	Locale    string
	Attrs     map[string]any
}

// Links are the per-recipient tracking URLs.
type Links struct {
	Unsubscribe string
	View        string
}

// Response identifies the recipient's answer channel (print reply coupon,
// personal URL).
type Response struct {
	Code string
	URL  string
}

// CampaignData names the campaign being sent.
type CampaignData struct {
	ID   string
	Name string
}

// StepData names the campaign step being sent.
type StepData struct {
	ID string
}

// NewContactData copies the template-visible part of c. A nil c gives the
// zero value (every field empty), which templates render as empty strings.
// Attrs is shared, not copied: templates only read it.
func NewContactData(c *contact.Contact) ContactData {
	if c == nil {
		return ContactData{}
	}
	return ContactData{
		FirstName: c.FirstName,
		LastName:  c.LastName,
		Title:     c.Title,
		Company:   c.Company,
		Email:     c.Email,
		Phone:     c.Phone,
		Address:   c.Address,
		Locale:    c.Locale,
		Attrs:     c.Attrs,
	}
}

// locale returns the locale formatting functions should use.
func (d *Data) locale() string {
	switch {
	case d == nil:
		return defaultLocale
	case d.Locale != "":
		return d.Locale
	case d.Contact.Locale != "":
		return d.Contact.Locale
	}
	return defaultLocale
}
