package audience

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

const frenchMapping = `
Prénom: first_name
Nom: last_name
Conso email: consent_email
CA 12 mois: {attr: revenue_12m, type: number}
Code: {attr: code, type: string}
`

func TestFrenchSpreadsheet(t *testing.T) {
	csv := "Prénom;Nom;email;phone;Conso email;CA 12 mois;Commentaire;Code\r\n" + // line 1
		"Jean;Dupont;Jean@Example.fr;06 12 34 56 78;Oui;1234,56;simple;007\r\n" + // 2
		"Hélène;Lefèvre;helene@example.fr;;Non;\"1 234,56\";\"Bât. B; 2e étage\r\nau fond\";12\r\n" + // 3-4
		"Paul;Martin;paul@example.fr\r\n" + // 5: missing columns
		"Luc;Durand;luc@example.fr;;;12;;\r\n" + // 6: empty consent
		"Zoé;Petit;zoe@example.fr;;peut-être;1;;\r\n" + // 7: bad consent
		"Léa;Moreau;lea@example.fr;;oui;beaucoup;;\r\n" + // 8: bad number
		";;;;;;;\r\n" // 9: empty row from the spreadsheet, skipped
	path := writeFile(t, "clients.csv", win1252(csv))
	m, err := ParseMapping("mapping.yaml", []byte(frenchMapping))
	if err != nil {
		t.Fatal(err)
	}
	src := open(t, path, m)
	var reported []RowError
	src.OnRowError = func(e RowError) { reported = append(reported, e) }

	got := collect(t, src)
	if len(got) != 3 {
		t.Fatalf("got %d contacts, want 3: %+v", len(got), got)
	}
	jean, helene, luc := got[0], got[1], got[2]
	tests := []struct {
		name string
		got  any
		want any
	}{
		{name: "first name from mapping", got: jean.FirstName, want: "Jean"},
		{name: "windows-1252 decoded", got: helene.LastName + "/" + helene.FirstName, want: "Lefèvre/Hélène"},
		{name: "email kept, normalized alongside", got: jean.Email + " " + jean.EmailNorm, want: "Jean@Example.fr jean@example.fr"},
		{name: "phone e164", got: jean.Phone, want: "+33612345678"},
		{name: "consent Oui", got: jean.Consent["email"], want: boolp(true)},
		{name: "consent Non", got: helene.Consent["email"], want: boolp(false)},
		{name: "consent empty is unknown", got: luc.Consent["email"] == nil, want: true},
		{name: "decimal comma", got: jean.Attrs["revenue_12m"], want: 1234.56},
		{name: "grouped decimal comma", got: helene.Attrs["revenue_12m"], want: 1234.56},
		{name: "integer", got: luc.Attrs["revenue_12m"], want: 12},
		{name: "type string keeps leading zero", got: jean.Attrs["code"], want: "007"},
		{name: "type string keeps number text", got: helene.Attrs["code"], want: "12"},
		{name: "quoted field with separator and newline", got: helene.Attrs["Commentaire"], want: "Bât. B; 2e étage\nau fond"},
		{name: "unmapped column is an attribute", got: jean.Attrs["Commentaire"], want: "simple"},
		{name: "defaults", got: jean.Kind + " " + jean.Address.Country + " " + jean.Timezone, want: "person FR Europe/Paris"},
		{name: "row errors reported with their lines", got: lines(reported), want: []int{5, 7, 8}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Fatalf("got %#v, want %#v", tt.got, tt.want)
			}
		})
	}

	// A second pass reads the same contacts and does not report again.
	again := collect(t, src)
	if len(again) != 3 || again[1].LastName != "Lefèvre" {
		t.Fatalf("second pass: %d contacts", len(again))
	}
	if len(reported) != 3 {
		t.Fatalf("row errors reported %d times, want 3", len(reported))
	}
	first, total := src.RowErrors()
	if total != 3 || len(first) != 3 || !strings.Contains(first[0].Reason, "3 columns, the header has 8") {
		t.Fatalf("RowErrors = %+v, %d", first, total)
	}
	for _, e := range first {
		if strings.Contains(e.Error(), "example.fr") || strings.Contains(e.Error(), "peut") {
			t.Fatalf("row error leaks a cell: %v", e)
		}
	}
}

func TestFileFormats(t *testing.T) {
	tests := []struct {
		name      string
		file      string
		data      []byte
		wantFirst []string
		wantLines []int
	}{
		{
			name:      "utf-8 with BOM and commas",
			file:      "a.csv",
			data:      []byte("\xef\xbb\xbffirst_name,email,orders_12m\nÉlodie,elodie@example.fr,3\n\"Jean, fils\",jean@example.fr,\n"),
			wantFirst: []string{"Élodie", "Jean, fils"},
		},
		{
			name:      "utf-8 without BOM, semicolons, bad quote",
			file:      "b.csv",
			data:      []byte("first_name;email\nChloé;chloe@example.fr\nLu\"c;luc@example.fr\nInès;ines@example.fr\n"),
			wantFirst: []string{"Chloé", "Inès"},
			wantLines: []int{3},
		},
		{
			name:      "tab separated",
			file:      "c.tsv",
			data:      []byte("first_name\tcity\nAnne\tLyon\n"),
			wantFirst: []string{"Anne"},
		},
		{
			name:      "utf-16 with BOM",
			file:      "d.csv",
			data:      utf16le("first_name;city\r\nGaëlle;Brest\r\n"),
			wantFirst: []string{"Gaëlle"},
		},
		{
			name: "jsonl flat and nested",
			file: "e.jsonl",
			data: []byte(`{"first_name":"Marie","email":"marie@example.fr","orders_12m":3,"consent_sms":"oui"}` + "\n" +
				"\n" +
				`{"first_name":"Paul","address":{"city":"Lyon","postcode":"69003"},"attrs":{"revenue_12m":12.5},"consent":{"email":true}}` + "\n" +
				`{"first_name":` + "\n" +
				`{"first_name":"Zoé","kind":"martian"}` + "\n" +
				`{"first_name":"Léa","consent_email":"peut-être"}` + "\n"),
			wantFirst: []string{"Marie", "Paul"},
			wantLines: []int{4, 5, 6},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := open(t, writeFile(t, tt.file, tt.data), nil)
			var names []string
			for _, c := range collect(t, src) {
				names = append(names, c.FirstName)
			}
			if !reflect.DeepEqual(names, tt.wantFirst) {
				t.Fatalf("first names = %q, want %q", names, tt.wantFirst)
			}
			errs, _ := src.RowErrors()
			if !reflect.DeepEqual(lines(errs), tt.wantLines) {
				t.Fatalf("row error lines = %v, want %v (%v)", lines(errs), tt.wantLines, errs)
			}
		})
	}
}

func TestJSONLValues(t *testing.T) {
	path := writeFile(t, "a.ndjson", []byte(`{"first_name":"Paul","address":{"city":"Lyon"},"attrs":{"revenue_12m":12.5,"orders_12m":2},"consent":{"email":true},"consent_sms":"non","segment":"vip"}`+"\n"))
	got := collect(t, open(t, path, nil))
	if len(got) != 1 {
		t.Fatalf("got %d contacts", len(got))
	}
	c := got[0]
	if c.Address.City != "Lyon" || c.Attrs["revenue_12m"] != 12.5 || c.Attrs["orders_12m"] != 2 ||
		c.Attrs["segment"] != "vip" || !reflect.DeepEqual(c.Consent["email"], boolp(true)) || !reflect.DeepEqual(c.Consent["sms"], boolp(false)) {
		t.Fatalf("contact = %+v", c)
	}
}

func TestOpenFileErrors(t *testing.T) {
	tests := []struct {
		name string
		file string
		data string
	}{
		{name: "unknown extension", file: "a.xlsx", data: "x"},
		{name: "empty csv", file: "a.csv", data: ""},
		{name: "empty header cell", file: "a.csv", data: "email;;city\n"},
		{name: "two columns on one field", file: "a.csv", data: "email;EMAIL\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := OpenFile(writeFile(t, tt.file, []byte(tt.data)), nil)
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("OpenFile error = %v, want ErrFormat", err)
			}
		})
	}
}

func TestFields(t *testing.T) {
	m, err := ParseMapping("m.yaml", []byte(frenchMapping+"Ignorée: ignore\n"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		file      string
		data      []byte
		canonical []string
		attrs     []string
	}{
		{
			name: "csv header through mapping", file: "a.csv",
			data:      win1252("Prénom;email;CA 12 mois;Ignorée;Fidélité\r\nJean;j@example.fr;1;x;y\r\n"),
			canonical: []string{"first_name", "email"}, attrs: []string{"revenue_12m", "Fidélité"},
		},
		{
			name: "jsonl first records", file: "a.jsonl",
			data:      []byte(`{"first_name":"A","orders_12m":1}` + "\n" + `{"email":"b@example.fr","attrs":{"segment":"x"}}` + "\n"),
			canonical: []string{"first_name", "country", "locale", "timezone", "kind", "email"}, attrs: []string{"orders_12m", "segment"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			canonical, attrs, err := Fields(writeFile(t, tt.file, tt.data), m)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(canonical, tt.canonical) || !reflect.DeepEqual(attrs, tt.attrs) {
				t.Fatalf("Fields = %q, %q; want %q, %q", canonical, attrs, tt.canonical, tt.attrs)
			}
		})
	}
}

func utf16le(s string) []byte {
	b := []byte{0xff, 0xfe}
	for _, r := range s {
		if r > 0xffff {
			panic("utf16le: BMP only")
		}
		b = append(b, byte(r), byte(r>>8))
	}
	return b
}
