package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"github.com/spf13/cobra"

	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/channel"
	campaignrun "github.com/relais-dev/relais/internal/run"
	"github.com/relais-dev/relais/internal/store"
)

func (a *app) previewCmd() *cobra.Command {
	var ref, stepID, ch, out string
	cmd := &cobra.Command{
		Use:   "preview CAMPAIGN --contact REF (--out DIR | --json)",
		Short: "Render exactly what one recipient would get (.eml, .sms.txt, .pdf) without sending, and whether a run would send it",
		Long: `preview renders one recipient's message the way a worker sends it:
tracking links and List-Unsubscribe headers, click links rewritten, the
open pixel when the recipient's consent allows it. It also says when a run
would not send it (the audience filter leaves the recipient out, an
earlier version reached them, or the policy refuses: opt-out, suppression,
missing consent…) and why. Nothing is written to the database.

--out DIR writes the message as its provider would get it (.eml, PDF);
--json prints {headers, subject, html, text, refusal: {code, reason}}.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if ref == "" || (out == "" && !a.jsonOut) {
				return userErrorf("--contact and one of --out or --json are required")
			}
			d, err := a.open(ctx, need{})
			if err != nil {
				return err
			}
			defer d.close()
			sp, err := a.loadCampaign(args[0], d)
			if err != nil {
				return err
			}
			st, err := stepOf(sp, stepID)
			if err != nil {
				return err
			}
			msg, chk, err := a.truePreview(ctx, d, sp, st, ref, ch)
			if err != nil {
				return err
			}
			code, reason, refused := chk.Refused()
			var path string
			if out != "" {
				if err := os.MkdirAll(out, 0o700); err != nil {
					return err
				}
				if path, err = a.writePreview(ctx, d.channels, out, msg); err != nil {
					return err
				}
			}
			if a.jsonOut {
				o := previewJSON(sp, msg, path, code, reason, refused)
				if chk.Row != nil && chk.Row.ID == msg.LedgerID {
					o.LedgerState = string(chk.Row.State)
				}
				return json.NewEncoder(a.stdout).Encode(o)
			}
			fmt.Fprintln(a.stdout, path)
			if chk.Row != nil && chk.Row.ID == msg.LedgerID {
				fmt.Fprintf(a.stdout, "this version's run %d has this message: %s\n", chk.Row.RunID, chk.Row.State)
			}
			if refused {
				fmt.Fprintf(a.stdout, "a run would NOT send this message: %s", code)
				if reason != "" {
					fmt.Fprintf(a.stdout, " (%s)", reason)
				}
				fmt.Fprintln(a.stdout)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&ref, "contact", "", "the recipient: external id or email address")
	cmd.Flags().StringVar(&stepID, "step", "", "step id (default: the first step)")
	cmd.Flags().StringVar(&ch, "channel", "", "channel (default: the one a run would choose)")
	cmd.Flags().StringVar(&out, "out", "", "folder to write the rendered message into")
	return cmd
}

// stepOf returns sp's step id, or its first step when id is "".
func stepOf(sp *campaign.Spec, id string) (*campaign.Step, error) {
	if id == "" {
		return &sp.Steps[0], nil
	}
	if st := sp.Step(id); st != nil {
		return st, nil
	}
	return nil, userErrorf("--step: campaign %s has no step %q", sp.ID, id)
}

// truePreview finds recipient ref of sp, decides as a run would (without
// writing) and renders the message the worker would send on step st: the
// ledger row of this version's run when it exists, else the row a run
// would create.
func (a *app) truePreview(ctx context.Context, d *deps, sp *campaign.Spec, st *campaign.Step, ref, ch string) (*channel.Message, campaignrun.Check, error) {
	p := a.planner(d)
	c, filtered, err := p.Find(ctx, sp, ref)
	if errors.Is(err, campaignrun.ErrNoRecipient) {
		return nil, campaignrun.Check{}, userErr(fmt.Errorf("--contact: %w", err))
	}
	if err != nil {
		return nil, campaignrun.Check{}, err
	}
	if ch != "" && !channelOf(sp, st, ch) {
		return nil, campaignrun.Check{}, userErrorf("--channel: step %s of %s does not send on %s", st.ID, sp.ID, ch)
	}
	chk, err := p.Check(ctx, sp, st, c, filtered, ch)
	if err != nil {
		return nil, chk, err
	}
	row := chk.Row
	if row == nil || row.Channel != chk.Channel {
		row = &store.LedgerRow{ID: store.LedgerID(0, st.ID, chk.Contact.ID, chk.Channel), CampaignID: sp.ID, StepID: st.ID,
			ContactID: chk.Contact.ID, Channel: chk.Channel, Purpose: sp.Purpose, State: store.Planned}
	}
	msg, err := a.worker(d).Message(ctx, sp, st, row, chk.Contact)
	if err != nil {
		return nil, chk, userErr(err)
	}
	return msg, chk, nil
}

// channelOf reports whether step st of sp sends on ch.
func channelOf(sp *campaign.Spec, st *campaign.Step, ch string) bool {
	for _, c := range sp.ChannelsFor(st) {
		if c == ch {
			return true
		}
	}
	return false
}

// previewOut is preview's JSON output.
type previewOut struct {
	Campaign string            `json:"campaign"`
	Version  string            `json:"version"`
	Step     string            `json:"step"`
	Channel  string            `json:"channel"`
	LedgerID string            `json:"ledger_id"`
	From     string            `json:"from,omitempty"`
	To       string            `json:"to"`
	Headers  map[string]string `json:"headers"`
	Subject  string            `json:"subject,omitempty"`
	HTML     string            `json:"html,omitempty"`
	Text     string            `json:"text,omitempty"`
	Media    []string          `json:"media,omitempty"`
	File     string            `json:"file,omitempty"`
	Refusal  *refusal          `json:"refusal"`
	// LedgerState is the state of the message in this version's run,
	// when the run exists ("" before).
	LedgerState string `json:"ledger_state,omitempty"`
}

// refusal says why a run would not send a message.
type refusal struct {
	Code   string `json:"code"`
	Reason string `json:"reason"`
}

func previewJSON(sp *campaign.Spec, m *channel.Message, path, code, reason string, refused bool) previewOut {
	o := previewOut{Campaign: sp.ID, Version: sp.ContentHash, Step: m.Step, Channel: m.Channel, LedgerID: m.LedgerID,
		From: m.From, To: m.To, Headers: map[string]string{}, Subject: m.Subject, HTML: m.HTML, Text: m.Text, Media: m.MediaURLs, File: path}
	for k, v := range m.Headers {
		o.Headers[k] = v
	}
	if refused {
		o.Refusal = &refusal{Code: code, Reason: reason}
	}
	return o
}

// writePreview writes m into dir as its channel's provider would (an
// .eml, a PDF), or as the channel's descriptor previews it.
func (a *app) writePreview(ctx context.Context, r *channel.Registry, dir string, m *channel.Message) (string, error) {
	if w := a.previewers()[m.Channel]; w != nil {
		return w(ctx, dir, m)
	}
	if d, ok := r.Lookup(m.Channel); ok && d.Block.Preview != nil {
		name, data := d.Block.Preview(m)
		p := filepath.Join(dir, name)
		return p, os.WriteFile(p, data, 0o600)
	}
	return "", userErrorf("preview of channel %s is not available", m.Channel)
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func safeName(s string) string { return unsafeChars.ReplaceAllString(s, "_") }
