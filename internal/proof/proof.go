// Package proof turns the message composed for a real recipient into its
// proof (BAT, bon à tirer): the copy a reviewer receives before a
// campaign goes out, marked as such and addressed to the reviewer.
package proof

import (
	"fmt"
	"html"
	"regexp"
	"strings"

	"github.com/relais-dev/relais/internal/channel"
	"github.com/relais-dev/relais/internal/contact"
)

// SubjectPrefix starts the subject of every proof.
const SubjectPrefix = "[BAT] "

// Banner is what a proof says about the message it copies.
type Banner struct {
	Campaign string
	Version  string // the campaign's content hash
	Step     string
	// Recipient names the real recipient: name, address or number, and
	// external id.
	Recipient string
}

// RecipientOf names c for a banner: its name, then its email address or
// phone number, then its external id.
func RecipientOf(c *contact.Contact) string {
	var parts []string
	if n := strings.TrimSpace(c.FirstName + " " + c.LastName); n != "" {
		parts = append(parts, n)
	} else if c.Company != "" {
		parts = append(parts, c.Company)
	}
	switch {
	case c.Email != "":
		parts = append(parts, "<"+c.Email+">")
	case c.Phone != "":
		parts = append(parts, c.Phone)
	}
	if c.ExternalID != "" {
		parts = append(parts, "("+c.ExternalID+")")
	}
	return strings.Join(parts, " ")
}

// Text is the banner as one line of text.
func (b Banner) Text() string {
	v := b.Version
	if len(v) > 12 {
		v = v[:12]
	}
	return fmt.Sprintf("BAT (proof) — message of %s — campaign %s version %s, step %s — links are inactive in proofs",
		b.Recipient, b.Campaign, v, b.Step)
}

// bodyTag finds the opening <body> tag of an HTML message.
var bodyTag = regexp.MustCompile(`(?i)<body[^>]*>`)

// Mark turns m, composed for the real recipient with inert links
// (tracking.Inert), into the proof for reviewer to: the subject starts
// with SubjectPrefix, the banner opens the HTML and text parts (the SMS
// text, the letter), extra headers (List-Unsubscribe) are removed, and
// the message is addressed to the reviewer under the proof's id. A
// letter keeps its recipient's address block: the proof shows the letter
// as it will be printed.
func Mark(m *channel.Message, b Banner, id, to string) {
	m.LedgerID = id
	m.Headers = nil
	if m.Subject != "" || m.Channel == "email" {
		m.Subject = SubjectPrefix + m.Subject
	}
	line := b.Text()
	if m.HTML != "" {
		div := `<div style="border:2px dashed #c00;padding:8px;margin:8px 0;font:13px sans-serif;color:#c00">` + html.EscapeString(line) + `</div>`
		if loc := bodyTag.FindStringIndex(m.HTML); loc != nil {
			m.HTML = m.HTML[:loc[1]] + div + m.HTML[loc[1]:]
		} else {
			m.HTML = div + m.HTML
		}
	}
	switch {
	case m.Text != "" && m.Channel != "email" && m.Channel != "print":
		// SMS and MMS: one short line, the text keeps its length budget
		// visible to the reviewer below it.
		m.Text = strings.TrimSpace(SubjectPrefix) + " " + b.Recipient + ", " + b.Campaign + " " + short(b.Version) + ":\n" + m.Text
	case m.Text != "":
		m.Text = line + "\n\n" + m.Text
	}
	if to != "" {
		m.To, m.ToName = to, ""
	}
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
