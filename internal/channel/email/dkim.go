package email

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	mail "github.com/wneessen/go-mail"

	"github.com/relais-dev/relais/internal/channel"
)

// SignedHeaders are the header fields covered by the DKIM signature. The
// list includes List-Unsubscribe and List-Unsubscribe-Post because RFC 8058
// one-click unsubscription is only honoured by mailbox providers when the
// signature covers them; a header absent from a message is still listed, so
// that nobody can add it in transit without breaking the signature.
var SignedHeaders = []string{
	"From", "To", "Subject", "Date", "Message-ID", "MIME-Version",
	"Content-Type", "List-Unsubscribe", "List-Unsubscribe-Post",
}

// MinRSABits is the shortest RSA key accepted for DKIM signing: shorter
// keys are refused by major mailbox providers (RFC 8301).
const MinRSABits = 2048

// dkimKey signs messages for one domain and selector.
type dkimKey struct {
	domain, selector string
	key              crypto.Signer
}

func newDKIMKey(domain, selector string, key crypto.Signer) (*dkimKey, error) {
	if domain == "" || selector == "" {
		return nil, fmt.Errorf("%w: DKIM domain and selector are required", ErrConfig)
	}
	if strings.ContainsAny(domain+selector, " ;=\r\n") {
		return nil, fmt.Errorf("%w: DKIM domain or selector contains a forbidden character", ErrConfig)
	}
	if key == nil {
		return nil, fmt.Errorf("%w: DKIM key is nil", ErrConfig)
	}
	switch pub := key.Public().(type) {
	case *rsa.PublicKey:
		if n := pub.N.BitLen(); n < MinRSABits {
			return nil, fmt.Errorf("%w: DKIM RSA key of %d bits is too short (at least %d)", ErrConfig, n, MinRSABits)
		}
	case ed25519.PublicKey:
	default:
		return nil, fmt.Errorf("%w: DKIM key type %T (want RSA or Ed25519)", ErrConfig, pub)
	}
	return &dkimKey{domain: strings.ToLower(domain), selector: selector, key: key}, nil
}

// signature returns the value of the DKIM-Signature field (without the
// name and the final CRLF) for the raw message.
func (k *dkimKey) signature(raw []byte) (string, error) {
	s, err := dkim.NewSigner(&dkim.SignOptions{
		Domain:                 k.domain,
		Selector:               k.selector,
		Signer:                 k.key,
		Hash:                   crypto.SHA256,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed,
		BodyCanonicalization:   dkim.CanonicalizationRelaxed,
		HeaderKeys:             SignedHeaders,
	})
	if err != nil {
		return "", fmt.Errorf("dkim: %w", err)
	}
	if _, err := s.Write(raw); err != nil {
		_ = s.Close()
		return "", fmt.Errorf("dkim: %w", err)
	}
	if err := s.Close(); err != nil {
		return "", fmt.Errorf("dkim: %w", err)
	}
	_, value, _ := strings.Cut(s.Signature(), ":")
	return strings.TrimSuffix(strings.TrimLeft(value, " "), "\r\n"), nil
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// dkimKeys are the signing keys by lower-case domain.
type dkimKeys map[string]*dkimKey

// add registers k; a second key for the same domain is an error.
func (ks *dkimKeys) add(k *dkimKey) error {
	if *ks == nil {
		*ks = dkimKeys{}
	}
	if _, dup := (*ks)[k.domain]; dup {
		return fmt.Errorf("%w: two DKIM keys for domain %s", ErrConfig, k.domain)
	}
	(*ks)[k.domain] = k
	return nil
}

// forDomain returns the key of the From domain, or of its closest parent
// domain that has one (news.shop.example is signed by shop.example, which
// DMARC's relaxed alignment accepts); nil when none.
func (ks dkimKeys) forDomain(domain string) *dkimKey {
	d := strings.ToLower(strings.TrimSuffix(domain, "."))
	for d != "" {
		if k := ks[d]; k != nil {
			return k
		}
		_, parent, ok := strings.Cut(d, ".")
		if !ok || !strings.Contains(parent, ".") {
			return nil
		}
		d = parent
	}
	return nil
}

// forAddress returns the key for the domain of the address addr (without
// a name).
func (ks dkimKeys) forAddress(addr string) *dkimKey {
	if len(ks) == 0 {
		return nil
	}
	return ks.forDomain(addr[strings.LastIndex(addr, "@")+1:])
}

// composer is the one path from a channel.Message to what leaves relais,
// shared by Sender and Outbox so that both produce the same message.
type composer struct {
	dkim dkimKeys   // by From domain; no key for it: no signature
	corr Correlator // nil: no Return-Path or ledger header
}

// compose builds m and, with a DKIM key for its From domain, signs its
// rendering and adds the DKIM-Signature field to the message. go-mail
// renders a message deterministically once built (sorted headers,
// boundaries kept after the first rendering, attachments re-read from the
// start), so the rendering that Client.Send or render produces later is
// the one that was signed.
func (c *composer) compose(m *channel.Message) (*mail.Msg, string, error) {
	msg, id, from, err := build(m, time.Now())
	if err != nil {
		return nil, "", err
	}
	if _, err := correlate(c.corr, msg, m, from); err != nil {
		return nil, "", err
	}
	key := c.dkim.forAddress(from)
	if key == nil {
		return msg, id, nil
	}
	buf := bufPool.Get().(*bytes.Buffer)
	defer func() { buf.Reset(); bufPool.Put(buf) }()
	if _, err := msg.WriteTo(buf); err != nil {
		return nil, "", buildErr(ReasonInvalidHeader, fmt.Errorf("render: %w", err))
	}
	sig, err := key.signature(buf.Bytes())
	if err != nil {
		// A key that cannot sign is a configuration fault, not the
		// recipient's: keep it temporary so the send is retried once fixed.
		return nil, "", &Error{Reason: ReasonUnavailable, Stage: "build", cause: err}
	}
	msg.SetGenHeaderPreformatted("DKIM-Signature", sig)
	return msg, id, nil
}

// render returns the final bytes of msg as compose left it.
func render(msg *mail.Msg) ([]byte, error) {
	var buf bytes.Buffer
	if _, err := msg.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("email: render: %w", err)
	}
	return buf.Bytes(), nil
}
