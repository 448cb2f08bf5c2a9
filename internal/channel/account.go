package channel

import (
	"context"
	"errors"
)

// ErrAccount is wrapped by a sender when the provider refused the
// account or the sender identity rather than the message: wrong
// credentials, a suspended account, a From the account may not use. No
// message of the channel can go until an operator fixes a setting, so the
// worker pauses the whole channel instead of failing recipients one by
// one, and leaves their rows to send once it is fixed. An account error
// is not permanent: the same message will go after the fix.
var ErrAccount = errors.New("account-level failure")

// AccountError is an account-level failure with the setting an operator
// must fix, named as the operator writes it (an environment variable, a
// configuration key, a campaign field).
type AccountError struct {
	// Setting is what to fix, e.g. "RELAIS_SMTP_URL (user and password)".
	Setting string
	// Err is the provider's classified answer (no personal data).
	Err error
}

// Error says what failed and what to fix.
func (e *AccountError) Error() string {
	return e.Err.Error() + "; check " + e.Setting
}

// Unwrap exposes ErrAccount and the provider's error.
func (e *AccountError) Unwrap() []error { return []error{ErrAccount, e.Err} }

// Account wraps err as an account-level failure naming setting.
func Account(setting string, err error) error { return &AccountError{Setting: setting, Err: err} }

// AccountSetting reports whether err is an account-level failure and, if
// so, the setting it names ("" when the sender named none).
func AccountSetting(err error) (string, bool) {
	if !errors.Is(err, ErrAccount) {
		return "", false
	}
	var ae *AccountError
	if errors.As(err, &ae) {
		return ae.Setting, true
	}
	return "", true
}

// Prober is implemented by senders that can check their account without
// sending anything (an SMTP connection with AUTH, a Twilio account
// fetch). The worker probes a paused channel periodically and resumes it
// when the probe succeeds.
type Prober interface {
	// Probe returns nil when the provider accepts the account now; an
	// error wrapping ErrAccount when it still refuses it.
	Probe(ctx context.Context) error
}

// Prober returns what probes channel name: its senders that can be
// probed, checked in order (the first failure is the answer); false when
// none of its senders here can be probed.
func (r *Registry) Prober(name string) (Prober, bool) {
	var ps probers
	for _, s := range r.senders[name] {
		if p, ok := s.(Prober); ok {
			ps = append(ps, p)
		}
	}
	return ps, len(ps) > 0
}

type probers []Prober

func (ps probers) Probe(ctx context.Context) error {
	for _, p := range ps {
		if err := p.Probe(ctx); err != nil {
			return err
		}
	}
	return nil
}
