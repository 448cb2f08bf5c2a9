package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/relais-dev/relais/internal/store"
)

var (
	qPauseRun  = `UPDATE runs SET paused_at = $1, updated_at = $1 WHERE id = $2 AND paused_at IS NULL AND canceled_at IS NULL`
	qResumeRun = `UPDATE runs SET paused_at = NULL, updated_at = $1 WHERE id = $2 AND paused_at IS NOT NULL`
	qCancelRun = `UPDATE runs SET canceled_at = $1, cancel_reason = $2, updated_at = $1 WHERE id = $3 AND canceled_at IS NULL`
	// qCancelRows ends a canceled run's unsent rows; the run's own reason
	// is copied so that each row says why it was not sent.
	qCancelRows = `UPDATE ledger SET state = '` + string(store.Canceled) + `', reason = 'canceled', error = $1, updated_at = $2
WHERE run_id = $3 AND state IN ` + store.SQLList(store.Unsent)
	qPauseCampaign    = `INSERT INTO campaign_pauses (campaign_id, paused_at) VALUES ($1, $2) ON CONFLICT (campaign_id) DO NOTHING`
	qResumeCampaign   = `DELETE FROM campaign_pauses WHERE campaign_id = $1`
	qCampaignPausedAt = `SELECT paused_at FROM campaign_pauses WHERE campaign_id = $1`
	qPauseChannel     = `INSERT INTO channel_pauses (channel, setting, error, paused_at) VALUES ($1, $2, $3, $4) ON CONFLICT (channel) DO NOTHING`
	qResumeChannel    = `DELETE FROM channel_pauses WHERE channel = $1`
	qChannelPauses    = `SELECT channel, setting, error, paused_at FROM channel_pauses ORDER BY channel`
	// qReceived is completed with the dialect's in() of contact ids.
	qReceived = `SELECT DISTINCT l.step_id, l.contact_id, l.channel FROM ledger l JOIN runs r ON r.id = l.run_id
WHERE l.campaign_id = $1 AND l.run_id <> $2 AND NOT r.dry_run AND l.state IN ` + store.SQLList(store.MaybeSent) + ` AND l.contact_id `
)

// PauseRun implements store.ControlStore.
func (s *Store) PauseRun(ctx context.Context, id int64, at time.Time) (bool, error) {
	if _, err := s.GetRun(ctx, id); err != nil {
		return false, err
	}
	n, err := s.exec(ctx, fmt.Sprintf("pause run %d", id), qPauseRun, s.d.t(at), id)
	return n == 1, err
}

// ResumeRun implements store.ControlStore.
func (s *Store) ResumeRun(ctx context.Context, id int64) (bool, error) {
	if _, err := s.GetRun(ctx, id); err != nil {
		return false, err
	}
	n, err := s.exec(ctx, fmt.Sprintf("resume run %d", id), qResumeRun, s.d.t(s.now()), id)
	return n == 1, err
}

// CancelRun implements store.ControlStore.
func (s *Store) CancelRun(ctx context.Context, id int64, reason string, at time.Time) (int, error) {
	r, err := s.GetRun(ctx, id)
	if err != nil {
		return 0, err
	}
	// Workers settle rows of the run in batches meanwhile: PostgreSQL may
	// pick this transaction as a deadlock's victim; it is tried again.
	for try := 1; ; try++ {
		n, err := s.cancelRun(ctx, r, id, reason, at)
		if err == nil || try == 3 || !strings.Contains(err.Error(), "40P01") {
			return n, err
		}
	}
}

// cancelRun is one attempt of CancelRun.
func (s *Store) cancelRun(ctx context.Context, r store.Run, id int64, reason string, at time.Time) (int, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, s.errf("cancel run %d: begin: %w", id, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, qCancelRun, s.d.t(at), reason, id); err != nil {
		return 0, s.errf("cancel run %d: %w", id, err)
	}
	if r.CancelReason != "" {
		reason = r.CancelReason
	}
	res, err := tx.ExecContext(ctx, qCancelRows, reason, s.d.t(at), id)
	if err != nil {
		return 0, s.errf("cancel run %d: rows: %w", id, err)
	}
	n, _ := res.RowsAffected()
	if err := tx.Commit(); err != nil {
		return 0, s.errf("cancel run %d: commit: %w", id, err)
	}
	return int(n), nil
}

// PauseCampaign implements store.ControlStore.
func (s *Store) PauseCampaign(ctx context.Context, campaignID string, at time.Time) (bool, error) {
	n, err := s.exec(ctx, "pause campaign "+campaignID, qPauseCampaign, campaignID, s.d.t(at))
	return n == 1, err
}

// ResumeCampaign implements store.ControlStore.
func (s *Store) ResumeCampaign(ctx context.Context, campaignID string) (bool, error) {
	n, err := s.exec(ctx, "resume campaign "+campaignID, qResumeCampaign, campaignID)
	return n == 1, err
}

// CampaignPaused implements store.ControlStore.
func (s *Store) CampaignPaused(ctx context.Context, campaignID string) (time.Time, error) {
	var at time.Time
	_, err := queryOne(ctx, s, s.r, "campaign pause "+campaignID, func(r rowScanner) (time.Time, error) {
		err := r.Scan(ts(&at))
		return at, err
	}, qCampaignPausedAt, campaignID)
	if errors.Is(err, store.ErrNotFound) {
		return time.Time{}, nil
	}
	return at, err
}

// Received implements store.ControlStore.
func (s *Store) Received(ctx context.Context, campaignID string, runID int64, contactIDs []int64) ([]store.Receipt, error) {
	if len(contactIDs) == 0 {
		return nil, nil
	}
	cond, args := in(s.d, []any{campaignID, runID}, contactIDs)
	return queryAll(ctx, s, "sends received from "+campaignID, func(r rowScanner) (store.Receipt, error) {
		var rc store.Receipt
		err := r.Scan(&rc.StepID, &rc.ContactID, &rc.Channel)
		return rc, err
	}, qReceived+cond, args...)
}

// PauseChannel implements store.ChannelControl.
func (s *Store) PauseChannel(ctx context.Context, p store.ChannelPause) (bool, error) {
	if p.PausedAt.IsZero() {
		p.PausedAt = s.now()
	}
	n, err := s.exec(ctx, "pause channel "+p.Channel, qPauseChannel, p.Channel, p.Setting, p.Error, s.d.t(p.PausedAt))
	return n == 1, err
}

// ResumeChannel implements store.ChannelControl.
func (s *Store) ResumeChannel(ctx context.Context, channel string) (bool, error) {
	n, err := s.exec(ctx, "resume channel "+channel, qResumeChannel, channel)
	return n == 1, err
}

// ChannelPauses implements store.ChannelControl.
func (s *Store) ChannelPauses(ctx context.Context) ([]store.ChannelPause, error) {
	return queryAll(ctx, s, "channel pauses", func(r rowScanner) (store.ChannelPause, error) {
		var p store.ChannelPause
		err := r.Scan(&p.Channel, &p.Setting, &p.Error, ts(&p.PausedAt))
		return p, err
	}, qChannelPauses)
}
