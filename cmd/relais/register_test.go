package main

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/relais-dev/relais/internal/register"
)

// The example campaign's templates read the first name, the city and the
// number of orders, and its where filter the number of orders: the record
// lists those three fields and no other.
func TestRegisterExampleCampaignFields(t *testing.T) {
	project(t)
	c := &cli{t: t, env: map[string]string{}}
	ctx := context.Background()
	r := c.mustRun(ctx, "register", "--json")
	var rec register.Record
	if err := json.Unmarshal([]byte(r.stdout), &rec); err != nil {
		t.Fatal(err)
	}
	want := []string{"attrs.orders_12m", "city", "first_name"}
	if !slices.Equal(rec.Fields, want) {
		t.Errorf("fields %v, want %v", rec.Fields, want)
	}
	if len(rec.Activities) != 1 || !slices.Equal(rec.Activities[0].Fields, want) {
		t.Fatalf("activities %+v", rec.Activities)
	}
	a := rec.Activities[0]
	if a.Steps[0].Basis["person"] != register.BasisConsent || a.Steps[0].Basis["business"] != register.BasisLegitimateInterest {
		t.Errorf("legal basis %v", a.Steps[0].Basis)
	}
	if !slices.Equal(a.Delivery, []string{"email"}) || len(rec.Processors) != 1 || rec.Processors[0].Role != "email" {
		t.Errorf("delivery %v, processors %+v", a.Delivery, rec.Processors)
	}

	r = c.mustRun(ctx, "register")
	for _, want := range []string{
		"# Registre des activités de traitement",
		"Champs de contact utilisés par les modèles et les expressions : `attrs.orders_12m`, `city`, `first_name`",
		"| annonce | email | consentement (art. 6.1.a) | intérêt légitime (art. 6.1.f), droit d'opposition |",
		"Prospects et clients inactifs effacés après 3 ans d'inactivité",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("register lacks %q:\n%s", want, r.stdout)
		}
	}
	r = c.mustRun(ctx, "register", "--lang", "en")
	if !strings.Contains(r.stdout, "# Record of processing activities") || !strings.Contains(r.stdout, "3 years of inactivity") {
		t.Errorf("English register:\n%s", r.stdout)
	}
	if r := c.run(ctx, "register", "--lang", "de"); r.code != exitUser {
		t.Errorf("--lang de: exit %d", r.code)
	}
}

// A processor configured outside the EU is a transfer; fields read by a
// follow-up condition and an SMS template are listed with the events the
// condition reads.
func TestRegisterProcessorsAndTransfers(t *testing.T) {
	simulateProject(t)
	cfg := `register:
  controller: { name: Maison Dupont SAS, dpo: dpo@dupont.example }
  processors:
    - { role: sms, name: Twilio Inc., country: US, outside_eu: true, safeguards: "EU-US Data Privacy Framework" }
    - { role: email, name: Brevo, country: FR }
`
	if err := os.WriteFile("relais.yaml", []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	c := &cli{t: t, env: map[string]string{}}
	r := c.mustRun(context.Background(), "register", "--json")
	var rec register.Record
	if err := json.Unmarshal([]byte(r.stdout), &rec); err != nil {
		t.Fatal(err)
	}
	a := rec.Activities[0]
	if want := []string{"attrs.orders_12m", "first_name"}; !slices.Equal(a.Fields, want) {
		t.Errorf("fields %v, want %v", a.Fields, want)
	}
	if want := []string{"opened"}; !slices.Equal(a.Events, want) {
		t.Errorf("events %v, want %v", a.Events, want)
	}
	if len(rec.Processors) != 2 || rec.Processors[1].Name != "Twilio Inc." || !rec.Processors[1].OutsideEU {
		t.Errorf("processors %+v", rec.Processors)
	}
	r = c.mustRun(context.Background(), "register")
	for _, want := range []string{"- Twilio Inc. (US) : EU-US Data Privacy Framework", "- Nom : Maison Dupont SAS", "| relais SMTP (courriel) | Brevo | FR | non | — |"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("register lacks %q:\n%s", want, r.stdout)
		}
	}
}
