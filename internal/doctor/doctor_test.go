package doctor_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"net"
	"strings"
	"testing"

	"github.com/relais-dev/relais/internal/doctor"
)

// fakeDNS answers from maps; a name absent from every map is NXDOMAIN,
// and with offline set every lookup times out.
type fakeDNS struct {
	txt     map[string][]string
	mx      map[string][]*net.MX
	hosts   map[string][]string
	offline bool
}

func (f fakeDNS) err(name string) error {
	if f.offline {
		return &net.DNSError{Err: "i/o timeout", Name: name, IsTimeout: true}
	}
	return &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func (f fakeDNS) LookupTXT(_ context.Context, name string) ([]string, error) {
	if r, ok := f.txt[name]; ok && !f.offline {
		return r, nil
	}
	return nil, f.err(name)
}

func (f fakeDNS) LookupMX(_ context.Context, name string) ([]*net.MX, error) {
	if r, ok := f.mx[name]; ok && !f.offline {
		return r, nil
	}
	return nil, f.err(name)
}

func (f fakeDNS) LookupHost(_ context.Context, name string) ([]string, error) {
	if r, ok := f.hosts[name]; ok && !f.offline {
		return r, nil
	}
	return nil, f.err(name)
}

func rsaKey(t *testing.T) (*rsa.PrivateKey, string) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return k, base64.StdEncoding.EncodeToString(der)
}

func find(t *testing.T, res doctor.Result, domain, check string) doctor.Check {
	t.Helper()
	for _, c := range res.Checks {
		if c.Domain == domain && c.Name == check {
			return c
		}
	}
	t.Fatalf("no %s check for %s in %+v", check, domain, res.Checks)
	return doctor.Check{}
}

// TestDoctorReportsMissingDMARCAndDKIMMismatch: SPF and MX are right,
// DMARC is missing and the published DKIM key is another key: both fail
// with the exact records to publish.
func TestDoctorReportsMissingDMARCAndDKIMMismatch(t *testing.T) {
	key, p := rsaKey(t)
	_, otherP := rsaKey(t)
	dns := fakeDNS{
		txt: map[string][]string{
			"dupont.example":                       {"v=spf1 include:_spf.relay.example ~all", "google-site-verification=abc"},
			"_spf.relay.example":                   {"v=spf1 ip4:192.0.2.0/24 -all"},
			"relais2027._domainkey.dupont.example": {"v=DKIM1; k=rsa; p=" + otherP},
		},
		mx:    map[string][]*net.MX{"dupont.example": {{Host: "mx1.dupont.example.", Pref: 10}}},
		hosts: map[string][]string{"smtp.relay.example": {"192.0.2.25"}},
	}
	in := doctor.Input{
		Domains:   []doctor.Domain{{Name: "dupont.example", Campaigns: []string{"printemps-2027"}, Marketing: true}},
		Keys:      []doctor.Key{{Domain: "dupont.example", Selector: "relais2027", Public: &key.PublicKey}},
		RelayHost: "smtp.relay.example", PublicURL: "https://relais.dupont.example",
	}
	res := doctor.Run(t.Context(), dns, in)
	if !res.Failed() || res.Offline {
		t.Fatalf("want failed and online: %+v", res)
	}
	if c := find(t, res, "dupont.example", "spf"); c.Status != doctor.OK {
		t.Errorf("spf: %+v", c)
	}
	if c := find(t, res, "dupont.example", "mx"); c.Status != doctor.OK {
		t.Errorf("mx: %+v", c)
	}
	if c := find(t, res, "dupont.example", "list_unsubscribe"); c.Status != doctor.OK {
		t.Errorf("list_unsubscribe: %+v", c)
	}
	dmarc := find(t, res, "dupont.example", "dmarc")
	if dmarc.Status != doctor.Fail || dmarc.Publish != `_dmarc.dupont.example. IN TXT "v=DMARC1; p=none; rua=mailto:dmarc-reports@dupont.example"` {
		t.Errorf("dmarc: %+v", dmarc)
	}
	dkim := find(t, res, "dupont.example", "dkim")
	wantRec := "v=DKIM1; k=rsa; p=" + p
	if dkim.Status != doctor.Fail || !strings.Contains(dkim.Message, "does not match") ||
		!strings.HasPrefix(dkim.Publish, "relais2027._domainkey.dupont.example. IN TXT \"") ||
		strings.NewReplacer(`" "`, "", `"`, "").Replace(strings.TrimPrefix(dkim.Publish, "relais2027._domainkey.dupont.example. IN TXT ")) != wantRec {
		t.Errorf("dkim: %+v\nwant record %s", dkim, wantRec)
	}
	if n := len(res.Checks); n != 5 {
		t.Errorf("%d checks, want 5: %+v", n, res.Checks)
	}
}

// TestDoctorSPFWithoutRelayAndMissingRecords: no SPF, no MX, and a relay
// the SPF would have to name.
func TestDoctorSPFWithoutRelayAndMissingRecords(t *testing.T) {
	dns := fakeDNS{hosts: map[string][]string{"smtp.relay.example": {"192.0.2.25"}}}
	res := doctor.Run(t.Context(), dns, doctor.Input{
		Domains: []doctor.Domain{{Name: "martin.example"}}, RelayHost: "smtp.relay.example"})
	if c := find(t, res, "martin.example", "spf"); c.Status != doctor.Fail || c.Publish != `martin.example. IN TXT "v=spf1 ip4:192.0.2.25 ~all"` {
		t.Errorf("spf: %+v", c)
	}
	if c := find(t, res, "martin.example", "mx"); c.Status != doctor.Fail {
		t.Errorf("mx: %+v", c)
	}
	if c := find(t, res, "martin.example", "dkim"); c.Status != doctor.Warn {
		t.Errorf("dkim: %+v", c)
	}
}

// TestDoctorOffline: every lookup times out: warnings only, no failure.
func TestDoctorOffline(t *testing.T) {
	key, _ := rsaKey(t)
	res := doctor.Run(t.Context(), fakeDNS{offline: true}, doctor.Input{
		Domains: []doctor.Domain{{Name: "dupont.example"}},
		Keys:    []doctor.Key{{Domain: "dupont.example", Selector: "s1", Public: &key.PublicKey}}})
	if res.Failed() || !res.Offline {
		t.Fatalf("offline: %+v", res)
	}
	for _, c := range res.Checks {
		if c.Status != doctor.Warn {
			t.Errorf("%+v: want a warning", c)
		}
	}
}
