package campaign

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/relais-dev/relais/internal/audience"
	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/render"
	"github.com/relais-dev/relais/internal/segments"
)

// SampleSize is how many recipients validate renders SMS texts for: the
// first ones of the audience file that pass where. Enough to catch a
// name or an attribute that pushes a text over a segment boundary,
// small enough to keep validate instant.
const SampleSize = 20

// sampleScan bounds the rows read to find SampleSize recipients, so a
// narrow where on a million-row file does not make validate read it all.
const sampleScan = 2000

// samplePlaceholderLink stands for .Links.Unsubscribe and .Links.View
// while sampling: validate has no public URL nor ledger row to sign, and a
// placeholder as long as a real signed link keeps the segment count
// honest for texts that carry one.
var samplePlaceholderLink = "https://relais.example/u/" + strings.Repeat("x", 120)

var (
	errSampleFull = errors.New("sample complete")
	errScanDone   = errors.New("scan limit reached")
)

// smsText is one SMS or MMS text template of a step with the position of
// its text: key, where warnings about it point.
type smsText struct {
	step    *Step
	channel string
	tpl     *render.Template
	file    string
	line    int
	col     int
}

// sampleWarnings renders every sms/mms text of sp for the first
// SampleSize recipients of its audience file and warns at the step's
// text: when one of them takes more than sp.Limits.SMSSegments segments,
// or does not render at all. MMS texts are counted too: outside the
// US and Canada Twilio delivers MMS as SMS with a link, billed by
// segment. Audiences from the contact store or a query are not sampled
// (validate touches no database), nor are transactional campaigns,
// whose texts depend on the API payload (.Data) validate does not have.
func (c *checker) sampleWarnings(sp *Spec) []Warning {
	if sp == nil || sp.Purpose == Transactional || sp.Audience.Source != "file" || sp.AudienceHash == "" {
		return nil
	}
	texts := c.smsTexts(sp)
	if len(texts) == 0 {
		return nil
	}
	sample, err := c.sample(context.Background(), sp)
	if err != nil || len(sample) == 0 {
		return nil // the audience's own problems are reported as errors
	}
	limit := sp.Limits.SMSSegments
	if limit <= 0 {
		limit = DefaultSMSSegments
	}
	now := time.Now()
	var out []Warning
	for _, t := range texts {
		worst, worstAt, worstEnc := 0, 0, ""
		for i, ct := range sample {
			d := sampleData(sp, t.step, ct, now)
			text, err := t.tpl.Execute(d)
			if err != nil {
				out = append(out, Warning{File: t.file, Line: t.line, Col: t.col,
					Msg: fmt.Sprintf("step %s: %s text does not render for sample recipient %d: %v", t.step.ID, t.channel, i+1, err)})
				worst = 0
				break
			}
			enc, n := segments.Count(strings.TrimSpace(text))
			if n > worst {
				worst, worstAt, worstEnc = n, i+1, enc
			}
		}
		if worst > limit {
			out = append(out, Warning{File: t.file, Line: t.line, Col: t.col,
				Msg: fmt.Sprintf("step %s: %s renders to %d segments (%s) for sample recipient %d, over %d", t.step.ID, t.channel, worst, worstEnc, worstAt, limit)})
		}
	}
	return out
}

// smsTexts lists the compiled text message templates of sp's steps (the
// channels' short texts), in file order, with the position of their
// text: value.
func (c *checker) smsTexts(sp *Spec) []smsText {
	var out []smsText
	for _, r := range c.pos.texts {
		tpl := sp.Templates[r.rel]
		if r.rel == "" || tpl == nil || r.step >= len(sp.Steps) {
			continue // not compiled: reported as an error
		}
		out = append(out, smsText{step: &sp.Steps[r.step], channel: r.channel, tpl: tpl, file: c.file, line: r.node.Line, col: r.node.Column})
	}
	return out
}

// sample reads the first SampleSize contacts of sp's audience file that
// pass its where expression (top is not applied: it needs the whole file).
func (c *checker) sample(ctx context.Context, sp *Spec) ([]*contact.Contact, error) {
	var m *audience.Mapping
	if sp.Audience.Mapping != "" {
		b, ok := sp.Files[sp.Audience.Mapping]
		if !ok {
			return nil, errors.New("mapping not read")
		}
		var err error
		if m, err = audience.ParseMapping(sp.Audience.Mapping, b); err != nil {
			return nil, fmt.Errorf("audience mapping: %w", err)
		}
	}
	src, err := audience.OpenFile(filepath.Join(sp.Root, filepath.FromSlash(sp.Audience.File)), m)
	if err != nil {
		return nil, fmt.Errorf("audience file: %w", err)
	}
	sel, err := audience.NewSelector(sp.Audience.Where, "", 0)
	if err != nil {
		return nil, fmt.Errorf("audience where: %w", err)
	}
	var out []*contact.Contact
	err = sel.Stream(ctx, headSource{src: src, max: sampleScan}, func(ct *contact.Contact) error {
		out = append(out, ct)
		if len(out) == SampleSize {
			return errSampleFull
		}
		return nil
	})
	if err != nil && !errors.Is(err, errSampleFull) {
		return out, fmt.Errorf("audience sample: %w", err)
	}
	return out, nil
}

// headSource is the first max rows of a Source.
type headSource struct {
	src audience.Source
	max int
}

func (h headSource) Each(ctx context.Context, fn func(*contact.Contact) error) error {
	n := 0
	err := h.src.Each(ctx, func(ct *contact.Contact) error {
		if n == h.max {
			return errScanDone
		}
		n++
		return fn(ct)
	})
	if errors.Is(err, errScanDone) {
		return nil
	}
	return err
}

// sampleData is what a template sees for a sample recipient, shaped as
// the worker's Compose builds it.
func sampleData(sp *Spec, st *Step, ct *contact.Contact, now time.Time) *render.Data {
	return &render.Data{
		Contact:  render.NewContactData(ct),
		Data:     map[string]any{},
		Links:    render.Links{Unsubscribe: samplePlaceholderLink, View: samplePlaceholderLink},
		Campaign: render.CampaignData{ID: sp.ID, Name: sp.Name},
		Step:     render.StepData{ID: st.ID},
		Now:      now,
		Locale:   ct.Locale,
	}
}
