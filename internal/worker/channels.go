package worker

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/relais-dev/relais/internal/channel"
	"github.com/relais-dev/relais/internal/store"
)

// ChannelRecheck is how long a send on a paused channel waits before it
// looks again (plus up to ChannelRecheckSpread, so that the sends of a
// large run do not all come back at once); it bounds how late sends
// restart after the channel is resumed.
const (
	ChannelRecheck       = 3 * time.Second
	ChannelRecheckSpread = time.Second
)

// channelControl is what a worker last read of the paused channels.
type channelControl struct {
	paused map[string]store.ChannelPause
	read   time.Time
}

// channelPause returns channel's pause (ok false: it is not paused), read
// from the store at most once per ControlTTL and process.
func (w *Worker) channelPause(ctx context.Context, name string) (store.ChannelPause, bool, error) {
	w.chanMu.Lock()
	c := w.chanControl
	w.chanMu.Unlock()
	if c.paused == nil || time.Since(c.read) >= ControlTTL {
		ps, err := w.Store.ChannelPauses(ctx)
		if err != nil {
			return store.ChannelPause{}, false, err
		}
		c = channelControl{paused: make(map[string]store.ChannelPause, len(ps)), read: time.Now()}
		for _, p := range ps {
			c.paused[p.Channel] = p
		}
		w.chanMu.Lock()
		w.chanControl = c
		w.chanMu.Unlock()
	}
	p, ok := c.paused[name]
	return p, ok, nil
}

// forgetChannels makes the next channelPause read the store again.
func (w *Worker) forgetChannels() {
	w.chanMu.Lock()
	w.chanControl = channelControl{}
	w.chanMu.Unlock()
}

// requeuePaused is the error of a send put back because its channel is
// paused: not a failure, so it uses up no retry.
func requeuePaused(name string) error {
	return &Requeue{Delay: ChannelRecheck + rand.N(ChannelRecheckSpread), Why: "channel " + name + " paused"}
}

// channelHeld reports whether s's channel is paused: the row goes back to
// planned when claimed and the task is requeued (true, *Requeue).
func (w *Worker) channelHeld(ctx context.Context, s *send) (bool, error) {
	_, paused, err := w.channelPause(ctx, s.row.Channel)
	if err != nil {
		return true, fmt.Errorf("ledger %s: channel pauses: %w", s.row.ID, err)
	}
	if !paused {
		return false, nil
	}
	rq := requeuePaused(s.row.Channel)
	if s.row.State == store.Claimed {
		_, err := w.Store.Transition(ctx, s.row.ID, []store.State{store.Claimed}, store.Planned, store.Change{})
		return true, errors.Join(rq, err)
	}
	return true, rq
}

// skipPausedChannels gives back the claimed rows of a batch whose channel
// is paused (planned again, each with a follow-up send task for after
// ChannelRecheck) and returns the others.
func (w *Worker) skipPausedChannels(ctx context.Context, rows []store.LedgerRow, fu *followUps) ([]store.LedgerRow, error) {
	kept := rows[:0:0]
	for _, r := range rows {
		_, paused, err := w.channelPause(ctx, r.Channel)
		if err != nil {
			return nil, w.releaseAll(ctx, rows, fmt.Errorf("channel pauses: %w", err))
		}
		if !paused {
			kept = append(kept, r)
			continue
		}
		_, terr := w.Store.Transition(ctx, r.ID, []store.State{store.Claimed}, store.Planned, store.Change{})
		fu.add(ctx, r.ID, r.RunID, errors.Join(requeuePaused(r.Channel), terr))
	}
	return kept, nil
}

// accountRefused handles a provider's refusal of the account or the
// sender (channel.ErrAccount): no recipient is at fault, so the row goes
// back to planned, unsent and not failed, and the whole channel pauses
// on every worker until an operator resumes it or a probe succeeds. The
// worker that pauses it logs one error naming the setting to fix; the
// sends that hit the same refusal meanwhile only note it at debug level.
// handedOver says whether the row is submitting (the provider was
// called) rather than claimed.
func (w *Worker) accountRefused(ctx context.Context, s *send, err error, setting string, handedOver bool) error {
	row := &s.row
	var terr error
	if handedOver {
		terr = w.settle(ctx, s, outcomeOf(store.Claimed, store.Change{Error: err.Error()}))
	}
	if terr == nil {
		_, terr = w.Store.Transition(ctx, row.ID, []store.State{store.Claimed}, store.Planned, store.Change{Error: err.Error()})
	}
	first, perr := w.Store.PauseChannel(ctx, store.ChannelPause{Channel: row.Channel, Setting: setting, Error: err.Error(), PausedAt: w.now()})
	w.forgetChannels()
	switch {
	case perr != nil:
		s.log.Error("the provider refused the account, and the channel could not be paused", "err", err, "pause_err", perr)
	case first:
		w.log().Error(fmt.Sprintf("channel %s paused on every worker: the provider refused the account, no recipient is failed; fix %s, then run `relais resume-channel %s`",
			row.Channel, setting, row.Channel), "channel", row.Channel, "setting", setting, "err", err)
	default:
		s.log.Debug("send put back: its channel is paused (account refused)", "err", err)
	}
	return errors.Join(requeuePaused(row.Channel), terr, perr)
}

// ProbeChannels checks the account of every paused channel that has a
// probe here (channel.Prober: an SMTP connection with AUTH, a Twilio
// account fetch) and resumes each whose provider accepts it now. It
// returns the channels it resumed.
func (w *Worker) ProbeChannels(ctx context.Context) ([]string, error) {
	ps, err := w.Store.ChannelPauses(ctx)
	if err != nil {
		return nil, err
	}
	var resumed []string
	for _, p := range ps {
		pr, ok := w.Channels.Prober(p.Channel)
		if !ok {
			continue
		}
		if err := pr.Probe(ctx); err != nil {
			w.log().Debug("paused channel still refused", "channel", p.Channel, "err", err)
			continue
		}
		ok, err := w.Store.ResumeChannel(ctx, p.Channel)
		if err != nil {
			return resumed, err
		}
		if ok {
			resumed = append(resumed, p.Channel)
			w.log().Info("channel resumed: the provider accepts the account again", "channel", p.Channel, "paused_at", p.PausedAt)
		}
	}
	if len(resumed) > 0 {
		w.forgetChannels()
	}
	return resumed, nil
}

// ProbeLoop runs ProbeChannels every interval until ctx ends; an
// interval of 0 or less probes nothing (channels then wait for `relais
// resume-channel`).
func (w *Worker) ProbeLoop(ctx context.Context, every time.Duration) {
	if every <= 0 {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := w.ProbeChannels(ctx); err != nil && ctx.Err() == nil {
			w.log().Warn("probing paused channels", "err", err)
		}
	}
}

// isAccount reports whether err is a provider's refusal of the account,
// and the setting it names.
func isAccount(err error) (string, bool) { return channel.AccountSetting(err) }
