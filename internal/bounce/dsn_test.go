package bounce

import "testing"

// TestParseClassifies: standard DSNs, provider texts that beat their
// code, non-standard bounces, delay warnings, feedback reports and mail
// that is no report.
func TestParseClassifies(t *testing.T) {
	dsn := func(action, status, diag string) string {
		return "From: MAILER-DAEMON@mx.example\r\nSubject: Delivery Status Notification (Failure)\r\nMIME-Version: 1.0\r\n" +
			"Content-Type: multipart/report; report-type=delivery-status; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nfailed\r\n" +
			"--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example\r\n\r\nFinal-Recipient: rfc822; x@example.net\r\n" +
			"Action: " + action + "\r\nStatus: " + status + "\r\nDiagnostic-Code: smtp; " + diag + "\r\n\r\n--B--\r\n"
	}
	tests := []struct {
		name, raw string
		kind      Kind
		status    string
		delayed   bool
	}{
		{"hard", dsn("failed", "5.1.1", "550 5.1.1 user unknown"), HardBounce, "5.1.1", false},
		{"soft", dsn("failed", "4.4.7", "451 4.4.7 expired"), SoftBounce, "4.4.7", false},
		{"gmail full mailbox is soft", dsn("failed", "5.2.2", "552-5.2.2 The email account that you tried to reach is over quota"), SoftBounce, "4.2.2", false},
		{"delayed", dsn("delayed", "4.4.1", "no answer"), "", "", true},
		{"qmail text", "From: MAILER-DAEMON@mx.example\r\nSubject: failure notice\r\n\r\n<x@example.net>:\r\nSorry, no mailbox here by that name. (#5.1.1)\r\n", HardBounce, "5.1.1", false},
		{"exim quota", "From: Mail Delivery System <Mailer-Daemon@mx.example>\r\nSubject: Mail delivery failed: returning message to sender\r\n\r\nx@example.net\r\n    Mailbox quota exceeded\r\n", SoftBounce, "4.2.2", false},
		{"arf", "From: fbl@isp.example\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=feedback-report; boundary=F\r\n\r\n--F\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\nVersion: 1\r\n\r\n--F--\r\n", Complaint, "abuse", false},
		{"human mail", "From: alice@example.net\r\nSubject: Re: votre offre\r\n\r\nMerci, mais 550 fois non.\r\n", "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Parse([]byte(tc.raw))
			if err != nil {
				t.Fatal(err)
			}
			if r.Kind != tc.kind || r.Status != tc.status || r.Delayed != tc.delayed {
				t.Errorf("got %q %q delayed=%v, want %q %q delayed=%v", r.Kind, r.Status, r.Delayed, tc.kind, tc.status, tc.delayed)
			}
		})
	}
}
