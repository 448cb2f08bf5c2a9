package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRetentionConfig(t *testing.T) {
	const day = 24 * time.Hour
	tests := []struct {
		name    string
		file    string
		want    Retention
		wantErr string
	}{
		{name: "defaults", want: Retention{Enabled: true, OlderThan: Age(3 * 365 * day), Cron: "30 3 * * *"}},
		{name: "partial block keeps the other defaults", file: "retention: {older_than: 18m}\n",
			want: Retention{Enabled: true, OlderThan: Age(18 * 30 * day), Cron: "30 3 * * *"}},
		{name: "all keys", file: "retention:\n  enabled: true\n  older_than: 90d\n  cron: \"0 4 * * SUN\"\n",
			want: Retention{Enabled: true, OlderThan: Age(90 * day), Cron: "0 4 * * SUN"}},
		{name: "go duration", file: "retention: {older_than: 2160h}\n", want: Retention{Enabled: true, OlderThan: Age(90 * day), Cron: "30 3 * * *"}},
		{name: "disabled skips checks", file: "retention: {enabled: false, cron: nope}\n", want: Retention{OlderThan: Age(3 * 365 * day), Cron: "nope"}},
		{name: "bad period", file: "retention: {older_than: trois ans}\n", wantErr: `line 1: "trois ans": want 3y`},
		{name: "zero period", file: "retention: {older_than: 0y}\n", wantErr: "must be positive"},
		{name: "bad cron", file: "retention: {cron: \"30 3 * *\"}\n", wantErr: "retention.cron: bad cron expression"},
		{name: "unknown key", file: "retention: {older: 3y}\n", wantErr: `unknown key "older" in retention of `},
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
			c, err := Load(path, func(string) string { return "" })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Retention != tt.want {
				t.Errorf("retention = %+v, want %+v", c.Retention, tt.want)
			}
		})
	}
}
