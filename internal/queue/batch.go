package queue

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/hibiken/asynq"
)

// TypeSendBatch delivers up to Batching.Size ledger rows of one run step
// and channel: asynq aggregates the grouped TypeSend tasks of a group
// into one (Aggregate).
const TypeSendBatch = "relais:send:batch"

// Batching defaults (see Batching).
const (
	DefaultBatchSize        = 100
	DefaultBatchShards      = 64
	DefaultBatchMaxDelay    = time.Second
	DefaultBatchGracePeriod = time.Second
)

// Batching says how a run's marketing sends are grouped into batches.
// Every send keeps its own task (and ledger row) until asynq's aggregator
// gathers up to Size of a group into one TypeSendBatch task; a group is a
// run, step and channel, split in Shards by ledger id because the
// aggregator takes one batch per group on each of its checks (every
// GracePeriod, at least a second), so Size × Shards bounds the rate of
// one step per worker process. A group's batch waits at most MaxDelay
// for Size sends, plus one check. A transactional send is grouped only
// when it is part of a bulk enqueue (a transactional campaign expanded
// from an audience, see Group); one triggered through the API stays a
// single task, handled at once.
type Batching struct {
	Size        int
	Shards      int
	MaxDelay    time.Duration
	GracePeriod time.Duration
}

// DefaultBatching returns the defaults: batches of 100, 64 shards,
// waiting at most a second.
func DefaultBatching() Batching {
	return Batching{Size: DefaultBatchSize, Shards: DefaultBatchShards, MaxDelay: DefaultBatchMaxDelay, GracePeriod: DefaultBatchGracePeriod}
}

// Enabled reports whether sends are grouped (Size above 1).
func (b Batching) Enabled() bool { return b.Size > 1 }

// Group returns the enqueue option putting a send into its group, or nil
// when it is not grouped: batching off, or a transactional send that is
// not bulk. bulk says the send is enqueued with at least Size others of
// its run (an audience's expansion, a recovery): waiting up to MaxDelay
// for the rest of a batch costs such a send nothing, while a
// transactional send triggered alone must go at once.
func (b Batching) Group(ledgerID string, runID int64, stepID, channel, purpose string, bulk bool) []asynq.Option {
	queue := ForPurpose(purpose)
	if !b.Enabled() || (queue == Transactional && !bulk) {
		return nil
	}
	shards := max(b.Shards, 1)
	h := fnv.New32a()
	h.Write([]byte(ledgerID))
	name := fmt.Sprintf("send:%d:%s:%s:%d", runID, stepID, channel, h.Sum32()%uint32(shards))
	if queue == Transactional {
		name += ":" + Transactional
	}
	return []asynq.Option{asynq.Group(name)}
}

// Server sets the aggregation of c (asynq.Config) to b. A worker server
// always aggregates, with the defaults when b is off, so that sends
// grouped by a differently configured planner are never stranded.
func (b Batching) Server(c *asynq.Config) {
	d := DefaultBatching()
	c.GroupAggregator = asynq.GroupAggregatorFunc(Aggregate)
	c.GroupMaxSize = d.Size
	if b.Enabled() {
		c.GroupMaxSize = b.Size
	}
	c.GroupMaxDelay = orDefault(b.MaxDelay, d.MaxDelay)
	c.GroupGracePeriod = max(orDefault(b.GracePeriod, d.GracePeriod), time.Second)
}

func orDefault(v, def time.Duration) time.Duration {
	if v > 0 {
		return v
	}
	return def
}

// BatchPayload is the payload of a TypeSendBatch task: ledger ids only.
type BatchPayload struct {
	RunID     int64    `json:"r"`
	LedgerIDs []string `json:"l"`
	// Purpose is "transactional" for a bulk transactional batch (its
	// follow-up sends go back to the transactional queue), else empty.
	Purpose string `json:"p,omitempty"`
}

// Aggregate is asynq's GroupAggregator: the send tasks of a group become
// one TypeSendBatch task carrying their ledger ids.
func Aggregate(group string, tasks []*asynq.Task) *asynq.Task {
	var p BatchPayload
	if strings.HasSuffix(group, ":"+Transactional) {
		p.Purpose = Transactional
	}
	for _, t := range tasks {
		sp, err := ParseSend(t)
		if err != nil {
			continue // not a send: nothing to deliver
		}
		p.RunID = sp.RunID
		p.LedgerIDs = append(p.LedgerIDs, sp.LedgerID)
	}
	b, _ := json.Marshal(p) // cannot fail: strings and a number
	return asynq.NewTask(TypeSendBatch, b, asynq.MaxRetry(MaxRetry))
}

// ParseBatch decodes a BatchPayload.
func ParseBatch(t *asynq.Task) (BatchPayload, error) {
	var p BatchPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		return p, fmt.Errorf("batch payload: %w", err)
	}
	if len(p.LedgerIDs) == 0 {
		return p, errors.New("batch payload: no ledger id")
	}
	return p, nil
}
