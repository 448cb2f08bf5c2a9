package bounce

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // SNS SignatureVersion 1 is SHA1withRSA
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// SESConfig configures the Amazon SES webhook: SES publishes bounce,
// complaint and delivery notifications (or event-publishing events) to an
// SNS topic whose HTTPS subscription is <public URL>/hooks/email/ses.
type SESConfig struct {
	// TopicARNs are the topics accepted; empty accepts any topic whose
	// message is signed by SNS.
	TopicARNs []string
	// FetchCert returns the SNS signing certificate at a URL already
	// checked to be https on sns.<region>.amazonaws.com. Default: an
	// HTTPS GET, cached per URL. Tests inject their own.
	FetchCert func(ctx context.Context, certURL string) (*x509.Certificate, error)
	// Confirm visits a SubscriptionConfirmation's SubscribeURL (checked
	// like the certificate URL). Default: an HTTPS GET.
	Confirm func(ctx context.Context, subscribeURL string) error
}

// snsHostRE is the host of every SNS endpoint (certificates, subscription
// confirmation), in every AWS partition relais accepts.
var snsHostRE = regexp.MustCompile(`^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$`)

// snsURL checks that u is an https URL on an SNS host.
func snsURL(u string, pemFile bool) error {
	p, err := url.Parse(u)
	if err != nil || p.Scheme != "https" || !snsHostRE.MatchString(p.Hostname()) || p.Port() != "" {
		return errors.New("not an https URL on sns.<region>.amazonaws.com")
	}
	if pemFile && !strings.HasSuffix(p.Path, ".pem") {
		return errors.New("certificate URL is not a .pem file")
	}
	return nil
}

var (
	certCache   sync.Map // URL → *x509.Certificate
	snsClient   = &http.Client{Timeout: 10 * time.Second}
	errNotSNSOK = errors.New("sns: unexpected HTTP status")
)

func fetchSNSCert(ctx context.Context, certURL string) (*x509.Certificate, error) {
	if c, ok := certCache.Load(certURL); ok {
		return c.(*x509.Certificate), nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, certURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := snsClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, errNotSNSOK
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, errors.New("sns: certificate is not PEM")
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return nil, err
	}
	certCache.Store(certURL, c)
	return c, nil
}

func confirmSNS(ctx context.Context, u string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := snsClient.Do(req)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errNotSNSOK
	}
	return nil
}

// SNSMessage is an SNS HTTP(S) delivery.
type SNSMessage struct {
	Type             string
	MessageID        string `json:"MessageId"`
	Token            string
	TopicArn         string
	Subject          string
	Message          string
	SubscribeURL     string
	Timestamp        string
	SignatureVersion string
	Signature        string
	SigningCertURL   string
}

// StringToSign is the canonical text SNS signs for m's type.
func (m SNSMessage) StringToSign() string {
	var b strings.Builder
	add := func(k, v string) { b.WriteString(k + "\n" + v + "\n") }
	add("Message", m.Message)
	add("MessageId", m.MessageID)
	if m.Type == "Notification" {
		if m.Subject != "" {
			add("Subject", m.Subject)
		}
	} else {
		add("SubscribeURL", m.SubscribeURL)
	}
	add("Timestamp", m.Timestamp)
	if m.Type != "Notification" {
		add("Token", m.Token)
	}
	add("TopicArn", m.TopicArn)
	add("Type", m.Type)
	return b.String()
}

// verify checks m's signature against its signing certificate.
func (c *SESConfig) verify(ctx context.Context, m SNSMessage) error {
	if err := snsURL(m.SigningCertURL, true); err != nil {
		return err
	}
	fetch := c.FetchCert
	if fetch == nil {
		fetch = fetchSNSCert
	}
	cert, err := fetch(ctx, m.SigningCertURL)
	if err != nil {
		return fmt.Errorf("signing certificate: %w", err)
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return errors.New("signing certificate is not RSA")
	}
	sig, err := base64.StdEncoding.DecodeString(m.Signature)
	if err != nil {
		return errors.New("signature is not base64")
	}
	var h crypto.Hash
	switch m.SignatureVersion {
	case "1":
		h = crypto.SHA1
	case "2":
		h = crypto.SHA256
	default:
		return errors.New("unknown SignatureVersion")
	}
	var digest []byte
	if h == crypto.SHA1 {
		d := sha1.Sum([]byte(m.StringToSign())) //nolint:gosec
		digest = d[:]
	} else {
		d := sha256.Sum256([]byte(m.StringToSign()))
		digest = d[:]
	}
	return rsa.VerifyPKCS1v15(pub, h, digest, sig)
}

// sesNotification is an SES notification or event-publishing record.
type sesNotification struct {
	NotificationType string `json:"notificationType"`
	EventType        string `json:"eventType"`
	Mail             struct {
		MessageID     string `json:"messageId"`
		Source        string `json:"source"`
		Headers       []struct{ Name, Value string }
		CommonHeaders struct {
			MessageID string `json:"messageId"`
		} `json:"commonHeaders"`
	} `json:"mail"`
	Bounce *struct {
		BounceType        string `json:"bounceType"`
		FeedbackID        string `json:"feedbackId"`
		Timestamp         time.Time
		BouncedRecipients []struct {
			Status string `json:"status"`
		} `json:"bouncedRecipients"`
	} `json:"bounce"`
	Complaint *struct {
		FeedbackID            string    `json:"feedbackId"`
		ComplaintFeedbackType string    `json:"complaintFeedbackType"`
		Timestamp             time.Time `json:"timestamp"`
	} `json:"complaint"`
	Delivery *struct {
		Timestamp time.Time `json:"timestamp"`
	} `json:"delivery"`
	Open *struct {
		Timestamp time.Time `json:"timestamp"`
	} `json:"open"`
	Click *struct {
		Timestamp time.Time `json:"timestamp"`
		Link      string    `json:"link"`
	} `json:"click"`
}

func (h *Hooks) ses(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	var m SNSMessage
	if err := json.Unmarshal(body, &m); err != nil || m.Signature == "" || m.SigningCertURL == "" {
		h.deny(w, ProviderSES, http.StatusUnauthorized, "not a signed SNS message")
		return
	}
	if err := h.SES.verify(r.Context(), m); err != nil {
		h.deny(w, ProviderSES, http.StatusForbidden, err.Error())
		return
	}
	if len(h.SES.TopicARNs) > 0 && !slices.Contains(h.SES.TopicARNs, m.TopicArn) {
		h.deny(w, ProviderSES, http.StatusForbidden, "topic not configured")
		return
	}
	switch m.Type {
	case "SubscriptionConfirmation":
		if err := snsURL(m.SubscribeURL, false); err != nil {
			h.deny(w, ProviderSES, http.StatusForbidden, "subscribe URL: "+err.Error())
			return
		}
		confirm := h.SES.Confirm
		if confirm == nil {
			confirm = confirmSNS
		}
		if err := confirm(r.Context(), m.SubscribeURL); err != nil {
			h.log().Error("sns subscription confirmation failed", "topic", m.TopicArn, "err", err)
			http.Error(w, "confirmation failed", http.StatusBadGateway)
			return
		}
		h.log().Info("sns subscription confirmed", "topic", m.TopicArn)
		w.WriteHeader(http.StatusOK)
		return
	case "Notification":
	default:
		w.WriteHeader(http.StatusOK) // UnsubscribeConfirmation: nothing to do
		return
	}
	var n sesNotification
	if err := json.Unmarshal([]byte(m.Message), &n); err != nil {
		h.log().Warn("ses notification not understood", "sns_message", m.MessageID)
		w.WriteHeader(http.StatusOK)
		return
	}
	e, ok := sesEvent(n, m.MessageID)
	if !ok {
		w.WriteHeader(http.StatusOK)
		return
	}
	h.apply(w, r, ProviderSES, []event{e})
}

// sesEvent maps an SES notification to an event.
func sesEvent(n sesNotification, snsID string) (event, bool) {
	e := event{token: n.Mail.Source, messageID: n.Mail.CommonHeaders.MessageID, out: Outcome{Ref: snsID}}
	for _, hd := range n.Mail.Headers {
		if strings.EqualFold(hd.Name, LedgerHeader) {
			e.token = hd.Value
		}
	}
	typ := n.NotificationType
	if typ == "" {
		typ = n.EventType
	}
	switch {
	case typ == "Bounce" && n.Bounce != nil:
		e.out.Kind, e.out.At = SoftBounce, n.Bounce.Timestamp
		if n.Bounce.BounceType == "Permanent" {
			e.out.Kind = HardBounce
		}
		if len(n.Bounce.BouncedRecipients) > 0 {
			e.out.Status = n.Bounce.BouncedRecipients[0].Status
		}
		if n.Bounce.FeedbackID != "" {
			e.out.Ref = n.Bounce.FeedbackID
		}
	case typ == "Complaint" && n.Complaint != nil:
		e.out.Kind, e.out.At, e.out.Status = Complaint, n.Complaint.Timestamp, n.Complaint.ComplaintFeedbackType
		if e.out.Status == "" {
			e.out.Status = "abuse"
		}
	case typ == "Delivery" && n.Delivery != nil:
		e.out.Kind, e.out.At = Delivered, n.Delivery.Timestamp
	case typ == "Open" && n.Open != nil:
		e.out.Kind, e.out.At = Opened, n.Open.Timestamp
	case typ == "Click" && n.Click != nil:
		e.out.Kind, e.out.At, e.out.URL = Clicked, n.Click.Timestamp, n.Click.Link
	default:
		return event{}, false
	}
	return e, true
}
