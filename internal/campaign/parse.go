package campaign

import (
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/relais-dev/relais/internal/channel"
	"github.com/relais-dev/relais/internal/render"
)

// fileUse says how a referenced file is used, which decides whether it is
// compiled as a template and with which escaping.
type fileUse int

const (
	useHTML fileUse = iota
	useText
	useSMS    // a text message: opt-out mention, segments sampled
	useBinary // attachments, media, inserts: read and hashed only
	useAudience
	useMapping
)

// fileUseOf maps a channel block's file use to the campaign's.
func fileUseOf(u channel.FileUse) fileUse {
	switch u {
	case channel.UseHTML:
		return useHTML
	case channel.UseText:
		return useText
	case channel.UseShortText:
		return useSMS
	}
	return useBinary
}

type fileRef struct {
	rel  string
	node *yaml.Node
	use  fileUse
	// channel is the channel whose block names the file ("" outside a
	// step block: the audience, its mapping).
	channel string
}

type exprRef struct {
	src  string
	node *yaml.Node
	kind string // "where", "top.by", "when"
}

// positions remembers where things were written, for checks that run
// after decoding.
type positions struct {
	files    []fileRef
	exprs    []exprRef
	steps    []*yaml.Node // the mapping node of each step, same order as Spec.Steps
	stepIDs  []*yaml.Node
	channels map[string]*yaml.Node // step index "" = top level → channels node
	subjects []subjectRef
	texts    []textRef
	audience *yaml.Node
}

// subjectRef is an inline subject template of a step's channel block.
type subjectRef struct {
	step    int
	channel string
	src     string
	node    *yaml.Node
}

// textRef is a text message template of a step's channel block, whose
// segments validate samples.
type textRef struct {
	step    int
	channel string
	rel     string
	node    *yaml.Node
}

func (d *decoder) decodeSpec(root *yaml.Node) (*Spec, *positions) {
	sp := &Spec{Purpose: Marketing, OnAmbiguous: "hold", Approval: ApprovalNone, Audience: Audience{Source: "contacts"},
		Limits: Limits{SMSSegments: DefaultSMSSegments}}
	pos := &positions{channels: map[string]*yaml.Node{}}
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	d.mapping(root, "campaign", TopLevelKeys, func(key string, k, v *yaml.Node) {
		switch key {
		case "id":
			sp.ID = d.str(v, "id")
		case "name":
			sp.Name = d.str(v, "name")
		case "purpose":
			sp.Purpose = d.oneOf(v, "purpose", knownPurposes)
		case "max_recipients":
			if f := d.float(v, "max_recipients"); f >= 1 && f == float64(int(f)) {
				sp.MaxRecipients = int(f)
			} else {
				d.errorf(v, "max_recipients must be a whole number of at least 1")
			}
		case "transactional_reason":
			sp.TransactionalReason = strings.TrimSpace(d.str(v, "transactional_reason"))
		case "link_hosts":
			sp.LinkHosts = d.linkHosts(v)
		case "on_ambiguous":
			sp.OnAmbiguous = d.oneOf(v, "on_ambiguous", knownAmbiguous)
		case "approval":
			sp.Approval = d.oneOf(v, "approval", knownApproval)
		case "proof":
			d.mapping(v, "proof", proofKeys, func(_ string, _, v *yaml.Node) {
				sp.ProofTo = d.strList(v, "proof.to")
				for _, to := range sp.ProofTo {
					if strings.TrimSpace(to) == "" {
						d.errorf(v, "proof.to must not hold an empty address")
					}
				}
			})
		case "audience":
			pos.audience = v
			d.decodeAudience(v, &sp.Audience, pos)
		case "channels":
			sp.Channels = d.channelList(v, "channels")
			pos.channels[""] = v
		case "sender":
			d.mapping(v, "sender", d.senderKeys(), func(key string, _, v *yaml.Node) {
				switch key {
				default:
					if sp.Sender.Addresses == nil {
						sp.Sender.Addresses = map[string]string{}
					}
					sp.Sender.Addresses[key] = d.str(v, "sender."+key)
				case senderPostal:
					p := &Postal{}
					d.mapping(v, "sender.postal", postalKeys, func(key string, _, v *yaml.Node) {
						if key == "name" {
							p.Name = d.str(v, "sender.postal.name")
						} else {
							p.Lines = d.strList(v, "sender.postal.lines")
						}
					})
					sp.Sender.Postal = p
				}
			})
		case "steps":
			if v.Kind != yaml.SequenceNode {
				d.errorf(v, "steps must be a list")
				return
			}
			for _, sn := range v.Content {
				sp.Steps = append(sp.Steps, d.decodeStep(sn, pos))
				pos.steps = append(pos.steps, sn)
			}
		case "schedule":
			s := &Schedule{}
			d.mapping(v, "schedule", scheduleKeys, func(key string, _, v *yaml.Node) {
				if key == "cron" {
					s.Cron = d.str(v, "schedule.cron")
					if err := checkCron(s.Cron); err != nil {
						d.errorf(v, "%v", err)
					}
				} else {
					s.Timezone = d.str(v, "schedule.timezone")
					if _, err := time.LoadLocation(s.Timezone); err != nil || s.Timezone == "" {
						d.errorf(v, "unknown time zone %q (use an IANA name such as Europe/Paris)", s.Timezone)
					}
				}
			})
			if s.Cron == "" {
				d.errorf(v, "schedule needs a cron expression")
			}
			sp.Schedule = s
		case "limits":
			d.decodeLimits(v, &sp.Limits)
		case "cost":
			sp.Cost.PerUnit = map[string]float64{}
			d.mapping(v, "cost", d.costKeys(), func(key string, _, v *yaml.Node) {
				if key == "currency" {
					sp.Cost.Currency = d.str(v, "cost.currency")
					if len(sp.Cost.Currency) != 3 {
						d.errorf(v, "cost.currency must be an ISO 4217 code such as EUR")
					}
					return
				}
				if f := d.float(v, "cost."+key); f >= 0 {
					sp.Cost.PerUnit[key] = f
				} else {
					d.errorf(v, "cost.%s must not be negative", key)
				}
			})
		}
	})
	// A transactional message skips marketing consent: it must answer a
	// request of one person (an API send). A stored audience makes it a
	// bulk send that bypasses consent, allowed only when the file says why.
	if sp.Purpose == Transactional && pos.audience != nil && sp.TransactionalReason == "" {
		d.errorf(pos.audience, "purpose transactional with a stored audience bypasses consent: send through the API to one recipient, or say why in transactional_reason (and bound it with max_recipients)")
	}
	return sp, pos
}

func (d *decoder) decodeAudience(v *yaml.Node, a *Audience, pos *positions) {
	d.mapping(v, "audience", audienceKeys, func(key string, _, v *yaml.Node) {
		switch key {
		case "source":
			a.Source = d.oneOf(v, "audience.source", knownSources)
		case "file":
			a.File = d.str(v, "audience.file")
			pos.files = append(pos.files, fileRef{rel: a.File, node: v, use: useAudience})
		case "mapping":
			a.Mapping = d.str(v, "audience.mapping")
			pos.files = append(pos.files, fileRef{rel: a.Mapping, node: v, use: useMapping})
		case "where":
			a.Where = d.str(v, "audience.where")
			pos.exprs = append(pos.exprs, exprRef{src: a.Where, node: v, kind: "where"})
		case "database":
			a.Database = d.str(v, "audience.database")
		case "query":
			a.Query = d.str(v, "audience.query")
		case "top":
			t := &Top{}
			d.mapping(v, "audience.top", topKeys, func(key string, _, v *yaml.Node) {
				if key == "by" {
					t.By = d.str(v, "audience.top.by")
					pos.exprs = append(pos.exprs, exprRef{src: t.By, node: v, kind: "top.by"})
					return
				}
				t.Percent = d.float(v, "audience.top.percent")
				if t.Percent <= 0 || t.Percent > 100 {
					d.errorf(v, "audience.top.percent must be in (0, 100]")
				}
			})
			if t.By == "" {
				d.errorf(v, "audience.top needs by")
			}
			a.Top = t
		}
	})
	switch {
	case a.Source == "file" && a.File == "":
		d.errorf(v, "audience.source file needs audience.file")
	case a.Source != "file" && a.File != "":
		d.errorf(v, "audience.file is only used with source: file")
	case a.Source == "query" && (a.Query == "" || a.Database == ""):
		d.errorf(v, "audience.source query needs audience.database and audience.query")
	}
}

func (d *decoder) channelList(v *yaml.Node, what string) []string {
	list := d.strList(v, what)
	nodes := v.Content
	for i, c := range list {
		n := v
		if i < len(nodes) {
			n = nodes[i]
		}
		if !d.reg.Known(c) {
			msg := "unknown channel " + quote(c) + " (channels: " + strings.Join(d.reg.Names(), ", ") + ")"
			if s := render.Closest(c, d.reg.Names()); s != "" {
				msg += " (did you mean " + quote(s) + "?)"
			}
			d.errorf(n, "%s", msg)
		}
	}
	return list
}

func quote(s string) string { return `"` + s + `"` }

func (d *decoder) decodeStep(sn *yaml.Node, pos *positions) Step {
	var st Step
	var idNode, atNode, afterNode *yaml.Node
	d.mapping(sn, "step", d.stepKeys(), func(key string, _, v *yaml.Node) {
		switch key {
		case "id":
			idNode = v
			st.ID = d.str(v, "step id")
		case "at":
			atNode = v
			t, err := time.Parse(time.RFC3339, v.Value)
			if err != nil {
				d.errorf(v, "at must be an RFC 3339 time such as 2027-03-20T09:00:00+01:00")
			} else {
				st.At = &t
			}
		case "after":
			afterNode = v
			dur, err := parseDuration(v.Value)
			if err != nil {
				d.errorf(v, "after: %v", err)
			}
			st.After = dur
		case "when":
			st.When = d.str(v, "when")
			pos.exprs = append(pos.exprs, exprRef{src: st.When, node: v, kind: "when"})
		case "channels":
			st.Channels = d.channelList(v, "step channels")
			pos.channels[stepKeyOf(len(pos.steps))] = v
		default:
			ch, _ := d.reg.Lookup(key)
			if st.Content == nil {
				st.Content = map[string]any{}
			}
			st.Content[key] = ch.Block.Decode(&blockDecoder{d: d, pos: pos, step: len(pos.steps), channel: key}, v)
		}
	})
	if idNode == nil {
		d.errorf(sn, "step needs an id")
	}
	if atNode != nil && afterNode != nil {
		d.errorf(afterNode, "a step has either at or after, not both")
	}
	pos.stepIDs = append(pos.stepIDs, idNode)
	return st
}

// stepKeyOf keys positions by step index while the step ids are still
// being decoded.
func stepKeyOf(i int) string { return "#" + strconv.Itoa(i) }

func (d *decoder) decodeLimits(v *yaml.Node, l *Limits) {
	d.mapping(v, "limits", d.limitsKeys(), func(key string, _, v *yaml.Node) {
		if key == "sms_segments" {
			n, err := strconv.Atoi(v.Value)
			if v.Kind != yaml.ScalarNode || err != nil || n < 1 {
				d.errorf(v, "limits.sms_segments must be a whole number of segments, at least 1")
				return
			}
			l.SMSSegments = n
			return
		}
		n, per, err := parseRate(v.Value)
		if v.Kind != yaml.ScalarNode || err != nil {
			d.errorf(v, "limits.%s: %v", key, err)
			return
		}
		if key == "frequency_cap" {
			l.FrequencyCap = &FrequencyCap{N: n, Per: per}
			return
		}
		if l.Rates == nil {
			l.Rates = map[string]Rate{}
		}
		l.Rates[key] = Rate{N: n, Per: per}
	})
}
