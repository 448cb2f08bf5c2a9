package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoad(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		env     map[string]string
		wantErr string
		check   func(t *testing.T, c Config)
	}{
		{name: "defaults are embedded", check: func(t *testing.T, c Config) {
			if !c.Embedded() || c.DatabaseURL != "sqlite:var/relais.db" || c.OutboxDir != "var/outbox" || c.HTTPAddr != "127.0.0.1:8080" {
				t.Errorf("unexpected defaults: %+v", c)
			}
		}},
		{name: "file then env override", file: "http_addr: 127.0.0.1:9000\nconcurrency: 7\n",
			env: map[string]string{"RELAIS_CONCURRENCY": "9"},
			check: func(t *testing.T, c Config) {
				if c.HTTPAddr != "127.0.0.1:9000" || c.Concurrency != 9 || c.PublicURL != "http://127.0.0.1:9000" {
					t.Errorf("got %+v", c)
				}
			}},
		{name: "unknown key names it with its line", file: "http_addr: x:1\nsmtp_ulr: smtp://a\n", wantErr: `relais.yaml:2: unknown key "smtp_ulr" in `},
		{name: "unknown key in the user's words", file: "redis_ulr: redis://x\n", wantErr: `relais.yaml:1: unknown key "redis_ulr" in `},
		{name: "unknown key suggests the nearest", file: "redis_ulr: redis://x\n", wantErr: `(did you mean "redis_url"?)`},
		{name: "bad env value names the variable", env: map[string]string{"RELAIS_CONCURRENCY": "many"}, wantErr: "RELAIS_CONCURRENCY"},
		{name: "bad smtp url", env: map[string]string{"RELAIS_SMTP_URL": "http://x"}, wantErr: "smtp_url"},
		{name: "production needs a secret", env: map[string]string{"RELAIS_REDIS_URL": "redis://127.0.0.1:1/0"}, wantErr: "secret"},
		{name: "twilio credentials go together", env: map[string]string{"TWILIO_ACCOUNT_SID": "AC1"}, wantErr: "twilio_auth_token"},
		{name: "previous secrets from the environment", env: map[string]string{"RELAIS_PREVIOUS_SECRETS": "old-secret-0123456789,older-secret-0123456789"},
			check: func(t *testing.T, c Config) {
				if len(c.PreviousSecrets) != 2 || c.PreviousSecrets[1] != "older-secret-0123456789" {
					t.Errorf("previous secrets %q", c.PreviousSecrets)
				}
			}},
		{name: "bad database url", file: "database_url: mysql://x\n", wantErr: "database_url"},
		{name: "batch defaults", check: func(t *testing.T, c Config) {
			if b := c.Batch; b.Size != 100 || b.Shards != 64 || b.MaxDelay != time.Second || b.GracePeriod != time.Second {
				t.Errorf("batch %+v", b)
			}
		}},
		{name: "batch from file and env", file: "batch:\n  shards: 8\n  max_delay: 200ms\n", env: map[string]string{"RELAIS_BATCH_SIZE": "1"},
			check: func(t *testing.T, c Config) {
				if b := c.Batch.Batching(); b.Size != 1 || b.Enabled() || b.Shards != 8 || b.MaxDelay != 200*time.Millisecond {
					t.Errorf("batching %+v", b)
				}
			}},
		{name: "batch size bounds", file: "batch:\n  size: 0\n", wantErr: "batch.size: must be between 1 (no batching) and 1000, got 0"},
		{name: "batch grace period below asynq's minimum", file: "batch:\n  grace_period: 100ms\n", wantErr: "batch.grace_period: must be at least 1s, got 100ms"},
		{name: "channel limits and proof reviewers", file: "limits: {email: 500/h, sms: 2/s}\nproof_to: [bat@dupont.example]\n",
			check: func(t *testing.T, c Config) {
				r, err := c.Rates()
				if err != nil || len(r) != 2 || r["email"].N != 500 || r["email"].Per != time.Hour || r["sms"].N != 2 || r["sms"].Per != time.Second {
					t.Errorf("rates %+v, %v", r, err)
				}
				if len(c.ProofTo) != 1 || c.ProofTo[0] != "bat@dupont.example" {
					t.Errorf("proof_to %q", c.ProofTo)
				}
			}},
		{name: "limit of an unknown channel", file: "limits: {fax: 1/s}\n", wantErr: "limits.fax: unknown channel"},
		{name: "limit that is not a rate", file: "limits: {email: lots}\n", wantErr: `limits.email: bad rate "lots"`},
		{name: "empty file is defaults", file: "\n", check: func(t *testing.T, c Config) {
			if c.Concurrency != 50 {
				t.Errorf("concurrency %d", c.Concurrency)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ""
			if tt.file != "" {
				path = filepath.Join(t.TempDir(), "relais.yaml")
				if err := os.WriteFile(path, []byte(tt.file), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			c, err := Load(path, func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

func TestExplicitMissingFileIsAnError(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "nope.yaml"), func(string) string { return "" }); err == nil {
		t.Fatal("missing explicit config file accepted")
	}
}
