package bounce_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/bounce"
	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/store"
)

const snsCertURL = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-01d088a6f77103d0fe307c0069e40ed6.pem"

// providerKeys are the test keys the fixtures are signed with.
type providerKeys struct {
	snsKey   *rsa.PrivateKey
	snsCert  *x509.Certificate
	sgKey    *ecdsa.PrivateKey
	mgKey    string
	confirms []string
}

func newProviderKeys(t *testing.T) *providerKeys {
	t.Helper()
	k := &providerKeys{mgKey: "key-mailgun-signing-test"}
	var err error
	if k.snsKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sns.amazonaws.com"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.snsKey.PublicKey, k.snsKey)
	if err != nil {
		t.Fatal(err)
	}
	if k.snsCert, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	if k.sgKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	return k
}

func (k *providerKeys) hooks(f *fixture) *bounce.Hooks {
	return &bounce.Hooks{Recorder: f.rec, Correlator: f.corr, Now: func() time.Time { return f.now }, Log: quiet,
		SES: &bounce.SESConfig{
			FetchCert: func(_ context.Context, u string) (*x509.Certificate, error) {
				if u != snsCertURL {
					return nil, errors.New("unknown certificate")
				}
				return k.snsCert, nil
			},
			Confirm: func(_ context.Context, u string) error { k.confirms = append(k.confirms, u); return nil },
		},
		SendGrid: &bounce.SendGridConfig{PublicKey: &k.sgKey.PublicKey},
		Mailgun:  &bounce.MailgunConfig{SigningKey: k.mgKey},
		Postmark: &bounce.PostmarkConfig{User: "postmark", Password: "s3cret-hook"},
	}
}

// sns signs an SNS message (SignatureVersion 2) and returns its JSON.
func (k *providerKeys) sns(t *testing.T, m bounce.SNSMessage) []byte {
	t.Helper()
	m.SignatureVersion, m.SigningCertURL = "2", snsCertURL
	d := sha256.Sum256([]byte(m.StringToSign()))
	sig, err := rsa.SignPKCS1v15(rand.Reader, k.snsKey, crypto.SHA256, d[:])
	if err != nil {
		t.Fatal(err)
	}
	m.Signature = base64.StdEncoding.EncodeToString(sig)
	b, _ := json.Marshal(m)
	return b
}

// sesBounce is an SES bounce notification as documented by AWS.
func sesBounce(source, bounceType, status string) string {
	return fmt.Sprintf(`{"notificationType":"Bounce","bounce":{"feedbackId":"0102017a-bounce","bounceType":%q,"bounceSubType":"General",
"bouncedRecipients":[{"emailAddress":"recipient@example.net","action":"failed","status":%q,"diagnosticCode":"smtp; 550 5.1.1 user unknown"}],
"timestamp":"2027-03-20T09:30:00.000Z","remoteMtaIp":"192.0.2.1","reportingMTA":"dsn; a1.smtp-out.amazonses.com"},
"mail":{"timestamp":"2027-03-20T09:29:58.000Z","source":%q,"sourceArn":"arn:aws:ses:eu-west-1:123456789012:identity/dupont.example",
"messageId":"0102017a-ses","destination":["recipient@example.net"],"headersTruncated":false,"commonHeaders":{"messageId":"<x@dupont.example>"}}}`,
		bounceType, status, source)
}

func (k *providerKeys) sendgrid(t *testing.T, body []byte, ts string) http.Header {
	t.Helper()
	d := sha256.Sum256(append([]byte(ts), body...))
	sig, err := ecdsa.SignASN1(rand.Reader, k.sgKey, d[:])
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set(bounce.SendGridSignatureHeader, base64.StdEncoding.EncodeToString(sig))
	h.Set(bounce.SendGridTimestampHeader, ts)
	return h
}

func (k *providerKeys) mailgun(event, nonce string) []byte {
	ts := "1805536500"
	m := hmac.New(sha256.New, []byte(k.mgKey))
	m.Write([]byte(ts + nonce))
	return []byte(fmt.Sprintf(`{"signature":{"timestamp":%q,"token":%q,"signature":%q},"event-data":%s}`,
		ts, nonce, hex.EncodeToString(m.Sum(nil)), event))
}

func post(t *testing.T, url string, body []byte, h http.Header) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

// TestProviderWebhooks: signed SES/SNS, SendGrid, Mailgun and Postmark
// payloads move the right rows; unsigned ones get 401, tampered or
// wrongly signed ones 403, and record nothing.
func TestProviderWebhooks(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			f := newFixture(t, b.open(t))
			keys := newProviderKeys(t)
			srv := httptest.NewServer(keys.hooks(f).Routes())
			t.Cleanup(srv.Close)
			url := func(p string) string { return srv.URL + bounce.HookPrefix + p }
			rows := map[string]store.LedgerRow{}
			for _, c := range []string{"ses", "sg1", "sg2", "mg1", "mg2", "pm"} {
				rows[c] = f.sent(t, c, c+"@example.net")
			}

			// Refused requests first: nothing may be recorded.
			sesOK := keys.sns(t, bounce.SNSMessage{Type: "Notification", MessageID: "sns-1", TopicArn: "arn:aws:sns:eu-west-1:123456789012:ses-bounces",
				Message: sesBounce(f.corr.ReturnPath(rows["ses"].ID, "dupont.example"), "Permanent", "5.1.1"), Timestamp: "2027-03-20T09:30:01.000Z"})
			tampered := bytes.Replace(sesOK, []byte(`5.1.1`), []byte(`5.1.2`), 1)
			evil := bytes.Replace(sesOK, []byte("sns.eu-west-1.amazonaws.com"), []byte("sns.eu-west-1.amazonaws.com.evil.example"), 1)
			sgBody := []byte(fmt.Sprintf(`[{"email":"sg1@example.net","timestamp":1805619000,"smtp-id":"<sg1@dupont.example>","event":"delivered","sg_event_id":"sg-ev-1","sg_message_id":"sg-msg-1","response":"250 OK"},
{"email":"sg2@example.net","timestamp":1805619001,"event":"bounce","type":"bounce","status":"5.0.0","reason":"550 5.0.0 mailbox unavailable","sg_event_id":"sg-ev-2","relais_ledger":%q}]`,
				f.corr.Token(rows["sg2"].ID)))
			sgHeaders := keys.sendgrid(t, sgBody, "1805619002")
			mgFailed := keys.mailgun(fmt.Sprintf(`{"event":"failed","severity":"permanent","id":"mg-ev-1","timestamp":1805619000.5,
"delivery-status":{"code":550,"message":"5.1.1 user unknown"},"message":{"headers":{"message-id":"mg1@dupont.example"}},"user-variables":{"relais_ledger":%q}}`,
				f.corr.Token(rows["mg1"].ID)), "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0")
			mgComplaint := keys.mailgun(`{"event":"complained","id":"mg-ev-2","timestamp":1805619100,"message":{"headers":{"message-id":"mg2@dupont.example"}}}`,
				"0f5ae5b1c3a7e4d9b2a8c6e1f0d3b7a9c5e2f8d1a4b6c9e0f3")
			pmBody := []byte(fmt.Sprintf(`{"RecordType":"Bounce","ID":4323372036854775807,"Type":"HardBounce","TypeCode":1,"Name":"Hard bounce",
"MessageID":"883953f4-6105-42a2-a16a-77a8eac79483","ServerID":23,"MessageStream":"outbound","Description":"The server was unable to deliver your message",
"Email":"pm@example.net","From":"news@dupont.example","BouncedAt":"2027-03-20T09:31:00Z","Metadata":{"relais_ledger":%q}}`, f.corr.Token(rows["pm"].ID)))

			refused := []struct {
				name, path string
				body       []byte
				h          http.Header
				want       int
			}{
				{"ses unsigned", "ses", []byte(`{"Type":"Notification","Message":"{}"}`), nil, 401},
				{"ses tampered", "ses", tampered, nil, 403},
				{"ses foreign certificate", "ses", evil, nil, 403},
				{"sendgrid unsigned", "sendgrid", sgBody, nil, 401},
				{"sendgrid tampered", "sendgrid", bytes.Replace(sgBody, []byte("delivered"), []byte("bounce"), 1), sgHeaders, 403},
				{"sendgrid other key", "sendgrid", sgBody, newProviderKeys(t).sendgrid(t, sgBody, "1805619002"), 403},
				{"mailgun unsigned", "mailgun", []byte(`{"event-data":{"event":"failed"}}`), nil, 401},
				{"mailgun tampered", "mailgun", bytes.Replace(mgFailed, []byte(`"timestamp":"1805536500"`), []byte(`"timestamp":"1805536501"`), 1), nil, 403},
				{"postmark no credentials", "postmark", pmBody, nil, 401},
				{"postmark wrong password", "postmark", pmBody, http.Header{"Authorization": {basic("postmark", "guess")}}, 403},
				{"unknown provider", "sparkpost", pmBody, nil, 404},
			}
			for _, c := range refused {
				if got := post(t, url(c.path), c.body, c.h); got != c.want {
					t.Errorf("%s: status %d, want %d", c.name, got, c.want)
				}
			}
			if ev := f.events(t); len(ev) != 0 {
				t.Fatalf("refused requests recorded events: %v", ev)
			}

			// SNS subscription confirmation.
			confirm := keys.sns(t, bounce.SNSMessage{Type: "SubscriptionConfirmation", MessageID: "sns-0", Token: "tok",
				TopicArn: "arn:aws:sns:eu-west-1:123456789012:ses-bounces", Message: "You have chosen to subscribe…",
				SubscribeURL: "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&Token=tok", Timestamp: "2027-03-20T09:00:00.000Z"})
			if got := post(t, url("ses"), confirm, nil); got != 200 || len(keys.confirms) != 1 {
				t.Fatalf("subscription confirmation: %d, confirms %v", got, keys.confirms)
			}

			accepted := []struct {
				path string
				body []byte
				h    http.Header
			}{
				{"ses", sesOK, nil},
				{"sendgrid", sgBody, sgHeaders},
				{"mailgun", mgFailed, nil},
				{"mailgun", mgComplaint, nil},
				{"postmark", pmBody, http.Header{"Authorization": {basic("postmark", "s3cret-hook")}}},
			}
			for round := range 2 { // a replay changes nothing
				for _, c := range accepted {
					if got := post(t, url(c.path), c.body, c.h); got != 200 {
						t.Fatalf("round %d %s: status %d", round, c.path, got)
					}
				}
				want := map[string]store.State{"ses": store.Bounced, "sg1": store.Delivered, "sg2": store.Bounced,
					"mg1": store.Bounced, "mg2": store.Accepted, "pm": store.Bounced}
				for name, st := range want {
					if got := f.state(t, rows[name].ID); got.State != st {
						t.Errorf("round %d: row %s %s, want %s", round, name, got.State, st)
					}
				}
				if r := f.state(t, rows["ses"].ID); r.Reason != "5.1.1" {
					t.Errorf("ses reason %q", r.Reason)
				}
				for name, reason := range map[string]string{"ses": "hard_bounce", "sg1": "", "sg2": "hard_bounce", "mg1": "hard_bounce", "mg2": "complaint", "pm": "hard_bounce"} {
					if got := f.suppression(t, name+"@example.net"); got != reason {
						t.Errorf("round %d: %s suppression %q, want %q", round, name, got, reason)
					}
				}
				ev := f.events(t)
				if ev[store.EventBounced] != 4 || ev[store.EventDelivered] != 1 || ev[store.EventComplained] != 1 || len(ev) != 3 {
					t.Errorf("round %d: events %v, want 4 bounced, 1 delivered, 1 complained", round, ev)
				}
			}
			// Mailgun signs no event data: its signature replayed with
			// another event is refused.
			forged := bytes.Replace(mgFailed, []byte("permanent"), []byte("temporary"), 1)
			if got := post(t, url("mailgun"), forged, nil); got != 403 {
				t.Errorf("mailgun signature replayed with another event: %d, want 403", got)
			}
			if ev := f.events(t); ev[store.EventSoftBounced] != 0 {
				t.Errorf("forged mailgun event recorded: %v", ev)
			}
			cs, err := f.st.Consent(t.Context(), rows["mg2"].ContactID, "email", contact.PurposeMarketing)
			if err != nil || cs.Status != contact.Refused || cs.Source != bounce.ComplaintSource {
				t.Errorf("complaint consent %+v %v, want refused with source complaint", cs, err)
			}
		})
	}
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}
