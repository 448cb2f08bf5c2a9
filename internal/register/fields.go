package register

import (
	"sort"
	"strings"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"

	"github.com/relais-dev/relais/internal/campaign"
)

// Uses are the data a campaign reads about its recipients.
type Uses struct {
	// Fields are the contact fields its templates and expressions read,
	// by their canonical names (first_name, city, attrs.orders_12m,
	// consent.email…).
	Fields []string `json:"fields"`
	// Payload are the .Data fields of an API-triggered send.
	Payload []string `json:"payload"`
	// Events are the interactions its follow-up conditions read
	// (opened, clicked, delivered, responded, converted, unsubscribed).
	Events []string `json:"events"`
}

// templateNames maps template field paths to canonical contact fields.
var templateNames = map[string]string{
	"FirstName": "first_name", "LastName": "last_name", "Title": "title", "Company": "company",
	"Email": "email", "Phone": "phone", "Locale": "locale",
	"Address.Line1": "address_line1", "Address.Line2": "address_line2", "Address.Line3": "address_line3",
	"Address.Line4": "address_line4", "Address.Postcode": "postcode", "Address.City": "city", "Address.Country": "country",
}

var addressFields = []string{"address_line1", "address_line2", "address_line3", "address_line4", "postcode", "city", "country"}

// contactFields are the fields a template sees under .Contact.
var contactFields = []string{"first_name", "last_name", "title", "company", "email", "phone", "locale", "attrs.*"}

// exprNames are the contact fields expressions see by name.
var exprNames = map[string]bool{
	"external_id": true, "title": true, "first_name": true, "last_name": true, "company": true, "email": true,
	"phone": true, "postcode": true, "city": true, "country": true, "locale": true, "timezone": true, "kind": true,
}

// CampaignUses walks sp's compiled templates (their field references) and
// its where, top.by and when expressions (their syntax trees).
func CampaignUses(sp *campaign.Spec) Uses {
	fields, payload, events := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, t := range sp.Templates {
		for _, f := range t.Fields() {
			templateField(f.Path, fields, payload)
		}
	}
	exprs := []string{sp.Audience.Where}
	if sp.Audience.Top != nil {
		exprs = append(exprs, sp.Audience.Top.By)
	}
	for _, st := range sp.Steps {
		exprs = append(exprs, st.When)
	}
	for _, src := range exprs {
		exprFields(src, fields, events)
	}
	return Uses{Fields: keys(fields), Payload: keys(payload), Events: keys(events)}
}

func templateField(path string, fields, payload map[string]bool) {
	segs := strings.Split(strings.TrimPrefix(path, "."), ".")
	switch {
	case segs[0] == "Data" && len(segs) > 1:
		payload[segs[1]] = true
	case segs[0] == "Data":
		payload["*"] = true
	case segs[0] != "Contact":
	case len(segs) == 1:
		for _, f := range contactFields {
			fields[f] = true
		}
		for _, f := range addressFields {
			fields[f] = true
		}
	case segs[1] == "Attrs" && len(segs) > 2:
		fields["attrs."+segs[2]] = true
	case segs[1] == "Attrs":
		fields["attrs.*"] = true
	case segs[1] == "Address" && len(segs) == 2:
		for _, f := range addressFields {
			fields[f] = true
		}
	default:
		key := segs[1]
		if segs[1] == "Address" {
			key += "." + segs[2]
		}
		if n, ok := templateNames[key]; ok {
			fields[n] = true
		}
	}
}

// eventFuncs are the follow-up condition functions over events.
var eventFuncs = map[string]bool{"opened": true, "clicked": true, "delivered": true, "responded": true, "converted": true, "unsubscribed": true}

// exprVisitor collects the contact fields an expression reads.
type exprVisitor struct {
	fields, events map[string]bool
	// members are identifier nodes read through a member access (attrs.x),
	// so the bare identifier is not counted as a whole map.
	members map[ast.Node]bool
}

func (v *exprVisitor) Visit(n *ast.Node) {
	switch n := (*n).(type) {
	case *ast.CallNode:
		if id, ok := n.Callee.(*ast.IdentifierNode); ok && eventFuncs[id.Value] {
			v.events[id.Value] = true
			v.members[id] = true
		}
	case *ast.MemberNode:
		id, ok := n.Node.(*ast.IdentifierNode)
		if !ok || (id.Value != "attrs" && id.Value != "consent") {
			return
		}
		if s, ok := n.Property.(*ast.StringNode); ok {
			v.fields[id.Value+"."+s.Value] = true
			v.members[id] = true
		}
	}
}

// exprFields parses src (an invalid one was refused by validation) and
// records the fields it reads.
func exprFields(src string, fields, events map[string]bool) {
	if strings.TrimSpace(src) == "" {
		return
	}
	tree, err := parser.Parse(src)
	if err != nil {
		return
	}
	v := &exprVisitor{fields: fields, events: events, members: map[ast.Node]bool{}}
	ast.Walk(&tree.Node, v)
	// Identifiers not read through a member access: a field by name, or
	// a whole map (attrs, consent).
	var ids identifiers
	ast.Walk(&tree.Node, &ids)
	for _, id := range ids {
		if v.members[id] {
			continue
		}
		switch {
		case exprNames[id.Value]:
			fields[id.Value] = true
		case id.Value == "attrs" || id.Value == "consent":
			fields[id.Value+".*"] = true
		}
	}
}

type identifiers []*ast.IdentifierNode

func (ids *identifiers) Visit(n *ast.Node) {
	if id, ok := (*n).(*ast.IdentifierNode); ok {
		*ids = append(*ids, id)
	}
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
