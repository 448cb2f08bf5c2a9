package audience

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
)

// GenHeader is the header GenerateCSV writes: canonical fields plus the
// attributes campaigns typically select on.
const GenHeader = "external_id;title;first_name;last_name;email;phone;address_line1;address_line2;postcode;city;kind;consent_email;consent_sms;orders_12m;revenue_12m;last_order"

var (
	genFirst  = []string{"Jean", "Marie", "Pierre", "Sophie", "Luc", "Camille", "Élodie", "François", "Hélène", "Gaëlle", "Thomas", "Léa", "Nicolas", "Chloé", "Jérôme", "Inès"}
	genLast   = []string{"Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau", "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "Fournier"}
	genStreet = []string{"rue des Lilas", "avenue Jean Jaurès", "boulevard de la République", "place Bellecour", "rue Victor Hugo", "chemin des Vignes", "allée des Tilleuls", "quai Saint-Antoine"}
	genCity   = []struct{ postcode, city string }{
		{"69003", "Lyon"}, {"69002", "Lyon"}, {"75011", "Paris"}, {"75015", "Paris"}, {"13008", "Marseille"},
		{"31000", "Toulouse"}, {"33000", "Bordeaux"}, {"44000", "Nantes"}, {"59000", "Lille"}, {"67000", "Strasbourg"},
	}
	genDomain = []string{"example.fr", "example.com", "example.org", "mail.example.fr"}
)

// GenerateCSV writes a realistic French contacts export of n rows after
// GenHeader: ";" separator, UTF-8, decimal commas, "Oui"/"Non"/empty
// consent, some quoted addresses holding ";", about 1 % duplicate emails.
// The output depends only on n (fixed random seed), so benchmarks compare
// like with like. Errors are the writer's.
func GenerateCSV(w io.Writer, n int) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	rng := rand.New(rand.NewPCG(20270320, 42))
	consent := []string{"Oui", "Non", ""}
	if _, err := bw.WriteString(GenHeader + "\r\n"); err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	var sb strings.Builder
	for i := 1; i <= n; i++ {
		sb.Reset()
		id := i
		if i > 100 && rng.IntN(100) == 0 {
			id = rng.IntN(i-1) + 1 // the same person as an earlier row, exported twice
		}
		first := genFirst[(id*7)%len(genFirst)]
		last := genLast[(id/len(genFirst)+id*3)%len(genLast)]
		title, kind := "M.", "person"
		if rng.IntN(2) == 0 {
			title = "Mme"
		}
		if rng.IntN(10) == 0 {
			kind = "business"
		}
		city := genCity[rng.IntN(len(genCity))]
		line2 := ""
		if rng.IntN(20) == 0 {
			line2 = fmt.Sprintf("\"Résidence Les Pins; Bât. %c\"", 'A'+rng.IntN(6))
		}
		mobile := 10 + rng.IntN(49) // 0610–0659: metropolitan mobiles, except 0639 (Mayotte, +262)
		if mobile >= 39 {
			mobile++
		}
		orders := rng.IntN(12)
		revenue := float64(orders) * (20 + rng.Float64()*180)
		fmt.Fprintf(&sb, "C%07d;%s;%s;%s;%s.%s.%d@%s;06 %02d %02d %02d %02d;%d %s;%s;%s;%s;%s;%s;%s;%d;%s;2026-%02d-%02d\r\n",
			i, title, first, last,
			strings.ToLower(asciiName(first)), strings.ToLower(asciiName(last)), id, genDomain[id%len(genDomain)],
			mobile, rng.IntN(100), rng.IntN(100), rng.IntN(100),
			1+rng.IntN(120), genStreet[rng.IntN(len(genStreet))], line2,
			city.postcode, city.city, kind,
			consent[rng.IntN(3)], consent[rng.IntN(3)],
			orders, strings.Replace(fmt.Sprintf("%.2f", revenue), ".", ",", 1),
			1+rng.IntN(12), 1+rng.IntN(28))
		if _, err := bw.WriteString(sb.String()); err != nil {
			return fmt.Errorf("generate: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	return nil
}

// asciiName strips the accents of a generated name for its email address.
func asciiName(s string) string { return foldAccents(strings.ToLower(s)) }
