package testenv

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisServer is a redis-server process started for one test (or one
// benchmark) on a free port in its own directory.
type RedisServer struct {
	Addr string
	cmd  *exec.Cmd
	dir  string
}

// URL returns the redis:// URL of the server.
func (r *RedisServer) URL() string { return "redis://" + r.Addr + "/0" }

// Stop kills the server (SIGKILL, as a crash would) and waits for it.
func (r *RedisServer) Stop() {
	if r.cmd != nil && r.cmd.Process != nil {
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait()
		r.cmd = nil
	}
}

func (r *RedisServer) start() error {
	_, port, _ := splitHostPort(r.Addr)
	r.cmd = exec.Command("redis-server",
		"--bind", "127.0.0.1", "--port", strconv.Itoa(port),
		"--dir", r.dir, "--save", "", "--appendonly", "yes", "--appendfsync", "everysec",
		"--daemonize", "no", "--logfile", filepath.Join(r.dir, "redis.log"))
	if err := r.cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	c := redis.NewClient(&redis.Options{Addr: r.Addr})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.Stop()
	return fmt.Errorf("redis-server on %s did not answer within 10s (log: %s)", r.Addr, tail(filepath.Join(r.dir, "redis.log")))
}

// NewRedisServer starts redis-server on a free loopback port with its data
// in dir. It is for benchmarks and tests alike; the caller stops it.
func NewRedisServer(dir string) (*RedisServer, error) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		return nil, fmt.Errorf("redis-server not installed: %w", err)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	r := &RedisServer{Addr: Addr(port), dir: dir}
	if err := r.start(); err != nil {
		return nil, err
	}
	return r, nil
}

// StartRedis gives the test its own Redis: a redis-server on a free port
// in t.TempDir() (stopped at cleanup). When redis-server is not installed
// it uses RELAIS_TEST_REDIS_URL if set (the test then owns that database
// and flushes it), else it skips (fails under RELAIS_REQUIRE_SERVICES=1).
// It returns the server (nil for an external URL) and a redis:// URL.
func StartRedis(t testing.TB) (*RedisServer, string) {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if u := os.Getenv("RELAIS_TEST_REDIS_URL"); u != "" {
			opt, err := redis.ParseURL(u)
			if err != nil {
				t.Fatalf("RELAIS_TEST_REDIS_URL: %v", err)
			}
			c := redis.NewClient(opt)
			defer c.Close()
			if err := c.FlushDB(context.Background()).Err(); err != nil {
				t.Fatalf("flush RELAIS_TEST_REDIS_URL: %v", err)
			}
			return nil, u
		}
		Missing(t, "Redis", "redis-server is not installed and RELAIS_TEST_REDIS_URL is unset (apt-get install redis-server)")
	}
	r, err := NewRedisServer(t.TempDir())
	if err != nil {
		t.Fatalf("redis: %v", err)
	}
	t.Cleanup(r.Stop)
	return r, r.URL()
}

func freePort() (int, error) {
	l, err := listenLoopback()
	if err != nil {
		return 0, err
	}
	defer l.Close()
	_, port, err := splitHostPort(l.Addr().String())
	return port, err
}

func tail(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	var lines []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		lines = append(lines, s.Text())
		if len(lines) > 5 {
			lines = lines[1:]
		}
	}
	return fmt.Sprint(lines)
}
