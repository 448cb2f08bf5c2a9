package main

import (
	"time"

	"github.com/relais-dev/relais/internal/scheduler"
)

// schedulerSyncInterval is how often the scheduler role re-reads the live
// schedules (0: scheduler.DefaultSyncInterval). Tests shorten it so an
// edited schedule applies within a second.
var schedulerSyncInterval time.Duration

// scheduler returns the scheduler on d: the worker role registers its
// fire and follow-up handlers, the scheduler role starts it (live reload
// of campaigns_dir, SIGHUP, cron firings).
func (a *app) scheduler(d *deps) (*scheduler.Scheduler, error) {
	return scheduler.New(scheduler.Deps{
		CampaignsDir:  a.cfg.CampaignsDir,
		Catalog:       d.catalog,
		Store:         d.store,
		Planner:       a.planner(d),
		RedisOpt:      d.redisOpt,
		Log:           a.log,
		Now:           a.now,
		SyncInterval:  schedulerSyncInterval,
		Signals:       true,
		TaskRetention: a.cfg.TaskRetention,
		Retention: scheduler.Retention{Enabled: a.cfg.Retention.Enabled,
			OlderThan: a.cfg.Retention.OlderThan.Duration(), Cron: a.cfg.Retention.Cron},
		Secret: d.secret,
	})
}
