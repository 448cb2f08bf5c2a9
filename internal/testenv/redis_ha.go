package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisProc is one redis-server process (server, sentinel or cluster
// node) of a test, killed at cleanup.
type redisProc struct {
	addr string
	dir  string
	cmd  *exec.Cmd
}

// startRedisProc starts redis-server on a free loopback port in its own
// folder under parent with extra arguments (or, with sentinel, a sentinel
// whose configuration file is conf) and waits until it answers PING.
func startRedisProc(t testing.TB, parent, name string, conf string, args ...string) *redisProc {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		Missing(t, "Redis", "redis-server is not installed (apt-get install redis-server)")
	}
	port := FreePort(t)
	dir := filepath.Join(parent, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	logf := filepath.Join(dir, "redis.log")
	var cmdArgs []string
	if conf != "" {
		path := filepath.Join(dir, "sentinel.conf")
		if err := os.WriteFile(path, []byte(fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nlogfile %s\n%s", port, dir, logf, conf)), 0o644); err != nil {
			t.Fatal(err)
		}
		cmdArgs = []string{path, "--sentinel"}
	} else {
		cmdArgs = append([]string{"--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--dir", dir, "--save", "",
			"--daemonize", "no", "--logfile", logf}, args...)
	}
	p := &redisProc{addr: Addr(port), dir: dir, cmd: exec.Command("redis-server", cmdArgs...)}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		_ = p.cmd.Wait()
	})
	c := redis.NewClient(&redis.Options{Addr: p.addr})
	defer c.Close()
	if !waitUntil(10*time.Second, func() bool { return c.Ping(context.Background()).Err() == nil }) {
		t.Fatalf("%s on %s did not answer within 10s (log: %s)", name, p.addr, tail(logf))
	}
	return p
}

// waitUntil polls cond every 50ms until it holds or timeout passes, and
// reports whether it held.
func waitUntil(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// SentinelSet is a Redis master, one replica and three sentinels watching
// them under the master name "relais", all on loopback.
type SentinelSet struct {
	Master, Replica string   // addresses as started (roles swap on failover)
	Sentinels       []string // sentinel addresses
	t               testing.TB
}

// SentinelMaster is the master name the sentinels of a SentinelSet use.
const SentinelMaster = "relais"

// StartSentinel starts a master, a replica and three sentinels in
// t.TempDir() and waits until the replica is in sync and every sentinel
// knows the replica and the two other sentinels, so that a failover can
// be asked for at once.
func StartSentinel(t testing.TB) *SentinelSet {
	t.Helper()
	dir := t.TempDir()
	master := startRedisProc(t, dir, "master", "", "--appendonly", "yes")
	replica := startRedisProc(t, dir, "replica", "", "--appendonly", "yes", "--replicaof", "127.0.0.1", strings.Split(master.addr, ":")[1])
	s := &SentinelSet{Master: master.addr, Replica: replica.addr, t: t}
	_, mport, _ := splitHostPort(master.addr)
	conf := fmt.Sprintf("sentinel monitor %s 127.0.0.1 %d 2\nsentinel down-after-milliseconds %[1]s 1000\n"+
		"sentinel failover-timeout %[1]s 10000\nsentinel parallel-syncs %[1]s 1\n", SentinelMaster, mport)
	for i := range 3 {
		s.Sentinels = append(s.Sentinels, startRedisProc(t, dir, fmt.Sprintf("sentinel%d", i+1), conf).addr)
	}
	rc := redis.NewClient(&redis.Options{Addr: replica.addr})
	defer rc.Close()
	if !waitUntil(30*time.Second, func() bool {
		info, err := rc.Info(context.Background(), "replication").Result()
		return err == nil && strings.Contains(info, "master_link_status:up")
	}) {
		t.Fatal("the replica did not sync with the master within 30s")
	}
	for _, a := range s.Sentinels {
		sc := redis.NewSentinelClient(&redis.Options{Addr: a})
		ok := waitUntil(60*time.Second, func() bool {
			reps, err := sc.Replicas(context.Background(), SentinelMaster).Result()
			if err != nil || len(reps) == 0 {
				return false
			}
			sens, err := sc.Sentinels(context.Background(), SentinelMaster).Result()
			return err == nil && len(sens) == 2
		})
		sc.Close()
		if !ok {
			t.Fatalf("sentinel %s does not know the replica and the other sentinels after 60s", a)
		}
	}
	return s
}

// URL returns the redis-sentinel:// URL of the set.
func (s *SentinelSet) URL() string {
	return "redis-sentinel://" + strings.Join(s.Sentinels, ",") + "/" + SentinelMaster
}

// MasterAddr returns the master's address as the first sentinel reports it.
func (s *SentinelSet) MasterAddr() string {
	sc := redis.NewSentinelClient(&redis.Options{Addr: s.Sentinels[0]})
	defer sc.Close()
	a, err := sc.GetMasterAddrByName(context.Background(), SentinelMaster).Result()
	if err != nil || len(a) != 2 {
		return ""
	}
	return a[0] + ":" + a[1]
}

// Failover asks the sentinels to promote the replica (SENTINEL FAILOVER)
// and waits until every sentinel names the new master and it answers as
// one; it returns the new master's address.
func (s *SentinelSet) Failover() string {
	s.t.Helper()
	old := s.MasterAddr()
	sc := redis.NewSentinelClient(&redis.Options{Addr: s.Sentinels[0]})
	defer sc.Close()
	if err := sc.Failover(context.Background(), SentinelMaster).Err(); err != nil {
		s.t.Fatalf("SENTINEL FAILOVER: %v", err)
	}
	var now string
	ok := waitUntil(60*time.Second, func() bool {
		for _, a := range s.Sentinels {
			c := redis.NewSentinelClient(&redis.Options{Addr: a})
			m, err := c.GetMasterAddrByName(context.Background(), SentinelMaster).Result()
			c.Close()
			if err != nil || len(m) != 2 || m[0]+":"+m[1] == old {
				return false
			}
			now = m[0] + ":" + m[1]
		}
		mc := redis.NewClient(&redis.Options{Addr: now})
		defer mc.Close()
		role, err := mc.Do(context.Background(), "ROLE").Slice()
		return err == nil && len(role) > 0 && role[0] == "master"
	})
	if !ok {
		s.t.Fatalf("failover from %s did not complete within 60s", old)
	}
	return now
}

// StartCluster starts a Redis Cluster of three masters (no replicas) in
// t.TempDir(), creates it with redis-cli --cluster create and waits until
// every slot is served; it returns a redis-cluster:// URL.
func StartCluster(t testing.TB) string {
	t.Helper()
	if _, err := exec.LookPath("redis-cli"); err != nil {
		Missing(t, "Redis Cluster", "redis-cli is not installed (apt-get install redis-tools)")
	}
	dir := t.TempDir()
	var addrs []string
	for i := range 3 {
		p := startRedisProc(t, dir, fmt.Sprintf("node%d", i+1), "", "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", "5000", "--appendonly", "yes")
		addrs = append(addrs, p.addr)
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command("redis-cli", args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	defer cc.Close()
	if !waitUntil(30*time.Second, func() bool {
		for _, a := range addrs {
			c := redis.NewClient(&redis.Options{Addr: a})
			info, err := c.ClusterInfo(context.Background()).Result()
			c.Close()
			if err != nil || !strings.Contains(info, "cluster_state:ok") {
				return false
			}
		}
		return cc.Ping(context.Background()).Err() == nil
	}) {
		t.Fatal("the Redis Cluster did not reach cluster_state:ok within 30s")
	}
	return "redis-cluster://" + strings.Join(addrs, ",") + "/"
}
