package config

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
)

// DKIM configures the DKIM signature of outgoing email (docs/operations.md).
// Default: none, messages leave unsigned.
//
// The simple form signs the messages of one From domain:
//
//	dkim:
//	  domain: dupont.example
//	  selector: relais2027
//	  private_key_file: /etc/relais/dkim.pem
//
// Senders of several domains list one key per domain under keys (the
// top-level key may stay, it counts as one more entry):
//
//	dkim:
//	  keys:
//	    - {domain: dupont.example, selector: relais2027, private_key_file: /etc/relais/dupont.pem}
//	    - {domain: martin.example, selector: s1, private_key_file: /etc/relais/martin.pem}
//
// A message is signed with the key of its From domain, or of the closest
// parent domain that has one; a From domain without a key is sent unsigned
// (and named in a warning at startup). Keys are RSA of at least 2048 bits
// or Ed25519, in PEM ("PRIVATE KEY" PKCS #8 or "RSA PRIVATE KEY" PKCS #1).
type DKIM struct {
	// Domain is the signing domain (d=) of the top-level key: the domain
	// of the From addresses it signs. Required with Selector and a key.
	Domain string `yaml:"domain"`
	// Selector (s=) names the DNS record holding the public key:
	// <selector>._domainkey.<domain> TXT "v=DKIM1; k=rsa; p=…".
	Selector string `yaml:"selector"`
	// PrivateKeyFile is the PEM file of the top-level key.
	PrivateKeyFile string `yaml:"private_key_file"`
	// PrivateKey (RELAIS_DKIM_PRIVATE_KEY, never read from the file) is the
	// PEM text of the top-level key; it overrides PrivateKeyFile, for
	// secrets passed through the environment.
	PrivateKey string `yaml:"-"`
	// Keys are more domains, each with its own selector and key file.
	Keys []DKIMKey `yaml:"keys"`
}

// DKIMKey is one signing domain of DKIM.Keys.
type DKIMKey struct {
	// Domain is the signing domain (d=). Required.
	Domain string `yaml:"domain"`
	// Selector (s=). Required.
	Selector string `yaml:"selector"`
	// PrivateKeyFile is the PEM private key. Required.
	PrivateKeyFile string `yaml:"private_key_file"`
}

// DKIMSigner is a loaded DKIM key.
type DKIMSigner struct {
	Domain, Selector string
	Key              crypto.Signer
}

// Enabled reports whether any DKIM key is configured.
func (d DKIM) Enabled() bool {
	return d.Domain != "" || d.Selector != "" || d.PrivateKeyFile != "" || d.PrivateKey != "" || len(d.Keys) > 0
}

// entry is one configured key with the config path of its fields.
type dkimEntry struct {
	path                   string // "dkim" or "dkim.keys[i]"
	domain, selector, file string
	pem                    string // RELAIS_DKIM_PRIVATE_KEY, top level only
}

func (d DKIM) entries() []dkimEntry {
	var es []dkimEntry
	if d.Domain != "" || d.Selector != "" || d.PrivateKeyFile != "" || d.PrivateKey != "" {
		es = append(es, dkimEntry{path: "dkim", domain: d.Domain, selector: d.Selector, file: d.PrivateKeyFile, pem: d.PrivateKey})
	}
	for i, k := range d.Keys {
		es = append(es, dkimEntry{path: fmt.Sprintf("dkim.keys[%d]", i), domain: k.Domain, selector: k.Selector, file: k.PrivateKeyFile})
	}
	return es
}

// Signers reads and checks every configured key. Errors name the field
// (dkim.domain, dkim.keys[1].private_key_file, RELAIS_DKIM_PRIVATE_KEY…).
func (d DKIM) Signers() ([]DKIMSigner, error) {
	var (
		out  []DKIMSigner
		errs []error
		seen = map[string]string{}
	)
	bad := func(field, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{field}, a...)...))
	}
	for _, e := range d.entries() {
		domain := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(e.domain), "."))
		ok := true
		switch {
		case domain == "":
			bad(e.path+".domain", "is required (the From domain the key signs)")
			ok = false
		case !strings.Contains(domain, ".") || strings.ContainsAny(domain, " ;=@/\r\n"):
			bad(e.path+".domain", "%q is not a domain name", e.domain)
			ok = false
		case seen[domain] != "":
			bad(e.path+".domain", "%s already has a key (%s)", domain, seen[domain])
			ok = false
		default:
			seen[domain] = e.path
		}
		if e.selector == "" {
			bad(e.path+".selector", "is required")
			ok = false
		} else if strings.ContainsAny(e.selector, " ;=@/\r\n") {
			bad(e.path+".selector", "%q is not a DNS label", e.selector)
			ok = false
		}
		var (
			data  []byte
			field = e.path + ".private_key_file"
		)
		switch {
		case e.pem != "":
			data, field = []byte(e.pem), "RELAIS_DKIM_PRIVATE_KEY"
		case e.file == "":
			bad(field, "is required (or RELAIS_DKIM_PRIVATE_KEY for the top-level key)")
			continue
		default:
			b, err := os.ReadFile(e.file)
			if err != nil {
				bad(field, "cannot read the key: %v", err)
				continue
			}
			data = b
		}
		key, err := parseDKIMKey(data)
		if err != nil {
			bad(field, "%v", err)
			continue
		}
		if ok {
			out = append(out, DKIMSigner{Domain: domain, Selector: e.selector, Key: key})
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// dkimMinRSABits is the shortest RSA key accepted: shorter keys are
// rejected by receivers (RFC 8301). The email sender refuses them too; the
// check is repeated here so the error names the configuration field.
const dkimMinRSABits = 2048

// parseDKIMKey reads one PEM private key: RSA of at least dkimMinRSABits
// bits, or Ed25519.
func parseDKIMKey(data []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block found (want -----BEGIN PRIVATE KEY-----)")
	}
	var (
		key any
		err error
	)
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("PEM block %q is not a private key (want PRIVATE KEY or RSA PRIVATE KEY)", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("bad %s: %v", block.Type, err)
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if n := k.N.BitLen(); n < dkimMinRSABits {
			return nil, fmt.Errorf("RSA key of %d bits is too short: DKIM needs at least %d", n, dkimMinRSABits)
		}
		return k, nil
	case ed25519.PrivateKey:
		return k, nil
	default:
		return nil, fmt.Errorf("%T keys cannot sign DKIM (want RSA or Ed25519)", key)
	}
}

// CheckFromDomains compares the keys with the From domains the campaigns
// send from. A key whose domain is neither one of them nor a parent of
// one is an error naming its field (a typo would otherwise leave every
// message unsigned); the From domains no key covers are returned, to be
// logged. With no From domain at all nothing is checked.
func (d DKIM) CheckFromDomains(from []string) (unsigned []string, err error) {
	covers := func(key, domain string) bool {
		return domain == key || strings.HasSuffix(domain, "."+key)
	}
	var doms []string
	for _, f := range from {
		f = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(f), "."))
		if f != "" && !slices.Contains(doms, f) {
			doms = append(doms, f)
		}
	}
	slices.Sort(doms)
	if len(doms) == 0 {
		return nil, nil
	}
	var errs []error
	es := d.entries()
	for _, e := range es {
		key := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(e.domain), "."))
		if !slices.ContainsFunc(doms, func(f string) bool { return covers(key, f) }) {
			errs = append(errs, fmt.Errorf("%s.domain: %s is not the domain of any sender.email (campaigns send from %s)", e.path, key, strings.Join(doms, ", ")))
		}
	}
	for _, f := range doms {
		if !slices.ContainsFunc(es, func(e dkimEntry) bool {
			return covers(strings.ToLower(strings.TrimSuffix(strings.TrimSpace(e.domain), ".")), f)
		}) {
			unsigned = append(unsigned, f)
		}
	}
	return unsigned, errors.Join(errs...)
}
