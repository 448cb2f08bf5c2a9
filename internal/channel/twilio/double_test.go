package twilio_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/relais-dev/relais/internal/testenv"
)

// TestDoubleFollowsContract checks the double refuses what Twilio's
// published contract does not define, so the channel tests above prove
// something about the real API.
func TestDoubleFollowsContract(t *testing.T) {
	d := testenv.StartTwilio(t)
	create := d.URL + "/2010-04-01/Accounts/" + d.AccountSID + "/Messages.json"
	tests := []struct {
		name   string
		form   url.Values
		auth   bool
		status int
		code   int
	}{
		{name: "minimal valid", form: url.Values{"To": {"+33612345678"}, "From": {"+33700000001"}, "Body": {"hi"}}, auth: true, status: 201},
		{name: "unknown parameter", form: url.Values{"To": {"+33612345678"}, "From": {"+33700000001"}, "Body": {"hi"}, "Priority": {"high"}}, auth: true, status: 400, code: 20001},
		{name: "lower-case parameter name", form: url.Values{"to": {"+33612345678"}, "From": {"+33700000001"}, "Body": {"hi"}}, auth: true, status: 400, code: 20001},
		{name: "bad MessagingServiceSid pattern", form: url.Values{"To": {"+33612345678"}, "MessagingServiceSid": {"MG123"}, "Body": {"hi"}}, auth: true, status: 400, code: 20001},
		{name: "bad enum", form: url.Values{"To": {"+33612345678"}, "From": {"+33700000001"}, "Body": {"hi"}, "RiskCheck": {"maybe"}}, auth: true, status: 400, code: 20001},
		{name: "bad boolean", form: url.Values{"To": {"+33612345678"}, "From": {"+33700000001"}, "Body": {"hi"}, "SendAsMms": {"yes"}}, auth: true, status: 400, code: 20001},
		{name: "missing To", form: url.Values{"From": {"+33700000001"}, "Body": {"hi"}}, auth: true, status: 400, code: 21604},
		{name: "missing sender", form: url.Values{"To": {"+33612345678"}, "Body": {"hi"}}, auth: true, status: 400, code: 21603},
		{name: "missing content", form: url.Values{"To": {"+33612345678"}, "From": {"+33700000001"}}, auth: true, status: 400, code: 21602},
		{name: "no auth", form: url.Values{"To": {"+33612345678"}, "From": {"+33700000001"}, "Body": {"hi"}}, status: 401, code: 20003},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, create, strings.NewReader(tt.form.Encode()))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tt.auth {
				req.SetBasicAuth(d.AccountSID, d.AuthToken)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body map[string]any
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d (%v)", resp.StatusCode, tt.status, body)
			}
			if tt.status != 201 {
				if int(body["code"].(float64)) != tt.code || int(body["status"].(float64)) != tt.status || body["more_info"] == nil {
					t.Errorf("error body = %v, want code %d", body, tt.code)
				}
				return
			}
			sid, _ := body["sid"].(string)
			if len(sid) != 34 || !strings.HasPrefix(sid, "SM") || body["status"] != "queued" || body["num_segments"] != "1" {
				t.Errorf("created = %v", body)
			}
		})
	}
}
