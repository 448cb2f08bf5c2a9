// Package policy decides whether one message may go to one contact on one
// channel now: address checks, the suppression list, consent rules by
// contact kind, channel and purpose, the frequency cap and quiet hours with
// French public holidays. It is asked twice per send (plan and send time)
// and answers Allow, Defer (until a time) or Deny (with a stable reason).
package policy

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/relais-dev/relais/internal/channel"
	"github.com/relais-dev/relais/internal/channel/builtin"
	"github.com/relais-dev/relais/internal/contact"
)

// Verdict is the outcome of a Decision.
type Verdict int

// Verdicts.
const (
	// Allow: send now (or at Input.At).
	Allow Verdict = iota + 1
	// Defer: send at Decision.NotBefore, not before; the job is kept.
	Defer
	// Deny: do not send; Decision.Reason says why and is recorded.
	Deny
)

// String returns "allow", "defer" or "deny".
func (v Verdict) String() string {
	switch v {
	case Allow:
		return "allow"
	case Defer:
		return "defer"
	case Deny:
		return "deny"
	}
	return "unknown"
}

// Reason codes of a Decision. They are stable: the ledger, reports and the
// API expose them, so never rename one.
const (
	ReasonNoConsent      = "no_consent"      // opt-in rule and no granted consent
	ReasonOptedOut       = "opted_out"       // refused consent or opt-out suppression
	ReasonSuppressed     = "suppressed"      // hard bounce or manual suppression
	ReasonInvalidAddress = "invalid_address" // the address on the channel is malformed
	ReasonNoAddress      = "no_address"      // no address on the channel
	ReasonFrequencyCap   = "frequency_cap"   // too many marketing messages recently
	ReasonQuietHours     = "quiet_hours"     // only with Defer
	ReasonDuplicate      = "duplicate"       // same address already targeted in the run
	ReasonErased         = "erased"          // contact forgotten or erased address
)

// Decision is the engine's answer. Reason is empty with Allow; NotBefore
// is set only with Defer. Detail refines Reason for the record (the
// suppression list's reason, the consent source) and carries no PII.
type Decision struct {
	Verdict   Verdict
	Reason    string
	Detail    string
	NotBefore time.Time
}

// Stage says which of the two checks of a send is asked (every
// send is checked when its job is created and again before the provider
// call, so an opt-out arriving mid-campaign stops the rest).
type Stage int

// Stages.
const (
	// Plan: at job creation; quiet hours are judged at Input.At.
	Plan Stage = iota + 1
	// Send: in the worker right before the provider call; judged now.
	Send
)

// Lookup is what the engine reads from the store. It is declared here, by
// its consumer; the store implements it. Every method must be safe for
// concurrent use.
type Lookup interface {
	// Consent returns contactID's consent on consentChannel (a channel's
	// consent key) for purpose ("marketing", "open_tracking"), with
	// Status Unknown when nothing is recorded.
	Consent(ctx context.Context, contactID int64, consentChannel, purpose string) (contact.ConsentState, error)
	// Suppressed reports whether key (SuppressionKey) is on the
	// suppression list and with which reason (SuppressHardBounce…).
	Suppressed(ctx context.Context, key string) (bool, string, error)
	// MarketingSentSince counts the marketing messages sent (accepted by
	// a provider) to contactID at or after since, across campaigns.
	MarketingSentSince(ctx context.Context, contactID int64, since time.Time) (int, error)
}

// Input is one intended send.
type Input struct {
	// Contact is the recipient; required.
	Contact *contact.Contact
	// Channel is the name of one of the engine's channels.
	Channel string
	// Purpose is "marketing" (default when empty: the strict side) or
	// "transactional".
	Purpose string
	// Stage is Plan or Send (default Send: judged now).
	Stage Stage
	// At is when a planned send is meant to go (a step's `at`); zero
	// means now. Ignored at Send.
	At time.Time
	// AddressInvalid is set by a caller that knows the address failed
	// validation (an import's normalization, a provider's "invalid
	// number"); the engine also checks syntax itself.
	AddressInvalid bool
	// Erased is set when the contact was forgotten (its PII removed).
	Erased bool
	// Duplicate is set by the audience when the same address was already
	// targeted on this channel in the run.
	Duplicate bool
	// FrequencyCap overrides the rules' cap for this campaign (a
	// campaign's limits.frequency_cap); nil uses the rules.
	FrequencyCap *Cap
}

// Errors returned by Decide for a bad Input (a programming error, not a
// refusal).
var (
	ErrNoContact      = errors.New("policy: input has no contact")
	ErrUnknownChannel = errors.New("policy: unknown channel")
	ErrUnknownPurpose = errors.New("policy: unknown purpose")
)

// Engine applies Rules. It holds no per-send state and is safe for
// concurrent use.
type Engine struct {
	rules    Rules
	lookup   Lookup
	secret   []byte
	clock    func() time.Time
	loc      *time.Location
	channels *channel.Registry
	// zones caches time.LoadLocation, which reads the zone database on
	// every call, by name (shared by Prefetch's copies).
	zones *sync.Map
}

// Option configures an Engine.
type Option func(*Engine)

// WithChannels makes the engine judge the channels of r (their address,
// consent record, default consent modes); the default is the built-in
// channels.
func WithChannels(r *channel.Registry) Option { return func(e *Engine) { e.channels = r } }

// builtinChannels is the registry of engines and helpers given none.
var builtinChannels = sync.OnceValue(builtin.Channels)

// New returns an Engine applying rules, reading consent, suppressions and
// send counts through lookup and computing suppression keys with secret.
// clock returns now (nil: time.Now); tests pass a fixed clock. It fails
// when rules do not Validate, lookup is nil or secret is shorter than 16
// bytes (a short key would let anyone with the list test guessed
// addresses).
func New(rules Rules, lookup Lookup, secret []byte, clock func() time.Time, opts ...Option) (*Engine, error) {
	e := &Engine{channels: builtinChannels(), zones: &sync.Map{}}
	for _, o := range opts {
		o(e)
	}
	if err := rules.validate(e.channels); err != nil {
		return nil, err
	}
	if lookup == nil {
		return nil, errors.New("policy: nil lookup")
	}
	if len(secret) < 16 {
		return nil, errors.New("policy: suppression secret shorter than 16 bytes")
	}
	if clock == nil {
		clock = time.Now
	}
	loc, err := time.LoadLocation(rules.Timezone)
	if err != nil {
		return nil, err // Validate checked it; kept for safety
	}
	e.rules, e.lookup, e.secret, e.clock, e.loc = rules, lookup, append([]byte(nil), secret...), clock, loc
	return e, nil
}

// Channels returns the registry the engine judges channels with.
func (e *Engine) Channels() *channel.Registry { return e.channels }

// Rules returns the rules the engine applies.
func (e *Engine) Rules() Rules { return e.rules }

// SuppressionKey returns the key of normalizedAddress on addrChannel
// under the engine's secret (see the package function SuppressionKey).
func (e *Engine) SuppressionKey(addrChannel, normalizedAddress string) string {
	return contact.SuppressionKey(e.secret, addrChannel, normalizedAddress)
}

// SuppressionKeys returns the keys of every address c has on the
// engine's channels, by address class.
func (e *Engine) SuppressionKeys(c *contact.Contact) map[string]string {
	return SuppressionKeys(e.channels, e.secret, c)
}

// Location returns the zone quiet hours use for c: its Timezone when it
// is a valid IANA name, else the rules' default.
func (e *Engine) Location(c *contact.Contact) *time.Location {
	if c != nil && c.Timezone != "" {
		if v, ok := e.zones.Load(c.Timezone); ok {
			if loc := v.(*time.Location); loc != nil {
				return loc
			}
			return e.loc
		}
		loc, err := time.LoadLocation(c.Timezone)
		if err != nil {
			// Remembered as unknown: the default zone answers.
			e.zones.Store(c.Timezone, (*time.Location)(nil))
			return e.loc
		}
		e.zones.Store(c.Timezone, loc)
		return loc
	}
	return e.loc
}

// TrackOpens reports whether an email to c may carry a per-person open
// pixel under the rules' open tracking policy. Under with_consent it needs
// a granted consent for PurposeOpenTracking on the consent record of the
// tracked channel (email); a contact not yet
// stored (ID 0) gets none. Lookup errors are returned wrapped.
func (e *Engine) TrackOpens(ctx context.Context, c *contact.Contact) (bool, error) {
	switch e.rules.OpenTracking {
	case TrackAlways:
		return true, nil
	case TrackNever:
		return false, nil
	}
	if c == nil || c.ID == 0 {
		return false, nil
	}
	key := ""
	for _, d := range e.channels.All() {
		if d.Tracked {
			key = d.ConsentKey
			break
		}
	}
	if key == "" {
		return false, nil
	}
	st, err := e.lookup.Consent(ctx, c.ID, key, contact.PurposeOpenTracking)
	if err != nil {
		return false, wrapLookup("consent", err)
	}
	return st.Status == contact.Granted, nil
}
