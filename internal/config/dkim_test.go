package config

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// pemKeys writes test keys and returns their paths by name.
func pemKeys(t *testing.T) map[string]string {
	t.Helper()
	dir := t.TempDir()
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name+".pem")
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pkcs8 := func(k any) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	rsa2048, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.pem")
	if err := os.WriteFile(bad, []byte("not a key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return map[string]string{
		"rsa":       write("rsa", "PRIVATE KEY", pkcs8(rsa2048)),
		"rsa-pkcs1": write("rsa1", "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsa2048)),
		"rsa1024":   write("rsa1024", "PRIVATE KEY", pkcs8(rsa1024)),
		"ed25519":   write("ed", "PRIVATE KEY", pkcs8(ed)),
		"cert":      write("cert", "CERTIFICATE", []byte{1, 2, 3}),
		"bad":       bad,
		"missing":   filepath.Join(dir, "missing.pem"),
	}
}

func TestDKIMConfig(t *testing.T) {
	keys := pemKeys(t)
	edPEM, err := os.ReadFile(keys["ed25519"])
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		file    string
		env     map[string]string
		wantErr string
		want    []string // domain/selector/key type of each signer
	}{
		{name: "none", want: nil},
		{name: "single domain rsa", file: "dkim: {domain: Dupont.example, selector: s1, private_key_file: " + keys["rsa"] + "}\n",
			want: []string{"dupont.example/s1/*rsa.PrivateKey"}},
		{name: "pkcs1 rsa", file: "dkim: {domain: dupont.example, selector: s1, private_key_file: " + keys["rsa-pkcs1"] + "}\n",
			want: []string{"dupont.example/s1/*rsa.PrivateKey"}},
		{name: "several domains", file: "dkim:\n  domain: dupont.example\n  selector: s1\n  private_key_file: " + keys["rsa"] +
			"\n  keys:\n    - {domain: martin.example, selector: s2, private_key_file: " + keys["ed25519"] + "}\n",
			want: []string{"dupont.example/s1/*rsa.PrivateKey", "martin.example/s2/ed25519.PrivateKey"}},
		{name: "keys only", file: "dkim:\n  keys:\n    - {domain: martin.example, selector: s2, private_key_file: " + keys["ed25519"] + "}\n",
			want: []string{"martin.example/s2/ed25519.PrivateKey"}},
		{name: "key from the environment overrides the file", file: "dkim: {domain: dupont.example, selector: s1, private_key_file: " + keys["missing"] + "}\n",
			env: map[string]string{"RELAIS_DKIM_PRIVATE_KEY": string(edPEM)}, want: []string{"dupont.example/s1/ed25519.PrivateKey"}},
		{name: "key from the environment only", file: "dkim: {domain: dupont.example, selector: s1}\n",
			env: map[string]string{"RELAIS_DKIM_PRIVATE_KEY": string(edPEM)}, want: []string{"dupont.example/s1/ed25519.PrivateKey"}},
		{name: "unknown key", file: "dkim: {domain: dupont.example, selector: s1, private_key: x}\n", wantErr: `unknown key "private_key" in dkim of `},
		{name: "unreadable file", file: "dkim: {domain: dupont.example, selector: s1, private_key_file: " + keys["missing"] + "}\n",
			wantErr: "dkim.private_key_file: cannot read the key"},
		{name: "not PEM", file: "dkim: {domain: dupont.example, selector: s1, private_key_file: " + keys["bad"] + "}\n",
			wantErr: "dkim.private_key_file: no PEM block"},
		{name: "not a private key", file: "dkim: {domain: dupont.example, selector: s1, private_key_file: " + keys["cert"] + "}\n",
			wantErr: `dkim.private_key_file: PEM block "CERTIFICATE" is not a private key`},
		{name: "bad PEM in the environment", file: "dkim: {domain: dupont.example, selector: s1}\n",
			env:     map[string]string{"RELAIS_DKIM_PRIVATE_KEY": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"},
			wantErr: "RELAIS_DKIM_PRIVATE_KEY: bad PRIVATE KEY"},
		{name: "rsa 1024 refused", file: "dkim:\n  keys:\n    - {domain: martin.example, selector: s2, private_key_file: " + keys["rsa1024"] + "}\n",
			wantErr: "dkim.keys[0].private_key_file: RSA key of 1024 bits is too short: DKIM needs at least 2048"},
		{name: "no key", file: "dkim: {domain: dupont.example, selector: s1}\n", wantErr: "dkim.private_key_file: is required"},
		{name: "no selector", file: "dkim: {domain: dupont.example, private_key_file: " + keys["rsa"] + "}\n", wantErr: "dkim.selector: is required"},
		{name: "no domain", file: "dkim:\n  keys:\n    - {selector: s2, private_key_file: " + keys["rsa"] + "}\n", wantErr: "dkim.keys[0].domain: is required"},
		{name: "bad domain", file: "dkim: {domain: news@dupont.example, selector: s1, private_key_file: " + keys["rsa"] + "}\n",
			wantErr: "dkim.domain: \"news@dupont.example\" is not a domain name"},
		{name: "two keys for a domain", file: "dkim:\n  domain: dupont.example\n  selector: s1\n  private_key_file: " + keys["rsa"] +
			"\n  keys:\n    - {domain: dupont.example, selector: s2, private_key_file: " + keys["ed25519"] + "}\n",
			wantErr: "dkim.keys[0].domain: dupont.example already has a key (dkim)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ""
			if tt.file != "" {
				path = filepath.Join(t.TempDir(), "relais.yaml")
				if err := os.WriteFile(path, []byte(tt.file), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			c, err := Load(path, func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			signers, err := c.DKIM.Signers()
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range signers {
				got = append(got, s.Domain+"/"+s.Selector+"/"+typeName(s.Key))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("signers %v, want %v", got, tt.want)
			}
		})
	}
}

func typeName(v any) string {
	switch v.(type) {
	case *rsa.PrivateKey:
		return "*rsa.PrivateKey"
	case ed25519.PrivateKey:
		return "ed25519.PrivateKey"
	}
	return "?"
}

func TestDKIMCheckFromDomains(t *testing.T) {
	d := DKIM{Domain: "dupont.example", Selector: "s1", Keys: []DKIMKey{{Domain: "martin.example", Selector: "s2"}}}
	tests := []struct {
		name         string
		from         []string
		wantUnsigned []string
		wantErr      string
	}{
		{name: "every domain signed", from: []string{"dupont.example", "Martin.example", "news.dupont.example"}},
		{name: "no campaign sends email", from: nil},
		{name: "a From domain without a key", from: []string{"dupont.example", "martin.example", "other.example"}, wantUnsigned: []string{"other.example"}},
		{name: "a key for no From domain", from: []string{"dupont.example"},
			wantErr: "dkim.keys[0].domain: martin.example is not the domain of any sender.email (campaigns send from dupont.example)"},
		{name: "top-level key for no From domain", from: []string{"martin.example"}, wantErr: "dkim.domain: dupont.example is not the domain of any sender.email"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			unsigned, err := d.CheckFromDomains(tt.from)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
			if !slices.Equal(unsigned, tt.wantUnsigned) {
				t.Errorf("unsigned %v, want %v", unsigned, tt.wantUnsigned)
			}
		})
	}
}
