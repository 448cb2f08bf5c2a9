package bounce

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	emailch "github.com/relais-dev/relais/internal/channel/builtin/email"
	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/policy"
	"github.com/relais-dev/relais/internal/store"
)

// Kind is what an outcome says about a message.
type Kind string

// Outcome kinds.
const (
	Delivered  Kind = "delivered"
	HardBounce Kind = "hard_bounce"
	SoftBounce Kind = "soft_bounce"
	Complaint  Kind = "complaint"
	Opened     Kind = "opened"
	Clicked    Kind = "clicked"
)

// Outcome is one thing a mailbox report or a provider said about one
// message.
type Outcome struct {
	Kind     Kind
	LedgerID string
	// Status is the enhanced status code (5.1.1) or SMTP code of a
	// bounce, the feedback type of a complaint; never an address.
	Status string
	// Source names where the outcome came from: "mailbox", "ses"…
	Source string
	// Ref identifies the report (a Message-ID digest, a provider event
	// id) so that a soft bounce, open or click is counted once per report.
	Ref string
	URL string // clicked link
	At  time.Time
}

// Store is what the recorder reads and writes; both store backends
// implement it.
type Store interface {
	GetLedger(ctx context.Context, id string) (store.LedgerRow, error)
	GetLedgerByProvider(ctx context.Context, providerID string) (store.LedgerRow, error)
	GetContact(ctx context.Context, id int64) (*contact.Contact, error)
	Transition(ctx context.Context, id string, from []store.State, to store.State, c store.Change) (bool, error)
	store.EventStore
	Suppress(ctx context.Context, key, reason string) error
	SetConsent(ctx context.Context, contactID int64, consentChannel, purpose string, st contact.ConsentState) error
}

// ErrUnknownMessage is returned by Apply for a ledger id with no email row.
var ErrUnknownMessage = errors.New("bounce: no email ledger row")

// ComplaintSource is the consent Source recorded for a complaint.
const ComplaintSource = "complaint"

// Recorder applies outcomes to the store. Its fields are set before use;
// it is safe for concurrent use.
type Recorder struct {
	Store Store
	// Secret is the policy secret of suppression keys (RELAIS_SECRET).
	Secret []byte
	// SoftLimit soft bounces of one contact within SoftWindow suppress
	// the address (reason soft_bounce). Defaults 3 and 30 days; a
	// negative SoftLimit never suppresses.
	SoftLimit  int
	SoftWindow time.Duration
	Log        *slog.Logger
	Now        func() time.Time
	// Observe, when set, counts the events recorded by type (the
	// relais_events_total metric).
	Observe func(eventType string, n int)
}

func (r *Recorder) log() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.Default()
}

func (r *Recorder) now() time.Time {
	if r.Now != nil {
		return r.Now().UTC()
	}
	return time.Now().UTC()
}

// Apply records o on a message that left relais (its row accepted,
// delivered, bounced, or ambiguous, which a report settles). It is idempotent: the same report applied twice changes
// nothing the second time (events carry a dedupe key; a hard bounce or a
// complaint is recorded once per message whatever its source). It reports
// whether anything new was recorded. A ledger id without an email row
// gives ErrUnknownMessage.
func (r *Recorder) Apply(ctx context.Context, o Outcome) (bool, error) {
	row, err := r.Store.GetLedger(ctx, o.LedgerID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && row.Channel != emailch.Name) {
		return false, ErrUnknownMessage
	}
	if err != nil {
		return false, fmt.Errorf("bounce: ledger: %w", err)
	}
	if !reported(row.State) {
		// Not sent (refused, failed, still planned): a report naming it
		// is stale or forged, and says nothing about the address.
		r.log().Info("email outcome for an unsent message ignored", "ledger", row.ID, "state", string(row.State), "kind", string(o.Kind))
		return false, nil
	}
	at := o.At
	if at.IsZero() {
		at = r.now()
	}
	ev := store.Event{LedgerID: row.ID, RunID: row.RunID, CampaignID: row.CampaignID, StepID: row.StepID,
		ContactID: row.ContactID, Channel: row.Channel, At: at.UTC()}
	base := "email:" + row.ID + ":"
	moved := false
	switch o.Kind {
	case Delivered:
		if moved, err = r.Store.Transition(ctx, row.ID, []store.State{store.Accepted, store.Ambiguous}, store.Delivered, store.Change{}); err != nil {
			return false, err
		}
		ev.Type, ev.DedupeKey = store.EventDelivered, base+"delivered"
	case HardBounce:
		reason := o.Status
		if reason == "" {
			reason = contact.SuppressHardBounce
		}
		moved, err = r.Store.Transition(ctx, row.ID, []store.State{store.Accepted, store.Delivered, store.Ambiguous}, store.Bounced,
			store.Change{Reason: reason, Error: o.Source + " hard bounce " + o.Status})
		if err != nil {
			return false, err
		}
		if err := r.suppress(ctx, row.ContactID, contact.SuppressHardBounce); err != nil {
			return false, err
		}
		ev.Type, ev.Detail, ev.DedupeKey = store.EventBounced, o.Status, base+"bounced"
	case SoftBounce:
		ev.Type, ev.Detail, ev.DedupeKey = store.EventSoftBounced, o.Status, base+"soft:"+o.Source+":"+o.Ref
	case Complaint:
		st := contact.ConsentState{Status: contact.Refused, Source: ComplaintSource, At: at.UTC(),
			Text: "spam complaint (" + o.Source + ") about campaign " + row.CampaignID + " step " + row.StepID}
		if err := r.Store.SetConsent(ctx, row.ContactID, policy.ConsentChannel(emailch.Name), contact.PurposeMarketing, st); err != nil {
			if !errors.Is(err, store.ErrNotFound) {
				return false, fmt.Errorf("bounce: complaint consent: %w", err)
			}
		}
		if err := r.suppress(ctx, row.ContactID, contact.SuppressComplaint); err != nil {
			return false, err
		}
		ev.Type, ev.Detail, ev.DedupeKey = store.EventComplained, o.Status, base+"complained"
	case Opened:
		ev.Type, ev.DedupeKey = store.EventOpened, base+"open:"+o.Source+":"+o.Ref
	case Clicked:
		ev.Type, ev.URL, ev.DedupeKey = store.EventClicked, o.URL, base+"click:"+o.Source+":"+o.Ref
	default:
		return false, fmt.Errorf("bounce: unknown outcome %q", o.Kind)
	}
	n, err := r.Store.RecordEvents(ctx, []store.Event{ev})
	if err != nil {
		return false, fmt.Errorf("bounce: record %s: %w", ev.Type, err)
	}
	if n > 0 && r.Observe != nil {
		r.Observe(ev.Type, n)
	}
	if o.Kind == SoftBounce && n > 0 {
		if err := r.softLimit(ctx, row.ContactID, at); err != nil {
			return false, err
		}
	}
	if moved || n > 0 {
		r.log().Info("email outcome recorded", "ledger", row.ID, "kind", string(o.Kind), "status", o.Status, "source", o.Source)
	}
	return moved || n > 0, nil
}

// softLimit suppresses the contact's address when its soft bounces within
// the window reach the limit.
func (r *Recorder) softLimit(ctx context.Context, contactID int64, at time.Time) error {
	limit, window := r.SoftLimit, r.SoftWindow
	if limit == 0 {
		limit = 3
	}
	if window == 0 {
		window = 30 * 24 * time.Hour
	}
	if limit < 0 {
		return nil
	}
	evs, err := r.Store.ListEvents(ctx, store.EventFilter{ContactID: contactID, Types: []string{store.EventSoftBounced}, Limit: 10000})
	if err != nil {
		return fmt.Errorf("bounce: soft bounces: %w", err)
	}
	n := 0
	for _, e := range evs {
		if e.Channel == emailch.Name && !e.At.Before(at.Add(-window)) {
			n++
		}
	}
	if n < limit {
		return nil
	}
	return r.suppress(ctx, contactID, contact.SuppressSoftBounce)
}

// suppress puts the contact's email address on the suppression list.
func (r *Recorder) suppress(ctx context.Context, contactID int64, reason string) error {
	c, err := r.Store.GetContact(ctx, contactID)
	if errors.Is(err, store.ErrNotFound) {
		return nil // forgotten: erasure suppressed the address already
	}
	if err != nil {
		return fmt.Errorf("bounce: contact %d: %w", contactID, err)
	}
	key := contact.SuppressionKeys(r.Secret, c)[contact.AddrEmail]
	if key == "" {
		return nil
	}
	if err := r.Store.Suppress(ctx, key, reason); err != nil {
		return fmt.Errorf("bounce: suppress contact %d: %w", contactID, err)
	}
	return nil
}

// reported reports whether a row in state st left relais, so that an
// outcome may be reported about it: accepted, delivered or bounced, or
// ambiguous (a report proves it left, and settles the row).
func reported(st store.State) bool {
	switch st {
	case store.Accepted, store.Delivered, store.Bounced, store.Ambiguous:
		return true
	}
	return false
}
