package register

import (
	"slices"
	"testing"

	"github.com/relais-dev/relais/internal/config"
)

func TestExprFields(t *testing.T) {
	for _, tc := range []struct {
		src          string
		fields, evts []string
	}{
		{`attrs.orders_12m >= 1`, []string{"attrs.orders_12m"}, nil},
		{`attrs["revenue 12m"] > 100 and consent.sms == true and city == "Lyon"`, []string{"attrs.revenue 12m", "city", "consent.sms"}, nil},
		{`not opened("annonce") and not responded() and kind == "person"`, []string{"kind"}, []string{"opened", "responded"}},
		{`len(attrs) > 2 or postcode startsWith "69"`, []string{"attrs.*", "postcode"}, nil},
		{`let n = attrs.orders_12m; n > 1`, []string{"attrs.orders_12m"}, nil},
	} {
		f, e := map[string]bool{}, map[string]bool{}
		exprFields(tc.src, f, e)
		if got := keys(f); !slices.Equal(got, tc.fields) {
			t.Errorf("%s: fields %v, want %v", tc.src, got, tc.fields)
		}
		if got := keys(e); !slices.Equal(got, tc.evts) && !(len(got) == 0 && tc.evts == nil) {
			t.Errorf("%s: events %v, want %v", tc.src, got, tc.evts)
		}
	}
}

func TestTemplateFields(t *testing.T) {
	f, p := map[string]bool{}, map[string]bool{}
	for _, path := range []string{".Contact.FirstName", ".Contact.Address.Postcode", ".Contact.Attrs.code", ".Data.order", ".Links.Unsubscribe", ".Now"} {
		templateField(path, f, p)
	}
	if got, want := keys(f), []string{"attrs.code", "first_name", "postcode"}; !slices.Equal(got, want) {
		t.Errorf("fields %v, want %v", got, want)
	}
	if got := keys(p); !slices.Equal(got, []string{"order"}) {
		t.Errorf("payload %v", got)
	}
}

func TestEmailProvider(t *testing.T) {
	var cfg config.Config
	if got := emailProvider(cfg); got != "SMTP relay" {
		t.Errorf("no webhook: %q", got)
	}
	cfg.EmailWebhooks.Mailgun.SigningKey = "k"
	if got := emailProvider(cfg); got != "Mailgun" {
		t.Errorf("mailgun webhook: %q", got)
	}
}
