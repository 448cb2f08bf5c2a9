package store

import (
	"context"
	"time"
)

// Run states reported by RunStatus besides the stored ones.
const (
	RunPaused   = "paused"
	RunCanceled = "canceled"
)

// Unsent lists the states a cancellation moves to Canceled: rows no
// provider has seen. A submitting row is left to finish, since its message
// may already be on its way. Callers must not modify it.
var Unsent = []State{Planned, Deferred, Claimed}

// ControlStore is the operator's hold on sends: pausing and resuming a
// run, canceling it, and pausing a campaign's schedule. The state lives in
// the database so that every worker process sees it.
type ControlStore interface {
	// PauseRun marks run id paused at at (a paused run stays paused); it
	// reports whether the run was not paused before. A canceled run
	// cannot be paused (false). A missing run is ErrNotFound.
	PauseRun(ctx context.Context, id int64, at time.Time) (bool, error)
	// ResumeRun clears a run's pause; it reports whether it was paused.
	ResumeRun(ctx context.Context, id int64) (bool, error)
	// CancelRun marks run id canceled with reason and moves its unsent
	// rows (Unsent) to Canceled with that reason, in one transaction; it
	// returns how many rows it moved. Canceling again moves what is left
	// and keeps the first reason.
	CancelRun(ctx context.Context, id int64, reason string, at time.Time) (int, error)
	// PauseCampaign stops a campaign's scheduled occurrences from firing;
	// ResumeCampaign lets them fire again. Both report whether they
	// changed anything.
	PauseCampaign(ctx context.Context, campaignID string, at time.Time) (bool, error)
	ResumeCampaign(ctx context.Context, campaignID string) (bool, error)
	// CampaignPaused returns when a campaign was paused (zero: it is not).
	CampaignPaused(ctx context.Context, campaignID string) (time.Time, error)
	// Received returns, among contactIDs, the sends of campaignID's runs
	// other than runID (dry runs left out) that may have reached the
	// person (MaybeSent): what a new version must not send again.
	Received(ctx context.Context, campaignID string, runID int64, contactIDs []int64) ([]Receipt, error)
}

// Receipt is one step of a campaign that may have reached a contact on a
// channel.
type Receipt struct {
	StepID    string
	ContactID int64
	Channel   string
}

// ChannelPause is a channel stopped because its provider refused the
// account or the sender: nothing is submitted on it until it is resumed,
// and its rows wait, unsent and not failed.
type ChannelPause struct {
	Channel string `json:"channel"`
	// Setting names what the operator must fix.
	Setting string `json:"setting"`
	// Error is the provider's answer that paused it (no personal data).
	Error    string    `json:"error"`
	PausedAt time.Time `json:"paused_at"`
}

// ChannelControl pauses and resumes channels across every worker
// process: the state lives in the database like a run's pause.
type ChannelControl interface {
	// PauseChannel pauses p.Channel unless it is paused already (the
	// first pause and its error are kept); it reports whether it was not
	// paused before, so that exactly one worker reports the pause.
	PauseChannel(ctx context.Context, p ChannelPause) (bool, error)
	// ResumeChannel lifts a channel's pause; it reports whether it was
	// paused.
	ResumeChannel(ctx context.Context, channel string) (bool, error)
	// ChannelPauses lists the paused channels by name.
	ChannelPauses(ctx context.Context) ([]ChannelPause, error)
}
