package scheduler

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"

	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/channel"
	"github.com/relais-dev/relais/internal/queue"
	"github.com/relais-dev/relais/internal/rights"
)

// TypeRetention is the asynq task type of the daily retention job: erase
// the prospects without activity for the retention period.
const TypeRetention = "relais:retention"

// DefaultRetentionCron is when the retention job runs when Retention.Cron
// is empty: 03:30 Europe/Paris, when erasing does not compete with sends.
const DefaultRetentionCron = "30 3 * * *"

// retentionUnique keeps a tick of the retention job to one task when
// several serve processes fire it; a daily job cannot tick twice within
// the hour, and running it twice would only find nothing left to erase.
const retentionUnique = time.Hour

// retentionTimeout bounds one run of the job; erasing is paged and
// resumable, so a run cut short is finished by the next one.
const retentionTimeout = 2 * time.Hour

// Retention configures the retention job (config key retention). The
// zero value registers nothing.
type Retention struct {
	// Enabled registers the periodic job and lets HandleRetention erase.
	Enabled bool
	// OlderThan is the retention period; required when Enabled
	// (rights.DefaultRetention is the CNIL's 3 years).
	OlderThan time.Duration
	// Cron is a 5-field cron expression evaluated in DefaultTimezone
	// unless prefixed with CRON_TZ=<zone>; empty: DefaultRetentionCron.
	Cron string
}

// retentionSchedule checks r and returns its parsed schedule (nil when
// disabled). Errors: a non-positive period, a bad cron expression, a
// secret too short to key suppression hashes (rights.Forget needs 16
// bytes) — caught by New rather than at 03:30.
func retentionSchedule(r Retention, secret []byte) (*Schedule, error) {
	if !r.Enabled {
		return nil, nil
	}
	if r.OlderThan <= 0 {
		return nil, errors.New("scheduler: retention period must be positive")
	}
	if len(secret) < 16 {
		return nil, errors.New("scheduler: retention needs the relais secret (at least 16 bytes) for suppression hashes")
	}
	spec := r.Cron
	if spec == "" {
		spec = DefaultRetentionCron
	}
	sch, err := ParseSchedule(campaign.Schedule{Cron: spec})
	if err != nil {
		return nil, fmt.Errorf("scheduler: retention: %w", err)
	}
	return sch, nil
}

// RetentionConfig returns the periodic task of the retention job, nil
// when it is disabled.
func (s *Scheduler) RetentionConfig() *asynq.PeriodicTaskConfig {
	if s.retention == nil {
		return nil
	}
	return &asynq.PeriodicTaskConfig{
		Cronspec: s.retention.Spec,
		Task:     asynq.NewTask(TypeRetention, nil),
		Opts: []asynq.Option{
			asynq.Queue(queue.Maintenance),
			asynq.Unique(retentionUnique),
			asynq.MaxRetry(3),
			asynq.Timeout(retentionTimeout),
		},
	}
}

// HandleRetention runs the retention job: rights.Retention on the store
// with the configured period, at the scheduler's clock. When retention is
// disabled in this process it does nothing (another process with another
// configuration may have queued the task; this one's configuration says
// not to erase). Store errors are returned for asynq to retry; contacts
// erased before the error stay erased, and the retry continues from there.
// Only the count is logged, never who was erased.
func (s *Scheduler) HandleRetention(ctx context.Context, _ *asynq.Task) error {
	if s.retention == nil {
		s.log.Warn("retention task ignored: retention is disabled in this process")
		return nil
	}
	now := s.now()
	// The planner's channels: an erasure suppresses every address they use.
	var channels *channel.Registry
	if s.d.Planner != nil {
		channels = s.d.Planner.Channels
	}
	n, err := rights.RetentionOn(ctx, s.d.Store, channels, s.d.Secret, now, s.d.Retention.OlderThan)
	if err != nil {
		s.log.Error("retention stopped", "erased", n, "err", err)
		return fmt.Errorf("retention: %w", err)
	}
	s.log.Info("retention", "erased", n, "inactive_since", now.Add(-s.d.Retention.OlderThan).Format(time.DateOnly))
	return nil
}
