package audience

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestMappingApplied(t *testing.T) {
	mapping := `
Prénom: first_name
Type:
  field: kind
  values: {Particulier: person, Professionnel: business}
CA 12 mois: {attr: revenue_12m, type: number}
Date: {attr: last_order, type: date, format: 02/01/2006}
Code: {attr: code, type: string}
Fidèle: {attr: loyal, type: bool}
Interne: {ignore: true}
`
	m, err := ParseMapping("mapping.yaml", []byte(mapping))
	if err != nil {
		t.Fatal(err)
	}
	csv := "Prénom;Type;CA 12 mois;Date;Code;Fidèle;Interne\n" +
		"Jean;Particulier;1 200;20/03/2027;0042;oui;secret\n" + // 2
		"Anne;professionnel;99,5;01/12/2026;A1;Non;\n" + // 3
		"Paul;Association;1;01/01/2027;x;oui;\n" + // 4: not in values
		"Luc;Particulier;n/a;01/01/2027;x;oui;\n" + // 5: not a number
		"Zoé;Particulier;1;2027-01-01;x;oui;\n" // 6: wrong date format
	src := open(t, writeFile(t, "a.csv", []byte(csv)), m)
	got := collect(t, src)
	errs, _ := src.RowErrors()
	if want := []int{4, 5, 6}; !reflect.DeepEqual(lines(errs), want) {
		t.Fatalf("row errors %v, want lines %v", errs, want)
	}
	if len(got) != 2 {
		t.Fatalf("got %d contacts", len(got))
	}
	tests := []struct {
		name string
		got  any
		want any
	}{
		{name: "value map", got: got[0].Kind, want: "person"},
		{name: "value map case-insensitive", got: got[1].Kind, want: "business"},
		{name: "number with space", got: got[0].Attrs["revenue_12m"], want: 1200},
		{name: "number with comma", got: got[1].Attrs["revenue_12m"], want: 99.5},
		{name: "date stored ISO", got: got[0].Attrs["last_order"], want: "2027-03-20"},
		{name: "string type", got: got[0].Attrs["code"], want: "0042"},
		{name: "bool type", got: got[1].Attrs["loyal"], want: false},
		{name: "ignored column", got: len(got[0].Attrs), want: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Fatalf("got %#v, want %#v", tt.got, tt.want)
			}
		})
	}
}

func TestMappingErrors(t *testing.T) {
	tests := []struct {
		name     string
		yaml     string
		line     int
		col      int
		contains string
	}{
		{name: "unknown field scalar", yaml: "Prénom: firstname\n", line: 1, col: 9, contains: `unknown target "firstname"`},
		{name: "unknown field in map", yaml: "A: email\nType: {field: genre}\n", line: 2, col: 15, contains: `unknown field "genre"`},
		{name: "unknown type", yaml: "CA:\n  attr: ca\n  type: money\n", line: 3, col: 9, contains: `unknown type "money"`},
		{name: "unknown key", yaml: "CA: {attr: ca, typ: number}\n", line: 1, col: 16, contains: `unknown key "typ"`},
		{name: "no target", yaml: "CA: {type: number}\n", line: 1, col: 5, contains: "needs field, attr or ignore"},
		{name: "bad attr name", yaml: "CA: {attr: ca 12}\n", line: 1, col: 12, contains: "attribute name"},
		{name: "kind value outside person/business", yaml: "T: {field: kind, values: {P: personne}}\n", line: 1, col: 4, contains: "want person or business"},
		{name: "format without date", yaml: "D: {attr: d, format: 02/01/2006}\n", line: 1, col: 4, contains: "format only applies"},
		{name: "not a map", yaml: "- a\n- b\n", line: 1, col: 1, contains: "map of column header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseMapping("m.yaml", []byte(tt.yaml))
			var me *MappingError
			if !errors.As(err, &me) {
				t.Fatalf("error = %v, want *MappingError", err)
			}
			if me.Line != tt.line || me.Column != tt.col || !strings.Contains(me.Msg, tt.contains) {
				t.Fatalf("error = %v, want m.yaml:%d:%d: …%s…", err, tt.line, tt.col, tt.contains)
			}
		})
	}
}

func TestLoadMappingFile(t *testing.T) {
	p := writeFile(t, "mapping.yaml", []byte("Prénom: first_name\nVille: city\n"))
	m, err := LoadMapping(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Rules) != 2 || m.rule("ville").Field != "city" || m.rule("Pre\u0301nom") == nil {
		t.Fatalf("rules = %+v", m.Rules)
	}
	if _, err := LoadMapping(p + ".missing"); err == nil {
		t.Fatal("missing file: no error")
	}
}

func TestParseNumber(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want any
	}{
		{name: "integer", in: "12", want: 12},
		{name: "negative", in: "-3", want: -3},
		{name: "decimal comma", in: "1234,56", want: 1234.56},
		{name: "decimal point", in: "1234.56", want: 1234.56},
		{name: "space thousands", in: "1 234,56", want: 1234.56},
		{name: "nbsp thousands", in: "1\u00a0234\u00a0567", want: 1234567},
		{name: "narrow nbsp", in: "12\u202f345,5", want: 12345.5},
		{name: "zero", in: "0", want: 0},
		{name: "zero decimal", in: "0,75", want: 0.75},
		{name: "leading zero is a code", in: "007", want: nil},
		{name: "phone-like", in: "06 12 34 56 78", want: nil},
		{name: "bad grouping", in: "12 34", want: nil},
		{name: "two decimals", in: "1,2,3", want: nil},
		{name: "trailing separator", in: "12,", want: nil},
		{name: "text", in: "12 €", want: nil},
		{name: "empty", in: "", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseNumber(tt.in)
			if ok != (tt.want != nil) || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("parseNumber(%q) = %#v, %v; want %#v", tt.in, got, ok, tt.want)
			}
		})
	}
}

func TestParseConsent(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    *bool
		wantErr bool
	}{
		{name: "Oui", in: "Oui", want: boolp(true)},
		{name: "NON", in: "NON", want: boolp(false)},
		{name: "yes", in: " yes ", want: boolp(true)},
		{name: "1", in: "1", want: boolp(true)},
		{name: "0", in: "0", want: boolp(false)},
		{name: "true", in: "TRUE", want: boolp(true)},
		{name: "faux", in: "Faux", want: boolp(false)},
		{name: "empty is unknown", in: "", want: nil},
		{name: "other is an error", in: "peut-être", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseConsent(tt.in)
			if (err != nil) != tt.wantErr || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("parseConsent(%q) = %v, %v", tt.in, got, err)
			}
		})
	}
}
