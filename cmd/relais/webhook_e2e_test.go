package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/relais-dev/relais/internal/channel"
	"github.com/relais-dev/relais/internal/contact"
)

// The webhook channel exists only in this test: a descriptor and a sender
// POSTing JSON, registered through a plugin, with no change to any other
// package. It addresses a contact by its "hook" attribute.

const webhookName = "webhook"

type webhookContent struct{ Text string }

var webhookAddress = &channel.Address{
	Class:      "webhook",
	Field:      "attrs.hook",
	Normalized: webhookAddressOf,
	Check: func(c *contact.Contact) error {
		switch id := webhookAddressOf(c); {
		case id == "":
			return channel.ErrNoAddress
		case strings.ContainsAny(id, " /?#"):
			return &channel.InvalidAddressError{Detail: "hook id with a URL character"}
		}
		return nil
	},
}

// webhookAddressOf is a contact's hook id, its "hook" attribute.
func webhookAddressOf(c *contact.Contact) string {
	if v, ok := c.Attrs["hook"]; ok && v != nil {
		return strings.TrimSpace(fmt.Sprint(v))
	}
	return ""
}

func webhookDescriptor() *channel.Descriptor {
	return &channel.Descriptor{
		Name:           webhookName,
		Address:        webhookAddress,
		ConsentKey:     webhookName,
		DefaultConsent: map[string]string{contact.KindPerson: "opt_out", contact.KindBusiness: "opt_out"},
		Block: channel.Block{
			Keys: []string{"text"},
			Decode: func(d channel.BlockDecoder, n *yaml.Node) any {
				w := &webhookContent{}
				d.Mapping(n, webhookName, []string{"text"}, func(_ string, v *yaml.Node) {
					w.Text = d.File(v, "webhook.text", channel.UseText)
				})
				if w.Text == "" {
					d.Errorf(n, "webhook needs text")
				}
				return w
			},
			Compose: func(in *channel.ComposeInput, m *channel.Message) error {
				w, ok := in.Content.(*webhookContent)
				if !ok {
					return fmt.Errorf("step %s has no webhook content", in.Step)
				}
				m.To = webhookAddressOf(in.Contact)
				text, err := in.Templates.Execute(w.Text, in.Data)
				m.Text = strings.TrimSpace(text)
				return err
			},
		},
	}
}

// webhookSender POSTs {ledger, to, text} to url.
type webhookSender struct{ url string }

func (s webhookSender) Name() string { return webhookName }
func (s webhookSender) Close() error { return nil }

func (s webhookSender) Send(ctx context.Context, m *channel.Message) (channel.Receipt, error) {
	body, _ := json.Marshal(map[string]string{"ledger": m.LedgerID, "to": m.To, "text": m.Text})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, strings.NewReader(string(body)))
	if err != nil {
		return channel.Receipt{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return channel.Receipt{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return channel.Receipt{}, fmt.Errorf("webhook: HTTP %d", resp.StatusCode)
	}
	return channel.Receipt{ProviderID: "hook:" + m.LedgerID}, nil
}

// TestWebhookChannelEndToEnd runs a campaign on a channel defined only in
// this test through validate, plan, run (policy, ledger, queue, worker)
// and report: the channel registry is the only place channels are known.
func TestWebhookChannelEndToEnd(t *testing.T) {
	dir := project(t)
	var mu sync.Mutex
	var got []map[string]string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]string
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = append(got, m)
		mu.Unlock()
	}))
	defer srv.Close()

	write := func(rel, content string) {
		t.Helper()
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("samples/hooks.csv", "external_id;first_name;last_name;hook\n"+
		"H1;Camille;Durand;hk-camille\nH2;Julien;Moreau;hk-julien\nH3;Nina;Petit;\n")
	write("templates/hook.txt", "Bonjour {{.Contact.FirstName}}, le printemps arrive.\n")
	write("campaigns/hooks.yaml", `id: hooks
name: Webhook
purpose: marketing
audience:
  source: file
  file: samples/hooks.csv
channels: [webhook]
steps:
  - id: ping
    webhook:
      text: templates/hook.txt
limits: { webhook: 10/s }
cost: { currency: EUR, webhook: 0.5 }
`)
	ctx := context.Background()

	// Without the channel, the file is wrong where it names it.
	plain := &cli{t: t, env: map[string]string{}}
	if r := plain.run(ctx, "validate", "campaigns/hooks.yaml"); r.code != exitUser || !strings.Contains(r.stdout+r.stderr, `unknown channel "webhook"`) {
		t.Fatalf("validate without the webhook channel: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	c := &cli{t: t, env: map[string]string{}, plugins: []channelPlugin{{
		Descriptor: webhookDescriptor(),
		Senders:    func() ([]channel.Sender, error) { return []channel.Sender{webhookSender{url: srv.URL}}, nil },
	}}}
	c.mustRun(ctx, "validate", "campaigns/hooks.yaml")
	if r := c.mustRun(ctx, "plan", "campaigns/hooks.yaml"); !strings.Contains(r.stdout, webhookName) {
		t.Errorf("plan does not show the webhook channel:\n%s", r.stdout)
	}
	c.mustRun(ctx, "run", "campaigns/hooks.yaml", "--wait")

	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 {
		t.Fatalf("webhook received %d messages, want 2: %v", len(got), got)
	}
	for _, m := range got {
		if m["to"] == "" || !strings.HasPrefix(m["text"], "Bonjour ") || m["ledger"] == "" {
			t.Errorf("webhook message %v", m)
		}
	}

	st := c.mustRun(ctx, "status", "1", "--json")
	var status struct {
		Counts map[string]int `json:"counts"`
	}
	if err := json.Unmarshal([]byte(st.stdout), &status); err != nil {
		t.Fatalf("status --json: %v\n%s", err, st.stdout)
	}
	if status.Counts["accepted"] != 2 || status.Counts["refused:no_address"] != 1 {
		t.Errorf("status counts %v, want 2 accepted and 1 refused:no_address", status.Counts)
	}

	rep := c.mustRun(ctx, "report", "hooks", "--json")
	var report struct {
		Total struct {
			Sent      int            `json:"sent"`
			RefusedBy map[string]int `json:"refused_by"`
			Cost      float64        `json:"cost"`
		} `json:"total"`
		Runs []struct {
			Lines []struct {
				Channel string `json:"channel"`
			} `json:"lines"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(rep.stdout), &report); err != nil {
		t.Fatalf("report --json: %v\n%s", err, rep.stdout)
	}
	if report.Total.Sent != 2 || report.Total.RefusedBy["no_address"] != 1 || report.Total.Cost != 1.0 {
		t.Errorf("report total %+v, want 2 sent, 1 no_address, cost 1.0", report.Total)
	}
	if len(report.Runs) != 1 || len(report.Runs[0].Lines) != 1 || report.Runs[0].Lines[0].Channel != webhookName {
		t.Errorf("report lines %+v, want one webhook line", report.Runs)
	}
}
