// Package store is the source of truth: contacts, runs and the send ledger,
// behind one interface with SQLite and PostgreSQL implementations.
package store

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/relais-dev/relais/internal/contact"
)

// ErrNotFound is returned when a row does not exist.
var ErrNotFound = errors.New("not found")

// Run is one execution of a campaign. (CampaignID, RunKey) is unique.
type Run struct {
	ID          int64  `json:"id"`
	CampaignID  string `json:"campaign_id"`
	RunKey      string `json:"run_key"`
	ContentHash string `json:"content_hash"` // hash of the campaign file and its templates
	State       string `json:"state"`        // "expanding", "sending", "done" (see RunStatus)
	DryRun      bool   `json:"dry_run,omitempty"`
	Planned     int    `json:"planned"` // ledger rows created so far
	// PausedAt is when an operator paused the run (zero: not paused);
	// CanceledAt and CancelReason record a cancellation.
	PausedAt     time.Time `json:"paused_at,omitzero"`
	CanceledAt   time.Time `json:"canceled_at,omitzero"`
	CancelReason string    `json:"cancel_reason,omitempty"`
	// ResendReason is set on a run started with --resend: it sends again
	// to people an earlier version of the campaign reached.
	ResendReason string    `json:"resend_reason,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// Run states.
const (
	RunExpanding = "expanding"
	RunSending   = "sending"
	RunDone      = "done"
)

// LedgerRow is one intended send: (RunID, StepID, ContactID, Channel) is
// unique and ID is derived from that key (see LedgerID).
type LedgerRow struct {
	ID         string
	RunID      int64
	CampaignID string
	StepID     string
	ContactID  int64
	Channel    string
	Purpose    string
	State      State
	Reason     string // refusal reason or failure code
	ProviderID string
	Error      string // last error, without PII
	Attempts   int
	Segments   int
	NotBefore  time.Time // deferred until (zero: now)
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Change describes the fields a Transition sets besides the state. Empty
// strings and zero values leave a field as it is.
type Change struct {
	Reason     string
	ProviderID string
	Error      string
	Segments   int
	NotBefore  time.Time
	AddAttempt bool
}

// LedgerFilter selects ledger rows; zero fields select all.
type LedgerFilter struct {
	RunID   int64
	States  []State
	AfterID string // keyset pagination: rows with ID > AfterID
	Limit   int    // default 1000
}

// Store is implemented by sqlstore.Store on SQLite and PostgreSQL. All
// methods are safe for concurrent use.
type Store interface {
	// UpsertContacts stores contacts, matching an existing one by
	// external id, else by normalized email, else by phone; it sets each
	// contact's ID. It reports how many were inserted and updated. A match
	// by email or phone is ignored when both sides carry different external
	// ids (two people sharing an address). An update merges as MergeContact
	// does, so a partial import never blanks what it does not mention.
	UpsertContacts(ctx context.Context, cs []*contact.Contact) (inserted, updated int, err error)
	// MatchContacts sets the ID of each of cs that matches a stored
	// contact by UpsertContacts' rules (0 for the others) and writes
	// nothing: what `plan` needs to decide as `run` will.
	MatchContacts(ctx context.Context, cs []*contact.Contact) error
	// GetContact returns a contact by id or ErrNotFound.
	GetContact(ctx context.Context, id int64) (*contact.Contact, error)
	// GetContactsByID returns the contacts with these ids (missing ones
	// are absent from the map).
	GetContactsByID(ctx context.Context, ids []int64) (map[int64]*contact.Contact, error)
	// ScanContacts returns up to limit contacts with ID > afterID ordered
	// by ID (keyset pagination for streaming audiences).
	ScanContacts(ctx context.Context, afterID int64, limit int) ([]*contact.Contact, error)

	// CreateRun inserts r unless a run with the same campaign and run key
	// exists; it returns the stored run and whether it was created.
	CreateRun(ctx context.Context, r Run) (Run, bool, error)
	// FindRun returns the run of a campaign with this run key or
	// ErrNotFound.
	FindRun(ctx context.Context, campaignID, runKey string) (Run, error)
	// GetRun returns a run by id or ErrNotFound.
	GetRun(ctx context.Context, id int64) (Run, error)
	// ListRuns returns the runs of a campaign ("" for all), newest first.
	ListRuns(ctx context.Context, campaignID string, limit int) ([]Run, error)
	// SetRunState sets a run's state and planned count.
	SetRunState(ctx context.Context, id int64, state string, planned int) error

	// InsertLedger inserts rows, ignoring those whose ID exists already;
	// it returns how many were new.
	InsertLedger(ctx context.Context, rows []LedgerRow) (int, error)
	// GetLedger returns a row by id or ErrNotFound.
	GetLedger(ctx context.Context, id string) (LedgerRow, error)
	// GetLedgerByProvider returns the row a provider id (SMTP Message-ID,
	// Twilio SID) was recorded on, for delivery callbacks, or ErrNotFound.
	GetLedgerByProvider(ctx context.Context, providerID string) (LedgerRow, error)
	// Transition moves row id to state to if its current state is one of
	// from, applying c, in one conditional update. It reports whether the
	// row moved (false: its state was not in from).
	Transition(ctx context.Context, id string, from []State, to State, c Change) (bool, error)
	// ListLedger returns rows matching f ordered by ID.
	ListLedger(ctx context.Context, f LedgerFilter) ([]LedgerRow, error)
	// CountLedger counts a run's rows per state and, for refused rows,
	// per reason (key "refused:<reason>").
	CountLedger(ctx context.Context, runID int64) (map[string]int, error)

	// MarketingSentSince counts the contact's marketing rows, on any
	// channel and run, submitted or accepted at or after since (states
	// submitting, accepted, delivered, bounced, ambiguous): the input of
	// the frequency cap.
	MarketingSentSince(ctx context.Context, contactID int64, since time.Time) (int, error)

	// Close closes the database.
	Close() error

	// The capabilities of the other files of this package: events,
	// reports, rights (consent, export, erasure), the HTTP API, phone
	// lookups for SMS webhooks and reply-coupon codes. Both backends
	// implement every one.
	EventStore
	ReportStore
	RightsStore
	APIStore
	PhoneStore
	ResponseStore
	ControlStore
	ChannelControl
	VersionStore
	BatchStore
	ApprovalStore
	SessionStore
	// Suppress adds key (contact.SuppressionKey) to the suppression list
	// with reason; adding it again is a no-op.
	Suppress(ctx context.Context, key, reason string) error
	// The policy engine's lookups (its Lookup interface).
	Consent(ctx context.Context, contactID int64, consentChannel, purpose string) (contact.ConsentState, error)
	Suppressed(ctx context.Context, key string) (bool, string, error)
}

// LedgerID derives a ledger row's id from its unique key, so the same
// intended send always gets the same id (it is also the asynq task id, so a
// re-enqueue of the same send is refused by the queue). It is 32 hex
// digits: the run (4 bytes) and the contact (6 bytes) in order, then 6
// bytes of a SHA-256 of the whole key (which tells the steps and channels
// of one contact apart). An expansion inserts a run's rows in contact
// order, so the ledger's id indexes grow at their right edge instead of
// taking every row at a random page (which, past the database's cache,
// made each insert read and write index pages). A key beyond that range
// gets the whole 16 bytes of the hash (LegacyLedgerID).
func LedgerID(runID int64, stepID string, contactID int64, channel string) string {
	if runID < 0 || runID >= 1<<32 || contactID < 0 || contactID >= 1<<48 {
		return LegacyLedgerID(runID, stepID, contactID, channel)
	}
	var b, c [16]byte
	binary.BigEndian.PutUint32(b[0:4], uint32(runID))
	binary.BigEndian.PutUint64(c[:8], uint64(contactID))
	copy(b[4:10], c[2:8]) // the contact's low 6 bytes
	sum := ledgerKeyHash(runID, stepID, contactID, channel)
	copy(b[10:], sum[:6])
	return hex.EncodeToString(b[:])
}

// LegacyLedgerID is the id of rows written before LedgerID ordered ids by
// run and contact: the first 16 bytes of the key's SHA-256.
func LegacyLedgerID(runID int64, stepID string, contactID int64, channel string) string {
	sum := ledgerKeyHash(runID, stepID, contactID, channel)
	return hex.EncodeToString(sum[:16])
}

func ledgerKeyHash(runID int64, stepID string, contactID int64, channel string) [sha256.Size]byte {
	h := sha256.New()
	fmt.Fprintf(h, "%d\x00%s\x00%d\x00%s", runID, stepID, contactID, channel)
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

// MergeContact returns stored updated with in the way UpsertContacts
// updates a matched contact: a non-empty field of in replaces the stored
// one and an empty one keeps it, attributes and consent merge key by key
// (a nil consent entry means "unknown" and keeps the stored answer), and
// Email/EmailNorm and Phone/PhoneRaw move as pairs because each pair
// describes one input. CreatedAt and ID come from stored. Neither argument
// is modified.
func MergeContact(stored, in *contact.Contact) *contact.Contact {
	m := *stored
	str := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	str(&m.ExternalID, in.ExternalID)
	str(&m.Title, in.Title)
	str(&m.FirstName, in.FirstName)
	str(&m.LastName, in.LastName)
	str(&m.Company, in.Company)
	if in.Email != "" {
		m.Email, m.EmailNorm = in.Email, in.EmailNorm
	}
	if in.Phone != "" || in.PhoneRaw != "" {
		m.Phone, m.PhoneRaw = in.Phone, in.PhoneRaw
	}
	str(&m.Address.Line1, in.Address.Line1)
	str(&m.Address.Line2, in.Address.Line2)
	str(&m.Address.Line3, in.Address.Line3)
	str(&m.Address.Line4, in.Address.Line4)
	str(&m.Address.Postcode, in.Address.Postcode)
	str(&m.Address.City, in.Address.City)
	str(&m.Address.Country, in.Address.Country)
	str(&m.Locale, in.Locale)
	str(&m.Timezone, in.Timezone)
	str(&m.Kind, in.Kind)
	if len(in.Attrs) > 0 {
		attrs := make(map[string]any, len(stored.Attrs)+len(in.Attrs))
		for k, v := range stored.Attrs {
			attrs[k] = v
		}
		for k, v := range in.Attrs {
			attrs[k] = v
		}
		m.Attrs = attrs
	}
	copied := false
	for k, v := range in.Consent {
		if v == nil {
			continue
		}
		if !copied {
			c := make(map[string]*bool, len(stored.Consent)+len(in.Consent))
			for k2, v2 := range stored.Consent {
				c[k2] = v2
			}
			m.Consent, copied = c, true
		}
		b := *v
		m.Consent[k] = &b
	}
	return &m
}

// RunStatus is what a run is doing, from its state and its ledger counts
// (CountLedger): "expanding" while rows are being planned, "paused" while
// an operator holds it, "canceled" once canceled and settled, "sending" while
// some row is still to be acted on now, "waiting" while only deferred
// rows remain (quiet hours, a later `at:`), "done" when every row is
// final.
func RunStatus(r Run, counts map[string]int) string {
	switch {
	case r.State == RunExpanding:
		return RunExpanding
	case !r.CanceledAt.IsZero() && Due(counts)+counts[string(Deferred)] == 0:
		return RunCanceled
	case !r.PausedAt.IsZero() && r.CanceledAt.IsZero():
		return RunPaused
	case Due(counts) > 0:
		return RunSending
	case counts[string(Deferred)] > 0:
		return "waiting"
	}
	return RunDone
}
