package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/testenv"
)

// scaleOutRecipients is the audience of TestScaleOutWorkersWithoutCheckout.
const scaleOutRecipients = 20000

// daemon is a `relais serve` process started by a test.
type daemon struct {
	cmd *exec.Cmd
	log *syncBuffer
}

// startDaemon starts bin with args in dir with env as its environment;
// the process is stopped with SIGTERM when the test ends.
func startDaemon(t *testing.T, bin, dir string, env map[string]string, args ...string) *daemon {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.SysProcAttr = childAttr()
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	d := &daemon{cmd: cmd, log: &syncBuffer{}}
	cmd.Stderr, cmd.Stdout = d.log, d.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	return d
}

// mailTally counts what the SMTP server accepted per recipient and per
// subject, keeping no message.
type mailTally struct {
	mu        sync.Mutex
	perRcpt   map[string]int
	bySubject map[string]int
}

func (m *mailTally) accept(msg testenv.ReceivedMessage) {
	subj := ""
	if parsed, err := mail.ReadMessage(bytes.NewReader(msg.Data)); err == nil {
		subj, _ = new(mime.WordDecoder).DecodeHeader(parsed.Header.Get("Subject"))
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, to := range msg.To {
		m.perRcpt[to]++
	}
	// The first name varies; the rest of the subject is the version.
	_, rest, _ := strings.Cut(subj, ",")
	m.bySubject[rest]++
}

// TestScaleOutWorkersWithoutCheckout runs one API + scheduler process and
// three worker processes started in empty folders (no campaigns, no
// templates) against one Redis and one PostgreSQL database: a run started
// from the campaigns folder is delivered exactly once, loaded by the
// workers from the version stored in the database; after the campaign
// file changes, a second run sends the new version.
func TestScaleOutWorkersWithoutCheckout(t *testing.T) {
	if testing.Short() {
		t.Skip("delivers tens of thousands of messages through four processes")
	}
	bin := buildRelais(t) // before project() changes the working directory
	dir := project(t)
	writeAudience(t, filepath.Join(dir, "samples", "clients.csv"), scaleOutRecipients)
	campaignFile := filepath.Join(dir, "campaigns", "printemps-2027.yaml")
	editFile(t, campaignFile, "email: 50/s, ", "") // the example's rate limit would make this test take minutes
	dbURL := testenv.PostgresURL(t)
	_, redisURL := testenv.StartRedis(t)
	tally := &mailTally{perRcpt: map[string]int{}, bySubject: map[string]int{}}
	smtp := testenv.StartSMTPWith(t, testenv.SMTPOptions{Discard: true, OnAccept: tally.accept})
	addr := testenv.Addr(testenv.FreePort(t))
	env := map[string]string{
		"RELAIS_REDIS_URL":    redisURL,
		"RELAIS_DATABASE_URL": dbURL,
		"RELAIS_SMTP_URL":     smtp.URL(),
		"RELAIS_SECRET":       "test-secret-0123456789abcdef",
		"RELAIS_HTTP_ADDR":    addr,
		"RELAIS_CONCURRENCY":  "16",
		"RELAIS_LOG_LEVEL":    "warn",
	}
	api := startDaemon(t, bin, dir, env, "serve", "--roles", "api,scheduler")
	var workers []*daemon
	for range 3 {
		workers = append(workers, startDaemon(t, bin, t.TempDir(), env, "serve", "--roles", "worker"))
	}
	waitReady(t, "http://"+addr+"/readyz", api)

	c := &cli{t: t, env: env}
	ctx := context.Background()
	logs := func() string {
		var b strings.Builder
		fmt.Fprintf(&b, "api:\n%s\n", api.log)
		for i, w := range workers {
			fmt.Fprintf(&b, "worker %d:\n%s\n", i+1, w.log)
		}
		return b.String()
	}
	deliver := func(wantTotal int, extra ...string) int64 {
		t.Helper()
		start := time.Now()
		var res struct {
			Run struct {
				ID int64 `json:"id"`
			} `json:"run"`
			Planned int `json:"planned"`
		}
		out := c.mustRun(ctx, append([]string{"run", "campaigns/printemps-2027.yaml", "--json"}, extra...)...)
		if err := json.Unmarshal([]byte(out.stdout), &res); err != nil {
			t.Fatalf("run --json: %v\n%s", err, out.stdout)
		}
		if res.Planned != scaleOutRecipients {
			t.Fatalf("planned %d, want %d", res.Planned, scaleOutRecipients)
		}
		if !smtp.WaitFor(wantTotal, 10*time.Minute) {
			t.Fatalf("%d messages accepted, want %d\n%s", smtp.Count(), wantTotal, logs())
		}
		waitRunDone(t, c, res.Run.ID)
		t.Logf("run %d: %d messages through 3 workers in %s", res.Run.ID, scaleOutRecipients, time.Since(start).Round(time.Millisecond))
		return res.Run.ID
	}

	deliver(scaleOutRecipients)
	editFile(t, campaignFile, "le printemps arrive", "les nouveautés du printemps")
	// Each person gets a step once per campaign: the new version goes to
	// everyone again only when asked.
	deliver(2*scaleOutRecipients, "--resend", "--reason", "new subject")

	if got := smtp.Count(); got != 2*scaleOutRecipients {
		t.Fatalf("SMTP server accepted %d messages, want %d", got, 2*scaleOutRecipients)
	}
	tally.mu.Lock()
	defer tally.mu.Unlock()
	if len(tally.perRcpt) != scaleOutRecipients {
		t.Errorf("%d recipients, want %d", len(tally.perRcpt), scaleOutRecipients)
	}
	for to, k := range tally.perRcpt {
		if k != 2 {
			t.Errorf("%s received %d messages, want one per run", to, k)
		}
	}
	want := map[string]int{
		" le printemps arrive chez Maison Dupont":         scaleOutRecipients,
		" les nouveautés du printemps chez Maison Dupont": scaleOutRecipients,
	}
	if fmt.Sprint(tally.bySubject) != fmt.Sprint(want) {
		t.Errorf("messages by subject %v, want %v", tally.bySubject, want)
	}
}

// editFile replaces old by new in the file at path, which must contain it.
func editFile(t *testing.T, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("%s does not contain %q", path, old)
	}
	if err := os.WriteFile(path, bytes.Replace(b, []byte(old), []byte(new), 1), 0o644); err != nil {
		t.Fatal(err)
	}
}

// waitReady waits until url answers 200, failing with d's log when d
// exits or a minute passes.
func waitReady(t *testing.T, url string, d *daemon) {
	t.Helper()
	testenv.WaitFor(t, url+" to answer 200", time.Minute, func() bool {
		if d.cmd.ProcessState != nil {
			t.Fatalf("%s: the process ended\n%s", url, d.log)
		}
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// waitRunDone waits until run id has no pending row and every recipient
// of the scale-out test accepted.
func waitRunDone(t *testing.T, c *cli, id int64) { waitRunDoneN(t, c, id, scaleOutRecipients) }

// errPending says a run still has rows to send.
var errPending = errors.New("rows pending")

// waitRunState polls `relais status RUN --json` until check returns
// anything but errPending (failing the test on an error), for at most
// five minutes.
func waitRunState(t *testing.T, c *cli, id int64, check func(counts map[string]int, pending int) error) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	for {
		var st struct {
			Counts  map[string]int `json:"counts"`
			Pending int            `json:"pending"`
		}
		r := c.mustRun(context.Background(), "status", fmt.Sprint(id), "--json")
		if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
			t.Fatalf("status: %v\n%s", err, r.stdout)
		}
		err := check(st.Counts, st.Pending)
		if err == nil {
			return
		}
		if !errors.Is(err, errPending) {
			t.Fatalf("run %d: %v", id, err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %d still has %d pending rows: %v", id, st.Pending, st.Counts)
		}
		time.Sleep(200 * time.Millisecond) // each look runs the CLI: not every 10 ms
	}
}
