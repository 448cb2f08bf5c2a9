// Package queue defines relais' asynq task types, their id-only payloads,
// and the queue names and weights that keep transactional sends ahead of
// large marketing runs.
package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// Task types.
const (
	// TypeSend delivers one ledger row.
	TypeSend = "relais:send"
	// TypeAssemblePrint assembles a run's spooled letters into batch PDFs
	// once none of its print sends is pending.
	TypeAssemblePrint = "relais:print:assemble"
)

// Enqueuer puts tasks on the queue (asynq.Client); planning and the send
// path depend on it rather than on a Redis client so tests can record
// what was enqueued.
type Enqueuer interface {
	EnqueueContext(ctx context.Context, t *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error)
}

// AssembleRecheck is how long the print assembly task waits before
// looking again while print sends of the run are still pending.
const AssembleRecheck = 10 * time.Second

// RunPayload is the payload of run-level tasks.
type RunPayload struct {
	RunID int64 `json:"r"`
}

// NewAssembleTask builds the print assembly task of a run, due after
// delay; its id makes it unique per run while it is queued.
func NewAssembleTask(runID int64, delay time.Duration) *asynq.Task {
	b, _ := json.Marshal(RunPayload{RunID: runID}) // cannot fail
	return asynq.NewTask(TypeAssemblePrint, b, asynq.TaskID(fmt.Sprintf("assemble:%d", runID)),
		asynq.Queue(Maintenance), asynq.ProcessIn(delay), asynq.MaxRetry(MaxRetry))
}

// ParseRun decodes a RunPayload.
func ParseRun(t *asynq.Task) (RunPayload, error) {
	var p RunPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		return p, fmt.Errorf("run payload: %w", err)
	}
	return p, nil
}

// Queue names. Transactional sends get the largest weight so that a
// 1,000,000-recipient newsletter never delays an order confirmation much.
const (
	Transactional = "transactional"
	Marketing     = "marketing"
	Maintenance   = "maintenance"
)

// Weights returns the asynq queue weights (asynq.Config.Queues).
func Weights() map[string]int {
	return map[string]int{Transactional: 10, Marketing: 3, Maintenance: 1}
}

// ForPurpose returns the queue of a campaign purpose.
func ForPurpose(purpose string) string {
	if purpose == "transactional" {
		return Transactional
	}
	return Marketing
}

// SendPayload is the payload of a TypeSend task. It carries ids only: the
// recipient's address stays in the database (no PII on Redis).
type SendPayload struct {
	LedgerID string `json:"l"`
	RunID    int64  `json:"r"`
}

// MaxRetry is how many times a temporary failure is retried (asynq's
// exponential backoff spreads them over about a day).
const MaxRetry = 12

// NewSendTask builds the task for ledger row id. Its asynq task id is the
// ledger id, so enqueuing the same send twice is refused by the queue
// (asynq.ErrTaskIDConflict) while the first is pending, running or
// retained. notBefore zero means now.
func NewSendTask(ledgerID string, runID int64, purpose string, notBefore time.Time, retention time.Duration) *asynq.Task {
	b, _ := json.Marshal(SendPayload{LedgerID: ledgerID, RunID: runID}) // cannot fail: two scalars
	opts := []asynq.Option{
		asynq.TaskID(SendTaskID(ledgerID, notBefore)),
		asynq.Queue(ForPurpose(purpose)),
		asynq.MaxRetry(MaxRetry),
	}
	if retention > 0 {
		opts = append(opts, asynq.Retention(retention))
	}
	if !notBefore.IsZero() {
		opts = append(opts, asynq.ProcessAt(notBefore))
	}
	return asynq.NewTask(TypeSend, b, opts...)
}

// SendTaskID is the asynq task id of a ledger row's send: the ledger id,
// suffixed with the deferral time when the send was deferred (quiet hours),
// since the original task is still running when the deferred one is queued.
func SendTaskID(ledgerID string, notBefore time.Time) string {
	if notBefore.IsZero() {
		return ledgerID
	}
	return fmt.Sprintf("%s@%d", ledgerID, notBefore.Unix())
}

// ParseSend decodes a TypeSend payload.
func ParseSend(t *asynq.Task) (SendPayload, error) {
	var p SendPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		return p, fmt.Errorf("send payload: %w", err)
	}
	if p.LedgerID == "" {
		return p, errors.New("send payload: empty ledger id")
	}
	return p, nil
}

// IsDuplicate reports whether an Enqueue error only says the task exists
// already, which expansion and recovery treat as success.
func IsDuplicate(err error) bool {
	return errors.Is(err, asynq.ErrTaskIDConflict) || errors.Is(err, asynq.ErrDuplicateTask)
}

// RedisOpt turns a Redis URL into asynq's connection option:
//
//   - redis://[:password@]host:port/db and rediss:// (TLS): one server;
//   - redis-sentinel://[:password@]host1:26379,host2:26379/master-name[?db=N]
//     (also ?sentinel_password=): the master the sentinels elect, followed
//     across failovers; the password is the master's;
//   - redis-cluster://[:password@]host1:7000,host2:7001/: a Redis Cluster,
//     the nodes a seed list.
func RedisOpt(raw string) (asynq.RedisConnOpt, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("redis url: %w", redactErr(err))
	}
	password, _ := u.User.Password()
	hosts := strings.Split(u.Host, ",")
	for _, h := range hosts {
		if h == "" {
			return nil, fmt.Errorf("redis url: empty host in %q", u.Redacted())
		}
	}
	switch u.Scheme {
	case "redis-sentinel":
		master := strings.Trim(u.Path, "/")
		if master == "" {
			master = u.Query().Get("master")
		}
		if master == "" {
			return nil, fmt.Errorf("redis url: %s names no master (redis-sentinel://host:26379,…/master-name)", u.Redacted())
		}
		db := 0
		if v := u.Query().Get("db"); v != "" {
			if db, err = strconv.Atoi(v); err != nil || db < 0 {
				return nil, fmt.Errorf("redis url: db=%q is not a database number", v)
			}
		}
		return asynq.RedisFailoverClientOpt{MasterName: master, SentinelAddrs: hosts, SentinelPassword: u.Query().Get("sentinel_password"),
			Password: password, DB: db}, nil
	case "redis-cluster":
		if p := strings.Trim(u.Path, "/"); p != "" && p != "0" {
			return nil, fmt.Errorf("redis url: a Redis Cluster has only database 0, not %q", p)
		}
		return asynq.RedisClusterClientOpt{Addrs: hosts, Password: password}, nil
	case "redis", "rediss":
		if len(hosts) > 1 {
			return nil, fmt.Errorf("redis url: several hosts need redis-sentinel:// or redis-cluster://")
		}
	}
	opt, err := asynq.ParseRedisURI(raw)
	if err != nil {
		return nil, fmt.Errorf("redis url: %w", redactErr(err))
	}
	return opt, nil
}

// redactErr drops a *url.Error's URL, which may hold a password.
func redactErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// Client returns a go-redis universal client for the same connection, used
// by health checks and the queue monitor.
func Client(opt asynq.RedisConnOpt) redis.UniversalClient {
	return opt.MakeRedisClient().(redis.UniversalClient)
}

// TypeRecord writes a send's outcome to the ledger when the store could
// not be reached right after the provider answered: the outcome travels
// on the queue until the store takes it, so a send is never lost.
const TypeRecord = "relais:record"

// RecordPayload is the payload of a TypeRecord task: the row, the state
// it moves to from submitting and what the provider said (its message id,
// never the recipient).
type RecordPayload struct {
	LedgerID   string `json:"l"`
	RunID      int64  `json:"r"`
	Purpose    string `json:"p,omitempty"`
	To         string `json:"s"`
	Reason     string `json:"rs,omitempty"`
	ProviderID string `json:"id,omitempty"`
	Error      string `json:"e,omitempty"`
	Segments   int    `json:"n,omitempty"`
}

// RecordMaxRetry is how many times a record task is retried: asynq's
// backoff spreads them over weeks, far beyond any store outage.
const RecordMaxRetry = 25

// NewRecordTask builds the record task of an outcome; its id is unique per
// row and attempt count so that a second outcome of the same row (after a
// resend) is not refused as a duplicate.
func NewRecordTask(p RecordPayload, attempt int) *asynq.Task {
	b, _ := json.Marshal(p) // cannot fail: strings and numbers
	return asynq.NewTask(TypeRecord, b, asynq.TaskID(RecordTaskID(p.LedgerID, attempt)),
		asynq.Queue(Transactional), asynq.MaxRetry(RecordMaxRetry))
}

// RecordTaskID is the id of the record task of a row's attempt.
func RecordTaskID(ledgerID string, attempt int) string {
	return fmt.Sprintf("record:%s:%d", ledgerID, attempt)
}

// ParseRecord decodes a RecordPayload.
func ParseRecord(t *asynq.Task) (RecordPayload, error) {
	var p RecordPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		return p, fmt.Errorf("record payload: %w", err)
	}
	if p.LedgerID == "" || p.To == "" {
		return p, errors.New("record payload: empty ledger id or state")
	}
	return p, nil
}

// Reviver clears the way for a task that exists on the queue but will
// never run again, so that recovery can enqueue it anew.
type Reviver interface {
	// Revive deletes task id of queue qname when it is archived or
	// completed, reporting whether it did; a pending, scheduled, retrying
	// or running task, or none, is left alone (false).
	Revive(ctx context.Context, qname, id string) (bool, error)
	// Recording reports whether the record task of a row's attempt
	// (NewRecordTask) is on the queue: the outcome of that attempt is
	// known and will be written, so the row must not be judged as left
	// mid-submission. An archived record task (its retries ran out while
	// the store was down) is made pending again, and counts.
	Recording(ctx context.Context, ledgerID string, attempt int) (bool, error)
}

// InspectorReviver is the Reviver of a Redis queue.
type InspectorReviver struct{ Inspector *asynq.Inspector }

// Revive implements Reviver.
func (r InspectorReviver) Revive(_ context.Context, qname, id string) (bool, error) {
	info, err := r.Inspector.GetTaskInfo(qname, id)
	if errors.Is(err, asynq.ErrTaskNotFound) || errors.Is(err, asynq.ErrQueueNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("task %s: %w", id, err)
	}
	if info.State != asynq.TaskStateArchived && info.State != asynq.TaskStateCompleted {
		return false, nil
	}
	if err := r.Inspector.DeleteTask(qname, id); err != nil && !errors.Is(err, asynq.ErrTaskNotFound) {
		return false, fmt.Errorf("task %s: %w", id, err)
	}
	return true, nil
}

// Recording implements Reviver.
func (r InspectorReviver) Recording(_ context.Context, ledgerID string, attempt int) (bool, error) {
	id := RecordTaskID(ledgerID, attempt)
	info, err := r.Inspector.GetTaskInfo(Transactional, id)
	if errors.Is(err, asynq.ErrTaskNotFound) || errors.Is(err, asynq.ErrQueueNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("task %s: %w", id, err)
	}
	switch info.State {
	case asynq.TaskStateCompleted:
		return false, nil
	case asynq.TaskStateArchived:
		if err := r.Inspector.RunTask(Transactional, id); err != nil && !errors.Is(err, asynq.ErrTaskNotFound) {
			return false, fmt.Errorf("task %s: %w", id, err)
		}
	}
	return true, nil
}

// BatchLister is implemented by a Reviver that can tell which ledger rows
// are carried by batch tasks (TypeSendBatch): a row gathered into a batch
// has no task under its own id, yet is queued or being sent.
type BatchLister interface {
	// Missing returns the rows among ids (ledger id → queue name) that
	// have no task under their own id.
	Missing(ctx context.Context, ids map[string]string) (map[string]bool, error)
	// Batched returns the ledger ids carried by the batch tasks of every
	// queue that may still run (pending, active, scheduled or retrying; an
	// archived batch will not, so its rows are not counted).
	Batched(ctx context.Context) (map[string]bool, error)
}

// Missing implements BatchLister.
func (r InspectorReviver) Missing(_ context.Context, ids map[string]string) (map[string]bool, error) {
	out := map[string]bool{}
	for id, qname := range ids {
		_, err := r.Inspector.GetTaskInfo(qname, id)
		switch {
		case errors.Is(err, asynq.ErrTaskNotFound) || errors.Is(err, asynq.ErrQueueNotFound):
			out[id] = true
		case err != nil:
			return nil, fmt.Errorf("task %s: %w", id, err)
		}
	}
	return out, nil
}

// Batched implements BatchLister.
func (r InspectorReviver) Batched(_ context.Context) (map[string]bool, error) {
	out := map[string]bool{}
	lists := []func(string, ...asynq.ListOption) ([]*asynq.TaskInfo, error){
		r.Inspector.ListPendingTasks, r.Inspector.ListActiveTasks, r.Inspector.ListScheduledTasks,
		r.Inspector.ListRetryTasks,
	}
	for _, qname := range []string{Transactional, Marketing} {
		for _, list := range lists {
			for page := 1; ; page++ {
				tasks, err := list(qname, asynq.PageSize(1000), asynq.Page(page))
				if errors.Is(err, asynq.ErrQueueNotFound) {
					break
				}
				if err != nil {
					return nil, fmt.Errorf("list tasks of %s: %w", qname, err)
				}
				for _, t := range tasks {
					if t.Type != TypeSendBatch {
						continue
					}
					var p BatchPayload
					if json.Unmarshal(t.Payload, &p) == nil {
						for _, id := range p.LedgerIDs {
							out[id] = true
						}
					}
				}
				if len(tasks) < 1000 {
					break
				}
			}
		}
	}
	return out, nil
}
