package policy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/relais-dev/relais/internal/channel"
	"github.com/relais-dev/relais/internal/contact"
)

// ConsentChannel returns the consent record a built-in channel uses (a
// key of contact.Contact.Consent), "" for an unknown one.
// Engine.ConsentKey answers for the engine's channels.
func ConsentChannel(ch string) string { return consentKey(builtinChannels(), ch) }

// ConsentKey returns the consent record channel ch uses (sms and mms share
// one: imports carry one consent_sms column); "" for an unknown channel.
func (e *Engine) ConsentKey(ch string) string { return consentKey(e.channels, ch) }

func consentKey(r *channel.Registry, ch string) string {
	if d, ok := r.Lookup(ch); ok {
		return d.ConsentKey
	}
	return ""
}

// Decide checks one intended send, in this order (the first refusal
// wins, so the recorded reason is the most fundamental one):
//
//  1. erased, duplicate, no address, invalid address;
//  2. the suppression list (hard bounce, opt-out, erasure, manual);
//  3. consent rules by contact kind, channel and purpose;
//  4. the frequency cap (marketing only);
//  5. quiet hours (marketing on the window's channels only): Defer to the
//     next allowed instant in the recipient's zone.
//
// Transactional messages skip 3–5 and ignore opt-out suppressions, but
// still honour hard bounces, erasure, manual suppressions and invalid
// addresses. A refusal is a Decision, not an error: errors are a bad Input
// (ErrNoContact, ErrUnknownChannel, ErrUnknownPurpose) or a Lookup failure,
// wrapped, after which the caller should retry rather than send.
func (e *Engine) Decide(ctx context.Context, in Input) (Decision, error) {
	c := in.Contact
	if c == nil {
		return Decision{}, ErrNoContact
	}
	desc, ok := e.channels.Lookup(in.Channel)
	if !ok {
		return Decision{}, fmt.Errorf("%w %q", ErrUnknownChannel, in.Channel)
	}
	marketing, err := isMarketing(in.Purpose)
	if err != nil {
		return Decision{}, err
	}

	// 1. The contact and its address. A stored contact carries its
	// erasure (ErasedAt), so callers need not remember to set Erased.
	if in.Erased || !c.ErasedAt.IsZero() {
		return deny(ReasonErased, ""), nil
	}
	if in.Duplicate {
		return deny(ReasonDuplicate, ""), nil
	}
	if err := desc.Address.Check(c); err != nil {
		var inv *channel.InvalidAddressError
		if errors.As(err, &inv) {
			return deny(ReasonInvalidAddress, inv.Detail), nil
		}
		return deny(ReasonNoAddress, ""), nil
	}
	if in.AddressInvalid {
		return deny(ReasonInvalidAddress, ""), nil
	}
	addr, norm := desc.Address.Class, desc.Address.Normalized(c)

	// 2. The suppression list.
	suppressed, why, err := e.lookup.Suppressed(ctx, contact.SuppressionKey(e.secret, addr, norm))
	if err != nil {
		return Decision{}, wrapLookup("suppression", err)
	}
	if suppressed {
		switch {
		case (why == contact.SuppressOptedOut || why == contact.SuppressComplaint) && !marketing:
			// An unsubscribe or a complaint stops marketing, not the order
			// confirmation.
		case why == contact.SuppressOptedOut || why == contact.SuppressComplaint:
			return deny(ReasonOptedOut, why), nil
		case why == contact.SuppressErased:
			return deny(ReasonErased, why), nil
		default:
			// hard_bounce, manual and any reason this version does not
			// know: fail closed.
			return deny(ReasonSuppressed, why), nil
		}
	}
	if !marketing {
		return Decision{Verdict: Allow}, nil
	}

	// 3. Consent.
	if d, err := e.consent(ctx, c, desc); err != nil || d.Verdict != Allow {
		return d, err
	}

	// 4. Frequency cap.
	now := e.clock()
	limit := e.rules.FrequencyCap
	if in.FrequencyCap != nil {
		limit = *in.FrequencyCap
	}
	if limit.N > 0 && c.ID != 0 {
		n, err := e.lookup.MarketingSentSince(ctx, c.ID, now.Add(-limit.Per))
		if err != nil {
			return Decision{}, wrapLookup("frequency cap", err)
		}
		if n >= limit.N {
			return deny(ReasonFrequencyCap, fmt.Sprintf("%d in %s", n, limit.Per)), nil
		}
	}

	// 5. Quiet hours.
	qh := e.rules.QuietHours
	if qh.Enabled && slices.Contains(qh.Channels, in.Channel) {
		when := now
		if in.Stage == Plan && in.At.After(now) {
			when = in.At
		}
		if next := NextAllowed(when, e.Location(c), qh); next.After(when) {
			return Decision{Verdict: Defer, Reason: ReasonQuietHours, NotBefore: next}, nil
		}
	}
	return Decision{Verdict: Allow}, nil
}

// consent applies the consent rule of c's kind on ch for marketing.
func (e *Engine) consent(ctx context.Context, c *contact.Contact, desc *channel.Descriptor) (Decision, error) {
	kind := c.Kind
	if kind != contact.KindBusiness {
		// Unknown kind: treat as a person, the stricter rules.
		kind = contact.KindPerson
	}
	mode := e.mode(kind, desc)
	if mode == Never {
		return deny(ReasonNoConsent, "channel closed to marketing"), nil
	}
	cch := desc.ConsentKey
	st := contact.ConsentState{Status: contact.Unknown}
	if c.ID != 0 {
		var err error
		st, err = e.lookup.Consent(ctx, c.ID, cch, contact.PurposeMarketing)
		if err != nil {
			return Decision{}, wrapLookup("consent", err)
		}
	}
	// A contact from a file audience, or not yet synced: the value read
	// at import is all there is.
	st = contact.ResolveConsent(st, c.Consent[cch], "contact", time.Time{})
	switch {
	case st.Status == contact.Refused:
		return deny(ReasonOptedOut, st.Source), nil
	case mode == OptIn && st.Status != contact.Granted:
		return deny(ReasonNoConsent, ""), nil
	}
	return Decision{Verdict: Allow}, nil
}

// mode returns the consent mode of kind on desc: the rules' value, else
// the channel's default, else OptIn. Falling back to the defaults keeps a
// relais.yaml that overrides one channel from silently changing others
// (YAML replaces a nested map as a whole).
func (e *Engine) mode(kind string, desc *channel.Descriptor) ConsentMode {
	if m, ok := e.rules.Consent[kind][desc.Name]; ok {
		return m
	}
	switch m := ConsentMode(desc.DefaultConsent[kind]); m {
	case OptIn, OptOut, Never:
		return m
	}
	// No default, or one this version does not know: the safe side.
	return OptIn
}

func isMarketing(purpose string) (bool, error) {
	switch purpose {
	case "", contact.PurposeMarketing:
		return true, nil
	case contact.PurposeTransactional:
		return false, nil
	}
	return false, fmt.Errorf("%w %q", ErrUnknownPurpose, purpose)
}

func deny(reason, detail string) Decision {
	return Decision{Verdict: Deny, Reason: reason, Detail: detail}
}

func wrapLookup(what string, err error) error {
	return fmt.Errorf("policy: %s lookup: %w", what, err)
}
