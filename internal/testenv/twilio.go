package testenv

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	_ "embed" // the Messages contract is embedded so the double works from any working directory
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"
)

// twilioContract is Twilio's official OpenAPI description of the Messages
// resource (see testdata/twilio/README.md for its origin and licence).
//
//go:embed testdata/twilio/messages-openapi.json
var twilioContract []byte

// TwilioRequest is one request the double received, as the form Twilio
// would have parsed.
type TwilioRequest struct {
	Method string
	Path   string
	Form   url.Values
}

// TwilioMessage is what the double remembers about a created message.
type TwilioMessage struct {
	Sid            string
	To             string
	From           string
	Body           string
	Media          []string
	StatusCallback string
	Status         string
}

type twFailure struct{ status, code int }

// twFormParam is one create-form parameter of the contract, with the checks
// its schema states.
type twFormParam struct {
	typ      string
	pattern  *regexp.Regexp
	enum     []string
	min, max int
}

// TwilioDouble is an HTTP test double of Twilio's Messages API. It accepts
// exactly the create-form parameters of Twilio's published contract, so a
// request the real API would not understand fails here too. Safe for
// concurrent use.
type TwilioDouble struct {
	// URL is the base URL to give the sms channel as APIBaseURL.
	URL string
	// AccountSID and AuthToken are the credentials the double accepts and
	// signs its callbacks with.
	AccountSID string
	AuthToken  string

	srv    *httptest.Server
	params map[string]twFormParam
	client *http.Client

	mu       sync.Mutex
	record   bool
	requests []TwilioRequest
	messages map[string]*TwilioMessage
	failNext []twFailure
	failTo   map[string]twFailure
	// refuseAuth answers every request 401 / 20003 while set.
	refuseAuth bool
}

// StartTwilio starts a Twilio double for the test and stops it when the
// test ends.
func StartTwilio(t testing.TB) *TwilioDouble {
	t.Helper()
	d, err := NewTwilioDouble()
	if err != nil {
		t.Fatalf("twilio double: %v", err)
	}
	t.Cleanup(d.Close)
	return d
}

// NewTwilioDouble starts a Twilio double on 127.0.0.1 (for benchmarks and
// tools that have no testing.T); the caller must Close it. It fails only when
// the embedded contract cannot be read.
func NewTwilioDouble() (*TwilioDouble, error) {
	params, err := twLoadCreateParams(twilioContract)
	if err != nil {
		return nil, fmt.Errorf("twilio contract: %w", err)
	}
	d := &TwilioDouble{
		AccountSID: "AC" + twRandomHex(16),
		AuthToken:  twRandomHex(16),
		params:     params,
		record:     true,
		messages:   map[string]*TwilioMessage{},
		failTo:     map[string]twFailure{},
		client:     &http.Client{Timeout: 10 * time.Second},
	}
	d.srv = httptest.NewServer(http.HandlerFunc(d.serve))
	d.URL = d.srv.URL
	return d, nil
}

// Close stops the server.
func (d *TwilioDouble) Close() {
	d.srv.Close()
	d.client.CloseIdleConnections()
}

// SetRecording turns request recording on (the default) or off; benchmarks
// turn it off so memory does not grow with b.N.
func (d *TwilioDouble) SetRecording(on bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.record = on
}

// Requests returns a copy of the requests received so far.
func (d *TwilioDouble) Requests() []TwilioRequest {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]TwilioRequest(nil), d.requests...)
}

// Created is the number of messages created so far.
func (d *TwilioDouble) Created() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.messages)
}

// Message returns the message created with sid, or nil.
func (d *TwilioDouble) Message(sid string) *TwilioMessage {
	d.mu.Lock()
	defer d.mu.Unlock()
	if m, ok := d.messages[sid]; ok {
		c := *m
		return &c
	}
	return nil
}

// FailNext makes the next n create requests fail with httpStatus and the
// Twilio error code (e.g. 500 with 20500, 429 with 20429).
func (d *TwilioDouble) FailNext(n, httpStatus, code int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for range n {
		d.failNext = append(d.failNext, twFailure{httpStatus, code})
	}
}

// FailTo makes every create request to number fail with httpStatus and
// code, as Twilio does for a landline (400, 21614) or an opted-out number
// (400, 21610).
func (d *TwilioDouble) FailTo(number string, httpStatus, code int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.failTo[number] = twFailure{httpStatus, code}
}

// RefuseAuth makes every request fail with 401 and error 20003 while on,
// as Twilio does after the auth token was rotated; off accepts AccountSID
// and AuthToken again.
func (d *TwilioDouble) RefuseAuth(on bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.refuseAuth = on
}

const twMessagesPrefix = "/2010-04-01/Accounts/"

func (d *TwilioDouble) serve(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		twError(w, http.StatusBadRequest, 20001, "unreadable form")
		return
	}
	d.mu.Lock()
	if d.record {
		d.requests = append(d.requests, TwilioRequest{Method: r.Method, Path: r.URL.Path, Form: r.PostForm})
	}
	refuse := d.refuseAuth
	d.mu.Unlock()

	user, pass, ok := r.BasicAuth()
	if refuse || !ok || !hmac.Equal([]byte(user), []byte(d.AccountSID)) || !hmac.Equal([]byte(pass), []byte(d.AuthToken)) {
		twError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, twMessagesPrefix+d.AccountSID)
	if !ok {
		twError(w, http.StatusNotFound, 20404, "The requested resource was not found")
		return
	}
	switch {
	case rest == ".json" && r.Method == http.MethodGet:
		// The account resource, which a sender fetches to check its
		// credentials without sending.
		twWriteJSON(w, http.StatusOK, map[string]any{"sid": d.AccountSID, "status": "active", "type": "Full",
			"friendly_name": "relais test double"})
	case rest == "/Messages.json" && r.Method == http.MethodPost:
		d.create(w, r.PostForm)
	case rest == "/Messages.json" && r.Method == http.MethodGet:
		d.list(w)
	case strings.HasPrefix(rest, "/Messages/") && strings.HasSuffix(rest, ".json") && r.Method == http.MethodGet:
		sid := strings.TrimSuffix(strings.TrimPrefix(rest, "/Messages/"), ".json")
		d.mu.Lock()
		m, found := d.messages[sid]
		var body map[string]any
		if found {
			body = d.resource(m)
		}
		d.mu.Unlock()
		if !found {
			twError(w, http.StatusNotFound, 20404, "The requested resource was not found")
			return
		}
		twWriteJSON(w, http.StatusOK, body)
	default:
		twError(w, http.StatusMethodNotAllowed, 20004, "Method not allowed")
	}
}

var twE164 = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)

// create validates a create form as the contract and Twilio's documented
// errors say, then stores a queued message.
func (d *TwilioDouble) create(w http.ResponseWriter, form url.Values) {
	for name, values := range form {
		p, known := d.params[name]
		if !known {
			twError(w, http.StatusBadRequest, 20001, "Unknown parameter: "+name)
			return
		}
		if p.typ != "array" && len(values) > 1 {
			twError(w, http.StatusBadRequest, 20001, "Parameter given more than once: "+name)
			return
		}
		for _, v := range values {
			if err := p.check(v); err != nil {
				twError(w, http.StatusBadRequest, 20001, "Invalid parameter "+name+": "+err.Error())
				return
			}
		}
	}
	to, from, msid := form.Get("To"), form.Get("From"), form.Get("MessagingServiceSid")
	switch {
	case to == "":
		twError(w, http.StatusBadRequest, 21604, "A 'To' phone number is required.")
		return
	case from == "" && msid == "":
		twError(w, http.StatusBadRequest, 21603, "A 'From' phone number is required.")
		return
	case form.Get("Body") == "" && len(form["MediaUrl"]) == 0 && form.Get("ContentSid") == "":
		twError(w, http.StatusBadRequest, 21602, "Message body is required.")
		return
	case !twE164.MatchString(to):
		twError(w, http.StatusBadRequest, 21211, "The 'To' number is not a valid phone number.")
		return
	case len(utf16.Encode([]rune(form.Get("Body")))) > 1600:
		twError(w, http.StatusBadRequest, 21617, "The concatenated message body exceeds the 1600 character limit.")
		return
	}
	d.mu.Lock()
	fail, failing := d.failTo[to]
	if !failing && len(d.failNext) > 0 {
		fail, failing = d.failNext[0], true
		d.failNext = d.failNext[1:]
	}
	if failing {
		d.mu.Unlock()
		twError(w, fail.status, fail.code, "Injected failure")
		return
	}
	prefix := "SM"
	if len(form["MediaUrl"]) > 0 {
		prefix = "MM"
	}
	m := &TwilioMessage{
		Sid: prefix + twRandomHex(16), To: to, From: from, Body: form.Get("Body"),
		Media: form["MediaUrl"], StatusCallback: form.Get("StatusCallback"), Status: "queued",
	}
	if msid != "" {
		m.Status = "accepted"
	}
	d.messages[m.Sid] = m
	body := d.resource(m)
	body["messaging_service_sid"] = twNilIfEmpty(msid)
	d.mu.Unlock()
	twWriteJSON(w, http.StatusCreated, body)
}

func (d *TwilioDouble) list(w http.ResponseWriter) {
	d.mu.Lock()
	msgs := make([]map[string]any, 0, len(d.messages))
	for _, m := range d.messages {
		msgs = append(msgs, d.resource(m))
	}
	d.mu.Unlock()
	twWriteJSON(w, http.StatusOK, map[string]any{
		"messages": msgs, "page": 0, "page_size": len(msgs), "start": 0, "end": len(msgs),
		"first_page_uri": "", "next_page_uri": nil, "previous_page_uri": nil, "uri": "",
	})
}

// resource renders m with the fields of api.v2010.account.message; the
// caller holds d.mu.
func (d *TwilioDouble) resource(m *TwilioMessage) map[string]any {
	now := time.Now().UTC().Format(time.RFC1123Z)
	return map[string]any{
		"sid": m.Sid, "account_sid": d.AccountSID, "api_version": "2010-04-01",
		"body": m.Body, "to": m.To, "from": twNilIfEmpty(m.From), "status": m.Status,
		"direction": "outbound-api", "num_segments": strconv.Itoa(twSegments(m.Body)),
		"num_media": strconv.Itoa(len(m.Media)), "date_created": now, "date_updated": now,
		"date_sent": nil, "price": nil, "price_unit": "USD", "error_code": nil, "error_message": nil,
		"messaging_service_sid": nil,
		"uri":                   twMessagesPrefix + d.AccountSID + "/Messages/" + m.Sid + ".json",
		"subresource_uris":      map[string]string{"media": twMessagesPrefix + d.AccountSID + "/Messages/" + m.Sid + "/Media.json"},
	}
}

// SendStatus posts a status callback for sid to the StatusCallback URL the
// message was created with, signed like Twilio. It fails when the message
// is unknown, has no callback URL, or the webhook answers other than 2xx.
func (d *TwilioDouble) SendStatus(sid, status string) error {
	return d.SendStatusError(sid, status, 0)
}

// SendStatusError is SendStatus with an ErrorCode (for failed and
// undelivered statuses, e.g. 30003 unreachable handset).
func (d *TwilioDouble) SendStatusError(sid, status string, errorCode int) error {
	d.mu.Lock()
	m, ok := d.messages[sid]
	var callback string
	form := url.Values{}
	if ok {
		m.Status = status
		callback = m.StatusCallback
		form.Set("MessageSid", sid)
		form.Set("SmsSid", sid)
		form.Set("MessageStatus", status)
		form.Set("SmsStatus", status)
		form.Set("AccountSid", d.AccountSID)
		form.Set("To", m.To)
		form.Set("From", m.From)
		form.Set("ApiVersion", "2010-04-01")
		if errorCode != 0 {
			form.Set("ErrorCode", strconv.Itoa(errorCode))
		}
	}
	d.mu.Unlock()
	switch {
	case !ok:
		return fmt.Errorf("twilio double: unknown message %s", sid)
	case callback == "":
		return fmt.Errorf("twilio double: message %s has no StatusCallback", sid)
	}
	return d.post(callback, form)
}

// SendInbound posts an inbound message webhook (as Twilio does when someone
// texts one of the account's numbers) to webhookURL, signed like Twilio.
func (d *TwilioDouble) SendInbound(webhookURL, from, to, body string) error {
	form := url.Values{}
	sid := "SM" + twRandomHex(16)
	form.Set("MessageSid", sid)
	form.Set("SmsSid", sid)
	form.Set("SmsMessageSid", sid)
	form.Set("AccountSid", d.AccountSID)
	form.Set("From", from)
	form.Set("To", to)
	form.Set("Body", body)
	form.Set("NumMedia", "0")
	form.Set("NumSegments", "1")
	form.Set("ApiVersion", "2010-04-01")
	return d.post(webhookURL, form)
}

func (d *TwilioDouble) post(target string, form url.Values) error {
	req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("twilio double: webhook request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", SignTwilio(d.AuthToken, target, form))
	resp, err := d.client.Do(req)
	if err != nil {
		return fmt.Errorf("twilio double: webhook: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("twilio double: webhook answered %d", resp.StatusCode)
	}
	return nil
}

// SignTwilio computes X-Twilio-Signature for a POST to fullURL with form, by
// Twilio's documented algorithm (the one twilio-go's RequestValidator
// checks): base64(HMAC-SHA1(authToken, URL + each key+value, keys sorted)).
func SignTwilio(authToken, fullURL string, form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b bytes.Buffer
	b.WriteString(fullURL)
	for _, k := range keys {
		for _, v := range form[k] {
			b.WriteString(k)
			b.WriteString(v)
		}
	}
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write(b.Bytes())
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// twLoadCreateParams reads the create operation's form schema from the
// contract: the accepted parameter names and their checks.
func twLoadCreateParams(contract []byte) (map[string]twFormParam, error) {
	type schema struct {
		Ref       string   `json:"$ref"`
		Type      string   `json:"type"`
		Pattern   string   `json:"pattern"`
		Enum      []string `json:"enum"`
		MinLength int      `json:"minLength"`
		MaxLength int      `json:"maxLength"`
		Items     *schema  `json:"items"`
	}
	var doc struct {
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Schemas map[string]schema `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(contract, &doc); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	raw, ok := doc.Paths[twMessagesPrefix+"{AccountSid}/Messages.json"]["post"]
	if !ok {
		return nil, fmt.Errorf("no create operation")
	}
	var op struct {
		RequestBody struct {
			Content map[string]struct {
				Schema struct {
					Properties map[string]schema `json:"properties"`
				} `json:"schema"`
			} `json:"content"`
		} `json:"requestBody"`
	}
	if err := json.Unmarshal(raw, &op); err != nil {
		return nil, fmt.Errorf("decode create operation: %w", err)
	}
	props := op.RequestBody.Content["application/x-www-form-urlencoded"].Schema.Properties
	if len(props) == 0 {
		return nil, fmt.Errorf("create operation has no form parameters")
	}
	out := make(map[string]twFormParam, len(props))
	for name, s := range props {
		if s.Ref != "" {
			s = doc.Components.Schemas[strings.TrimPrefix(s.Ref, "#/components/schemas/")]
		}
		p := twFormParam{typ: s.Type, enum: s.Enum, min: s.MinLength, max: s.MaxLength}
		if s.Type == "array" && s.Items != nil {
			p.min, p.max = s.Items.MinLength, s.Items.MaxLength
		}
		if s.Pattern != "" {
			re, err := regexp.Compile(s.Pattern)
			if err != nil {
				return nil, fmt.Errorf("parameter %s: %w", name, err)
			}
			p.pattern = re
		}
		out[name] = p
	}
	return out, nil
}

func (p twFormParam) check(v string) error {
	switch p.typ {
	case "integer":
		if _, err := strconv.Atoi(v); err != nil {
			return fmt.Errorf("not an integer")
		}
	case "number":
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			return fmt.Errorf("not a number")
		}
	case "boolean":
		if v != "true" && v != "false" {
			return fmt.Errorf("not a boolean")
		}
	}
	if p.pattern != nil && !p.pattern.MatchString(v) {
		return fmt.Errorf("does not match %s", p.pattern)
	}
	if len(p.enum) > 0 && !slices.Contains(p.enum, v) {
		return fmt.Errorf("not one of %v", p.enum)
	}
	if (p.min > 0 && len(v) < p.min) || (p.max > 0 && len(v) > p.max) {
		return fmt.Errorf("length out of range")
	}
	return nil
}

// twGSM7 and twGSM7Ext are the GSM 03.38 basic and extension tables; the
// double counts segments independently of the sms package so the two can
// be checked against each other.
const (
	twGSM7    = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	twGSM7Ext = "\f^{}\\[~]|€"
)

func twSegments(body string) int {
	septets, ucs2 := 0, false
	for _, r := range body {
		switch {
		case strings.ContainsRune(twGSM7, r):
			septets++
		case strings.ContainsRune(twGSM7Ext, r):
			septets += 2
		default:
			ucs2 = true
		}
	}
	if ucs2 {
		units := len(utf16.Encode([]rune(body)))
		if units <= 70 {
			return 1
		}
		return (units + 66) / 67
	}
	if septets <= 160 {
		return 1
	}
	return (septets + 152) / 153
}

func twError(w http.ResponseWriter, status, code int, msg string) {
	twWriteJSON(w, status, map[string]any{
		"code": code, "message": msg, "status": status,
		"more_info": "https://www.twilio.com/docs/errors/" + strconv.Itoa(code),
	})
}

func twWriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func twNilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func twRandomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
