package print

import (
	"fmt"
	"testing"
	"time"

	"github.com/go-pdf/fpdf"

	"github.com/relais-dev/relais/internal/channel"
	printch "github.com/relais-dev/relais/internal/channel/builtin/print"
	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/postal"
)

var testDate = time.Date(2027, 3, 20, 9, 0, 0, 0, time.UTC)

const testBody = `Nous avons le plaisir de vous annoncer l'arrivée du **printemps** dans nos boutiques : une collection pensée pour vous, à des prix *très* doux (dès 19 €).

Pour vous remercier de votre fidélité, nous vous offrons :
- une remise de **15 %** sur votre prochain achat ;
- la livraison gratuite jusqu'au 30 avril ;
- un cadeau surprise dans votre colis.

Il vous suffit de nous renvoyer le coupon-réponse ci-dessous ou de scanner le code avec votre téléphone. Nous serons ravis de vous accueillir, cœur ouvert, à la boutique de la rue des Lilas.

Je vous prie d'agréer, l'expression de mes salutations distinguées.

P.S. Cette offre est valable jusqu'au 30 avril 2027 inclus.`

var testLayout = postal.Layout{
	Letterhead: postal.Letterhead{Name: "Maison Dupont", Lines: []string{"12 rue des Lilas", "69003 Lyon", "04 72 00 00 00 · dupont.example"}},
	Place:      "Lyon",
	Signature:  postal.Signature{Name: "Éloïse Dupont", Role: "Directrice commerciale"},
}

var towns = []struct{ pc, city string }{
	{"69003", "Lyon"}, {"75011", "Paris"}, {"13001", "Marseille"}, {"33000", "Bordeaux"},
	{"59000", "Lille"}, {"42000", "Saint-Étienne"}, {"06000", "Nice"}, {"97400", "Saint-Denis"},
}

// testMessage returns the i-th message of a synthetic run.
func testMessage(t testing.TB, run string, i int) *channel.Message {
	t.Helper()
	tw := towns[(i*7)%len(towns)]
	c := &contact.Contact{
		ExternalID: fmt.Sprintf("C%05d", i),
		Title:      []string{"Mme", "M.", ""}[i%3],
		FirstName:  []string{"Françoise", "Jérôme", "Zoë"}[i%3],
		LastName:   fmt.Sprintf("Lefèvre-%d", i),
		Address: contact.Address{
			Line1:    fmt.Sprintf("%d, boulevard de la Croix-Rousse", 1+i%120),
			Postcode: tw.pc, City: tw.city,
		},
		Locale: "fr-FR",
	}
	if i%10 == 9 {
		c.Kind, c.Company = contact.KindBusiness, "Œuvres & Cie SARL"
		c.Address.Line2 = "Bâtiment B, 3e étage"
	}
	return &channel.Message{
		LedgerID: fmt.Sprintf("L%06d", i), RunID: run, Campaign: "printemps-2027", Step: "annonce",
		Channel: printch.Name, Purpose: "marketing", Contact: c,
		Subject:      "Le printemps arrive chez Maison Dupont",
		Text:         testBody,
		SenderPostal: []string{"Maison Dupont", "Service clients", "12 rue des Lilas", "69003 LYON"},
		ResponseCode: fmt.Sprintf("PR-%06d", i),
		ResponseURL:  fmt.Sprintf("https://r.dupont.example/r/%06dxk2Q", i),
	}
}

// insertPDF returns a PDF of n pages with an embedded font, or with a
// core font (not embedded) when embedded is false.
func insertPDF(t testing.TB, n int, embedded bool) []byte {
	t.Helper()
	f := fpdf.New("P", "mm", "A4", "")
	if embedded {
		f.AddUTF8FontFromBytes("D", "", fontRegular)
		f.SetFont("D", "", 20)
	} else {
		f.SetFont("Helvetica", "", 20)
	}
	for k := 1; k <= n; k++ {
		f.AddPage()
		f.Text(30, 40, fmt.Sprintf("Depliant page %d", k))
	}
	var buf bytesBuffer
	if err := f.Output(&buf); err != nil {
		t.Fatalf("insert: %v", err)
	}
	return buf.b
}

type bytesBuffer struct{ b []byte }

func (w *bytesBuffer) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }
