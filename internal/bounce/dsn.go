package bounce

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"regexp"
	"strings"
)

// Report is what a mailbox message says: a bounce, a complaint or nothing
// relais acts on.
type Report struct {
	// Kind is HardBounce, SoftBounce or Complaint; empty when the message
	// is no failure report (a delay warning, a delivery notice, mail for a
	// human).
	Kind Kind
	// Status is the enhanced status code of a bounce (5.1.1) or the
	// feedback type of a complaint (abuse).
	Status string
	// Delayed marks a DSN whose action is "delayed": a warning, not a
	// failure.
	Delayed bool
	// MessageID is the report's own Message-ID (idempotence).
	MessageID string
	// text is every decoded part, searched for the ledger token.
	text string
}

// maxPart bounds what is read of one MIME part.
const maxPart = 1 << 20

// Parse reads a mailbox message: an RFC 3464 delivery status notification
// (multipart/report; report-type=delivery-status), an RFC 5965 feedback
// report (report-type=feedback-report), or a non-standard bounce text
// recognised by its sender or subject and classified with statusRE and
// providerTexts.
func Parse(raw []byte) (Report, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Report{}, err
	}
	rep := Report{MessageID: strings.Trim(strings.TrimSpace(msg.Header.Get("Message-Id")), "<>")}
	var text strings.Builder
	for _, h := range []string{"To", "Delivered-To", "X-Original-To", "Return-Path"} {
		for _, v := range msg.Header[textproto.CanonicalMIMEHeaderKey(h)] {
			text.WriteString(v + "\n")
		}
	}
	var dsn, arf []byte
	walk(textproto.MIMEHeader(msg.Header), msg.Body, 0, func(ct string, body []byte) {
		switch ct {
		case "message/delivery-status", "message/global-delivery-status":
			dsn = body
		case "message/feedback-report":
			arf = body
		}
		text.Write(body)
		text.WriteString("\n")
	})
	rep.text = text.String()
	switch {
	case arf != nil:
		rep.Kind, rep.Status = Complaint, feedbackType(arf)
	case dsn != nil:
		rep.Kind, rep.Status, rep.Delayed = deliveryStatus(dsn, rep.text)
	case looksLikeBounce(msg.Header):
		rep.Kind, rep.Status = classifyText(rep.text)
	}
	return rep, nil
}

// walk calls f with the media type and decoded body of every leaf part.
func walk(h textproto.MIMEHeader, body io.Reader, depth int, f func(ct string, body []byte)) {
	ct, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		ct = "text/plain"
	}
	if strings.HasPrefix(ct, "multipart/") && params["boundary"] != "" && depth < 8 {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err != nil {
				return
			}
			walk(p.Header, p, depth+1, f)
		}
	}
	var r io.Reader = io.LimitReader(body, maxPart)
	switch strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding"))) {
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, &stripSpace{r: r})
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	}
	b, _ := io.ReadAll(r)
	f(ct, b)
}

// stripSpace drops the line breaks base64 bodies are wrapped with.
type stripSpace struct{ r io.Reader }

func (s *stripSpace) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	j := 0
	for _, c := range p[:n] {
		if c != '\r' && c != '\n' && c != ' ' && c != '\t' {
			p[j] = c
			j++
		}
	}
	if j == 0 && err == nil && n > 0 {
		return s.Read(p)
	}
	return j, err
}

// fieldBlocks parses the header-like blocks of a delivery-status or
// feedback-report body (one per-message block, then per-recipient ones).
func fieldBlocks(body []byte) []textproto.MIMEHeader {
	r := textproto.NewReader(bufio.NewReader(bytes.NewReader(bytes.ReplaceAll(body, []byte("\r\n"), []byte("\n")))))
	var out []textproto.MIMEHeader
	for range 64 {
		h, err := r.ReadMIMEHeader()
		if len(h) > 0 {
			out = append(out, h)
		}
		if err != nil {
			break
		}
	}
	return out
}

var statusRE = regexp.MustCompile(`\b([245])\.(\d{1,3})\.(\d{1,3})\b`)

// deliveryStatus classifies the first failed (else delayed) recipient of
// a delivery-status body.
func deliveryStatus(body []byte, text string) (Kind, string, bool) {
	delayed := false
	for _, b := range fieldBlocks(body) {
		action := strings.ToLower(strings.TrimSpace(b.Get("Action")))
		status := statusRE.FindString(b.Get("Status"))
		switch action {
		case "failed":
			if k, s, ok := providerText(b.Get("Diagnostic-Code")); ok {
				return k, s, false
			}
			switch {
			case strings.HasPrefix(status, "5."):
				return HardBounce, status, false
			case strings.HasPrefix(status, "4."):
				return SoftBounce, status, false
			}
			k, s := classifyText(text)
			return k, s, false
		case "delayed":
			delayed = true
		}
	}
	return "", "", delayed
}

// feedbackType returns the Feedback-Type of a feedback-report body
// ("abuse" when absent).
func feedbackType(body []byte) string {
	for _, b := range fieldBlocks(body) {
		if t := strings.ToLower(strings.TrimSpace(b.Get("Feedback-Type"))); t != "" {
			return t
		}
	}
	return "abuse"
}

var bounceSubjectRE = regexp.MustCompile(`(?i)undeliver|delivery status notification|mail delivery (failed|failure|subsystem)|returned mail|failure notice|delivery failure|non remis|non distribu`)

// looksLikeBounce recognises a bounce without a DSN part by its sender
// (the null Return-Path, MAILER-DAEMON, postmaster) or its subject.
func looksLikeBounce(h mail.Header) bool {
	from := strings.ToLower(h.Get("From"))
	rp := strings.TrimSpace(h.Get("Return-Path"))
	return rp == "<>" || strings.Contains(from, "mailer-daemon") || strings.Contains(from, "postmaster") ||
		bounceSubjectRE.MatchString(h.Get("Subject"))
}

// providerTexts are well-known bounce texts whose meaning beats their
// status code (a full Gmail mailbox answers 5.2.2 but may empty) or that
// come without one.
var providerTexts = []struct {
	re     *regexp.Regexp
	kind   Kind
	status string
}{
	{regexp.MustCompile(`(?i)over quota|quota exceeded|mailbox (is )?full|insufficient (system )?storage|boîte (aux lettres )?pleine`), SoftBounce, "4.2.2"},
	{regexp.MustCompile(`(?i)try again later|temporar(il)?y (deferred|rejected|unavailable)|greylist`), SoftBounce, "4.7.1"},
	{regexp.MustCompile(`(?i)user unknown|unknown user|no such (user|mailbox|recipient)|does not exist|account (has been )?disabled|mailbox (unavailable|not found)|recipient address rejected|invalid recipient|address rejected|utilisateur inconnu|adresse (introuvable|inconnue)`), HardBounce, "5.1.1"},
}

func providerText(s string) (Kind, string, bool) {
	for _, t := range providerTexts {
		if t.re.MatchString(s) {
			return t.kind, t.status, true
		}
	}
	return "", "", false
}

var smtpCodeRE = regexp.MustCompile(`\b([45])\d\d[ -]`)

// classifyText classifies a non-standard bounce: a known provider text,
// else an enhanced status code, else a bare SMTP reply code. A bounce
// with nothing recognisable counts as hard (5.0.0): the server gave up.
func classifyText(text string) (Kind, string) {
	if k, s, ok := providerText(text); ok {
		return k, s
	}
	if m := statusRE.FindString(text); m != "" && m[0] != '2' {
		if m[0] == '5' {
			return HardBounce, m
		}
		return SoftBounce, m
	}
	if m := smtpCodeRE.FindStringSubmatch(text); m != nil {
		if m[1] == "4" {
			return SoftBounce, "4.0.0"
		}
	}
	return HardBounce, "5.0.0"
}
