package review

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/channel/builtin/email"
	"github.com/relais-dev/relais/internal/channel/builtin/sms"
	"github.com/relais-dev/relais/internal/policy"
)

func TestCompare(t *testing.T) {
	plan := func(m map[string]Outcome) *Plan { return &Plan{Steps: map[string]map[string]Outcome{"a": m}} }
	base := plan(map[string]Outcome{"id:1": {Channel: "email"}, "id:2": {Channel: "email"}, "id:3": {Channel: "sms", Reason: "no_consent"}})
	head := plan(map[string]Outcome{"id:1": {Channel: "sms"}, "id:3": {Channel: "sms"}, "id:4": {Channel: "email"}})
	got := Compare(base, head, "a")
	if want := (Change{New: 2, Removed: 1, Unchanged: 1, Moved: 1}); got != want {
		t.Errorf("Compare = %+v, want %+v", got, want)
	}
	if got := Compare(nil, head, "a"); got != (Change{New: 3}) {
		t.Errorf("Compare(nil) = %+v", got)
	}
}

func TestCompareLinks(t *testing.T) {
	spec := func(text string) *campaign.Spec {
		return &campaign.Spec{Steps: []campaign.Step{{ID: "a", Content: map[string]any{"sms": &sms.Content{Text: "t.txt"}}}}, Files: map[string][]byte{"t.txt": []byte(text)}}
	}
	got := CompareLinks(spec("https://old.example/x and http://keep.example"), spec("see https://NEW.example/p?q=1, http://keep.example/y"))
	if len(got) != 1 || !slices.Equal(got[0].Hosts, []string{"keep.example", "new.example"}) ||
		!slices.Equal(got[0].Added, []string{"new.example"}) || !slices.Equal(got[0].Removed, []string{"old.example"}) {
		t.Errorf("CompareLinks = %+v", got)
	}
}

func failed(cs []Check) []string {
	var out []string
	for _, c := range cs {
		if c.Failed() {
			out = append(out, c.Name+":"+c.Step)
		}
	}
	return out
}

func TestChecks(t *testing.T) {
	rules := policy.DefaultRules()
	sp := &campaign.Spec{
		Purpose: campaign.Marketing,
		Sender:  campaign.Sender{Addresses: map[string]string{"email": "news@dupont.example", "sms": "DUPONT"}},
		Steps: []campaign.Step{
			{ID: "mail", Channels: []string{"email"}, Content: map[string]any{"email": &email.Content{Subject: "s", Text: "m.txt"}}},
			{ID: "sms", Channels: []string{"sms"}, Content: map[string]any{"sms": &sms.Content{Text: "s.txt"}}},
		},
		Files: map[string][]byte{"m.txt": []byte("Bonjour"), "s.txt": []byte("Soldes. Stop au 36180")},
	}
	paris, _ := time.LoadLocation("Europe/Paris")
	firings := []time.Time{time.Date(2027, 5, 3, 9, 0, 0, 0, paris), time.Date(2027, 5, 8, 9, 0, 0, 0, paris)} // 8 May: a holiday
	got := failed(Checks(sp, rules, firings))
	want := []string{"email_unsubscribe:mail", "sender_identified:mail", "quiet_hours:sms"}
	if !slices.Equal(got, want) {
		t.Errorf("failed checks %v, want %v", got, want)
	}
	for _, c := range Checks(sp, rules, firings) {
		if c.Name == CheckQuietHours && !strings.Contains(c.Detail, "Sat 2027-05-08 09:00") {
			t.Errorf("quiet hours detail %q does not name the firing", c.Detail)
		}
	}

	sp.Purpose = campaign.Transactional
	if got := failed(Checks(sp, rules, nil)); !slices.Equal(got, []string{"sender_identified:mail", "transactional_purpose:"}) {
		t.Errorf("transactional: failed checks %v", got)
	}
}

func TestMoney(t *testing.T) {
	for v, want := range map[float64]string{0: "0.00", 0.005: "0.005", 0.15000000000000002: "0.15", 1.5: "1.50", -0.05: "-0.05", 0.12345: "0.1235"} {
		if got := money(v); got != want {
			t.Errorf("money(%v) = %q, want %q", v, got, want)
		}
	}
}
