// Package twiliohook connects Twilio's webhooks to the store: delivery
// statuses move the send ledger forward, an inbound STOP opts the number
// out (suppression list and recorded consent, with the message as proof),
// any other inbound text becomes a `replied` event, and MMS media from a
// campaign's files are served under signed URLs. The HTTP side (signature
// checks with twilio-go's RequestValidator, form parsing) is
// twilio.StatusHandler and twilio.InboundHandler; this package implements
// their sinks.
//
// It is the adapter between the Twilio provider and the domain rather than
// a part of channel/twilio: the sinks write the ledger, consent and the
// suppression list, and a provider package must not depend on the store,
// so that it can be tested alone and another provider added beside it. It
// never imports twilio-go itself; channel/twilio owns the SDK.
package twiliohook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	smsch "github.com/relais-dev/relais/internal/channel/builtin/sms"
	"github.com/relais-dev/relais/internal/channel/twilio"
	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/store"
)

// Store is what the sink reads and writes. Both store backends implement
// it; it is declared here, by its consumer, because store.Store does not
// (yet) embed the event, phone and policy-writing methods.
type Store interface {
	GetContact(ctx context.Context, id int64) (*contact.Contact, error)
	GetLedgerByProvider(ctx context.Context, providerID string) (store.LedgerRow, error)
	Transition(ctx context.Context, id string, from []store.State, to store.State, c store.Change) (bool, error)
	store.EventStore
	store.PhoneStore
	Suppressor
	SetConsent(ctx context.Context, contactID int64, consentChannel, purpose string, st contact.ConsentState) error
}

// Suppressor adds a key to the suppression list (both store backends).
type Suppressor interface {
	Suppress(ctx context.Context, key, reason string) error
}

// Consent record written for an inbound opt-out.
const (
	// OptOutSource is the ConsentState.Source of an SMS opt-out: the
	// proof is the inbound message, kept as ConsentState.Text.
	OptOutSource = "sms:inbound"
	// consentChannel and consentPurpose: STOP withdraws marketing consent
	// on the text channels' record, which covers MMS too.
	consentChannel = smsch.ConsentKey
	consentPurpose = contact.PurposeMarketing
)

// textChannels are the ledger channels an inbound message can answer.
var textChannels = []string{smsch.SMS, smsch.MMS}

// Sink implements twilio.StatusSink and twilio.InboundSink over a Store. Its
// fields must be set before use and not changed after; safe for concurrent
// use.
type Sink struct {
	// Store is required.
	Store Store
	// Secret is the policy secret suppression keys are computed with
	// (contact.SuppressionKey); it must be the one the policy engine uses,
	// or the suppression would never match. Required.
	Secret []byte
	// Log receives one line per ignored or applied callback, never with
	// numbers or message text. Default: slog.Default().
	Log *slog.Logger
	// Now is the clock of event and consent times. Default: time.Now.
	Now func() time.Time
}

var (
	_ twilio.StatusSink  = (*Sink)(nil)
	_ twilio.InboundSink = (*Sink)(nil)
)

// New returns a Sink over st with the policy secret; log may be nil.
func New(st Store, secret []byte, log *slog.Logger) *Sink {
	return &Sink{Store: st, Secret: secret, Log: log}
}

func (s *Sink) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

func (s *Sink) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// finalStates maps twilio.FinalState's answers to ledger states, the event
// each records and the Twilio status its DedupeKey names. The key uses one
// status per outcome, not the callback's own, so "read" after "delivered"
// (or "canceled" for "failed") cannot record the outcome twice.
var finalStates = map[string]struct {
	state  store.State
	event  string
	status string
}{
	twilio.StateDelivered: {store.Delivered, store.EventDelivered, "delivered"},
	twilio.StateBounced:   {store.Bounced, store.EventBounced, "undelivered"},
	twilio.StateFailed:    {store.Failed, store.EventFailed, "failed"},
}

// suppressCodes are the Twilio error codes of a status callback (or of a
// create call) that say the number must not be texted again: 21610 and
// 30004 (the recipient or their carrier blocks us: an opt-out, which still
// lets transactional messages through) and 21211, 21614, 30005, 30006
// (invalid number, landline, unknown or unreachable number: a hard bounce,
// which blocks everything). A send that Twilio refuses with one of these
// codes at create time is suppressed by the worker instead
// (feedback.Feedback.SuppressOnFailure, from twilio.Reason).
var suppressCodes = map[int]string{
	21610: contact.SuppressOptedOut,
	30004: contact.SuppressOptedOut,
	21211: contact.SuppressHardBounce,
	21614: contact.SuppressHardBounce,
	30005: contact.SuppressHardBounce,
	30006: contact.SuppressHardBounce,
}

// SMSStatus applies a status callback. Only final statuses (delivered,
// read, undelivered, failed, canceled) change the ledger, and only from
// accepted: a replayed or reordered callback, or a second final status,
// changes nothing. The matching event (delivered, bounced, failed) is
// recorded with DedupeKey "twilio:<sid>:<delivered|undelivered|failed>",
// also when the row was already in that state, so a retry after a failed
// event write completes it. A bounced or failed status whose error code is
// in suppressCodes suppresses the recipient's number, as a hard bounce
// suppresses an email address. An unknown sid or status is logged and
// ignored (nil error) so Twilio stops retrying it; store errors are
// returned so Twilio retries.
func (s *Sink) SMSStatus(ctx context.Context, sid, status string, errorCode int) error {
	row, err := s.Store.GetLedgerByProvider(ctx, sid)
	if errors.Is(err, store.ErrNotFound) {
		s.log().Info("twilio status for an unknown message ignored", "sid", sid, "status", status)
		return nil
	}
	if err != nil {
		return fmt.Errorf("twilio status %s: %w", sid, err)
	}
	state, final := twilio.FinalState(status)
	target, known := finalStates[state]
	if !final || !known {
		return nil // queued, sending, sent: the ledger keeps "accepted"
	}
	change := store.Change{}
	if errorCode != 0 {
		change.Reason = strconv.Itoa(errorCode)
		change.Error = fmt.Sprintf("twilio status %s, error %d", status, errorCode)
	}
	moved, err := s.Store.Transition(ctx, row.ID, []store.State{store.Accepted}, target.state, change)
	if err != nil {
		return fmt.Errorf("twilio status %s: ledger %s: %w", sid, row.ID, err)
	}
	log := s.log().With("ledger", row.ID, "sid", sid, "status", status, "error_code", errorCode)
	if !moved && row.State != target.state {
		log.Debug("twilio status does not advance the ledger", "ledger_state", string(row.State))
		return nil
	}
	if reason, ok := suppressCodes[errorCode]; ok && target.state != store.Delivered {
		if err := s.suppressContact(ctx, row.ContactID, reason); err != nil {
			return fmt.Errorf("twilio status %s: %w", sid, err)
		}
	}
	ev := eventOn(row, target.event, s.now())
	ev.DedupeKey = "twilio:" + sid + ":" + target.status
	if _, err := s.Store.RecordEvents(ctx, []store.Event{ev}); err != nil {
		return fmt.Errorf("twilio status %s: record %s event: %w", sid, target.event, err)
	}
	if moved {
		log.Info("twilio status applied", "ledger_state", string(target.state))
	}
	return nil
}

// suppressContact suppresses the phone of the contact a message went to.
func (s *Sink) suppressContact(ctx context.Context, contactID int64, reason string) error {
	c, err := s.Store.GetContact(ctx, contactID)
	if errors.Is(err, store.ErrNotFound) {
		return nil // forgotten since: erasure suppressed every key already
	}
	if err != nil {
		return fmt.Errorf("contact %d: %w", contactID, err)
	}
	phone := strings.TrimSpace(c.Phone)
	if phone == "" {
		return nil
	}
	if err := s.Store.Suppress(ctx, contact.SuppressionKey(s.Secret, smsch.Address.Class, phone), reason); err != nil {
		return fmt.Errorf("suppress contact %d phone: %w", contactID, err)
	}
	return nil
}

// OptOut handles an opt-out keyword from fromE164: the number goes on the
// suppression list as opted_out (so it works for numbers relais has no
// contact for, and stops SMS and MMS alike), each contact with that number
// gets a refused marketing consent on "sms" with source "sms:inbound" and
// the keyword as proof, and an `unsubscribed` event is recorded on the
// latest SMS or MMS sent to the number (DedupeKey "twilio:in:<sid>").
// Replaying the same webhook changes nothing.
func (s *Sink) OptOut(ctx context.Context, fromE164, body, sid string) error {
	from := strings.TrimSpace(fromE164)
	if from == "" {
		return errors.New("twilio inbound: empty sender number")
	}
	if err := s.Store.Suppress(ctx, contact.SuppressionKey(s.Secret, smsch.Address.Class, from), contact.SuppressOptedOut); err != nil {
		return fmt.Errorf("twilio inbound %s: %w", sid, err)
	}
	ids, err := s.Store.ContactsByPhone(ctx, from)
	if err != nil {
		return fmt.Errorf("twilio inbound %s: %w", sid, err)
	}
	now := s.now()
	for _, id := range ids {
		st := contact.ConsentState{Status: contact.Refused, Source: OptOutSource, At: now, Text: body}
		if err := s.Store.SetConsent(ctx, id, consentChannel, consentPurpose, st); err != nil {
			return fmt.Errorf("twilio inbound %s: %w", sid, err)
		}
	}
	found, err := s.recordOnLatest(ctx, ids, store.EventUnsubscribed, body, sid)
	if err != nil {
		return err
	}
	s.log().Info("sms opt-out recorded", "sid", sid, "contacts", len(ids), "on_delivery", found)
	return nil
}

// Reply records any other inbound text as a `replied` event on the latest
// SMS or MMS sent to fromE164, with the text as Detail (cleared when the
// contact is forgotten) and DedupeKey "twilio:in:<sid>". A reply from a
// number relais never texted is logged and dropped.
func (s *Sink) Reply(ctx context.Context, fromE164, body, sid string) error {
	ids, err := s.Store.ContactsByPhone(ctx, strings.TrimSpace(fromE164))
	if err != nil {
		return fmt.Errorf("twilio inbound %s: %w", sid, err)
	}
	found, err := s.recordOnLatest(ctx, ids, store.EventReplied, body, sid)
	if err != nil {
		return err
	}
	if !found {
		s.log().Info("sms reply to no known delivery dropped", "sid", sid)
	}
	return nil
}

// recordOnLatest records one event of type typ on the most recent SMS or
// MMS ledger row of any of the contacts (the number may be shared); it
// reports whether there was such a row.
func (s *Sink) recordOnLatest(ctx context.Context, contactIDs []int64, typ, detail, sid string) (bool, error) {
	var latest *store.LedgerRow
	for _, id := range contactIDs {
		row, err := s.Store.LatestLedgerByContact(ctx, id, textChannels)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("twilio inbound %s: %w", sid, err)
		}
		if latest == nil || row.CreatedAt.After(latest.CreatedAt) {
			latest = &row
		}
	}
	if latest == nil {
		return false, nil
	}
	ev := eventOn(*latest, typ, s.now())
	ev.Detail, ev.DedupeKey = detail, "twilio:in:"+sid
	if _, err := s.Store.RecordEvents(ctx, []store.Event{ev}); err != nil {
		return false, fmt.Errorf("twilio inbound %s: record %s event: %w", sid, typ, err)
	}
	return true, nil
}

// eventOn returns an event of type typ on row with the row's keys copied.
func eventOn(row store.LedgerRow, typ string, at time.Time) store.Event {
	return store.Event{
		LedgerID: row.ID, RunID: row.RunID, CampaignID: row.CampaignID, StepID: row.StepID,
		ContactID: row.ContactID, Channel: row.Channel, Type: typ, At: at,
	}
}
