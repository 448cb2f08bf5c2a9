package queue

import (
	"hash/fnv"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/hibiken/asynq"
)

func TestBatchingGroup(t *testing.T) {
	b := Batching{Size: 100, Shards: 4}
	if g := b.Group("l1", 7, "s1", "email", "transactional", false); g != nil {
		t.Errorf("single transactional send grouped: %v", g)
	}
	if g := b.Group("l1", 7, "s1", "sms", "transactional", true); len(g) != 1 || g[0].Value() != "send:7:s1:sms:"+shardOf("l1", 4)+":transactional" {
		t.Errorf("bulk transactional send in group %v, want send:7:s1:sms:%s:transactional", g, shardOf("l1", 4))
	}
	if g := (Batching{Size: 1, Shards: 4}).Group("l1", 7, "s1", "email", "marketing", true); g != nil {
		t.Errorf("send grouped with batching off: %v", g)
	}
	groups := map[string]bool{}
	for i := range 200 {
		id := string(rune('a'+i%26)) + time.Duration(i).String()
		opts := b.Group(id, 7, "s1", "email", "marketing", false)
		if len(opts) != 1 || opts[0].Type() != asynq.GroupOpt {
			t.Fatalf("options %v, want one group", opts)
		}
		again := b.Group(id, 7, "s1", "email", "marketing", true)
		if again[0].Value() != opts[0].Value() {
			t.Fatalf("row %s in groups %v and %v", id, opts[0].Value(), again[0].Value())
		}
		groups[opts[0].Value().(string)] = true
	}
	want := []string{"send:7:s1:email:0", "send:7:s1:email:1", "send:7:s1:email:2", "send:7:s1:email:3"}
	var got []string
	for g := range groups {
		got = append(got, g)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("groups %v, want %v", got, want)
	}
}

func TestAggregate(t *testing.T) {
	tasks := []*asynq.Task{
		NewSendTask("a", 3, "marketing", time.Time{}, 0),
		asynq.NewTask(TypeSend, []byte("not json")),
		NewSendTask("b", 3, "marketing", time.Time{}, 0),
	}
	agg := Aggregate("send:3:s1:email:0", tasks)
	if agg.Type() != TypeSendBatch {
		t.Fatalf("type %s", agg.Type())
	}
	p, err := ParseBatch(agg)
	if err != nil || p.RunID != 3 || !slices.Equal(p.LedgerIDs, []string{"a", "b"}) || p.Purpose != "" {
		t.Fatalf("payload %+v (%v), want run 3 rows a, b", p, err)
	}
	if p, err := ParseBatch(Aggregate("send:3:s1:sms:0:transactional", tasks)); err != nil || p.Purpose != Transactional {
		t.Errorf("bulk transactional batch %+v (%v), want purpose transactional", p, err)
	}
	if _, err := ParseBatch(asynq.NewTask(TypeSendBatch, []byte(`{"r":3}`))); err == nil {
		t.Error("empty batch parsed")
	}
}

func TestBatchingServer(t *testing.T) {
	var c asynq.Config
	Batching{Size: 1}.Server(&c)
	if c.GroupAggregator == nil || c.GroupMaxSize != DefaultBatchSize || c.GroupGracePeriod != time.Second || c.GroupMaxDelay != time.Second {
		t.Errorf("batching off: %+v", c)
	}
	Batching{Size: 20, MaxDelay: 300 * time.Millisecond, GracePeriod: 2 * time.Second}.Server(&c)
	if c.GroupMaxSize != 20 || c.GroupMaxDelay != 300*time.Millisecond || c.GroupGracePeriod != 2*time.Second {
		t.Errorf("batching on: %+v", c)
	}
}

// shardOf is the shard Group gives ledger id among shards, in decimal.
func shardOf(id string, shards uint32) string {
	h := fnv.New32a()
	h.Write([]byte(id))
	return strconv.FormatUint(uint64(h.Sum32()%shards), 10)
}
