package httpapi

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/channel"
	"github.com/relais-dev/relais/internal/contact"
)

// Recipient is a contact as the API takes it: the canonical fields of
// in contact imports (as in import headers) plus free attributes. Empty fields leave
// a stored contact's value as it is (the store merges).
type Recipient struct {
	ExternalID    string         `json:"external_id,omitempty"`
	Title         string         `json:"title,omitempty"`
	FirstName     string         `json:"first_name,omitempty"`
	LastName      string         `json:"last_name,omitempty"`
	Company       string         `json:"company,omitempty"`
	Email         string         `json:"email,omitempty"`
	Phone         string         `json:"phone,omitempty"`
	AddressLine1  string         `json:"address_line1,omitempty"`
	AddressLine2  string         `json:"address_line2,omitempty"`
	AddressLine3  string         `json:"address_line3,omitempty"`
	AddressLine4  string         `json:"address_line4,omitempty"`
	Postcode      string         `json:"postcode,omitempty"`
	City          string         `json:"city,omitempty"`
	Country       string         `json:"country,omitempty"`
	Locale        string         `json:"locale,omitempty"`
	Timezone      string         `json:"timezone,omitempty"`
	Kind          string         `json:"kind,omitempty"`
	ConsentEmail  *bool          `json:"consent_email,omitempty"`
	ConsentSMS    *bool          `json:"consent_sms,omitempty"`
	ConsentPostal *bool          `json:"consent_postal,omitempty"`
	Attrs         map[string]any `json:"attrs,omitempty"`
}

// contact validates r and returns it as a normalized contact; prefix is
// the JSON path of r in the request ("recipient." or "") for errors.
// Its consent fields are those of channels' consent keys.
func (r *Recipient) contact(prefix string, channels *channel.Registry) (*contact.Contact, error) {
	c := &contact.Contact{
		ExternalID: r.ExternalID, Title: r.Title, FirstName: r.FirstName, LastName: r.LastName,
		Company: r.Company, Email: r.Email, Phone: r.Phone, Locale: r.Locale, Timezone: r.Timezone, Kind: r.Kind,
		Address: contact.Address{Line1: r.AddressLine1, Line2: r.AddressLine2, Line3: r.AddressLine3,
			Line4: r.AddressLine4, Postcode: r.Postcode, City: r.City, Country: r.Country},
		Attrs: maps.Clone(r.Attrs),
	}
	c.Consent = r.consents(channels.ConsentKeys())
	c.Normalize()
	switch {
	case c.Kind != contact.KindPerson && c.Kind != contact.KindBusiness:
		return nil, errInvalid(prefix+"kind", `must be "person" or "business"`)
	case c.Email != "" && c.EmailNorm == "":
		return nil, errInvalid(prefix+"email", "not a valid email address")
	case r.Phone != "" && c.Phone == "":
		return nil, errInvalid(prefix+"phone", "not a valid phone number (E.164, or national for the address country)")
	case len(c.Address.Country) != 2:
		return nil, errInvalid(prefix+"country", "must be an ISO 3166-1 alpha-2 code")
	}
	if c.Timezone != "" {
		if _, err := time.LoadLocation(c.Timezone); err != nil {
			return nil, errInvalid(prefix+"timezone", "unknown IANA time zone")
		}
	}
	return c, nil
}

// addressField is the recipient field a channel sends to.
func addressField(r *channel.Registry, ch string) string {
	if d, ok := r.Lookup(ch); ok && d.Address.Field != "" {
		return d.Address.Field
	}
	return ch
}

// hasAddress reports whether c can be reached on ch at all, by the
// channel's one address rule (the policy then decides whether it may be).
func hasAddress(r *channel.Registry, c *contact.Contact, ch string) bool {
	d, ok := r.Lookup(ch)
	return ok && d.Usable(c)
}

// checkReachable returns a 422 naming the address field of the first
// channel when c has no address on any channel of some initial step of sp.
func checkReachable(r *channel.Registry, sp *campaign.Spec, c *contact.Contact) error {
	for i := range sp.Steps {
		st := &sp.Steps[i]
		if st.After != 0 || st.When != "" {
			continue
		}
		chans := sp.ChannelsFor(st)
		ok := false
		for _, ch := range chans {
			if hasAddress(r, c, ch) {
				ok = true
				break
			}
		}
		if !ok && len(chans) > 0 {
			names := make([]string, len(chans))
			for i, ch := range chans {
				names[i] = addressField(r, ch)
			}
			return errInvalid("recipient."+addressField(r, chans[0]),
				fmt.Sprintf("step %s needs one of: %s", st.ID, strings.Join(names, ", ")))
		}
	}
	return nil
}

// consents returns r's consent_<key> fields for the consent keys, by key,
// or nil when none is set: the JSON field names follow the import's
// consent_<key> columns, so the channels' consent keys name them.
func (r *Recipient) consents(keys []string) map[string]*bool {
	v := reflect.ValueOf(r).Elem()
	out := map[string]*bool{}
	set := false
	for i := range v.NumField() {
		name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
		key, ok := strings.CutPrefix(name, "consent_")
		if !ok || !slices.Contains(keys, key) {
			continue
		}
		b, _ := v.Field(i).Interface().(*bool)
		out[key] = b
		set = set || b != nil
	}
	if !set {
		return nil
	}
	return out
}
