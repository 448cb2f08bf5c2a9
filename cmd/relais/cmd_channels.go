package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/relais-dev/relais/internal/store"
)

// channelStatus is one line of `relais channels`.
type channelStatus struct {
	Channel  string    `json:"channel"`
	Paused   bool      `json:"paused"`
	PausedAt time.Time `json:"paused_at,omitzero"`
	Setting  string    `json:"setting,omitempty"`
	Error    string    `json:"error,omitempty"`
}

func (a *app) channelsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "channels",
		Short: "List the channels and those paused because their provider refused the account",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			d, err := a.open(ctx, need{})
			if err != nil {
				return err
			}
			defer d.close()
			paused, err := d.store.ChannelPauses(ctx)
			if err != nil {
				return err
			}
			byName := map[string]store.ChannelPause{}
			for _, p := range paused {
				byName[p.Channel] = p
			}
			out := []channelStatus{}
			names := d.channels.Names()
			for _, p := range paused {
				if !d.channels.Known(p.Channel) {
					names = append(names, p.Channel)
				}
			}
			for _, n := range names {
				s := channelStatus{Channel: n}
				if p, ok := byName[n]; ok {
					s.Paused, s.PausedAt, s.Setting, s.Error = true, p.PausedAt, p.Setting, p.Error
				}
				out = append(out, s)
			}
			if a.jsonOut {
				return json.NewEncoder(a.stdout).Encode(out)
			}
			for _, s := range out {
				if !s.Paused {
					fmt.Fprintf(a.stdout, "%s\tsending\n", s.Channel)
				}
			}
			writePausedChannels(a.stdout, paused)
			return nil
		},
	}
}

// writePausedChannels says, for each paused channel, since when, why,
// what to fix and how to resume.
func writePausedChannels(w io.Writer, paused []store.ChannelPause) {
	for _, p := range paused {
		fmt.Fprintf(w, "%s\tPAUSED since %s: %s\n\tfix: %s\n\tthen: relais resume-channel %s (or wait for the probe, channel_probe_interval)\n",
			p.Channel, p.PausedAt.UTC().Format(time.RFC3339), p.Error, p.Setting, p.Channel)
	}
}

func (a *app) resumeChannelCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "resume-channel CHANNEL",
		Short: "Send again on a channel paused by an account-level provider error, once its setting is fixed",
		Long: `resume-channel lifts the pause a worker put on a channel when its provider
refused the account or the sender (SMTP 530/535, Twilio 401/403/20003,
21606, 21212). Every worker sees it within a second; the messages that
waited are sent, each once. If the provider still refuses, the channel
pauses again at the first send. See relais channels.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.resumeChannel(cmd.Context(), args[0])
		},
	}
}

// resumeChannel lifts channel's pause.
func (a *app) resumeChannel(ctx context.Context, name string) error {
	d, err := a.open(ctx, need{})
	if err != nil {
		return err
	}
	defer d.close()
	ok, err := d.store.ResumeChannel(ctx, name)
	if err != nil {
		return err
	}
	if !ok && !d.channels.Known(name) {
		return userErrorf("unknown channel %q (known: %v)", name, d.channels.Names())
	}
	if a.jsonOut {
		return json.NewEncoder(a.stdout).Encode(struct {
			Channel string `json:"channel"`
			Changed bool   `json:"changed"`
		}{name, ok})
	}
	if ok {
		fmt.Fprintf(a.stdout, "channel %s resumed: workers send its waiting messages again\n", name)
	} else {
		fmt.Fprintf(a.stdout, "channel %s was not paused; nothing changed\n", name)
	}
	return nil
}
