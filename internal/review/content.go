package review

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/channel"
	"github.com/relais-dev/relais/internal/channel/print"
	"github.com/relais-dev/relais/internal/compose"
	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/postal"
	"github.com/relais-dev/relais/internal/scheduler"
)

// Preview is one rendered message for a sample recipient.
type Preview struct {
	Step    string `json:"step"`
	Channel string `json:"channel"`
	Sample  int    `json:"sample"` // 1-based, within the channel's samples
	Subject string `json:"subject,omitempty"`
	Text    string `json:"text"`
	// Image is the first page of a letter as PNG, relative to the output
	// folder; Note says why there is none.
	Image string `json:"image,omitempty"`
	Note  string `json:"note,omitempty"`
	Error string `json:"error,omitempty"`
	// Changed is set when the base version rendered differently (or not).
	Changed bool `json:"changed"`
}

// excerptLen bounds the text shown of an email or a letter.
const excerptLen = 400

// PreviewOptions say where letter images go (empty: none are made).
type PreviewOptions struct {
	OutDir string
	Layout postal.Layout
	Now    time.Time
	// Channels compose the messages (nil: the built-in channels).
	Channels *channel.Registry
}

// Previews renders each step of sp for the sample recipients of each
// channel (the same people for both versions of a campaign, so that a
// changed preview means a changed message).
func Previews(ctx context.Context, sp *campaign.Spec, samples map[string][]*contact.Contact, o PreviewOptions) []Preview {
	var out []Preview
	comp := compose.NewComposer()
	comp.Channels = o.Channels
	for i := range sp.Steps {
		st := &sp.Steps[i]
		for _, ch := range sp.ChannelsFor(st) {
			for n, c := range samples[ch] {
				pv := Preview{Step: st.ID, Channel: ch, Sample: n + 1}
				m, err := comp.Compose(compose.Input{Spec: sp, Step: st, Channel: ch, Contact: c, Now: o.Now, Links: placeholderLinks,
					LedgerID: fmt.Sprintf("%s-%s-%s-%d", sp.ID, st.ID, ch, n+1)})
				if err != nil {
					pv.Error = err.Error()
					out = append(out, pv)
					continue
				}
				pv.Subject = m.Subject
				switch ch {
				case "email", "print":
					pv.Text = excerpt(m.Text)
				default:
					pv.Text = m.Text
				}
				if ch == "print" {
					pv.Image, pv.Note = letterImage(ctx, m, o)
				}
				out = append(out, pv)
			}
		}
	}
	return out
}

func excerpt(s string) string {
	s = strings.TrimSpace(s)
	if r := []rune(s); len(r) > excerptLen {
		return string(r[:excerptLen]) + "…"
	}
	return s
}

// letterImage renders the letter's first page as PNG with pdftoppm,
// when it is installed and an output folder was given.
func letterImage(ctx context.Context, m *channel.Message, o PreviewOptions) (string, string) {
	if o.OutDir == "" {
		return "", "first page not rendered: no output folder (--out)"
	}
	bin, err := exec.LookPath("pdftoppm")
	if err != nil {
		return "", "first page not rendered: pdftoppm is not installed"
	}
	var pdf bytes.Buffer
	if err := print.RenderOne(ctx, m, o.Layout, &pdf); err != nil {
		return "", "letter not rendered: " + err.Error()
	}
	if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
		return "", err.Error()
	}
	name := safeName(m.LedgerID)
	pdfPath := filepath.Join(o.OutDir, name+".pdf")
	if err := os.WriteFile(pdfPath, pdf.Bytes(), 0o644); err != nil {
		return "", err.Error()
	}
	cmd := exec.CommandContext(ctx, bin, "-png", "-f", "1", "-l", "1", "-r", "60", "-singlefile", pdfPath, filepath.Join(o.OutDir, name))
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Sprintf("pdftoppm failed: %v %s", err, strings.TrimSpace(string(b)))
	}
	return name + ".png", ""
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func safeName(s string) string { return unsafeChars.ReplaceAllString(s, "_") }

// Firings are the next times a scheduled campaign starts, in its zone.
func Firings(sp *campaign.Spec, from time.Time, n int) ([]time.Time, error) {
	if sp.Schedule == nil || sp.Schedule.Cron == "" {
		return nil, nil
	}
	s, err := scheduler.ParseSchedule(*sp.Schedule)
	if err != nil {
		return nil, err
	}
	var out []time.Time
	t := from
	for range n {
		t = s.Next(t)
		if t.IsZero() {
			break
		}
		out = append(out, t)
	}
	return out, nil
}

// urlRe finds absolute http(s) links in template sources.
var urlRe = regexp.MustCompile(`https?://[^\s"'<>)\]{}]+`)

// Hosts returns, per step id, the link hosts its templates contain (the
// tracking links relais adds itself are not in templates).
func Hosts(sp *campaign.Spec) map[string][]string {
	out := map[string][]string{}
	for _, st := range sp.Steps {
		set := map[string]bool{}
		for _, path := range stepFiles(&st) {
			for _, u := range urlRe.FindAllString(string(sp.Files[path]), -1) {
				if pu, err := url.Parse(u); err == nil && pu.Host != "" {
					set[strings.ToLower(pu.Host)] = true
				}
			}
		}
		if em := emailOf(&st); em != nil {
			for _, u := range urlRe.FindAllString(em.Subject, -1) {
				if pu, err := url.Parse(u); err == nil && pu.Host != "" {
					set[strings.ToLower(pu.Host)] = true
				}
			}
		}
		hosts := make([]string, 0, len(set))
		for h := range set {
			hosts = append(hosts, h)
		}
		sort.Strings(hosts)
		out[st.ID] = hosts
	}
	return out
}

// stepFiles are the template paths of a step (relative to the root).
func stepFiles(st *campaign.Step) []string {
	var out []string
	add := func(p string) {
		if p != "" {
			out = append(out, p)
		}
	}
	if em := emailOf(st); em != nil {
		add(em.HTML)
		add(em.Text)
	}
	for _, ch := range []string{"sms", "mms"} {
		if tc := textOf(st, ch); tc != nil {
			add(tc.Text)
		}
	}
	if lt := letterOf(st); lt != nil {
		add(lt.Letter)
	}
	return out
}

// LinkChange is the hosts a step links to that were added or removed.
type LinkChange struct {
	Step    string   `json:"step"`
	Hosts   []string `json:"hosts"`
	Added   []string `json:"added"`
	Removed []string `json:"removed"`
}

// CompareLinks compares the link hosts of each step of head with base's.
func CompareLinks(base, head *campaign.Spec) []LinkChange {
	hh := Hosts(head)
	bh := map[string][]string{}
	if base != nil {
		bh = Hosts(base)
	}
	var out []LinkChange
	for _, st := range head.Steps {
		lc := LinkChange{Step: st.ID, Hosts: hh[st.ID], Added: diff(hh[st.ID], bh[st.ID]), Removed: diff(bh[st.ID], hh[st.ID])}
		out = append(out, lc)
	}
	return out
}

// diff returns the elements of a not in b.
func diff(a, b []string) []string {
	out := []string{}
	for _, x := range a {
		found := false
		for _, y := range b {
			found = found || x == y
		}
		if !found {
			out = append(out, x)
		}
	}
	return out
}
