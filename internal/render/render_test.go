package render

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/contact"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

func frData(t *testing.T) *Data {
	t.Helper()
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatalf("load location: %v", err)
	}
	c := &contact.Contact{
		FirstName: "Élise", LastName: "Martin", Title: "Mme", Email: "elise@example.test",
		Address: contact.Address{Line1: "3 rue des Lilas", Postcode: "69003", City: "Lyon", Country: "FR"},
		Locale:  "fr-FR",
		Attrs:   map[string]any{"revenue_12m": 1234.56, "orders_12m": 3, "tags": []string{"vip", "lyon"}},
	}
	return &Data{
		Contact:  NewContactData(c),
		Data:     map[string]any{"order_id": "A-17"},
		Links:    Links{Unsubscribe: "https://t.example/u/tok", View: "https://t.example/v/tok"},
		Campaign: CampaignData{ID: "printemps-2027", Name: "Newsletter de printemps"},
		Step:     StepData{ID: "annonce"},
		Now:      time.Date(2027, 3, 20, 9, 0, 0, 0, paris),
	}
}

func TestExecute(t *testing.T) {
	tests := []struct {
		name   string
		kind   Kind
		src    string
		locale string
		want   string
	}{
		{name: "field", kind: Text, src: "Bonjour {{.Contact.FirstName}}", want: "Bonjour Élise"},
		{name: "upper", kind: Text, src: "{{.Contact.LastName | upper}}", want: "MARTIN"},
		{name: "title", kind: Text, src: `{{"jean dupont" | title}}`, want: "Jean Dupont"},
		{name: "trim lower", kind: Text, src: `{{"  ABC " | trim | lower}}`, want: "abc"},
		{name: "default empty", kind: Text, src: `{{.Contact.Company | default "client"}}`, want: "client"},
		{name: "default set", kind: Text, src: `{{.Contact.FirstName | default "client"}}`, want: "Élise"},
		{name: "date long fr", kind: Text, src: `{{.Now | date "long"}}`, want: "20 mars 2027"},
		{name: "date full fr", kind: Text, src: `{{.Now | date "full"}}`, want: "samedi 20 mars 2027"},
		{name: "date short fr", kind: Text, src: `{{.Now | date "short"}}`, want: "20/03/2027"},
		{name: "date long en", kind: Text, locale: "en", src: `{{.Now | date "long"}}`, want: "March 20, 2027"},
		{name: "date go layout", kind: Text, src: `{{.Now | date "2006-01-02 15:04"}}`, want: "2027-03-20 09:00"},
		{name: "date string", kind: Text, src: `{{date "long" "2027-04-01"}}`, want: "1er avril 2027"},
		{name: "number fr", kind: Text, src: `{{.Contact.Attrs.revenue_12m | number}}`, want: "1\u00a0234,56"},
		{name: "number en", kind: Text, locale: "en", src: `{{.Contact.Attrs.revenue_12m | number}}`, want: "1,234.56"},
		{name: "number int", kind: Text, src: `{{number 1234567}}`, want: "1\u00a0234\u00a0567"},
		{name: "number decimals", kind: Text, src: `{{number 2 .Contact.Attrs.orders_12m}}`, want: "3,00"},
		{name: "money fr", kind: Text, src: `{{money .Contact.Attrs.revenue_12m "EUR"}}`, want: "1\u00a0234,56\u00a0€"},
		{name: "money en", kind: Text, src: `{{money 12.5 "USD" "en"}}`, want: "$12.50"},
		{name: "truncate", kind: Text, src: `{{"Printemps en fête" | truncate 10}}`, want: "Printemps…"},
		{name: "join", kind: Text, src: `{{.Contact.Attrs.tags | join ", "}}`, want: "vip, lyon"},
		{name: "with resolves", kind: Text, src: `{{with .Contact.Address}}{{.Postcode}} {{.City | upper}}{{end}}`, want: "69003 LYON"},
		{name: "data payload", kind: Text, src: `Commande {{.Data.order_id}}`, want: "Commande A-17"},
		{name: "html escapes", kind: HTML, src: `<p>{{.Contact.LastName}} &amp; {{"<b>"}}</p>`, want: "<p>Martin &amp; &lt;b&gt;</p>"},
		{name: "html link", kind: HTML, src: `<a href="{{.Links.Unsubscribe}}">x</a>`, want: `<a href="https://t.example/u/tok">x</a>`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tpl, err := Parse(tc.name, tc.kind, tc.src)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			d := frData(t)
			d.Locale = tc.locale
			got, err := tpl.Execute(d)
			if err != nil {
				t.Fatalf("Execute: %v", err)
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name      string
		kind      Kind
		src       string
		line, col int
		msg       string
	}{
		{name: "unknown function", kind: Text, src: "Bonjour\n  {{.X | env \"HOME\"}}", line: 2, col: 10, msg: `function "env" not defined`},
		{name: "unclosed action", kind: Text, src: "a\nb {{.X\n", line: 2, col: 3, msg: "unclosed action"},
		{name: "unexpected end", kind: HTML, src: "<p>\n{{end}}</p>", line: 2, col: 1, msg: "unexpected {{end}}"},
		{name: "range over number", kind: Text, src: "x\n  {{range 1000000000}}{{end}}", line: 2, col: 11, msg: "range over a number"},
		{name: "html context", kind: HTML, src: "<a href=\"{{.Links.View}}\n", line: 1, col: 1, msg: "ends in a non-text context"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("t.tmpl", tc.kind, tc.src)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("want *Error, got %T %v", err, err)
			}
			if e.Line != tc.line || (tc.col != 0 && e.Col != tc.col) || !strings.Contains(e.Msg, tc.msg) {
				t.Errorf("got %d:%d %q, want %d:%d containing %q", e.Line, e.Col, e.Msg, tc.line, tc.col, tc.msg)
			}
		})
	}
}

func TestExecuteErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		max  int
		want string
	}{
		{name: "missing attr", src: "{{.Contact.Attrs.nope}}", want: "no entry for key"},
		{name: "missing struct field", src: "\n{{.Contact.FirstNam}}", want: "can't evaluate field FirstNam"},
		{name: "output bound", src: `{{range .Contact.Attrs.tags}}{{$.Contact.LastName}}{{end}}`, max: 8, want: ErrOutputTooLarge.Error()},
		{name: "bad number", src: `{{number .Contact.FirstName}}`, want: "not a number"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tpl, err := Parse(tc.name, Text, tc.src)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if tc.max > 0 {
				tpl.MaxOutput = tc.max
			}
			_, err = tpl.Execute(frData(t))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want error containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "Élise") {
				t.Errorf("error leaks contact data: %v", err)
			}
		})
	}
}

func TestFields(t *testing.T) {
	src := "Bonjour {{.Contact.FirstName}},\n{{with .Contact}}{{.Attrs.revenue}}{{end}} {{$.Data.order_id}}\n{{range .Contact.Attrs.tags}}{{.}}{{.Ignored}}{{end}}{{if .Links.View}}{{.Now.Year}}{{end}}"
	tpl, err := Parse("f", Text, src)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range tpl.Fields() {
		got = append(got, f.Path+"@"+strconv.Itoa(f.Line)+":"+strconv.Itoa(f.Col))
	}
	want := []string{".Contact.FirstName@1:11", ".Contact@2:8", ".Contact.Attrs.revenue@2:20", ".Data.order_id@2:46",
		".Contact.Attrs.tags@3:9", ".Links.View@3:59", ".Now.Year@3:74"}
	if !slices.Equal(got, want) {
		t.Errorf("Fields:\n got %v\nwant %v", got, want)
	}
}

func TestLookupField(t *testing.T) {
	tests := []struct {
		name, path, want string
	}{
		{name: "canonical", path: ".Contact.FirstName"},
		{name: "address", path: ".Contact.Address.City"},
		{name: "attrs free", path: ".Contact.Attrs.anything"},
		{name: "data free", path: ".Data.x.y"},
		{name: "time method", path: ".Now.Year"},
		{name: "typo", path: ".Contact.FirstNam", want: "unknown field FirstNam in .Contact (did you mean FirstName?)"},
		{name: "root typo", path: ".Contct.Email", want: "did you mean Contact?"},
		{name: "below string", path: ".Contact.Email.Domain", want: "has no field Domain"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := LookupField(tc.path)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func TestContainsOptOut(t *testing.T) {
	tests := []struct {
		name string
		text string
		want bool
	}{
		{name: "stop number", text: "Soldes -20% ! STOP 36180", want: true},
		{name: "stop au", text: "Offre du jour. Stop au 36xxx", want: true},
		{name: "repondez stop", text: "Répondez stop pour ne plus recevoir", want: true},
		{name: "glued number", text: "STOP36180", want: true},
		{name: "none", text: "Bonjour {{.Contact.FirstName}}, -20% ce week-end", want: false},
		{name: "inside word", text: "Ventes nonstop, ne stoppez pas", want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ContainsOptOut(tc.text); got != tc.want {
				t.Errorf("ContainsOptOut(%q) = %v", tc.text, got)
			}
		})
	}
}

func TestHTMLToText(t *testing.T) {
	tests := []struct {
		name, html, want string
	}{
		{name: "paragraphs", html: "<html><head><title>T</title><style>p{}</style></head><body><p>Bonjour   Élise,</p><p>Ligne 1<br>Ligne 2</p></body></html>", want: "Bonjour Élise,\n\nLigne 1\nLigne 2\n"},
		{name: "link", html: `<p>Voir <a href="https://x.example/a">le catalogue</a> &amp; plus</p>`, want: "Voir le catalogue (https://x.example/a) & plus\n"},
		{name: "bare link", html: `<a href="https://x.example">https://x.example</a>`, want: "https://x.example\n"},
		{name: "list", html: "<h1>Offres</h1><ul><li>Rosiers</li><li>Tulipes</li></ul><p>Fin</p>", want: "Offres\n\n- Rosiers\n- Tulipes\n\nFin\n"},
		{name: "script dropped", html: "<div>a<script>alert(1)</script></div><div>b</div>", want: "a\nb\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := HTMLToText(tc.html); got != tc.want {
				t.Errorf("got %q\nwant %q", got, tc.want)
			}
		})
	}
}

// TestGoldenFrenchEmail renders the French example email (HTML and its
// derived text) and compares with testdata/*.golden (go test -update).
func TestGoldenFrenchEmail(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "email_fr.html"))
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := Parse("email_fr.html", HTML, string(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	out, err := tpl.Execute(frData(t))
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	golden(t, "email_fr.html.golden", out)
	golden(t, "email_fr.txt.golden", HTMLToText(out))
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from golden file:\n got:\n%s\nwant:\n%s", name, got, want)
	}
}

func TestConcurrentLocales(t *testing.T) {
	tpl, err := Parse("c", Text, `{{.Now | date "long"}}`)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan string, 20)
	for i := range 20 {
		go func() {
			d := frData(t)
			d.Locale = []string{"fr", "en"}[i%2]
			s, err := tpl.Execute(d)
			if err != nil {
				s = err.Error()
			}
			done <- d.Locale + "=" + s
		}()
	}
	for range 20 {
		if s := <-done; s != "fr=20 mars 2027" && s != "en=March 20, 2027" {
			t.Errorf("unexpected %q", s)
		}
	}
}
