package simulate

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/policy"
)

var paris, _ = time.LoadLocation("Europe/Paris")

func load(t *testing.T) *campaign.Spec {
	t.Helper()
	sp, err := campaign.Load(filepath.Join("testdata", "campaigns", "relance.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

func simulate(t *testing.T, sp *campaign.Spec, rules policy.Rules, sc *Scenario) *Result {
	t.Helper()
	res, err := Run(context.Background(), sp, Options{From: time.Date(2027, 4, 28, 10, 0, 0, 0, paris), Days: 7,
		Rules: rules, Secret: []byte("0123456789abcdef0123456789abcdef"), Scenario: sc})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func entries(res *Result, recipient, step string) []Entry {
	for _, tl := range res.Timelines {
		if tl.Recipient != recipient {
			continue
		}
		var out []Entry
		for _, e := range tl.Entries {
			if e.Step == step {
				out = append(out, e)
			}
		}
		return out
	}
	return nil
}

// A frequency cap of one message a week refuses every follow-up; quiet
// hours turned off send it on the holiday itself.
func TestFrequencyCapAndQuietHoursOff(t *testing.T) {
	rules := policy.DefaultRules()
	rules.FrequencyCap = policy.Cap{N: 1, Per: 7 * 24 * time.Hour}
	res := simulate(t, load(t), rules, nil)
	if st := res.Steps[1]; st.Sent != 0 || st.Refused[policy.ReasonFrequencyCap] != 3 {
		t.Errorf("relance with a cap of 1/7d: %+v", st)
	}

	rules = policy.DefaultRules()
	rules.QuietHours.Enabled = false
	res = simulate(t, load(t), rules, nil)
	es := entries(res, "C007", "relance")
	if len(es) != 1 || es[0].Action != ActionSent || !es[0].At.Equal(time.Date(2027, 5, 1, 10, 0, 0, 0, paris)) {
		t.Errorf("C007 relance without quiet hours: %+v", es)
	}
}

// A bounce suppresses the address of the last message; the follow-up's
// channel is another address, so it still goes.
func TestBounce(t *testing.T) {
	sc := &Scenario{Events: []ScenarioEvent{{At: time.Date(2027, 4, 28, 10, 5, 0, 0, paris), Recipient: "C007", Type: "bounce"}}}
	res := simulate(t, load(t), policy.DefaultRules(), sc)
	es := entries(res, "C007", "relance")
	if len(es) != 2 || es[1].Action != ActionSent {
		t.Errorf("C007 relance after an email bounce: %+v", es)
	}
	ev := entries(res, "C007", "annonce")
	if len(ev) != 2 || ev[1].Action != ActionEvent || ev[1].Detail != "bounce" {
		t.Errorf("C007 annonce: %+v", ev)
	}
}

func TestLoadScenarioErrors(t *testing.T) {
	dir := t.TempDir()
	for name, tc := range map[string]struct{ src, want string }{
		"type":    {"events:\n  - {at: 2027-05-01T10:00:00Z, recipient: C1, type: read}\n", `unknown type "read"`},
		"missing": {"events:\n  - {recipient: C1, type: open}\n", "at and recipient are required"},
		"key":     {"events:\n  - {at: 2027-05-01T10:00:00Z, recipient: C1, type: open, when: x}\n", "field when not found"},
	} {
		p := filepath.Join(dir, name+".yaml")
		if err := os.WriteFile(p, []byte(tc.src), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadScenario(p); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", name, err, tc.want)
		}
	}
}

// A follow-up on [sms, email] falls back to email for a recipient the
// policy refuses SMS to (C002 said no to marketing SMS); email has no
// quiet hours, so it goes on the holiday.
func TestChannelFallback(t *testing.T) {
	sp := load(t)
	sp.Steps[1].Channels = []string{"sms", "email"}
	sp.Steps[1].Content["email"] = sp.Steps[0].Content["email"]
	res := simulate(t, sp, policy.DefaultRules(), nil)
	es := entries(res, "C002", "relance")
	if len(es) != 1 || es[0].Channel != "email" || es[0].Action != ActionSent || !es[0].At.Equal(time.Date(2027, 5, 1, 10, 0, 0, 0, paris)) {
		t.Errorf("C002 relance: %+v", es)
	}
	if st := res.Steps[1]; st.ByChannel["email"] != 2 || st.ByChannel["sms"] != 3 {
		t.Errorf("relance by channel %v, want email 2 (C002, C003), sms 3", st.ByChannel)
	}
}
