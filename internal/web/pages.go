package web

import (
	"cmp"
	"html/template"
	"math"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/report"
	"github.com/relais-dev/relais/internal/store"
)

var funcs = template.FuncMap{
	"pct": func(v *float64) string {
		if v == nil {
			return "–"
		}
		return strconv.FormatFloat(*v*100, 'f', 1, 64) + " %"
	},
	"num":   func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) },
	"money": money,
	"pmoney": func(v *float64, cur string) string {
		if v == nil {
			return "–"
		}
		return money(*v, cur)
	},
	"ratio": func(v *float64) string {
		if v == nil {
			return "–"
		}
		return strconv.FormatFloat(*v, 'f', 2, 64)
	},
	"short": func(h string) string { return h[:min(len(h), 12)] },
	"when":  func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
}

// money shows cents, or more decimals when a unit cost has them (5
// emails at 0.001 € cost 0.005 €, not 0.01 €).
func money(v float64, cur string) string {
	if math.Round(v*100) == v*100 {
		return strconv.FormatFloat(v, 'f', 2, 64) + " " + cur
	}
	return strconv.FormatFloat(v, 'f', -1, 64) + " " + cur
}

// campaignRow is one line of the campaigns list.
type campaignRow struct {
	ID, Name, File, Version string
	Live                    bool // a file in the campaigns folder defines it
	Runs                    int
	Planned                 int
	LastRun                 *store.Run
}

func (s *Server) campaigns(w http.ResponseWriter, r *http.Request) {
	runs, err := s.d.Store.ListRuns(r.Context(), "", 1000)
	if err != nil {
		s.fail(w, "list runs", err)
		return
	}
	rows := map[string]*campaignRow{}
	if s.d.Catalog != nil {
		for _, sp := range s.d.Catalog.List() {
			rows[sp.ID] = &campaignRow{ID: sp.ID, Name: sp.Name, File: sp.Path, Version: sp.ContentHash, Live: true}
		}
	}
	for _, run := range runs { // newest first
		row := rows[run.CampaignID]
		if row == nil {
			row = &campaignRow{ID: run.CampaignID}
			rows[run.CampaignID] = row
		}
		row.Runs++
		row.Planned += run.Planned
		if row.LastRun == nil {
			row.LastRun = &run
		}
	}
	list := make([]*campaignRow, 0, len(rows))
	for _, row := range rows {
		list = append(list, row)
	}
	slices.SortFunc(list, func(a, b *campaignRow) int { return cmp.Compare(a.ID, b.ID) })
	s.render(w, http.StatusOK, "campaigns", struct {
		chrome
		Campaigns []*campaignRow
		Commit    string // git commit of the campaigns folder, "" when none
	}{s.chromeOf(r), list, s.commit()})
}

// commit is the campaigns folder's git commit, "" when unknown.
func (s *Server) commit() string {
	if s.d.GitCommit == nil {
		return ""
	}
	return s.d.GitCommit()
}

// campaignPage is the data of one campaign's page.
type campaignPage struct {
	chrome
	ID, Name, Version, File string
	Live                    bool
	Runs                    []store.Run
	Report                  report.Report
	Funnel, Refusals        BarChart
	Timeline                Timeline
	NoCosts                 bool
	// Versions are the runs with the campaign version each sent.
	Versions []runVersion
}

// runVersion is a run with the git commit of its campaign version.
type runVersion struct {
	store.Run
	Commit string
}

func (s *Server) campaign(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	p := campaignPage{chrome: s.chromeOf(r), ID: id}
	var costs campaign.Cost
	if s.d.Catalog != nil {
		if sp := s.d.Catalog.Live(id); sp != nil {
			p.Name, p.Version, p.File, p.Live = sp.Name, sp.ContentHash, sp.Path, true
			costs = sp.Cost // the live version's prices, as `relais report` uses
		}
	}
	runs, err := s.d.Store.ListRuns(r.Context(), id, 100)
	if err != nil {
		s.fail(w, "list runs", err)
		return
	}
	if !p.Live && len(runs) == 0 {
		http.Error(w, "No such campaign.", http.StatusNotFound)
		return
	}
	p.Runs = runs
	p.NoCosts = len(costs.PerUnit) == 0
	if p.Report, err = report.Build(r.Context(), s.d.Store, id, costs); err != nil {
		s.fail(w, "build report", err)
		return
	}
	p.Funnel = funnel(p.Report.Total)
	p.Refusals = refusals(p.Report.Total.RefusedBy)
	p.Timeline = timeline(p.Report.Timeline)
	for _, run := range runs {
		rv := runVersion{Run: run}
		if s.d.RunCommit != nil {
			rv.Commit = s.d.RunCommit(r.Context(), run.CampaignID, run.ContentHash)
		}
		p.Versions = append(p.Versions, rv)
	}
	s.render(w, http.StatusOK, "campaign", p)
}
