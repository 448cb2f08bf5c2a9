package tracking

import (
	"strings"
	"testing"

	"github.com/relais-dev/relais/internal/channel"
	"github.com/relais-dev/relais/internal/store"
)

// TestInert: a proof's links are not signed: "#" for unsubscribe and
// view, no List-Unsubscribe header, template links left as written, a
// link from data dropped as a tracked send drops it, and no pixel.
func TestInert(t *testing.T) {
	l, err := NewLinks(newSigner(t, "a-secret-of-at-least-16-bytes"), "https://t.example.fr/")
	if err != nil {
		t.Fatal(err)
	}
	row := &store.LedgerRow{ID: "0123456789abcdef0123456789abcdef", Channel: "email", Purpose: "marketing"}
	links, code, err := Inert{}.Links(row, nil, nil)
	if err != nil || links.Unsubscribe != "#" || links.View != "#" || links.Headers != nil || code != "" {
		t.Fatalf("Inert.Links = %+v, %q, %v", links, code, err)
	}
	m := &channel.Message{Channel: "email", LinkHosts: []string{"dupont.example"},
		HTML: `<body><a href="https://dupont.example/printemps">ok</a> <a href="https://evil.example/x">data</a></body>`,
		Text: "Voir https://dupont.example/printemps et https://evil.example/x"}
	Inert{Tracked: l}.Decorate(m, row, true)
	if !strings.Contains(m.HTML, `href="https://dupont.example/printemps"`) || strings.Contains(m.HTML, "evil.example/x\"") ||
		!strings.Contains(m.HTML, "data-relais-unlinked") {
		t.Errorf("HTML: %s", m.HTML)
	}
	if strings.Contains(m.HTML, "/c/") || strings.Contains(m.HTML, "/o/") || strings.Contains(m.Text, "/c/") {
		t.Errorf("inert message carries tracking: %s / %s", m.HTML, m.Text)
	}
	if !strings.Contains(m.Text, "https://dupont.example/printemps") {
		t.Errorf("text lost the template link: %s", m.Text)
	}
}
