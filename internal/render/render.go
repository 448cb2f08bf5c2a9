// Package render compiles and executes message templates (email HTML and
// text, SMS, letters, subject lines) with a small set of safe, locale-aware
// functions, and derives plain text from HTML.
package render

import (
	"errors"
	htmltemplate "html/template"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	texttemplate "text/template"
	"text/template/parse"
	"time"

	"golang.org/x/text/language"
)

// Kind selects the escaping of a template.
type Kind int

const (
	// HTML templates escape data by context (html/template), for email bodies.
	HTML Kind = iota
	// Text templates do not escape (text/template): subjects, SMS, letters.
	Text
)

// Default execution bounds. A template is user content reviewed in pull
// requests, not trusted code: a mistake must not fill the memory or hang a
// worker.
const (
	DefaultMaxOutput = 1 << 20
	DefaultTimeout   = 200 * time.Millisecond
)

var budgetNanos atomic.Int64

// SetBudget sets the time budget of rendering one message for templates
// parsed afterwards (the render_timeout setting); d <= 0 restores
// DefaultTimeout. It is process-wide because every template of a process
// answers to the same operator setting.
func SetBudget(d time.Duration) {
	if d <= 0 {
		d = DefaultTimeout
	}
	budgetNanos.Store(int64(d))
}

// Budget returns the time budget SetBudget set (DefaultTimeout before).
func Budget() time.Duration {
	if n := budgetNanos.Load(); n > 0 {
		return time.Duration(n)
	}
	return DefaultTimeout
}

// ErrOutputTooLarge is returned by Execute when the output exceeds the
// template's MaxOutput.
var ErrOutputTooLarge = errors.New("template output too large")

// ErrTimeout is returned by Execute when rendering ran past the template's
// Timeout.
var ErrTimeout = errors.New("template execution timed out")

// Template is a compiled template. It is safe for concurrent use; the
// bound fields must be set before the first Execute.
type Template struct {
	name  string
	kind  Kind
	src   string
	tree  *texttemplate.Template // parsed once, walked by Fields; never executed
	hosts []string               // LinkHosts

	// MaxOutput bounds the rendered size in bytes (DefaultMaxOutput).
	MaxOutput int
	// Timeout bounds the rendering time, checked at every write and every
	// range iteration (Budget() when parsed).
	Timeout time.Duration

	mu     sync.Mutex
	base   executor            // pristine, never executed, so it can be cloned
	clones map[string]executor // per base language, funcs bound to it
	// byLocale is clones by the locale string as given, so that a
	// locale is parsed once, not on every execution.
	byLocale map[string]executor
	// lastLen is the length of the latest output, the size the next
	// one's buffer starts at (0: none yet, the source's length).
	lastLen atomic.Int64
}

// executor is what text/template and html/template have in common.
type executor interface {
	Execute(w io.Writer, data any) error
}

// Name returns the name given to Parse (usually the template's path).
func (t *Template) Name() string { return t.name }

// Kind returns the template's kind.
func (t *Template) Kind() Kind { return t.kind }

// Source returns the template's source text.
func (t *Template) Source() string { return t.src }

// Parse compiles src. Referencing a missing map key is an error at
// execution (missingkey=error) so a typo never sends an empty greeting.
// The error is a *Error with the line and column in src. HTML templates
// are also escaped here, so context errors (a {{.X}} inside a tag name…)
// are reported at parse time rather than at the first send.
func Parse(name string, kind Kind, src string) (*Template, error) {
	fm := funcs(language.Make(defaultLocale))
	tree, err := texttemplate.New(name).Funcs(fm).Option("missingkey=error").Parse(src)
	if err != nil {
		return nil, convertError(name, src, err)
	}
	if err := checkTree(name, src, tree); err != nil {
		return nil, err
	}
	t := &Template{name: name, kind: kind, src: src, tree: tree,
		MaxOutput: DefaultMaxOutput, Timeout: Budget(), clones: map[string]executor{}, byLocale: map[string]executor{}, hosts: linkHosts(src)}
	switch kind {
	case HTML:
		h, err := htmltemplate.New(name).Funcs(fm).Option("missingkey=error").Parse(src)
		if err != nil {
			return nil, convertError(name, src, err)
		}
		var trees []*parse.Tree
		for _, x := range h.Templates() {
			trees = append(trees, x.Tree)
		}
		addTicks(trees)
		probe, err := h.Clone()
		if err != nil {
			return nil, convertError(name, src, err)
		}
		err = probe.Execute(&limitWriter{max: DefaultMaxOutput, deadline: time.Now().Add(DefaultTimeout)}, &Data{})
		var he *htmltemplate.Error
		if errors.As(err, &he) {
			return nil, convertError(name, src, err)
		}
		t.base = h
	case Text:
		// The executed tree gets the budget ticks; tree stays as written
		// for Fields.
		ex, err := texttemplate.New(name).Funcs(fm).Option("missingkey=error").Parse(src)
		if err != nil {
			return nil, convertError(name, src, err)
		}
		var trees []*parse.Tree
		for _, x := range ex.Templates() {
			trees = append(trees, x.Tree)
		}
		addTicks(trees)
		t.base = ex
	default:
		return nil, &Error{Name: name, Line: 1, Col: 1, Msg: "unknown template kind"}
	}
	return t, nil
}

// Execute renders the template with d. Errors: a missing field or map
// key, a function failing on its argument, ErrOutputTooLarge, ErrTimeout.
// Errors name the template position, never the data's values.
func (t *Template) Execute(d *Data) (string, error) {
	if d == nil {
		d = &Data{}
	}
	ex, err := t.forLocale(d.locale())
	if err != nil {
		return "", err
	}
	max, timeout := t.MaxOutput, t.Timeout
	if max <= 0 {
		max = DefaultMaxOutput
	}
	if timeout <= 0 {
		timeout = Budget()
	}
	gen := interrupts.Load()
	out, err := t.execute(ex, d, max, timeout, gen)
	if errors.Is(err, ErrTimeout) && interrupts.Load() == gen {
		// The budget is wall time: on a machine starved of CPU a message
		// a quiet machine renders in a millisecond can run past it. One
		// more try with a larger budget tells such a message from a
		// template that really runs away.
		out, err = t.execute(ex, d, max, timeout*TimeoutRetryFactor, gen)
	}
	return out, err
}

// TimeoutRetryFactor multiplies the budget of the one retry of a render
// that ran past its budget.
const TimeoutRetryFactor = 5

// execute runs ex once with d under max bytes and timeout.
func (t *Template) execute(ex executor, d *Data, max int, timeout time.Duration, gen int64) (string, error) {
	// One allocation for the writer, the copy of d the template sees and
	// its budget.
	e := &execution{d: *d}
	e.w = limitWriter{max: max, deadline: time.Now().Add(timeout)}
	e.b = budget{deadline: e.w.deadline, gen: gen}
	e.d.budget = &e.b
	e.w.b.Grow(min(t.sizeHint(), max))
	if err := ex.Execute(&e.w, &e.d); err != nil {
		switch {
		case errors.Is(err, ErrOutputTooLarge), errors.Is(err, ErrTimeout):
			return "", err
		}
		return "", convertError(t.name, t.src, err)
	}
	out := e.w.b.String()
	t.lastLen.Store(int64(len(out)))
	if e.w.b.Cap() > 2*len(out)+1024 {
		// Much shorter than the previous output: keep only what it needs,
		// not the buffer sized for the other.
		out = strings.Clone(out)
	}
	return out, nil
}

// execution is the state of one execution of a template.
type execution struct {
	w limitWriter
	d Data
	b budget
}

// sizeHint is the capacity an output buffer starts with: the latest
// output's length and a little more for longer personal data, or the
// source's length before the first execution, so that a message is
// written into one allocation rather than a series of doublings.
func (t *Template) sizeHint() int {
	n := int(t.lastLen.Load())
	if n == 0 {
		n = len(t.src)
	}
	return n + n/16 + 64
}

// forLocale returns the clone whose functions format for locale's
// language, creating it on first use.
func (t *Template) forLocale(locale string) (executor, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if ex, ok := t.byLocale[locale]; ok {
		return ex, nil
	}
	tag := parseTag(locale)
	b, _ := tag.Base()
	key := b.String()
	if ex, ok := t.clones[key]; ok {
		if len(t.byLocale) < maxLocales {
			t.byLocale[locale] = ex
		}
		return ex, nil
	}
	var ex executor
	switch base := t.base.(type) {
	case *htmltemplate.Template:
		c, err := base.Clone()
		if err != nil {
			return nil, convertError(t.name, t.src, err)
		}
		ex = c.Funcs(funcs(tag))
	case *texttemplate.Template:
		c, err := base.Clone()
		if err != nil {
			return nil, convertError(t.name, t.src, err)
		}
		ex = c.Funcs(funcs(tag))
	}
	t.clones[key] = ex
	if len(t.byLocale) < maxLocales {
		t.byLocale[locale] = ex
	}
	return ex, nil
}

// maxLocales bounds byLocale: locales come from contact data.
const maxLocales = 256

// limitWriter buffers output and fails the execution once it grows past
// max bytes or runs past deadline; text/template stops at the first write
// error, which is how a runaway template is cut short.
type limitWriter struct {
	b        strings.Builder
	max      int
	deadline time.Time
}

func (w *limitWriter) Write(p []byte) (int, error) {
	if w.b.Len()+len(p) > w.max {
		return 0, ErrOutputTooLarge
	}
	if time.Now().After(w.deadline) {
		return 0, ErrTimeout
	}
	return w.b.Write(p)
}
