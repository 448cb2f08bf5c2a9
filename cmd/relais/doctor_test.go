package main

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/relais-dev/relais/internal/doctor"
)

// fakeResolver answers from a map; other names are NXDOMAIN, or time out
// when offline.
type fakeResolver struct {
	txt     map[string][]string
	mx      map[string][]*net.MX
	offline bool
}

func (f fakeResolver) miss(name string) error {
	if f.offline {
		return &net.DNSError{Err: "i/o timeout", Name: name, IsTimeout: true}
	}
	return &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func (f fakeResolver) LookupTXT(_ context.Context, name string) ([]string, error) {
	if r, ok := f.txt[name]; ok && !f.offline {
		return r, nil
	}
	return nil, f.miss(name)
}

func (f fakeResolver) LookupMX(_ context.Context, name string) ([]*net.MX, error) {
	if r, ok := f.mx[name]; ok && !f.offline {
		return r, nil
	}
	return nil, f.miss(name)
}

func (f fakeResolver) LookupHost(_ context.Context, name string) ([]string, error) {
	return nil, f.miss(name)
}

func useResolver(t *testing.T, r doctor.Resolver) {
	t.Helper()
	old := dnsResolver
	dnsResolver = r
	t.Cleanup(func() { dnsResolver = old })
}

// TestDoctorCommand: `relais doctor` on the example campaign with a DKIM
// key whose published record is another key and no DMARC record: exit 1,
// and the output names both records to publish (table and --json); with
// every lookup failing it warns and exits 0.
func TestDoctorCommand(t *testing.T) {
	dir := project(t)
	pemKey, txt := dkimTestKey(t, "rsa")
	_, otherTXT := dkimTestKey(t, "rsa")
	if err := os.WriteFile(dir+"/dkim.pem", pemKey, 0o600); err != nil {
		t.Fatal(err)
	}
	conf := "public_url: https://relais.dupont.example\ndkim: {domain: dupont.example, selector: relais2027, private_key_file: dkim.pem}\n"
	if err := os.WriteFile(dir+"/relais.yaml", []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	useResolver(t, fakeResolver{
		txt: map[string][]string{
			"dupont.example":                       {"v=spf1 include:_spf.relay.example ~all"},
			"relais2027._domainkey.dupont.example": {otherTXT},
		},
		mx: map[string][]*net.MX{"dupont.example": {{Host: "mx.dupont.example.", Pref: 10}}},
	})
	c := &cli{t: t, env: map[string]string{}}
	r := c.run(t.Context(), "doctor")
	if r.code != 1 {
		t.Fatalf("doctor: exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		"FAIL dmarc", `publish: _dmarc.dupont.example. IN TXT "v=DMARC1; p=none; rua=mailto:dmarc-reports@dupont.example"`,
		"FAIL dkim", "does not match the configured key", "publish: relais2027._domainkey.dupont.example. IN TXT",
		"OK   spf", "OK   mx",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("doctor output lacks %q:\n%s", want, r.stdout)
		}
	}
	published := strings.NewReplacer(`" "`, "", `"`, "").Replace(r.stdout)
	if !strings.Contains(published, txt) {
		t.Errorf("the record to publish is not the configured key's %s:\n%s", txt, r.stdout)
	}

	r = c.run(t.Context(), "doctor", "--json")
	var res doctor.Result
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || r.code != 1 {
		t.Fatalf("doctor --json: exit %d, %v\n%s", r.code, err, r.stdout)
	}
	fails := 0
	for _, ch := range res.Checks {
		if ch.Status == doctor.Fail {
			fails++
		}
	}
	if fails != 2 {
		t.Errorf("%d failed checks, want 2 (dkim, dmarc): %+v", fails, res.Checks)
	}

	useResolver(t, fakeResolver{offline: true})
	r = c.run(t.Context(), "doctor")
	if r.code != 0 || !strings.Contains(r.stdout, "offline") {
		t.Errorf("offline doctor: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
