package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/relais-dev/relais/internal/testenv"
)

// dkimTestKey returns a PEM private key and the TXT record publishing it.
func dkimTestKey(t *testing.T, kind string) (pemKey []byte, txt string) {
	t.Helper()
	var (
		priv crypto.Signer
		pub  []byte
		k    string
	)
	switch kind {
	case "rsa":
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		if pub, err = x509.MarshalPKIXPublicKey(&key.PublicKey); err != nil {
			t.Fatal(err)
		}
		priv, k = key, "rsa"
	case "ed25519":
		p, key, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		priv, pub, k = key, p, "ed25519"
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), "v=DKIM1; k=" + k + "; p=" + base64.StdEncoding.EncodeToString(pub)
}

// TestRunSignsWithDKIM sends the example campaign through SMTP in one
// embedded `run --wait` with the dkim block configured (key from a file,
// or from RELAIS_DKIM_PRIVATE_KEY): every message the SMTP server receives
// verifies against the published key and signs the unsubscribe headers.
func TestRunSignsWithDKIM(t *testing.T) {
	for _, tc := range []struct{ kind, source string }{{"rsa", "file"}, {"ed25519", "env"}} {
		t.Run(tc.kind+" key from "+tc.source, func(t *testing.T) {
			dir := project(t)
			smtp := testenv.StartSMTP(t)
			key, txt := dkimTestKey(t, tc.kind)
			env := map[string]string{"RELAIS_SMTP_URL": smtp.URL()}
			yaml := "dkim:\n  domain: dupont.example\n  selector: relais2027\n"
			if tc.source == "file" {
				if err := os.WriteFile(dir+"/dkim.pem", key, 0o600); err != nil {
					t.Fatal(err)
				}
				yaml += "  private_key_file: dkim.pem\n"
			} else {
				env["RELAIS_DKIM_PRIVATE_KEY"] = string(key)
			}
			if err := os.WriteFile("relais.yaml", []byte(yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			c := &cli{t: t, env: env}
			r := c.mustRun(context.Background(), "run", "campaigns/printemps-2027.yaml", "--wait")
			if strings.Contains(r.stderr, "no DKIM key") {
				t.Errorf("unexpected unsigned-domain warning:\n%s", r.stderr)
			}
			if !smtp.WaitFor(len(wantRecipients), 10*time.Second) {
				t.Fatalf("SMTP got %d messages, want %d", smtp.Count(), len(wantRecipients))
			}
			lookup := func(name string) ([]string, error) {
				if name != "relais2027._domainkey.dupont.example" {
					return nil, fmt.Errorf("unexpected DKIM lookup %q", name)
				}
				return []string{txt}, nil
			}
			for _, m := range smtp.Messages() {
				vs, err := dkim.VerifyWithOptions(bytes.NewReader(m.Data), &dkim.VerifyOptions{LookupTXT: lookup})
				if err != nil || len(vs) != 1 || vs[0].Err != nil {
					t.Fatalf("message to %v does not verify: %v %+v", m.To, err, vs)
				}
				if vs[0].Domain != "dupont.example" {
					t.Errorf("d=%s", vs[0].Domain)
				}
				for _, h := range []string{"from", "to", "subject", "date", "message-id", "mime-version", "content-type", "list-unsubscribe", "list-unsubscribe-post"} {
					if !slices.ContainsFunc(vs[0].HeaderKeys, func(k string) bool { return strings.EqualFold(k, h) }) {
						t.Errorf("h= %v lacks %s", vs[0].HeaderKeys, h)
					}
				}
				if !bytes.Contains(m.Data, []byte("\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n")) {
					t.Errorf("message to %v has no one-click unsubscription header", m.To)
				}
				tampered := bytes.Replace(m.Data, []byte("Bonjour"), []byte("Bonsoir"), 1)
				if vs, err := dkim.VerifyWithOptions(bytes.NewReader(tampered), &dkim.VerifyOptions{LookupTXT: lookup}); err != nil || len(vs) != 1 || vs[0].Err == nil {
					t.Errorf("tampered body still verifies (or cannot be read): %v", err)
				}
			}
		})
	}
}

// A key for a domain no campaign sends from stops the run before anything
// is sent; a From domain without a key is a warning.
func TestRunChecksDKIMDomains(t *testing.T) {
	key, _ := dkimTestKey(t, "ed25519")
	t.Run("key for another domain", func(t *testing.T) {
		project(t)
		smtp := testenv.StartSMTP(t)
		if err := os.WriteFile("relais.yaml", []byte("dkim: {domain: martin.example, selector: s1}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		c := &cli{t: t, env: map[string]string{"RELAIS_SMTP_URL": smtp.URL(), "RELAIS_DKIM_PRIVATE_KEY": string(key)}}
		r := c.run(context.Background(), "run", "campaigns/printemps-2027.yaml", "--wait")
		if r.code == 0 || !strings.Contains(r.stderr, "dkim.domain: martin.example is not the domain of any sender.email") {
			t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
		}
		if smtp.Count() != 0 {
			t.Errorf("%d messages sent", smtp.Count())
		}
	})
	t.Run("no key for the From domain", func(t *testing.T) {
		project(t)
		smtp := testenv.StartSMTP(t)
		c := &cli{t: t, env: map[string]string{"RELAIS_SMTP_URL": smtp.URL()}}
		r := c.mustRun(context.Background(), "run", "campaigns/printemps-2027.yaml", "--wait")
		if strings.Count(r.stderr, "no DKIM key for this From domain") != 1 || !strings.Contains(r.stderr, "dupont.example") {
			t.Errorf("want one warning naming dupont.example:\n%s", r.stderr)
		}
	})
}
