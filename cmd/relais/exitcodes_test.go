package main

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/relais-dev/relais/internal/apikey"
	"github.com/relais-dev/relais/internal/store"
	"github.com/relais-dev/relais/internal/testenv"
)

// Kinds of exit-code case every command is run with: good input, bad
// input, a service it needs unavailable, and an interruption (SIGINT: the
// command's context is cancelled, as main does on the signal).
const (
	kindGood   = "good"
	kindBad    = "bad"
	kindDown   = "down"
	kindSigint = "sigint"
)

var exitKinds = []string{kindGood, kindBad, kindDown, kindSigint}

// exitCase is one run of a command and the exit code it must give.
type exitCase struct {
	kind string
	args []string
	env  map[string]string // added to the project's environment
	code int
	// exec, when set, runs the command instead of a plain c.run (a
	// daemon that has to be stopped, a check against a server).
	exec func(t *testing.T, c *cli, args []string) result
}

// registeredCommands lists the path ("contacts import") of every command
// of the CLI that runs something, from the command tree itself.
func registeredCommands() []string {
	var out []string
	var walk func(c *cobra.Command, prefix string)
	walk = func(c *cobra.Command, prefix string) {
		for _, s := range c.Commands() {
			p := strings.TrimSpace(prefix + " " + s.Name())
			if s.Runnable() {
				out = append(out, p)
			}
			walk(s, p)
		}
	}
	walk((&app{}).rootCmd(), "")
	slices.Sort(out)
	return out
}

// TestExitCodes runs every command of the CLI with good input, bad input,
// an unavailable service (a database and a Redis on a closed loopback
// port, an unreachable mailbox or daemon) and an interruption, and checks
// the one exit-code table: 0 done, 1 user error, 2 internal or
// unavailable, 130 interrupted; errors go to stderr, never stdout. A
// command added to the CLI without its rows here fails the test; a kind
// that does not apply to a command says why in notApplicable.
func TestExitCodes(t *testing.T) {
	dir := project(t)
	ctx := context.Background()
	if err := os.WriteFile("bad.yaml", []byte("id: x\nname: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	closed := testenv.FreePort(t) // nothing listens there
	closedAddr := fmt.Sprintf("127.0.0.1:%d", closed)
	down := map[string]string{
		"RELAIS_DATABASE_URL": fmt.Sprintf("postgres://relais@%s/relais?connect_timeout=2", closedAddr),
		"RELAIS_REDIS_URL":    fmt.Sprintf("redis://%s/0", closedAddr),
		"RELAIS_SECRET":       "test-secret-0123456789abcdef",
	}
	_, redisURL := testenv.StartRedis(t)
	withRedis := map[string]string{"RELAIS_REDIS_URL": redisURL, "RELAIS_SECRET": "test-secret-0123456789abcdef"}
	mailbox := testenv.StartIMAP(t)
	healthy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
		}
	}))
	defer healthy.Close()
	healthyAddr := strings.TrimPrefix(healthy.URL, "http://")
	const camp = "campaigns/printemps-2027.yaml"
	out := t.TempDir()

	// The project has contacts, a finished run 1, an API key and a
	// dashboard session, and is a git checkout (review compares with its
	// history).
	c := &cli{t: t, env: map[string]string{}}
	c.mustRun(ctx, "contacts", "import", "samples/clients.csv")
	c.mustRun(ctx, "run", camp, "--wait")
	var created struct{ Key string }
	if err := json.Unmarshal([]byte(c.mustRun(ctx, "apikey", "create", "ci", "--scope", "reports", "--json").stdout), &created); err != nil {
		t.Fatal(err)
	}
	keyID, _ := apikey.ID(created.Key)
	// The session belongs to another key: revoking keyID ends its sessions.
	if err := json.Unmarshal([]byte(c.mustRun(ctx, "apikey", "create", "dashboard", "--scope", "reports", "--json").stdout), &created); err != nil {
		t.Fatal(err)
	}
	sessionKey, _ := apikey.ID(created.Key)
	now := time.Now()
	sessionID := fmt.Sprintf("%x", sha256.Sum256([]byte("a browser's token"))) // as the dashboard stores it
	if err := openStore(t, "sqlite:"+filepath.Join(dir, "var", "relais.db")).CreateSession(ctx, store.Session{ID: sessionID, KeyID: sessionKey,
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour), IdleExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	// A proof of the campaign's version, for approve.
	var proofs []struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal([]byte(c.mustRun(ctx, "proof", camp, "--to", "bat@dupont.example", "--json").stdout), &proofs); err != nil || len(proofs) == 0 {
		t.Fatalf("proof --json: %v (%d proofs)", err, len(proofs))
	}
	version := proofs[0].Version
	writeFile(t, ".gitignore", "var/\n")
	gitRun(t, "init", "-q", "-b", "main")
	commitAll(t, "campaigns")

	// serve runs until it answers /healthz, then gets SIGINT: a daemon's
	// graceful stop on a signal is its normal end (exit 0).
	serveUntilReady := func(t *testing.T, c *cli, args []string) result {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		port := testenv.FreePort(t)
		sc := &cli{t: t, env: map[string]string{"RELAIS_HTTP_ADDR": fmt.Sprintf("127.0.0.1:%d", port)}}
		for k, v := range c.env {
			sc.env[k] = v
		}
		done := make(chan result, 1)
		go func() { done <- sc.run(ctx, args...) }()
		testenv.WaitFor(t, "serve answering /healthz", 20*time.Second, func() bool {
			select {
			case r := <-done:
				done <- r
				return true // ended early: reported below
			default:
			}
			resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/healthz", port))
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		})
		cancel()
		return <-done
	}
	// doctor looks DNS up: with every record a sending domain needs it
	// passes, without DMARC it fails, offline it warns.
	doctorWith := func(r fakeResolver) func(t *testing.T, c *cli, args []string) result {
		return func(t *testing.T, c *cli, args []string) result {
			useResolver(t, r)
			return c.run(context.Background(), args...)
		}
	}
	dns := fakeResolver{
		txt: map[string][]string{
			"dupont.example":        {"v=spf1 mx ~all"},
			"_dmarc.dupont.example": {"v=DMARC1; p=quarantine; rua=mailto:dmarc@dupont.example"},
		},
		mx: map[string][]*net.MX{"dupont.example": {{Host: "mx.dupont.example.", Pref: 10}}},
	}
	noDMARC := fakeResolver{txt: map[string][]string{"dupont.example": {"v=spf1 mx ~all"}}, mx: dns.mx}

	good := func(args ...string) exitCase { return exitCase{kind: kindGood, args: args, code: 0} }
	bad := func(args ...string) exitCase { return exitCase{kind: kindBad, args: args, code: 1} }
	dbDown := func(args ...string) exitCase { return exitCase{kind: kindDown, args: args, env: down, code: 2} }
	sigint := func(args ...string) exitCase { return exitCase{kind: kindSigint, args: args, code: 130} }

	cases := map[string][]exitCase{
		"apikey create": {good("apikey", "create", "ops", "--scope", "admin"), bad("apikey", "create", "ops"),
			dbDown("apikey", "create", "ops", "--scope", "admin"), sigint("apikey", "create", "ops", "--scope", "admin")},
		"apikey list": {good("apikey", "list"), bad("apikey", "list", "extra"), dbDown("apikey", "list"), sigint("apikey", "list")},
		"apikey revoke": {good("apikey", "revoke", keyID), bad("apikey", "revoke", "nope"), dbDown("apikey", "revoke", keyID),
			sigint("apikey", "revoke", keyID)},
		"bounces poll": {
			{kind: kindGood, args: []string{"bounces", "poll"}, env: map[string]string{"RELAIS_BOUNCE_MAILBOX": mailbox.URL()}},
			bad("bounces", "poll"), // no mailbox configured
			{kind: kindDown, args: []string{"bounces", "poll"}, env: map[string]string{"RELAIS_BOUNCE_MAILBOX": "imap://u:p@" + closedAddr + "/INBOX"}, code: 2},
			{kind: kindSigint, args: []string{"bounces", "poll"}, env: map[string]string{"RELAIS_BOUNCE_MAILBOX": mailbox.URL()}, code: 130},
		},
		"approve": {good("approve", camp, "--version", version, "--by", "Claire"), bad("approve", camp, "--version", "00000000", "--by", "Claire"),
			dbDown("approve", camp, "--version", version, "--by", "Claire"), sigint("approve", camp, "--version", version, "--by", "Claire")},
		"channels": {good("channels"), bad("channels", "extra"), dbDown("channels"), sigint("channels")},
		"proof": {good("proof", camp, "--to", "bat@dupont.example"), bad("proof", camp, "--to", "not-an-address"),
			dbDown("proof", camp, "--to", "bat@dupont.example"), sigint("proof", camp, "--to", "bat@dupont.example")},
		"resume-channel": {good("resume-channel", "email"), bad("resume-channel", "fax"), dbDown("resume-channel", "email"),
			sigint("resume-channel", "email")},
		"cancel":       {good("cancel", "1"), bad("cancel", "999"), dbDown("cancel", "1"), sigint("cancel", "1")},
		"consent set":  {good("consent", "set", "C005", "--channel", "sms", "--refused"), bad("consent", "set", "C005"), dbDown("consent", "set", "C005", "--channel", "sms", "--refused"), sigint("consent", "set", "C005", "--channel", "sms", "--refused")},
		"consent show": {good("consent", "show", "C001"), bad("consent", "show", "C999"), dbDown("consent", "show", "C001"), sigint("consent", "show", "C001")},
		"contacts export": {good("contacts", "export", "C001"), bad("contacts", "export", "C999"), dbDown("contacts", "export", "C001"),
			sigint("contacts", "export", "C001")},
		"contacts forget": {good("contacts", "forget", "C004"), bad("contacts", "forget", "C999"), dbDown("contacts", "forget", "C004"),
			sigint("contacts", "forget", "C004")},
		"contacts import": {good("contacts", "import", "samples/clients.csv"), bad("contacts", "import", "nope.csv"),
			dbDown("contacts", "import", "samples/clients.csv"), sigint("contacts", "import", "samples/clients.csv")},
		"contacts retention": {good("contacts", "retention", "--dry-run"), bad("contacts", "retention", "--older-than", "x"),
			dbDown("contacts", "retention", "--dry-run"), sigint("contacts", "retention", "--dry-run")},
		"doctor": {
			{kind: kindGood, args: []string{"doctor"}, exec: doctorWith(dns)},
			{kind: kindBad, args: []string{"doctor"}, code: 1, exec: doctorWith(noDMARC)},
			{kind: kindSigint, args: []string{"doctor"}, code: 130},
		},
		"held":         {good("held", "1"), bad("held", "one"), dbDown("held", "1"), sigint("held", "1")},
		"held release": {{kind: kindGood, args: []string{"held", "release", "1", "--all"}, env: withRedis}, bad("held", "release", "1", "--all"), dbDown("held", "release", "1", "--all"), {kind: kindSigint, args: []string{"held", "release", "1", "--all"}, env: withRedis, code: 130}},
		"held settle": {good("held", "settle", "1", "--failed", "--all", "--note", "checked"), bad("held", "settle", "1"),
			dbDown("held", "settle", "1", "--failed", "--all", "--note", "checked"), sigint("held", "settle", "1", "--failed", "--all", "--note", "checked")},
		"migrate": {good("migrate"), bad("migrate", "extra"), dbDown("migrate"), sigint("migrate")},
		"pause":   {good("pause", "1"), bad("pause", "999"), dbDown("pause", "1"), sigint("pause", "1")},
		"plan":    {good("plan", camp), bad("plan", "bad.yaml"), dbDown("plan", camp), sigint("plan", camp)},
		"preview": {good("preview", camp, "--contact", "C001", "--out", out), bad("preview", camp, "--contact", "C999", "--out", out),
			dbDown("preview", camp, "--contact", "C001", "--out", out), sigint("preview", camp, "--contact", "C001", "--out", out)},
		"probe": {
			{kind: kindGood, args: []string{"probe"}, env: map[string]string{"RELAIS_HTTP_ADDR": healthyAddr}},
			{kind: kindBad, args: []string{"probe", "--ops"}, code: 1}, // no ops_addr configured
			{kind: kindDown, args: []string{"probe"}, env: map[string]string{"RELAIS_HTTP_ADDR": closedAddr}, code: 2},
			{kind: kindSigint, args: []string{"probe"}, env: map[string]string{"RELAIS_HTTP_ADDR": healthyAddr}, code: 130},
		},
		"recover": {{kind: kindGood, args: []string{"recover"}, env: withRedis}, bad("recover"), dbDown("recover"),
			{kind: kindSigint, args: []string{"recover"}, env: withRedis, code: 130}},
		"register": {good("register"), bad("register", "--lang", "xx")},
		"report":   {good("report", "printemps-2027"), bad("report", "nope"), dbDown("report", "printemps-2027"), sigint("report", "printemps-2027")},
		"resume":   {good("resume", "1"), bad("resume", "999"), dbDown("resume", "1"), sigint("resume", "1")},
		"review":   {good("review"), bad("review", "--base", "nope"), sigint("review")},
		"run": {good("run", camp, "--wait"), bad("run", "bad.yaml"), dbDown("run", camp),
			sigint("run", camp, "--wait", "--run-key", "k2")},
		"serve": {
			{kind: kindGood, args: []string{"serve"}, exec: serveUntilReady},
			bad("serve", "--roles", "nope"),
			{kind: kindDown, args: []string{"serve"}, env: down, code: 2},
			sigint("serve"),
		},
		"sessions": {good("sessions"), bad("sessions", "extra"), dbDown("sessions"), sigint("sessions")},
		"sessions revoke": {good("sessions", "revoke", sessionID[:8]), bad("sessions", "revoke", sessionID[:8]), // ended already
			dbDown("sessions", "revoke", sessionID[:8]), sigint("sessions", "revoke", sessionID[:8])},
		"show":     {good("show", "1"), bad("show", "999"), dbDown("show", "1"), sigint("show", "1")},
		"simulate": {good("simulate", camp, "--from", "2027-03-20", "--days", "1"), bad("simulate", camp, "--days", "0"), dbDown("simulate", camp, "--from", "2027-03-20", "--days", "1"), sigint("simulate", camp, "--from", "2027-03-20", "--days", "1")},
		"status":   {good("status"), bad("status", "999"), dbDown("status"), sigint("status")},
		"validate": {good("validate"), bad("validate", "bad.yaml"), sigint("validate")},
		"version":  {good("version"), bad("version", "extra")},
	}
	// notApplicable says why a kind of case does not apply to a command.
	notApplicable := map[string]map[string]string{
		"doctor":   {kindDown: "a DNS lookup that fails for another reason than a missing record is a warning, by design (exit 0)"},
		"register": {kindDown: "reads the campaign files and the configuration only", kindSigint: "reads a few files and returns at once"},
		"review":   {kindDown: "reads git and the campaign files only"},
		"validate": {kindDown: "reads the campaign files only"},
		"version":  {kindDown: "uses no service", kindSigint: "prints build information and returns at once"},
	}

	// Every registered command has a case of every kind, or a reason.
	registered := registeredCommands()
	for _, name := range registered {
		for _, k := range exitKinds {
			has := slices.ContainsFunc(cases[name], func(e exitCase) bool { return e.kind == k })
			if !has && notApplicable[name][k] == "" {
				t.Errorf("command %q has no %s exit-code case (add one, or say in notApplicable why it does not apply)", name, k)
			}
			if has && notApplicable[name][k] != "" {
				t.Errorf("command %q has a %s exit-code case and a reason why it does not apply", name, k)
			}
		}
	}
	for name := range cases {
		if !slices.Contains(registered, name) {
			t.Errorf("exit-code cases for %q, which is not a command", name)
		}
	}

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, name := range registered {
		for _, tc := range cases[name] {
			t.Run(name+"/"+tc.kind, func(t *testing.T) {
				c := &cli{t: t, env: map[string]string{}}
				for k, v := range tc.env {
					c.env[k] = v
				}
				var r result
				switch {
				case tc.exec != nil:
					r = tc.exec(t, c, tc.args)
				case tc.kind == kindSigint:
					r = c.run(cancelled, tc.args...)
				default:
					r = c.run(context.Background(), tc.args...)
				}
				checkExit(t, tc.args, r, tc.code)
			})
		}
	}

	// The CLI itself: a mistyped command, an unknown flag, a bad setting.
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
	}{
		{"unknown command", nil, []string{"statu"}},
		{"bad flag", nil, []string{"status", "--nope"}},
		{"bad configuration", map[string]string{"RELAIS_CONCURRENCY": "many"}, []string{"status"}},
	} {
		t.Run("cli/"+tc.name, func(t *testing.T) {
			c := &cli{t: t, env: tc.env}
			if c.env == nil {
				c.env = map[string]string{}
			}
			checkExit(t, tc.args, c.run(context.Background(), tc.args...), 1)
		})
	}

	// Ctrl-C while `run --wait` sends: exit 130 and the command to
	// resume; resuming says how many sends are left, not the audience.
	t.Run("run interrupted while sending", func(t *testing.T) {
		smtp := testenv.StartSMTP(t)
		entered, release := smtp.HoldData()
		defer release()
		env := map[string]string{"RELAIS_SMTP_URL": smtp.URL(), "RELAIS_SECRET": "test-secret-0123456789abcdef", "RELAIS_CONCURRENCY": "1"}
		c := &cli{t: t, env: env}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := make(chan result, 1)
		go func() {
			done <- c.run(ctx, "run", camp, "--wait", "--run-key", "k3", "--resend", "--reason", "interrupt test")
		}()
		select {
		case <-entered:
		case r := <-done:
			t.Fatalf("run ended before sending: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		cancel()
		release()
		r := <-done
		if r.code != 130 || !strings.Contains(r.stderr, "Resume with:\n  relais run "+camp+" --wait --run-key k3") || strings.Contains(r.stderr, "context canceled") {
			t.Fatalf("interrupted run: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
		var st struct {
			Run struct {
				ID int64 `json:"id"`
			} `json:"run"`
			Counts map[string]int `json:"counts"`
		}
		id := runIDOf(t, r.stdout)
		decodeJSON(t, c.mustRun(context.Background(), "status", id, "--json").stdout, &st)
		left, all := store.Due(st.Counts)+st.Counts[string(store.Deferred)], 0
		for _, s := range store.States {
			all += st.Counts[string(s)]
		}
		if left == 0 {
			t.Fatalf("nothing left after the interruption: %v", st.Counts)
		}
		resumed := c.mustRun(context.Background(), "run", camp, "--wait", "--run-key", "k3", "--resend", "--reason", "interrupt test")
		want := fmt.Sprintf("run %s resumed: campaign printemps-2027, key k3, %d left to send (%d of %d sends already settled)", id, left, all-left, all)
		if !strings.Contains(resumed.stdout, want) {
			t.Errorf("resume output lacks %q:\n%s", want, resumed.stdout)
		}
	})
}

// checkExit checks a command's exit code and that an error went to stderr.
func checkExit(t *testing.T, args []string, r result, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("relais %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, code, r.stdout, r.stderr)
	}
	if code != 0 && (strings.TrimSpace(r.stderr) == "" || strings.Contains(r.stdout, "relais:")) {
		t.Errorf("relais %s: the error is not on stderr\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.stdout, r.stderr)
	}
}

// runIDOf reads the run id from `run`'s first line ("run 2 started: …").
func runIDOf(t *testing.T, stdout string) string {
	t.Helper()
	f := strings.Fields(stdout)
	if len(f) < 2 || f[0] != "run" {
		t.Fatalf("no run id in:\n%s", stdout)
	}
	return f[1]
}
