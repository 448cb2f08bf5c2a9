// Package campaign loads campaign files (YAML) with their templates into an
// immutable, content-hashed Spec and validates them with file:line:col errors.
package campaign

import (
	"fmt"
	"time"

	"github.com/relais-dev/relais/internal/render"
)

// Purpose values.
const (
	Marketing     = "marketing"
	Transactional = "transactional"
)

// Approval values: whether a run needs an approved proof of its version.
const (
	ApprovalNone     = "none"
	ApprovalRequired = "required"
)

// Spec is a loaded campaign file. It is not modified after Load.
type Spec struct {
	ID      string
	Name    string
	Purpose string // Marketing (default) or Transactional
	// MaxRecipients bounds a bulk run of a transactional campaign over a
	// stored audience (such a run bypasses marketing consent); 0 means
	// the default, 1.
	MaxRecipients int
	// TransactionalReason says why a transactional campaign has a stored
	// audience; without it such a campaign is invalid.
	TransactionalReason string
	// LinkHosts are hosts (lower case) click tracking may sign links to
	// in this campaign's messages beyond those written in its templates:
	// for URLs that come from data, such as an order page.
	LinkHosts []string
	Audience  Audience
	Channels  []string // preference order
	Sender    Sender
	Steps     []Step
	Schedule  *Schedule
	Limits    Limits
	Cost      Cost
	// OnAmbiguous is "hold" (default) or "resend".
	OnAmbiguous string
	// Approval is ApprovalNone (default) or ApprovalRequired: a run then
	// needs an approval of this version (relais approve) after its proofs.
	Approval string
	// ProofTo are the reviewers' addresses and numbers proofs go to when
	// `relais proof` is given no --to (proof.to).
	ProofTo []string

	// Path is the campaign file's path as given to Load; Root the
	// repository root templates are relative to.
	Path string
	Root string
	// ContentHash is the hex SHA-256 of the file and every file it
	// references (templates, attachments, audience file), in a stable order.
	ContentHash string
	// Raw is the campaign file's content as loaded, kept so that the
	// version can be stored for processes without the campaigns folder.
	Raw []byte
	// Files maps each referenced path (relative to Root) to its content,
	// read once at load time so a run sends exactly what was hashed.
	Files map[string][]byte
	// AudienceHash is the hex SHA-256 of the audience file (source: file).
	// An audience file larger than MaxInlineAudience is hashed but not
	// kept in Files (it is streamed at run time); the audience reader can
	// compare this hash to detect a file changed since validation.
	AudienceHash string
	// Templates holds every compiled template: template files by their
	// path relative to Root (as in Files), inline subjects by
	// SubjectKey(step, channel). Templates are safe for concurrent use.
	Templates map[string]*render.Template
}

// Audience says who receives the campaign.
type Audience struct {
	Source  string // "contacts" (default), "file" or "query"
	File    string // with Source "file": CSV or JSONL path relative to Root
	Mapping string // optional mapping file relative to Root
	Where   string // expr-lang expression, "" = everyone
	Top     *Top
	// Database and Query are used with Source "query": Query is SQL run
	// on the named database.
	Database string
	Query    string
}

// Top keeps the best Percent % of the audience by the value of By (Pareto).
type Top struct {
	By      string
	Percent float64
}

// Sender is who the messages come from, per channel: Addresses by the
// channels' sender key (sender.email, sender.sms…), and the postal block
// of letters.
type Sender struct {
	Addresses map[string]string
	Postal    *Postal
}

// For returns the sender address under key ("" when absent).
func (s Sender) For(key string) string { return s.Addresses[key] }

// PostalLines returns the postal sender block as lines (name first), or
// nil when the campaign has none.
func (s Sender) PostalLines() []string {
	if s.Postal == nil {
		return nil
	}
	return append([]string{s.Postal.Name}, s.Postal.Lines...)
}

// Postal is the sender block of letters.
type Postal struct {
	Name  string
	Lines []string
}

// Step is one message of the campaign.
type Step struct {
	ID       string
	At       *time.Time    // absolute send time; nil = on run start
	After    time.Duration // follow-up delay after the previous step
	When     string        // expression over the recipient's events
	Channels []string      // overrides Spec.Channels
	// Content holds the step's block per channel name, as the channel's
	// descriptor decoded it (its own type, read back by its composer).
	Content map[string]any
}

// Schedule is a recurring send.
type Schedule struct {
	Cron     string
	Timezone string
}

// DefaultSMSSegments is Limits.SMSSegments when limits.sms_segments is
// absent: past three segments an SMS costs more than most campaigns
// budgeted for, and handsets start to show it as a long read.
const DefaultSMSSegments = 3

// Limits are send rates, the frequency cap and the SMS length budget.
type Limits struct {
	Rates        map[string]Rate // per channel
	FrequencyCap *FrequencyCap
	// SMSSegments (limits.sms_segments, default DefaultSMSSegments) is the
	// segment count above which `relais validate` warns that an SMS step
	// renders too long for a sample recipient. It never blocks a send.
	SMSSegments int
}

// Rate is N messages per Per.
type Rate struct {
	N   int
	Per time.Duration
}

// FrequencyCap is at most N marketing messages per Per, across campaigns.
type FrequencyCap struct {
	N   int
	Per time.Duration
}

// Cost is the unit cost per channel, in Currency.
type Cost struct {
	Currency string
	PerUnit  map[string]float64 // per channel name (per segment where the channel counts them)
}

// SubjectKey is the Templates key of a step's inline subject template for
// a channel.
func SubjectKey(stepID, channel string) string { return "steps." + stepID + "." + channel + ".subject" }

// Template returns the compiled template for key (a template path or a
// SubjectKey), or nil when there is none (an absent optional template).
func (sp *Spec) Template(key string) *render.Template {
	if key == "" {
		return nil
	}
	return sp.Templates[key]
}

// RecipientBound is the most recipients a bulk run of a transactional
// campaign may reach (MaxRecipients, default 1).
func (sp *Spec) RecipientBound() int {
	if sp.MaxRecipients > 0 {
		return sp.MaxRecipients
	}
	return 1
}

// ChannelsFor returns the channel preference order of step s.
func (sp *Spec) ChannelsFor(s *Step) []string {
	if len(s.Channels) > 0 {
		return s.Channels
	}
	return sp.Channels
}

// Step returns the step with this id, or nil.
func (sp *Spec) Step(id string) *Step {
	for i := range sp.Steps {
		if sp.Steps[i].ID == id {
			return &sp.Steps[i]
		}
	}
	return nil
}

// Error is one validation problem at a position in a file.
type Error struct {
	File string
	Line int
	Col  int
	Msg  string
}

// Error formats as path:line:col: message.
func (e Error) Error() string { return fmtPos(e.File, e.Line, e.Col) + ": " + e.Msg }

// Warning is a problem worth a look that does not make the campaign
// invalid (an SMS longer than its segment budget): validate prints it and
// still exits 0, because only the author can tell whether it is intended.
type Warning struct {
	File string
	Line int
	Col  int
	Msg  string
}

// String formats as path:line:col: warning: message, the form validate
// prints and editors' problem matchers recognise.
func (w Warning) String() string { return fmtPos(w.File, w.Line, w.Col) + ": warning: " + w.Msg }

// Execute runs the compiled template key of sp (a template path or a
// SubjectKey); it lets channel composers render without knowing Spec.
func (sp *Spec) Execute(key string, d *render.Data) (string, error) {
	t := sp.Template(key)
	if t == nil {
		return "", fmt.Errorf("template %s is not loaded with campaign %s", key, sp.ID)
	}
	return t.Execute(d)
}

// File returns a referenced file's content as read at load time.
func (sp *Spec) File(path string) []byte { return sp.Files[path] }

// SubjectKey is the package function SubjectKey, for channel composers.
func (sp *Spec) SubjectKey(stepID, channel string) string { return SubjectKey(stepID, channel) }
