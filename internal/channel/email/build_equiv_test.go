package email

import (
	"bytes"
	netmail "net/mail"
	"strings"
	"testing"
	"time"

	mail "github.com/wneessen/go-mail"

	"github.com/relais-dev/relais/internal/channel"
)

// TestBuildBodiesMatchStringBodies checks that the bodies Build lends to
// go-mail render exactly as go-mail's own string bodies do, for text only,
// HTML only and both, with and without attachments, twice in a row (a
// signed message is rendered to sign, then to send).
func TestBuildBodiesMatchStringBodies(t *testing.T) {
	now := time.Date(2027, 3, 20, 9, 30, 0, 0, time.UTC)
	long := strings.Repeat("Découvrez nos offres de la saison, sélectionnées pour vous. ", 30)
	variants := map[string]func(m *channel.Message){
		"both":            func(*channel.Message) {},
		"text only":       func(m *channel.Message) { m.HTML = "" },
		"html only":       func(m *channel.Message) { m.Text = "" },
		"no attachment":   func(m *channel.Message) { m.Attachments = nil },
		"long lines":      func(m *channel.Message) { m.HTML, m.Text = "<p>"+long+"</p>\r\n.\r\n", long+"\n.\nfin = =3D\t \n" },
		"empty bodies":    func(m *channel.Message) { m.HTML, m.Text = "", "" },
		"binary-ish text": func(m *channel.Message) { m.Text = "a\x00b\xff\xfe\r\n\r\n.." },
	}
	for name, change := range variants {
		t.Run(name, func(t *testing.T) {
			m := testMessage("0123456789abcdef0123456789abcdef")
			change(m)
			got, _, _, err := build(m, now)
			if err != nil {
				t.Fatal(err)
			}
			want, _, _, err := build(m, now)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case m.HTML == "":
				want.SetBodyString(mail.TypeTextPlain, m.Text)
			case m.Text == "":
				want.SetBodyString(mail.TypeTextHTML, m.HTML)
			default:
				want.SetBodyString(mail.TypeTextPlain, m.Text)
				want.AddAlternativeString(mail.TypeTextHTML, m.HTML)
			}
			got.SetBoundary("b0undary")
			want.SetBoundary("b0undary")
			for i := range 2 {
				var g, w bytes.Buffer
				if _, err := got.WriteTo(&g); err != nil {
					t.Fatal(err)
				}
				if _, err := want.WriteTo(&w); err != nil {
					t.Fatal(err)
				}
				if g.String() != w.String() {
					t.Fatalf("rendering %d differs:\n%s\n----\n%s", i, g.String(), w.String())
				}
			}
		})
	}
}

// TestParseFromRemembers checks that a remembered From parses as
// net/mail does and that every caller gets its own copy.
func TestParseFromRemembers(t *testing.T) {
	for _, field := range []string{`"Boutique Élise" <news@Shop.example>`, "=?utf-8?q?Caf=C3=A9?= <a@b.example>", `"Boutique Élise" <news@Shop.example>`, "x@y.example"} {
		want, err := netmail.ParseAddress(field)
		if err != nil {
			t.Fatal(err)
		}
		a, err := parseFrom(field)
		if err != nil || *a != *want {
			t.Fatalf("parseFrom(%q) = %+v, %v; want %+v", field, a, err, want)
		}
		b, _ := parseFrom(field)
		if a == b || *a != *b {
			t.Fatalf("parseFrom(%q) twice: %p %+v, %p %+v", field, a, a, b, b)
		}
		b.Name = "changed"
		if c, _ := parseFrom(field); *c != *want {
			t.Fatalf("a caller's change leaked into the next parse: %+v", c)
		}
	}
	if _, err := parseFrom("not an address"); err == nil {
		t.Fatal("bad From accepted")
	}
}
