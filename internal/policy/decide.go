package policy

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/relais-dev/relais/internal/channel"
	"github.com/relais-dev/relais/internal/contact"
)

// ConsentChannel maps a delivery channel to the consent record it uses,
// matching contact.Contact.Consent's keys: "email" → "email", "sms" and
// "mms" → "sms" (imports carry one consent_sms column), "print" →
// "postal"; "" for an unknown channel.
func ConsentChannel(ch string) string {
	switch ch {
	case channel.Email:
		return "email"
	case channel.SMS, channel.MMS:
		return "sms"
	case channel.Print:
		return "postal"
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
	addr := AddressChannel(in.Channel)
	if addr == "" {
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
	norm := contact.NormalizedAddress(c, addr)
	if norm == "" {
		switch {
		case addr == contact.AddrPostal && hasAnyPostal(c.Address):
			return deny(ReasonInvalidAddress, "incomplete postal address"), nil
		case addr == contact.AddrPhone && strings.TrimSpace(c.PhoneRaw) != "":
			// The import kept a number it could not normalize.
			return deny(ReasonInvalidAddress, "phone not normalizable"), nil
		}
		return deny(ReasonNoAddress, ""), nil
	}
	if in.AddressInvalid || !validAddress(addr, c) {
		return deny(ReasonInvalidAddress, ""), nil
	}

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
	if d, err := e.consent(ctx, c, in.Channel); err != nil || d.Verdict != Allow {
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
func (e *Engine) consent(ctx context.Context, c *contact.Contact, ch string) (Decision, error) {
	kind := c.Kind
	if kind != contact.KindBusiness {
		// Unknown kind: treat as a person, the stricter rules.
		kind = contact.KindPerson
	}
	mode := e.mode(kind, ch)
	if mode == Never {
		return deny(ReasonNoConsent, "channel closed to marketing"), nil
	}
	cch := ConsentChannel(ch)
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

// mode returns the consent mode of kind on ch: the rules' value, else the
// default rules' value, else OptIn. Falling back to the defaults keeps a
// relais.yaml that overrides one channel from silently changing others
// (YAML replaces a nested map as a whole).
func (e *Engine) mode(kind, ch string) ConsentMode {
	if m, ok := e.rules.Consent[kind][ch]; ok {
		return m
	}
	if m, ok := DefaultRules().Consent[kind][ch]; ok {
		return m
	}
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

// e164 is the E.164 shape: "+", a non-zero country digit, 7 to 15 digits
// in all.
var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// validAddress checks the syntax of c's address on addr; it assumes the
// address is present.
func validAddress(addr string, c *contact.Contact) bool {
	switch addr {
	case contact.AddrEmail:
		// The importer's rule, so the policy and the import agree on
		// which addresses are valid.
		_, ok := contact.NormalizeEmail(c.Email)
		return ok
	case contact.AddrPhone:
		return e164.MatchString(strings.TrimSpace(c.Phone))
	case contact.AddrPostal:
		return strings.TrimSpace(c.Address.City) != ""
	}
	return false
}

// hasAnyPostal reports whether a carries some postal data.
func hasAnyPostal(a contact.Address) bool {
	return strings.TrimSpace(a.Line1+a.Line2+a.Line3+a.Line4+a.Postcode+a.City) != ""
}
