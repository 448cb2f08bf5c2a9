package email

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		name    string
		raw     string
		want    Config
		wantErr string // substring naming the bad part
	}{
		{name: "starttls submission", raw: "smtp://user:s3cr3t-pw@mail.example:587?tls=starttls",
			want: Config{Host: "mail.example", Port: 587, Username: "user", Password: "s3cr3t-pw", TLS: TLSStartTLS,
				Pool: 10, Timeout: 10 * time.Second, IdleTimeout: 30 * time.Second}},
		{name: "defaults for smtp", raw: "smtp://mail.example",
			want: Config{Host: "mail.example", Port: 587, TLS: TLSStartTLS, Pool: 10, Timeout: 10 * time.Second, IdleTimeout: 30 * time.Second}},
		{name: "smtps implies tls and 465", raw: "smtps://u:s3cr3t-pw@mail.example",
			want: Config{Host: "mail.example", Port: 465, Username: "u", Password: "s3cr3t-pw", TLS: TLSImplicit,
				Pool: 10, Timeout: 10 * time.Second, IdleTimeout: 30 * time.Second}},
		{name: "all parameters", raw: "smtp://127.0.0.1:2525?tls=none&pool=40&timeout=3s&helo=relais.example&rate=2.5&idle=1m",
			want: Config{Host: "127.0.0.1", Port: 2525, TLS: TLSNone, Pool: 40, Timeout: 3 * time.Second,
				IdleTimeout: time.Minute, HELO: "relais.example", Rate: 2.5}},
		{name: "opportunistic", raw: "smtp://[::1]:25?tls=opportunistic",
			want: Config{Host: "::1", Port: 25, TLS: TLSOpportunistic, Pool: 10, Timeout: 10 * time.Second, IdleTimeout: 30 * time.Second}},
		{name: "escaped password", raw: "smtp://u:p%40ss%2Fw@h:25?tls=none",
			want: Config{Host: "h", Port: 25, Username: "u", Password: "p@ss/w", TLS: TLSNone, Pool: 10,
				Timeout: 10 * time.Second, IdleTimeout: 30 * time.Second}},
		{name: "bad scheme", raw: "http://u:s3cr3t-pw@h", wantErr: "scheme"},
		{name: "no host", raw: "smtp://u:s3cr3t-pw@:25", wantErr: "host"},
		{name: "bad port", raw: "smtp://u:s3cr3t-pw@h:99999", wantErr: "port"},
		{name: "bad tls", raw: "smtp://u:s3cr3t-pw@h?tls=maybe", wantErr: "tls"},
		{name: "smtps with tls none", raw: "smtps://u:s3cr3t-pw@h?tls=none", wantErr: "tls"},
		{name: "bad pool", raw: "smtp://u:s3cr3t-pw@h?pool=0", wantErr: "pool"},
		{name: "pool not a number", raw: "smtp://u:s3cr3t-pw@h?pool=ten", wantErr: "pool"},
		{name: "bad timeout", raw: "smtp://u:s3cr3t-pw@h?timeout=soon", wantErr: "timeout"},
		{name: "negative rate", raw: "smtp://u:s3cr3t-pw@h?rate=-1", wantErr: "rate"},
		{name: "unknown parameter", raw: "smtp://u:s3cr3t-pw@h?poll=3", wantErr: "poll"},
		{name: "unparsable", raw: "smtp://u:s3cr3t-pw@h:port:x/%zz", wantErr: "not a valid URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseURL(tt.raw)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("ParseURL(%q) = %+v, want error", tt.raw, got)
				}
				if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("err = %v, want ErrConfig naming %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "s3cr3t") {
					t.Errorf("error leaks the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseURL: %v", err)
			}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
			if strings.Contains(got.String(), "s3cr3t") {
				t.Errorf("String leaks the password: %s", got)
			}
		})
	}
}
