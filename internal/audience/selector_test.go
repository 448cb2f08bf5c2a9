package audience

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/relais-dev/relais/internal/contact"
)

// names streams sel over src and returns the first names emitted.
func names(t *testing.T, sel *Selector, src Source) []string {
	t.Helper()
	var out []string
	if err := sel.Stream(context.Background(), src, func(c *contact.Contact) error {
		out = append(out, c.FirstName)
		return nil
	}); err != nil {
		t.Fatalf("Stream: %v", err)
	}
	return out
}

func TestSelectorStream(t *testing.T) {
	csv := "first_name;email;phone;city;consent_email;orders_12m;revenue_12m\n" +
		"A;a@example.fr;;Lyon;oui;3;100\n" +
		"B;b@example.fr;;Paris;oui;5;900\n" +
		"C;c@example.fr;;Lyon;non;1;50\n" +
		"D;d@example.fr;;Lyon;;;\n" + // no attributes at all
		"E;A@EXAMPLE.FR;;Lyon;oui;4;1000\n" + // duplicate of A (case)
		"F;;06 12 34 56 78;Lyon;;2;300\n" +
		"G;;+33612345678;Lyon;;2;300\n" + // duplicate of F by phone
		"H;;;Lyon;;2;10\n" + // no email, no phone: never a duplicate
		"I;;;Lyon;;2;20\n" +
		"J;j@example.fr;;Lyon;oui;2;texte\n" // a text value: no value for top
	src := open(t, writeFile(t, "a.csv", []byte(csv)), nil)
	tests := []struct {
		name    string
		where   string
		by      string
		percent float64
		want    []string
	}{
		{name: "everyone deduped", want: []string{"A", "B", "C", "D", "F", "H", "I", "J"}},
		{name: "spec example, missing attrs skipped", where: `attrs.orders_12m >= 2 and city == "Lyon"`, want: []string{"A", "F", "H", "I", "J"}},
		{name: "consent nil", where: `consent.email == nil`, want: []string{"D", "F", "H", "I"}},
		{name: "consent true", where: `consent.email == true`, want: []string{"A", "B", "J"}},
		{name: "missing attr is nil", where: `attrs.revenue_12m == nil`, want: []string{"D"}},
		{name: "arithmetic on missing attr", where: `attrs.orders_12m * 100 > 250`, want: []string{"A", "B"}},
		{name: "top 20 percent of 8 = 2, in file order", by: "attrs.revenue_12m", percent: 20, want: []string{"B", "F"}},
		{name: "where then top", where: `city == "Lyon"`, by: "attrs.revenue_12m", percent: 30, want: []string{"A", "C", "F"}}, // 7 in Lyon after dedupe: ceil(2.1) = 3
		{name: "top 100 percent keeps only valued rows", by: "attrs.revenue_12m", percent: 100, want: []string{"A", "B", "C", "F", "H", "I"}},
		{name: "top by expression", by: "attrs.orders_12m * 10", percent: 10, want: []string{"B"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sel, err := NewSelector(tt.where, tt.by, tt.percent)
			if err != nil {
				t.Fatal(err)
			}
			if got := names(t, sel, src); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParetoTies(t *testing.T) {
	tests := []struct {
		name    string
		values  []string
		percent float64
		want    []string
	}{
		{name: "20% of 10 rows = 2", values: []string{"5", "1", "9", "3", "7", "2", "8", "4", "6", "10"}, percent: 20, want: []string{"r3", "r10"}},
		{name: "ties at the threshold in file order", values: []string{"1", "9", "9", "10", "9", "2", "3", "4", "5", "6"}, percent: 20, want: []string{"r2", "r4"}},
		{name: "three slots, two ties", values: []string{"7", "7", "1", "8", "7", "2", "3", "4", "5", "6"}, percent: 30, want: []string{"r1", "r2", "r4"}},
		{name: "ceil: 25% of 10 rows = 3", values: []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10"}, percent: 25, want: []string{"r8", "r9", "r10"}},
		{name: "empty values count but never win", values: []string{"", "", "", "", "", "", "", "", "1", "2"}, percent: 20, want: []string{"r9", "r10"}},
		{name: "decimal comma values", values: []string{"1,5", "1,25", "0,5"}, percent: 50, want: []string{"r1", "r2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			b.WriteString("first_name;revenue_12m\n")
			for i, v := range tt.values {
				fmt.Fprintf(&b, "r%d;%s\n", i+1, v)
			}
			sel, err := NewSelector("", "attrs.revenue_12m", tt.percent)
			if err != nil {
				t.Fatal(err)
			}
			got := names(t, sel, open(t, writeFile(t, "p.csv", []byte(b.String())), nil))
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSelectorErrors(t *testing.T) {
	tests := []struct {
		name    string
		where   string
		by      string
		percent float64
		line    int
		col     int
	}{
		{name: "unknown name", where: `cty == "Lyon"`, line: 1, col: 1},
		{name: "syntax error column", where: `city == "Lyon" and and attrs.x`, line: 1, col: 20},
		{name: "second line", where: "city == \"Lyon\"\n  && ]", line: 2, col: 6},
		{name: "not boolean", where: `city`, line: 1, col: 1},
		{name: "static type mismatch", where: `city > 2`, line: 1, col: 6},
		{name: "bad by", by: `attrs.x +`, percent: 20, line: 1, col: 9},
		{name: "bad percent", by: `attrs.x`, percent: 0},
		{name: "percent over 100", by: `attrs.x`, percent: 120},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewSelector(tt.where, tt.by, tt.percent)
			if err == nil {
				t.Fatal("no error")
			}
			var ee *ExprError
			if tt.line == 0 {
				if errors.As(err, &ee) {
					t.Fatalf("percent error reported as expression error: %v", err)
				}
				return
			}
			if !errors.As(err, &ee) || ee.Line != tt.line || ee.Column != tt.col {
				t.Fatalf("error = %v, want an ExprError at %d:%d", err, tt.line, tt.col)
			}
			if tt.where != "" {
				if err := CompileWhere(tt.where); !errors.As(err, &ee) {
					t.Fatalf("CompileWhere = %v", err)
				}
			}
		})
	}
	if err := CompileWhere(`attrs.orders_12m >= 2 and city == "Lyon"`); err != nil {
		t.Fatalf("CompileWhere(spec example) = %v", err)
	}
	if err := CompileBy(`attrs.revenue_12m`); err != nil {
		t.Fatalf("CompileBy = %v", err)
	}
}

func TestStreamRuntimeErrorAndStop(t *testing.T) {
	src := open(t, writeFile(t, "a.csv", []byte("first_name;x\nA;1\nB;abc\nC;2\n")), nil)
	sel, err := NewSelector(`attrs.x > 0`, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	err = sel.Stream(context.Background(), src, func(*contact.Contact) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "contact #2") {
		t.Fatalf("text compared with a number: error = %v", err)
	}
	stop := errors.New("stop")
	all, _ := NewSelector("", "", 0)
	n := 0
	err = all.Stream(context.Background(), src, func(*contact.Contact) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Fatalf("fn error not returned as is: %v after %d", err, n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := all.Stream(ctx, src, func(*contact.Contact) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v", err)
	}
}

func TestEnv(t *testing.T) {
	c := &contact.Contact{FirstName: "Jean", Address: contact.Address{City: "Lyon", Country: "FR"},
		Attrs: map[string]any{"orders_12m": 3}, Consent: map[string]*bool{"sms": boolp(false)}}
	env := Env(c)
	want := map[string]any{"email": nil, "sms": false, "postal": nil}
	if env["first_name"] != "Jean" || env["city"] != "Lyon" || env["country"] != "FR" ||
		!reflect.DeepEqual(env["consent"], want) || env["attrs"].(map[string]any)["orders_12m"] != 3 {
		t.Fatalf("Env = %v", env)
	}
	if empty := Env(nil); len(empty) != len(env) {
		t.Fatalf("Env(nil) has %d keys, Env(c) %d", len(empty), len(env))
	}
}

// pagedStore is an in-memory StoreScanner with the store's keyset contract.
type pagedStore struct {
	contacts []*contact.Contact
	calls    int
}

func (p *pagedStore) ScanContacts(_ context.Context, afterID int64, limit int) ([]*contact.Contact, error) {
	p.calls++
	var out []*contact.Contact
	for _, c := range p.contacts {
		if c.ID > afterID && len(out) < limit {
			out = append(out, c)
		}
	}
	return out, nil
}

func TestStoreSource(t *testing.T) {
	tests := []struct {
		name      string
		n         int
		page      int
		wantCalls int
	}{
		{name: "empty", n: 0, page: 3, wantCalls: 1},
		{name: "partial last page", n: 7, page: 3, wantCalls: 3},
		{name: "exact pages", n: 6, page: 3, wantCalls: 3},
		{name: "default page", n: 5, wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &pagedStore{}
			for i := 1; i <= tt.n; i++ {
				st.contacts = append(st.contacts, &contact.Contact{ID: int64(i * 10), FirstName: fmt.Sprint(i), Email: fmt.Sprintf("c%d@example.fr", i)})
			}
			got := collect(t, StoreSource{S: st, PageSize: tt.page})
			if len(got) != tt.n || st.calls != tt.wantCalls {
				t.Fatalf("got %d contacts in %d calls, want %d in %d", len(got), st.calls, tt.n, tt.wantCalls)
			}
			for i, c := range got {
				if c.ID != int64((i+1)*10) {
					t.Fatalf("contact %d has id %d", i, c.ID)
				}
			}
		})
	}
}
