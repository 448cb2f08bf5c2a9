package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/channel"
	"github.com/relais-dev/relais/internal/channel/print"
	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/proof"
	campaignrun "github.com/relais-dev/relais/internal/run"
	"github.com/relais-dev/relais/internal/store"
	"github.com/relais-dev/relais/internal/tracking"
	campaignversion "github.com/relais-dev/relais/internal/version"
)

// defaultProofRecipients is how many recipients `relais proof` copies
// when given no --contact.
const defaultProofRecipients = 3

// reviewers are the destinations of proofs, by kind.
type reviewers struct {
	emails, phones []string
}

// parseReviewers sorts --to (or proof.to, proof_to) into email addresses
// and phone numbers (+ and digits).
func parseReviewers(list []string) (reviewers, error) {
	var r reviewers
	for _, raw := range list {
		for _, to := range strings.Split(raw, ",") {
			to = strings.TrimSpace(to)
			switch {
			case to == "":
			case strings.HasPrefix(to, "+"):
				e164, err := contact.NormalizePhone(to, "")
				if err != nil {
					return r, userErrorf("--to: %q is not a phone number: %v", to, err)
				}
				r.phones = append(r.phones, e164)
			case strings.Contains(to, "@"):
				if _, ok := contact.NormalizeEmail(to); !ok {
					return r, userErrorf("--to: %q is not an email address", to)
				}
				r.emails = append(r.emails, to)
			default:
				return r, userErrorf("--to: %q is neither an email address nor a phone number starting with +", to)
			}
		}
	}
	return r, nil
}

// proofSent is one proof, as `relais proof --json` lists it.
type proofSent struct {
	store.Proof
	Refusal *refusal `json:"refusal,omitempty"`
}

func (a *app) proofCmd() *cobra.Command {
	var refs, to []string
	var stepID, out string
	cmd := &cobra.Command{
		Use:   "proof CAMPAIGN [--step ID] [--contact REF]... --to ADDR,... [--out DIR]",
		Short: "Send reviewers the exact messages of chosen recipients (BAT), marked as proofs and with inert links",
		Long: `proof sends reviewers the messages that chosen recipients (--contact, or
the first three of the audience) would get from this version of the
campaign, through the same rendering and the configured providers: the
subject starts with [BAT], a banner names the real recipient and the
campaign version, unsubscribe links are "#", click links keep their
original URL and no open pixel is added. Emails go to the reviewers'
email addresses, SMS and MMS to their numbers (+33…), letters are
written as PDF to --out DIR and mailed as an attachment to the email
reviewers. Reviewers come from --to, else proof.to in the campaign, else
proof_to in relais.yaml.

A proof is not a send: no ledger row, nothing counted in reports or
frequency caps. Each proof is recorded (campaign, version, recipient,
reviewer, time) so that the version can be approved:
relais approve CAMPAIGN --version HASH --by NAME.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			d, err := a.open(ctx, need{senders: true})
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
			if len(to) == 0 {
				to = sp.ProofTo
			}
			if len(to) == 0 {
				to = a.cfg.ProofTo
			}
			rv, err := parseReviewers(to)
			if err != nil {
				return err
			}
			if len(rv.emails)+len(rv.phones) == 0 && out == "" {
				return userErrorf("--to: no reviewer (give --to ADDR,..., proof: {to: [...]} in the campaign, or proof_to in relais.yaml)")
			}
			sent, err := a.sendProofs(ctx, d, sp, st, refs, rv, out)
			if a.jsonOut && err == nil {
				return json.NewEncoder(a.stdout).Encode(sent)
			}
			if len(sent) > 0 && !a.jsonOut {
				fmt.Fprintf(a.stdout, "%d proof(s) of campaign %s version %s; approve with:\n  relais approve %s --version %s --by NAME\n",
					len(sent), sp.ID, short(sp.ContentHash), args[0], short(sp.ContentHash))
			}
			return err
		},
	}
	cmd.Flags().StringSliceVar(&refs, "contact", nil, "recipients to copy: external id or email address (repeatable; default: the first three of the audience)")
	cmd.Flags().StringSliceVar(&to, "to", nil, "reviewers: email addresses and phone numbers (+33…), comma separated")
	cmd.Flags().StringVar(&stepID, "step", "", "step id (default: the first step)")
	cmd.Flags().StringVar(&out, "out", "", "folder letters' proofs are written to as PDF")
	return cmd
}

// sendProofs renders the step's message for each recipient as a send
// would, with inert links, and hands one proof per reviewer of its kind
// to the configured provider; each proof is recorded.
func (a *app) sendProofs(ctx context.Context, d *deps, sp *campaign.Spec, st *campaign.Step, refs []string, rv reviewers, out string) ([]proofSent, error) {
	p := a.planner(d)
	type target struct {
		c        *contact.Contact
		filtered string
	}
	var targets []target
	if len(refs) == 0 {
		cs, err := p.First(ctx, sp, defaultProofRecipients)
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			targets = append(targets, target{c: c})
		}
	}
	for _, ref := range refs {
		c, filtered, err := p.Find(ctx, sp, ref)
		if errors.Is(err, campaignrun.ErrNoRecipient) {
			return nil, userErr(fmt.Errorf("--contact: %w", err))
		}
		if err != nil {
			return nil, err
		}
		targets = append(targets, target{c, filtered})
	}
	if len(targets) == 0 {
		return nil, userErrorf("campaign %s: its audience has no recipient to copy", sp.ID)
	}
	// The version proved is stored as a run's would be, so that what was
	// approved can be shown (relais show, review) after the files change.
	if err := campaignversion.Save(ctx, d.store, sp); err != nil {
		return nil, err
	}
	w := a.worker(d)
	w.Links, w.Decorator, w.TrackOpens = tracking.Inert{}, tracking.Inert{Tracked: d.links}, nil
	var sent []proofSent
	for _, t := range targets {
		chk, err := p.Check(ctx, sp, st, t.c, t.filtered, "")
		if err != nil {
			return sent, err
		}
		c := chk.Contact
		row := &store.LedgerRow{ID: newProofID(), CampaignID: sp.ID, StepID: st.ID, ContactID: c.ID, Channel: chk.Channel,
			Purpose: sp.Purpose, State: store.Planned}
		msg, err := w.Message(ctx, sp, st, row, c)
		if err != nil {
			return sent, userErr(err)
		}
		b := proof.Banner{Campaign: sp.ID, Version: sp.ContentHash, Step: st.ID, Recipient: proof.RecipientOf(c)}
		var ref *refusal
		if code, reason, refused := chk.Refused(); refused {
			ref = &refusal{code, reason}
			if !a.jsonOut {
				fmt.Fprintf(a.stdout, "note: a run would not send to %s: %s %s\n", b.Recipient, code, reason)
			}
		}
		record := func(to, providerID string, id string) error {
			pr := store.Proof{ID: id, CampaignID: sp.ID, Version: sp.ContentHash, StepID: st.ID, Channel: msg.Channel,
				ContactID: c.ID, Recipient: c.ExternalID, To: to, ProviderID: providerID, SentAt: time.Now().UTC()}
			if err := d.store.RecordProof(ctx, pr); err != nil {
				return err
			}
			sent = append(sent, proofSent{pr, ref})
			if !a.jsonOut {
				fmt.Fprintf(a.stdout, "proof of %s (%s) → %s\n", b.Recipient, msg.Channel, to)
			}
			return nil
		}
		desc, _ := d.channels.Lookup(msg.Channel)
		switch {
		case desc.Spooled: // letters
			if err := a.proofLetter(ctx, d, sp, msg, b, rv, out, record); err != nil {
				return sent, err
			}
			continue
		case desc.Address.Class == contact.AddrPhone:
			if len(rv.phones) == 0 {
				fmt.Fprintf(a.stderr, "relais: no reviewer number (--to +33…) for the %s proof of %s\n", msg.Channel, b.Recipient)
				continue
			}
			for _, ph := range rv.phones {
				if err := a.sendProof(ctx, d, msg, b, ph, record); err != nil {
					return sent, err
				}
			}
		default:
			if len(rv.emails) == 0 {
				fmt.Fprintf(a.stderr, "relais: no reviewer email address for the %s proof of %s\n", msg.Channel, b.Recipient)
				continue
			}
			for _, em := range rv.emails {
				if err := a.sendProof(ctx, d, msg, b, em, record); err != nil {
					return sent, err
				}
			}
		}
	}
	if len(sent) == 0 {
		return sent, userErrorf("no proof sent: no reviewer for the channels of these messages")
	}
	return sent, nil
}

// sendProof marks a copy of m for reviewer to and hands it to m's
// channel's provider.
func (a *app) sendProof(ctx context.Context, d *deps, m *channel.Message, b proof.Banner, to string,
	record func(to, providerID, id string) error) error {
	s, ok := d.channels.Sender(m.Channel)
	if !ok {
		return fmt.Errorf("no sender for channel %s", m.Channel)
	}
	cp := *m
	id := newProofID()
	proof.Mark(&cp, b, id, to)
	rcpt, err := s.Send(ctx, &cp)
	if err != nil {
		return fmt.Errorf("proof to %s: %w", to, err)
	}
	return record(to, rcpt.ProviderID, id)
}

// proofLetter writes a letter's proof as PDF into out and mails it, as
// an attachment, to the email reviewers (from the campaign's email
// sender).
func (a *app) proofLetter(ctx context.Context, d *deps, sp *campaign.Spec, m *channel.Message, b proof.Banner, rv reviewers, out string,
	record func(to, providerID, id string) error) error {
	from := sp.Sender.For("email")
	if out == "" && (len(rv.emails) == 0 || from == "") {
		return userErrorf("letter proofs: give --out DIR (or email reviewers and a sender.email in the campaign to mail the PDF)")
	}
	cp := *m
	id := newProofID()
	proof.Mark(&cp, b, id, "")
	var pdf bytes.Buffer
	if err := print.RenderOne(ctx, &cp, a.cfg.Print, &pdf); err != nil {
		return userErr(err)
	}
	name := safeName("bat-"+sp.ID+"-"+cp.Step+"-"+id[:8]) + ".pdf"
	if out != "" {
		if err := os.MkdirAll(out, 0o700); err != nil {
			return err
		}
		path := filepath.Join(out, name)
		if err := os.WriteFile(path, pdf.Bytes(), 0o600); err != nil {
			return err
		}
		if err := record(path, "", id); err != nil {
			return err
		}
	}
	if from == "" {
		return nil
	}
	for _, em := range rv.emails {
		mail := &channel.Message{Channel: "email", Campaign: sp.ID, Step: cp.Step, Purpose: campaign.Transactional, From: from,
			Subject: "letter of " + b.Recipient, Text: "The letter is attached as PDF.",
			Attachments: []channel.Attachment{{Name: name, ContentType: "application/pdf", Data: pdf.Bytes()}}}
		if err := a.sendProof(ctx, d, mail, b, em, record); err != nil {
			return err
		}
	}
	return nil
}

// newProofID is a proof's random id (32 hex digits, the form of ledger
// ids, so providers' idempotency keys and Message-IDs derive from it).
func newProofID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (a *app) approveCmd() *cobra.Command {
	var version, by, note string
	cmd := &cobra.Command{
		Use:   "approve CAMPAIGN --version HASH --by NAME [--note TEXT]",
		Short: "Approve a campaign version after reviewing its proofs (needed by approval: required)",
		Long: `approve records that NAME approved version HASH of the campaign (the
content hash shown by relais proof, plan and status; its first characters
suffice). A proof of that version must have been sent (relais proof). A
campaign with approval: required runs only a version approved this way;
an approval of another version does not count.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			by, note = strings.TrimSpace(by), strings.TrimSpace(note)
			if by == "" {
				return userErrorf("--by NAME is required: who approves")
			}
			if len(version) < 6 {
				return userErrorf("--version: give the version hash (at least its first 6 characters)")
			}
			id := args[0]
			if fi, err := os.Stat(id); err == nil && !fi.IsDir() {
				sp, err := a.loadCampaign(id, nil)
				if err != nil {
					return err
				}
				id = sp.ID
			}
			d, err := a.open(ctx, need{})
			if err != nil {
				return err
			}
			defer d.close()
			proofs, err := d.store.ListProofs(ctx, id, "")
			if err != nil {
				return err
			}
			var full string
			for _, p := range proofs {
				if strings.HasPrefix(p.Version, strings.ToLower(version)) {
					if full != "" && full != p.Version {
						return userErrorf("--version %s: several versions of %s start so; give more characters", version, id)
					}
					full = p.Version
				}
			}
			if full == "" {
				return userErrorf("campaign %s version %s has no proof: send one first (relais proof %s --to ADDR)", id, version, args[0])
			}
			ap := store.Approval{CampaignID: id, Version: full, By: by, Note: note, At: time.Now().UTC()}
			if err := d.store.Approve(ctx, ap); err != nil {
				return err
			}
			if a.jsonOut {
				return json.NewEncoder(a.stdout).Encode(ap)
			}
			fmt.Fprintf(a.stdout, "campaign %s version %s approved by %s\n", id, short(full), by)
			return nil
		},
	}
	cmd.Flags().StringVar(&version, "version", "", "the campaign version (content hash, or its first characters)")
	cmd.Flags().StringVar(&by, "by", "", "who approves")
	cmd.Flags().StringVar(&note, "note", "", "a comment kept with the approval")
	return cmd
}
