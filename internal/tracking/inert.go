package tracking

import (
	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/channel"
	"github.com/relais-dev/relais/internal/compose"
	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/store"
)

// InertUnsubscribe is the unsubscribe and view-in-browser link of a proof:
// a reviewer clicking it must not unsubscribe the real recipient.
const InertUnsubscribe = "#"

// Inert makes the links of proofs (reviewer copies): it is a LinkMaker
// and a decorator like Links, but nothing it makes is signed or tracked.
// Unsubscribe and view links are InertUnsubscribe, no List-Unsubscribe
// header is added, click links keep their original URL (those a tracked
// send would drop, because they came from data rather than templates,
// are dropped the same way) and no open pixel is inserted.
type Inert struct {
	// Tracked decides, as for a tracked send, which links are kept.
	Tracked *Links
}

var _ compose.LinkMaker = Inert{}

// Links implements compose.LinkMaker with inert links.
func (Inert) Links(*store.LedgerRow, *contact.Contact, *campaign.Spec) (compose.Links, string, error) {
	return compose.Links{Unsubscribe: InertUnsubscribe, View: InertUnsubscribe}, "", nil
}

// Decorate drops, from a message of a tracked channel, the links a
// tracked send would drop, and leaves every other link as written.
func (i Inert) Decorate(m *channel.Message, row *store.LedgerRow, _ bool) {
	if row == nil || i.Tracked == nil || !i.Tracked.descriptor(m.Channel).Tracked {
		return
	}
	mk := func(u string) string {
		if !i.Tracked.allowed(m, u) {
			return dropLink
		}
		return ""
	}
	if m.HTML != "" {
		m.HTML, _ = Rewrite(m.HTML, mk)
	}
	if m.Text != "" {
		m.Text, _ = RewriteText(m.Text, mk)
	}
}
