package bounce

import (
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SendGridConfig configures the SendGrid Event Webhook with its signed
// event webhook (the verification key shown in the SendGrid settings).
type SendGridConfig struct {
	PublicKey *ecdsa.PublicKey
}

// ParseSendGridKey parses the verification key as SendGrid shows it:
// base64 of a DER (PKIX) ECDSA public key.
func ParseSendGridKey(s string) (*ecdsa.PublicKey, error) {
	der, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, errors.New("sendgrid verification key: not base64")
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("sendgrid verification key: %w", err)
	}
	pub, ok := k.(*ecdsa.PublicKey)
	if !ok {
		return nil, errors.New("sendgrid verification key: not an ECDSA key")
	}
	return pub, nil
}

// SendGrid's signature headers.
const (
	SendGridSignatureHeader = "X-Twilio-Email-Event-Webhook-Signature"
	SendGridTimestampHeader = "X-Twilio-Email-Event-Webhook-Timestamp"
)

type sendgridEvent struct {
	Event     string `json:"event"`
	Timestamp int64  `json:"timestamp"`
	SMTPID    string `json:"smtp-id"`
	EventID   string `json:"sg_event_id"`
	Status    string `json:"status"`
	Type      string `json:"type"`
	URL       string `json:"url"`
	Ledger    string `json:"relais_ledger"`
}

func (h *Hooks) sendgrid(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	sig64, ts := r.Header.Get(SendGridSignatureHeader), r.Header.Get(SendGridTimestampHeader)
	if sig64 == "" || ts == "" {
		h.deny(w, ProviderSendGrid, http.StatusUnauthorized, "unsigned")
		return
	}
	sig, err := base64.StdEncoding.DecodeString(sig64)
	digest := sha256.Sum256(append([]byte(ts), body...))
	if err != nil || !ecdsa.VerifyASN1(h.SendGrid.PublicKey, digest[:], sig) {
		h.deny(w, ProviderSendGrid, http.StatusForbidden, "bad signature")
		return
	}
	var in []sendgridEvent
	if err := json.Unmarshal(body, &in); err != nil {
		http.Error(w, "bad JSON", http.StatusBadRequest)
		return
	}
	var evs []event
	for _, s := range in {
		e := event{token: s.Ledger, messageID: s.SMTPID, out: Outcome{Ref: s.EventID, Status: s.Status, At: time.Unix(s.Timestamp, 0)}}
		switch s.Event {
		case "delivered":
			e.out.Kind = Delivered
		case "bounce":
			e.out.Kind = HardBounce
			if s.Type == "blocked" || strings.HasPrefix(s.Status, "4") {
				e.out.Kind = SoftBounce
			}
		case "spamreport":
			e.out.Kind, e.out.Status = Complaint, "abuse"
		case "open":
			e.out.Kind = Opened
		case "click":
			e.out.Kind, e.out.URL = Clicked, s.URL
		default:
			continue // processed, deferred, dropped, unsubscribe…: nothing to record
		}
		evs = append(evs, e)
	}
	h.apply(w, r, ProviderSendGrid, evs)
}

// MailgunConfig configures the Mailgun webhooks with the HTTP webhook
// signing key of the Mailgun account. Mailgun signs a timestamp and a
// one-time token, not the event itself, so relais also refuses a
// timestamp older than MaxAge (default 12 hours) and a token seen before
// with another body: a captured signature cannot carry a forged event.
type MailgunConfig struct {
	SigningKey string
	MaxAge     time.Duration

	mu   sync.Mutex
	seen map[string]mailgunSeen // token → body digest and expiry
}

type mailgunSeen struct {
	digest [32]byte
	until  time.Time
}

// fresh checks the timestamp and the token's single use.
func (c *MailgunConfig) fresh(now time.Time, ts, token string, body []byte) error {
	maxAge := c.MaxAge
	if maxAge == 0 {
		maxAge = 12 * time.Hour
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("bad timestamp")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > maxAge || d < -maxAge {
		return errors.New("stale timestamp")
	}
	digest := sha256.Sum256(body)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil {
		c.seen = map[string]mailgunSeen{}
	}
	for k, v := range c.seen {
		if now.After(v.until) {
			delete(c.seen, k)
		}
	}
	if prev, ok := c.seen[token]; ok && prev.digest != digest {
		return errors.New("token reused with another event")
	}
	c.seen[token] = mailgunSeen{digest: digest, until: now.Add(2 * maxAge)}
	return nil
}

type mailgunPayload struct {
	Signature struct {
		Timestamp string `json:"timestamp"`
		Token     string `json:"token"`
		Signature string `json:"signature"`
	} `json:"signature"`
	EventData struct {
		Event          string  `json:"event"`
		ID             string  `json:"id"`
		Timestamp      float64 `json:"timestamp"`
		Severity       string  `json:"severity"`
		URL            string  `json:"url"`
		DeliveryStatus struct {
			Code         int    `json:"code"`
			EnhancedCode string `json:"enhanced-code"`
		} `json:"delivery-status"`
		Message struct {
			Headers struct {
				MessageID string `json:"message-id"`
			} `json:"headers"`
		} `json:"message"`
		UserVariables map[string]any `json:"user-variables"`
	} `json:"event-data"`
}

func (h *Hooks) mailgun(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	var p mailgunPayload
	if err := json.Unmarshal(body, &p); err != nil || p.Signature.Signature == "" {
		h.deny(w, ProviderMailgun, http.StatusUnauthorized, "unsigned")
		return
	}
	m := hmac.New(sha256.New, []byte(h.Mailgun.SigningKey))
	m.Write([]byte(p.Signature.Timestamp + p.Signature.Token))
	got, err := hex.DecodeString(p.Signature.Signature)
	if err != nil || !hmac.Equal(got, m.Sum(nil)) {
		h.deny(w, ProviderMailgun, http.StatusForbidden, "bad signature")
		return
	}
	if err := h.Mailgun.fresh(h.now(), p.Signature.Timestamp, p.Signature.Token, body); err != nil {
		h.deny(w, ProviderMailgun, http.StatusForbidden, err.Error())
		return
	}
	d := p.EventData
	tok, _ := d.UserVariables[VarName].(string)
	status := d.DeliveryStatus.EnhancedCode
	if status == "" && d.DeliveryStatus.Code != 0 {
		status = strconv.Itoa(d.DeliveryStatus.Code)
	}
	sec := int64(d.Timestamp)
	e := event{token: tok, messageID: d.Message.Headers.MessageID,
		out: Outcome{Ref: d.ID, Status: status, At: time.Unix(sec, int64((d.Timestamp-float64(sec))*1e9))}}
	switch d.Event {
	case "delivered":
		e.out.Kind = Delivered
	case "failed":
		e.out.Kind = SoftBounce
		if d.Severity == "permanent" {
			e.out.Kind = HardBounce
		}
	case "complained":
		e.out.Kind, e.out.Status = Complaint, "abuse"
	case "opened":
		e.out.Kind = Opened
	case "clicked":
		e.out.Kind, e.out.URL = Clicked, d.URL
	default:
		h.apply(w, r, ProviderMailgun, nil)
		return
	}
	h.apply(w, r, ProviderMailgun, []event{e})
}

// PostmarkConfig configures the Postmark webhooks, which relais protects
// with HTTP basic authentication (the credentials are part of the webhook
// URL set in Postmark).
type PostmarkConfig struct {
	User, Password string
}

type postmarkRecord struct {
	RecordType   string
	Type         string
	ID           int64
	MessageID    string
	Metadata     map[string]string
	OriginalLink string
	BouncedAt    time.Time
	DeliveredAt  time.Time
	ReceivedAt   time.Time
}

// postmarkHard and postmarkSoft are the Postmark bounce types relais
// records; others (auto-responders, subscription requests…) are ignored.
var (
	postmarkHard = map[string]bool{"HardBounce": true, "BadEmailAddress": true, "ManuallyDeactivated": true}
	postmarkSoft = map[string]bool{"SoftBounce": true, "Transient": true, "DnsError": true, "Blocked": true}
)

func (h *Hooks) postmark(w http.ResponseWriter, r *http.Request) {
	user, pass, ok := r.BasicAuth()
	if !ok {
		w.Header().Set("WWW-Authenticate", `Basic realm="relais"`)
		h.deny(w, ProviderPostmark, http.StatusUnauthorized, "no credentials")
		return
	}
	if subtle.ConstantTimeCompare([]byte(user), []byte(h.Postmark.User))&subtle.ConstantTimeCompare([]byte(pass), []byte(h.Postmark.Password)) != 1 {
		h.deny(w, ProviderPostmark, http.StatusForbidden, "bad credentials")
		return
	}
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	var p postmarkRecord
	if err := json.Unmarshal(body, &p); err != nil {
		http.Error(w, "bad JSON", http.StatusBadRequest)
		return
	}
	e := event{token: p.Metadata[VarName], messageID: p.MessageID, out: Outcome{Ref: p.RecordType + ":" + strconv.FormatInt(p.ID, 10)}}
	switch p.RecordType {
	case "Delivery":
		e.out.Kind, e.out.At, e.out.Ref = Delivered, p.DeliveredAt, "delivery"
	case "Bounce":
		e.out.At, e.out.Status = p.BouncedAt, p.Type
		switch {
		case postmarkHard[p.Type]:
			e.out.Kind = HardBounce
		case postmarkSoft[p.Type]:
			e.out.Kind = SoftBounce
		default:
			h.apply(w, r, ProviderPostmark, nil)
			return
		}
	case "SpamComplaint":
		e.out.Kind, e.out.At, e.out.Status = Complaint, p.BouncedAt, "abuse"
	case "Open":
		e.out.Kind, e.out.At, e.out.Ref = Opened, p.ReceivedAt, "open:"+p.ReceivedAt.Format(time.RFC3339Nano)
	case "Click":
		e.out.Kind, e.out.At, e.out.URL, e.out.Ref = Clicked, p.ReceivedAt, p.OriginalLink, "click:"+p.ReceivedAt.Format(time.RFC3339Nano)
	default:
		h.apply(w, r, ProviderPostmark, nil)
		return
	}
	h.apply(w, r, ProviderPostmark, []event{e})
}
