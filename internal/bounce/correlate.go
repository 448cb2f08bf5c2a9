// Package bounce brings email outcomes that arrive after the SMTP
// conversation back to the send ledger: late bounces (delivery status
// notifications) and complaints (feedback reports) read from a mailbox,
// and the webhooks of email providers (Amazon SES through SNS, SendGrid,
// Mailgun, Postmark). Every message carries a signed token of its ledger
// row in its Return-Path and in a header, so an outcome maps to one row
// without the recipient's address being needed or logged.
//
// A hard bounce moves the row to bounced and suppresses the address; soft
// bounces are counted and suppress the address after a threshold; a
// complaint refuses marketing consent on email with the complaint as proof
// and suppresses the address for marketing.
package bounce

import (
	"encoding/json"
	"regexp"
	"strings"

	"github.com/relais-dev/relais/internal/tracking"
)

// LedgerHeader is the header field carrying the ledger token.
const LedgerHeader = "X-Relais-Ledger"

// VarName is the name of the ledger token among the custom variables of
// the providers that echo them in their events (SendGrid unique args,
// Mailgun user variables, Postmark metadata).
const VarName = "relais_ledger"

// Providers whose custom-variable header Correlator can add.
const (
	ProviderSES      = "ses"
	ProviderSendGrid = "sendgrid"
	ProviderMailgun  = "mailgun"
	ProviderPostmark = "postmark"
)

// Correlator signs ledger ids into the Return-Path and headers of outgoing
// email (it implements email.Correlator) and finds them again in what
// comes back.
type Correlator struct {
	// Signer signs and verifies the tokens (tracking.SignerFromSecrets):
	// tokens signed before a secret rotation keep verifying.
	Signer *tracking.Signer
	// Domain is the bounce domain of the Return-Path; empty: the From
	// domain of each message.
	Domain string
	// Providers adds the custom-variable header of these providers
	// (ProviderSendGrid, ProviderMailgun, ProviderPostmark), whose events
	// then carry the token.
	Providers []string
}

// Token is the signed token of ledgerID ("" when it cannot be signed).
func (c *Correlator) Token(ledgerID string) string {
	return c.Signer.SignLedger(tracking.PurposeBounce, ledgerID)
}

// ReturnPath is bounce+<token>@<bounce domain>, a VERP address: a bounce
// mailed back to it names the message by its address alone.
func (c *Correlator) ReturnPath(ledgerID, fromDomain string) string {
	tok := c.Token(ledgerID)
	domain := c.Domain
	if domain == "" {
		domain = fromDomain
	}
	if tok == "" || domain == "" {
		return ""
	}
	return "bounce+" + tok + "@" + domain
}

// Headers returns LedgerHeader and the configured providers' variable
// headers, each with the token.
func (c *Correlator) Headers(ledgerID string) map[string]string {
	tok := c.Token(ledgerID)
	if tok == "" {
		return nil
	}
	h := map[string]string{LedgerHeader: tok}
	vars, _ := json.Marshal(map[string]string{VarName: tok})
	for _, p := range c.Providers {
		switch p {
		case ProviderSendGrid:
			args, _ := json.Marshal(map[string]any{"unique_args": map[string]string{VarName: tok}})
			h["X-SMTPAPI"] = string(args)
		case ProviderMailgun:
			h["X-Mailgun-Variables"] = string(vars)
		case ProviderPostmark:
			h["X-PM-Metadata-"+VarName] = tok
		}
	}
	return h
}

// Ledger verifies a token and returns its ledger id.
func (c *Correlator) Ledger(token string) (string, bool) {
	id, err := c.Signer.VerifyLedger(tracking.PurposeBounce, token)
	return id, err == nil
}

// tokenRE matches a token in a VERP address or after the ledger header.
var tokenRE = regexp.MustCompile(`(?i)(?:bounce\+|` + LedgerHeader + `:\s*)([0-9a-z]{1,16}-[0-9a-f]{32}-[0-9a-f]{16})`)

// Find returns the first ledger id whose valid token appears in text, in a
// Return-Path or recipient address (bounce+<token>@) or after the ledger
// header; forged or foreign tokens are skipped.
func (c *Correlator) Find(text string) (string, bool) {
	for _, m := range tokenRE.FindAllStringSubmatch(text, 20) {
		if id, ok := c.Ledger(m[1]); ok {
			return id, true
		}
	}
	return "", false
}

// FindAddress returns the ledger id of a VERP address or a bare token.
func (c *Correlator) FindAddress(s string) (string, bool) {
	s = strings.Trim(strings.TrimSpace(s), "<>")
	if local, _, ok := strings.Cut(s, "@"); ok {
		s = strings.TrimPrefix(strings.ToLower(local), "bounce+")
	}
	return c.Ledger(s)
}
