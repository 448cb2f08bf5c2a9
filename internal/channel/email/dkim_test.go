package email

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/relais-dev/relais/internal/channel"
	emailch "github.com/relais-dev/relais/internal/channel/builtin/email"
	"github.com/relais-dev/relais/internal/testenv"
)

// testKey is a DKIM key with the TXT record a DNS zone would publish.
type testKey struct {
	name   string
	signer crypto.Signer
	txt    string
}

func testKeys(t *testing.T) []testKey {
	t.Helper()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	edPub, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return []testKey{
		{name: "rsa", signer: rsaKey, txt: "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der)},
		{name: "ed25519", signer: edKey, txt: "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(edPub)},
	}
}

// verifyDKIM checks raw's signature against key, looked up as DNS would.
func verifyDKIM(t *testing.T, raw []byte, key testKey) (*dkim.Verification, error) {
	t.Helper()
	vs, err := dkim.VerifyWithOptions(bytes.NewReader(raw), &dkim.VerifyOptions{
		LookupTXT: func(domain string) ([]string, error) {
			if domain != "sel1._domainkey.shop.example" {
				return nil, fmt.Errorf("unexpected DKIM lookup %q", domain)
			}
			return []string{key.txt}, nil
		},
	})
	if err != nil {
		t.Fatalf("dkim.Verify: %v", err)
	}
	if len(vs) != 1 {
		t.Fatalf("%d DKIM signatures, want 1", len(vs))
	}
	return vs[0], vs[0].Err
}

func TestDKIMSignatureVerifies(t *testing.T) {
	srv := testenv.StartSMTP(t)
	for _, key := range testKeys(t) {
		t.Run(key.name, func(t *testing.T) {
			s := newTestSender(t, srv, 1, WithDKIM("Shop.example", "sel1", key.signer))
			ob, err := NewOutboxWith(t.TempDir(), WithDKIM("shop.example", "sel1", key.signer))
			if err != nil {
				t.Fatal(err)
			}
			before := srv.Count()
			rc, err := s.Send(context.Background(), testMessage("D-"+key.name))
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			smtpRaw := srv.Messages()[before].Data
			orc, err := ob.Send(context.Background(), testMessage("D-"+key.name))
			if err != nil {
				t.Fatalf("outbox Send: %v", err)
			}
			outRaw, err := os.ReadFile(filepath.Join(ob.dir, "D-"+key.name+".eml"))
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				path, id string
				raw      []byte
			}{{"smtp", rc.ProviderID, smtpRaw}, {"outbox", orc.ProviderID, outRaw}} {
				v, err := verifyDKIM(t, c.raw, key)
				if err != nil {
					t.Fatalf("%s: signature does not verify: %v", c.path, err)
				}
				if v.Domain != "shop.example" {
					t.Errorf("%s: d= %q", c.path, v.Domain)
				}
				for _, h := range SignedHeaders {
					if !slices.ContainsFunc(v.HeaderKeys, func(k string) bool { return strings.EqualFold(k, h) }) {
						t.Errorf("%s: %s not signed (h=%v)", c.path, h, v.HeaderKeys)
					}
				}
				checkTestMessage(t, c.raw, c.id)
			}
		})
	}
}

func TestDKIMDetectsTampering(t *testing.T) {
	key := testKeys(t)[1]
	ob, err := NewOutboxWith(t.TempDir(), WithDKIM("shop.example", "sel1", key.signer))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ob.Send(context.Background(), testMessage("T-1")); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(ob.dir, "T-1.eml"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		old, new string
	}{
		{name: "unsubscribe link changed", old: "https://relais.example/u/tok123", new: "https://evil.example/u/tok123"},
		{name: "one-click removed", old: "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n", new: ""},
		{name: "body changed", old: "attend.", new: "attendait."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !bytes.Contains(raw, []byte(tt.old)) {
				t.Fatalf("message lacks %q", tt.old)
			}
			tampered := bytes.Replace(raw, []byte(tt.old), []byte(tt.new), 1)
			if _, err := verifyDKIM(t, tampered, key); err == nil {
				t.Error("tampered message still verifies")
			}
		})
	}
}

func TestOutboxWritesEML(t *testing.T) {
	dir := t.TempDir()
	ob := NewOutbox(dir)
	if ob.Name() != emailch.Name {
		t.Errorf("Name = %q", ob.Name())
	}
	rc, err := ob.Send(context.Background(), testMessage("0190-ledger"))
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "0190-ledger.eml"))
	if err != nil {
		t.Fatal(err)
	}
	checkTestMessage(t, raw, rc.ProviderID)

	// The same message through SMTP has the same header fields and MIME tree.
	srv := testenv.StartSMTP(t)
	s := newTestSender(t, srv, 1)
	src, err := s.Send(context.Background(), testMessage("0190-ledger"))
	if err != nil {
		t.Fatal(err)
	}
	viaSMTP := checkTestMessage(t, srv.Messages()[0].Data, src.ProviderID)
	viaOutbox := parseMail(t, raw)
	if !slices.Equal(viaSMTP.structure, viaOutbox.structure) || !slices.Equal(headerNames(viaSMTP), headerNames(viaOutbox)) {
		t.Errorf("outbox and SMTP differ: %v %v / %v %v", viaOutbox.structure, headerNames(viaOutbox),
			viaSMTP.structure, headerNames(viaSMTP))
	}

	tests := []struct {
		name   string
		ledger string
	}{
		{name: "no ledger id", ledger: ""},
		{name: "path in ledger id", ledger: "../escape"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ob.Send(context.Background(), testMessage(tt.ledger)); !channel.IsPermanent(err) {
				t.Errorf("err = %v, want permanent", err)
			}
		})
	}
}

func headerNames(p parsedMail) []string {
	var names []string
	for k := range p.header {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

func TestOptionsValidate(t *testing.T) {
	edKey := testKeys(t)[1].signer
	tests := []struct {
		name string
		opt  Option
		ok   bool
	}{
		{name: "dkim ok", opt: WithDKIM("shop.example", "sel1", edKey), ok: true},
		{name: "dkim no domain", opt: WithDKIM("", "sel1", edKey)},
		{name: "dkim no selector", opt: WithDKIM("shop.example", "", edKey)},
		{name: "dkim nil key", opt: WithDKIM("shop.example", "sel1", nil)},
		{name: "dkim bad selector", opt: WithDKIM("shop.example", "a;b", edKey)},
		{name: "nil logger", opt: WithLogger(nil)},
		{name: "rate ok", opt: WithPerDomainRate(2.5), ok: true},
		{name: "negative rate", opt: WithPerDomainRate(-1)},
		{name: "nil tls config", opt: WithTLSConfig(nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(Config{Host: "127.0.0.1", TLS: TLSNone}, tt.opt)
			if (err == nil) != tt.ok {
				t.Fatalf("New err = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !strings.Contains(err.Error(), "invalid configuration") {
				t.Errorf("error does not wrap ErrConfig: %v", err)
			}
		})
	}
}

// Each message is signed with the key of its From domain (or of a parent
// domain); a From domain without a key is sent unsigned.
func TestDKIMKeyByFromDomain(t *testing.T) {
	keys := testKeys(t)
	srv := testenv.StartSMTP(t)
	s := newTestSender(t, srv, 1,
		WithDKIM("shop.example", "sel1", keys[0].signer),
		WithDKIM("other.example", "sel2", keys[1].signer))
	tests := []struct {
		name, from string
		domain     string // "": unsigned
		key        testKey
	}{
		{name: "first domain", from: "news@Shop.example", domain: "shop.example", key: keys[0]},
		{name: "subdomain signed by parent", from: "Élise <news@mail.shop.example>", domain: "shop.example", key: keys[0]},
		{name: "second domain", from: "info@other.example", domain: "other.example", key: keys[1]},
		{name: "no key", from: "info@elsewhere.example"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := testMessage("K-1")
			m.From = tt.from
			before := srv.Count()
			if _, err := s.Send(context.Background(), m); err != nil {
				t.Fatalf("Send: %v", err)
			}
			raw := srv.Messages()[before].Data
			vs, err := dkim.VerifyWithOptions(bytes.NewReader(raw), &dkim.VerifyOptions{
				LookupTXT: func(name string) ([]string, error) {
					switch name {
					case "sel1._domainkey.shop.example":
						return []string{keys[0].txt}, nil
					case "sel2._domainkey.other.example":
						return []string{keys[1].txt}, nil
					}
					return nil, fmt.Errorf("unexpected DKIM lookup %q", name)
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			if tt.domain == "" {
				if len(vs) != 0 {
					t.Fatalf("%d signatures on a message without a key", len(vs))
				}
				return
			}
			if len(vs) != 1 || vs[0].Err != nil || vs[0].Domain != tt.domain {
				t.Fatalf("verifications %+v, want one valid for %s", vs, tt.domain)
			}
		})
	}
}

func TestDKIMRefusesWeakOrDuplicateKeys(t *testing.T) {
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewOutboxWith(t.TempDir(), WithDKIM("shop.example", "sel1", weak))
	if err == nil || !strings.Contains(err.Error(), "1024 bits is too short") {
		t.Errorf("1024-bit RSA key: err = %v", err)
	}
	ed := testKeys(t)[1].signer
	_, err = NewOutboxWith(t.TempDir(), WithDKIM("shop.example", "a", ed), WithDKIM("Shop.example", "b", ed))
	if err == nil || !strings.Contains(err.Error(), "two DKIM keys") {
		t.Errorf("two keys for one domain: err = %v", err)
	}
}
