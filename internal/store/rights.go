package store

import (
	"context"
	"strings"
	"time"

	"github.com/relais-dev/relais/internal/contact"
)

// ConsentRecord is one recorded consent given or withdrawn for a contact,
// channel ("email", "sms", "postal") and purpose ("marketing",
// "open_tracking"), with its proof (GDPR art. 7(1): the controller must be
// able to demonstrate consent).
type ConsentRecord struct {
	ContactID int64     `json:"contact_id"`
	Channel   string    `json:"channel"`
	Purpose   string    `json:"purpose"`
	Granted   bool      `json:"granted"`
	Source    string    `json:"source"` // "import:file.csv", "api", "cli", "unsubscribe", "sms:STOP"
	Text      string    `json:"text,omitempty"`
	At        time.Time `json:"at"`
}

// ImportSourcePrefix starts the Source of a consent recorded by an import
// ("import:clients.csv").
const ImportSourcePrefix = "import:"

// ActivityTypes are the event types that count as a contact's activity
// for the retention job: a human click, a reply, a response or a
// conversion. An open does not count (privacy proxies open everything)
// and neither does a delivery.
var ActivityTypes = []string{EventClicked, EventReplied, EventResponded, EventConverted}

// RightsStore is what the data-protection rights need from the store
// (GDPR): finding a contact by reference, its consents, ledger and
// events for an access request, erasure in one transaction and the
// retention job's query. Both backends implement it and store.Store
// embeds it.
type RightsStore interface {
	// FindContacts returns the contacts whose external id equals ref, or
	// whose normalized email or E.164 phone equals ref normalized (see
	// contact.NormalizeEmail and contact.NormalizePhone, region FR), in id
	// order; none (and no error) when nothing matches. Erased contacts
	// have no reference left and are never found.
	FindContacts(ctx context.Context, ref string) ([]*contact.Contact, error)

	// SetConsent records a consent given or withdrawn with its proof,
	// replacing the contact's record for that channel and purpose.
	SetConsent(ctx context.Context, contactID int64, consentChannel, purpose string, st contact.ConsentState) error
	// ListConsents returns the contact's recorded consents ordered by
	// channel and purpose.
	ListConsents(ctx context.Context, contactID int64) ([]ConsentRecord, error)
	// ImportConsents records consents read from an import in one
	// transaction, under the rule that makes re-imports safe: a record is
	// written when the contact has none for that channel and purpose, or
	// when it is a refusal replacing a grant. An import never turns a
	// refusal (an opt-out, whatever its source) back into a grant, and
	// never rewrites the proof of an existing grant. It returns how many
	// records were written.
	ImportConsents(ctx context.Context, recs []ConsentRecord) (int, error)

	// ContactLedger returns every ledger row of the contact (the messages
	// relais sent or refused to send it) ordered by creation.
	ContactLedger(ctx context.Context, contactID int64) ([]LedgerRow, error)
	// ContactEvents returns every event of the contact ordered by id.
	ContactEvents(ctx context.Context, contactID int64) ([]Event, error)

	// EraseContact forgets a contact (GDPR art. 17) in one transaction: it
	// reads the stored contact, adds every key keys returns for it to the
	// suppression list with reason contact.SuppressErased, blanks every
	// personal field of the row (names, company, email, phone, address,
	// locale, time zone, attributes, imported consent, external id) and
	// sets its erased_at to at, clears the detail of its events and strips
	// the query of their URLs. Ledger rows, consent records and events stay
	// (they hold no personal data once the row is blank). It reports false
	// when the contact was already erased (nothing changes), and wraps
	// ErrNotFound for an unknown id.
	EraseContact(ctx context.Context, contactID int64, keys func(*contact.Contact) []string, at time.Time) (bool, error)

	// InactiveContacts returns up to limit contacts with id > afterID, in
	// id order, that are not erased, were created before since, and have
	// neither an event of ActivityTypes (machine clicks excluded) nor a
	// granted consent recorded at or after since: the prospects the
	// retention job erases. A limit ≤ 0 means 1000.
	InactiveContacts(ctx context.Context, since time.Time, afterID int64, limit int) ([]*contact.Contact, error)
}

// RefKeys returns what a contact reference (as typed in `contacts export
// REF`) is matched against: the reference itself as an external id, its
// normalized email ("" when it is not an email) and its E.164 form (""
// when it is not a phone number; national numbers are read as French).
func RefKeys(ref string) (externalID, emailNorm, phone string) {
	ref = strings.TrimSpace(ref)
	if n, ok := contact.NormalizeEmail(ref); ok {
		emailNorm = n
	}
	if emailNorm == "" {
		if p, err := contact.NormalizePhone(ref, contact.DefaultCountry); err == nil {
			phone = p
		}
	}
	return ref, emailNorm, phone
}
