package main

import (
	"bytes"
	"context"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// project copies the example campaign, templates and sample audience into
// a temp dir and makes it the working directory (relais' paths are
// relative to it, as in a user's campaign repository).
func project(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"campaigns", "templates", "samples"} {
		copyDir(t, filepath.Join("..", "..", d), filepath.Join(dir, d))
	}
	t.Chdir(dir)
	return dir
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// cli runs the relais CLI in-process with env as its whole environment.
type cli struct {
	t   *testing.T
	env map[string]string
	// plugins are channels added to the built-in ones.
	plugins []channelPlugin
}

type result struct {
	code           int
	stdout, stderr string
}

func (c *cli) run(ctx context.Context, args ...string) result {
	c.t.Helper()
	var out, errb syncBuffer
	err := runWith(ctx, c.plugins, args, func(k string) string { return c.env[k] }, &out, &errb)
	code := exitCode(err, &errb)
	return result{code, out.String(), errb.String()}
}

func (c *cli) mustRun(ctx context.Context, args ...string) result {
	c.t.Helper()
	r := c.run(ctx, args...)
	if r.code != 0 {
		c.t.Fatalf("relais %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// syncBuffer is a bytes.Buffer safe for the logger and the CLI together.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// parsedMail is an email split into what tests check.
type parsedMail struct {
	Header      mail.Header
	Subject     string
	Text, HTML  string
	Attachments []string
}

func parseMail(t *testing.T, raw []byte) parsedMail {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("parse message: %v", err)
	}
	var dec mime.WordDecoder
	subj, err := dec.DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		t.Fatalf("subject: %v", err)
	}
	p := parsedMail{Header: m.Header, Subject: subj}
	walkParts(t, m.Header.Get("Content-Type"), m.Header.Get("Content-Transfer-Encoding"), m.Body, &p)
	return p
}

func walkParts(t *testing.T, ctype, cte string, body io.Reader, p *parsedMail) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		t.Fatalf("content type %q: %v", ctype, err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		r := multipart.NewReader(body, params["boundary"])
		for {
			part, err := r.NextRawPart()
			if err == io.EOF {
				return
			}
			if err != nil {
				t.Fatalf("multipart: %v", err)
			}
			if fn := part.FileName(); fn != "" {
				p.Attachments = append(p.Attachments, fn)
				continue
			}
			walkParts(t, part.Header.Get("Content-Type"), part.Header.Get("Content-Transfer-Encoding"), part, p)
		}
	}
	b := decodeBody(t, cte, body)
	switch mt {
	case "text/plain":
		p.Text = b
	case "text/html":
		p.HTML = b
	}
}
