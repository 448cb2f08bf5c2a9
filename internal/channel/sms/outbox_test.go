package sms_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/relais-dev/relais/internal/channel"
	emailch "github.com/relais-dev/relais/internal/channel/builtin/email"
	smsch "github.com/relais-dev/relais/internal/channel/builtin/sms"
	"github.com/relais-dev/relais/internal/channel/sms"
	"github.com/relais-dev/relais/internal/segments"
)

func TestOutbox(t *testing.T) {
	tests := []struct {
		name     string
		channel  string
		msg      channel.Message
		reason   string // empty: success
		encoding string
		segments int
	}{
		{name: "sms", channel: smsch.SMS,
			msg:      channel.Message{LedgerID: "run1-step1-42-sms", From: "+33700000001", To: "+33612345678", Text: "Bonjour Zoé"},
			encoding: segments.GSM7, segments: 1},
		{name: "ucs2 sms", channel: smsch.SMS,
			msg:      channel.Message{LedgerID: "l-ucs2", From: "RELAIS", To: "+33612345678", Text: "Fête 🎉"},
			encoding: segments.UCS2, segments: 1},
		{name: "mms with media", channel: smsch.MMS,
			msg:      channel.Message{LedgerID: "l-mms", From: "+33700000001", To: "+33612345678", MediaURLs: []string{"https://cdn.example/a.png"}},
			encoding: segments.GSM7, segments: 1},
		{name: "path traversal in ledger id", channel: smsch.SMS,
			msg:    channel.Message{LedgerID: "../escape", From: "+33700000001", To: "+33612345678", Text: "x"},
			reason: sms.ReasonInvalidMessage},
		{name: "not E.164", channel: smsch.SMS,
			msg:    channel.Message{LedgerID: "l-bad", From: "+33700000001", To: "06 12 34 56 78", Text: "x"},
			reason: sms.ReasonInvalidAddress},
		{name: "media not a URL", channel: smsch.MMS,
			msg:    channel.Message{LedgerID: "l-badmedia", From: "+33700000001", To: "+33612345678", MediaURLs: []string{"javascript:alert(1)"}},
			reason: sms.ReasonInvalidMedia},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			o, err := sms.NewOutbox(dir, tt.channel)
			if err != nil {
				t.Fatalf("NewOutbox: %v", err)
			}
			rcpt, err := o.Send(context.Background(), &tt.msg)
			if tt.reason != "" {
				if sms.Reason(err) != tt.reason || !channel.IsPermanent(err) {
					t.Fatalf("err = %v, want permanent %s", err, tt.reason)
				}
				if entries, _ := os.ReadDir(dir); len(entries) != 0 {
					t.Errorf("outbox has %d files after a refused message", len(entries))
				}
				return
			}
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			data, err := os.ReadFile(filepath.Join(dir, tt.msg.LedgerID+".json"))
			if err != nil {
				t.Fatalf("read outbox file: %v", err)
			}
			var got struct {
				To       string   `json:"to"`
				From     string   `json:"from"`
				Body     string   `json:"body"`
				Media    []string `json:"media"`
				Segments int      `json:"segments"`
				Encoding string   `json:"encoding"`
			}
			if err := json.Unmarshal(data, &got); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if got.To != tt.msg.To || got.From != tt.msg.From || got.Body != tt.msg.Text || len(got.Media) != len(tt.msg.MediaURLs) {
				t.Errorf("file = %+v, want the message's to/from/body/media", got)
			}
			if got.Encoding != tt.encoding || got.Segments != tt.segments || rcpt.Segments != tt.segments {
				t.Errorf("file encoding/segments = %s/%d, receipt %d; want %s/%d", got.Encoding, got.Segments, rcpt.Segments, tt.encoding, tt.segments)
			}
			if rcpt.ProviderID != "outbox:"+tt.msg.LedgerID {
				t.Errorf("ProviderID = %q", rcpt.ProviderID)
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 1 {
				t.Errorf("outbox has %d entries, want 1 (no temporary file left)", len(entries))
			}
		})
	}
}

func TestOutboxRejectsUnknownChannel(t *testing.T) {
	if _, err := sms.NewOutbox(t.TempDir(), emailch.Name); err == nil {
		t.Fatal("NewOutbox(email) succeeded")
	}
}
