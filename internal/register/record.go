// Package register writes the record of processing activities (GDPR art.
// 30, after the CNIL template) for a folder of campaigns: what each
// campaign does with personal data, on which legal basis, through which
// processors, kept how long, protected how. It reads what relais actually
// does (the fields templates and expressions use, the channels, the
// configured providers), so the record follows the campaigns.
package register

import (
	"net/url"
	"sort"
	"strings"

	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/config"
	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/policy"
)

// Legal bases (GDPR art. 6(1)).
const (
	BasisConsent            = "consent"             // (a)
	BasisContract           = "contract"            // (b)
	BasisLegitimateInterest = "legitimate_interest" // (f)
	BasisNone               = "none"                // the channel is closed to marketing
)

// Record is the record of processing activities.
type Record struct {
	Lang       string            `json:"lang"`
	Controller config.Controller `json:"controller"`
	Activities []Activity        `json:"activities"`
	// Fields is every contact field any campaign uses.
	Fields     []string    `json:"fields"`
	Processors []Processor `json:"processors"`
	Retention  Retention   `json:"retention"`
	Security   []string    `json:"security"`
}

// Activity is one campaign as a processing activity.
type Activity struct {
	Campaign string      `json:"campaign"`
	Name     string      `json:"name"`
	Purpose  string      `json:"purpose"` // marketing or transactional
	Steps    []StepBasis `json:"steps"`
	Uses
	Categories []Category `json:"categories"`
	// Delivery are the address fields the channels send to.
	Delivery     []string `json:"delivery_fields"`
	Channels     []string `json:"channels"`
	DataSubjects []string `json:"data_subjects"` // person, business
	Source       string   `json:"source"`        // contacts, file, query
	Recipients   []string `json:"recipients"`    // processor roles receiving the data
}

// StepBasis is the legal basis of one step, per contact kind.
type StepBasis struct {
	Step     string            `json:"step"`
	Channels []string          `json:"channels"`
	Basis    map[string]string `json:"basis"` // contact kind → basis
}

// Category groups fields as the CNIL template does.
type Category struct {
	Name   string   `json:"name"` // identity, contact, personal_life, economic, consent, other
	Fields []string `json:"fields"`
}

// Processor is a provider personal data goes through.
type Processor struct {
	Role       string `json:"role"` // email, sms, print, hosting
	Name       string `json:"name"`
	Detail     string `json:"detail,omitempty"`
	Country    string `json:"country,omitempty"`
	OutsideEU  bool   `json:"outside_eu"`
	Safeguards string `json:"safeguards,omitempty"`
}

// Retention are the configured retention periods.
type Retention struct {
	Enabled   bool   `json:"enabled"`
	Prospects string `json:"prospects"` // e.g. "3y"
	Cron      string `json:"cron,omitempty"`
}

var categoryOf = map[string]string{
	"title": "identity", "first_name": "identity", "last_name": "identity", "company": "identity", "external_id": "identity",
	"email": "contact", "phone": "contact", "address_line1": "contact", "address_line2": "contact", "address_line3": "contact",
	"address_line4": "contact", "postcode": "contact", "city": "contact", "country": "contact",
	"locale": "personal_life", "timezone": "personal_life", "kind": "professional",
}

// categoryOrder is the order categories are listed in.
var categoryOrder = []string{"identity", "contact", "professional", "personal_life", "economic", "consent", "interactions", "payload"}

// Build makes the record of specs under cfg.
func Build(specs []*campaign.Spec, cfg config.Config, lang string) Record {
	r := Record{Lang: lang, Controller: cfg.Register.Controller, Activities: []Activity{}, Security: []string{}}
	all := map[string]bool{}
	roles := map[string]bool{}
	for _, sp := range specs {
		a := activity(sp, cfg.Policy)
		for _, f := range a.Fields {
			all[f] = true
		}
		for _, ch := range a.Channels {
			roles[role(ch)] = true
		}
		r.Activities = append(r.Activities, a)
	}
	r.Fields = keys(all)
	r.Processors = processors(cfg, roles)
	r.Retention = Retention{Enabled: cfg.Retention.Enabled, Prospects: ageString(cfg.Retention.OlderThan), Cron: cfg.Retention.Cron}
	r.Security = security(cfg)
	return r
}

func activity(sp *campaign.Spec, rules policy.Rules) Activity {
	a := Activity{Campaign: sp.ID, Name: sp.Name, Purpose: sp.Purpose, Uses: CampaignUses(sp), Source: sp.Audience.Source}
	if a.Purpose == "" {
		a.Purpose = campaign.Marketing
	}
	if a.Source == "" {
		a.Source = "contacts"
	}
	chans, kinds := map[string]bool{}, map[string]bool{}
	for i := range sp.Steps {
		st := &sp.Steps[i]
		sb := StepBasis{Step: st.ID, Channels: sp.ChannelsFor(st), Basis: map[string]string{}}
		for _, ch := range sb.Channels {
			chans[ch] = true
		}
		for _, kind := range []string{contact.KindPerson, contact.KindBusiness} {
			sb.Basis[kind] = basis(sp.Purpose, rules, kind, sb.Channels)
			if sb.Basis[kind] != BasisNone {
				kinds[kind] = true
			}
		}
		a.Steps = append(a.Steps, sb)
	}
	a.Channels = keys(chans)
	a.DataSubjects = keys(kinds)
	delivery := map[string]bool{}
	for ch := range chans {
		switch ch {
		case "email":
			delivery["email"] = true
		case "sms", "mms":
			delivery["phone"] = true
		case "print":
			for _, f := range append([]string{"title", "first_name", "last_name", "company"}, addressFields...) {
				delivery[f] = true
			}
		}
		a.Recipients = append(a.Recipients, role(ch))
	}
	a.Delivery = keys(delivery)
	a.Recipients = dedupe(a.Recipients)
	a.Categories = categories(a.Uses)
	return a
}

// basis is the legal basis of a message on chans to a contact of kind:
// a contract for transactional messages; for marketing, consent where the
// rules need it (opt-in), legitimate interest where the contact may
// object (opt-out). The strictest channel of the step decides.
func basis(purpose string, rules policy.Rules, kind string, chans []string) string {
	if purpose == campaign.Transactional {
		return BasisContract
	}
	out := BasisNone
	for _, ch := range chans {
		m, ok := rules.Consent[kind][ch]
		if !ok {
			if m, ok = policy.DefaultRules().Consent[kind][ch]; !ok {
				m = policy.OptIn
			}
		}
		switch {
		case m == policy.OptIn:
			return BasisConsent
		case m == policy.OptOut:
			out = BasisLegitimateInterest
		}
	}
	return out
}

func categories(u Uses) []Category {
	by := map[string][]string{}
	for _, f := range u.Fields {
		c, ok := categoryOf[f]
		switch {
		case ok:
		case strings.HasPrefix(f, "consent."):
			c = "consent"
		default:
			c = "economic" // attributes: the customer relationship (orders, revenue…)
		}
		by[c] = append(by[c], f)
	}
	if len(u.Events) > 0 {
		by["interactions"] = u.Events
	}
	if len(u.Payload) > 0 {
		by["payload"] = u.Payload
	}
	var out []Category
	for _, c := range categoryOrder {
		if len(by[c]) > 0 {
			out = append(out, Category{Name: c, Fields: by[c]})
		}
	}
	return out
}

func role(ch string) string {
	if ch == "mms" {
		return "sms"
	}
	return ch
}

// processors lists the providers the configuration sends through, for
// the roles the campaigns use, described by the register section.
func processors(cfg config.Config, roles map[string]bool) []Processor {
	desc := map[string]config.Processor{}
	for _, p := range cfg.Register.Processors {
		desc[p.Role] = p
	}
	var out []Processor
	add := func(role, name, detail string) {
		p := Processor{Role: role, Name: name, Detail: detail}
		if d, ok := desc[role]; ok {
			if d.Name != "" {
				p.Name = d.Name
			}
			p.Country, p.OutsideEU, p.Safeguards = d.Country, d.OutsideEU, d.Safeguards
		}
		out = append(out, p)
	}
	if roles["email"] {
		name, host := emailProvider(cfg), ""
		if u, err := url.Parse(cfg.SMTPURL); err == nil && cfg.SMTPURL != "" {
			host = u.Hostname()
		}
		add("email", name, host)
	}
	if roles["sms"] {
		add("sms", "Twilio", "")
	}
	if roles["print"] {
		add("print", "print house", "")
	}
	for _, p := range cfg.Register.Processors {
		if !roles[p.Role] && p.Role != "email" && p.Role != "sms" && p.Role != "print" {
			add(p.Role, p.Name, "")
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Role < out[j].Role })
	return out
}

func dedupe(s []string) []string {
	m := map[string]bool{}
	for _, x := range s {
		m[x] = true
	}
	return keys(m)
}

func ageString(a config.Age) string {
	d := a.Duration()
	const day = 24 * 60 * 60 * 1e9
	switch days := int64(d / day); {
	case days > 0 && days%365 == 0:
		return itoa(days/365) + "y"
	case days > 0 && days%30 == 0:
		return itoa(days/30) + "m"
	case days > 0:
		return itoa(days) + "d"
	}
	return d.String()
}

// emailProvider names the email processor by the provider whose event
// webhooks the configuration serves (its relay is the one sending), else
// "SMTP relay".
func emailProvider(cfg config.Config) string {
	w := cfg.EmailWebhooks
	switch {
	case w.SES.Enabled:
		return "Amazon SES"
	case w.SendGrid.VerificationKey != "":
		return "SendGrid"
	case w.Mailgun.SigningKey != "":
		return "Mailgun"
	case w.Postmark.User != "":
		return "Postmark"
	}
	return "SMTP relay"
}
