package web

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/relais-dev/relais/internal/apikey"
	"github.com/relais-dev/relais/internal/held"
	"github.com/relais-dev/relais/internal/store"
)

// chrome is what every signed-in page shows around its content: the
// sign-out form (with the CSRF token), the link to the queues and who is
// signed in.
type chrome struct {
	CSRF   string
	Queues bool
	Who    string
	// Paused are the channels paused by an account-level provider
	// error, a banner on every page.
	Paused []store.ChannelPause
}

func (s *Server) chromeOf(r *http.Request) chrome {
	c := chrome{Queues: s.mon != nil, Paused: s.paused(r)}
	if x := sessionOf(r); x != nil {
		c.CSRF, c.Who = x.CSRF, x.Name
	}
	return c
}

// runActions are the dashboard's run controls and the scope each needs,
// as in the API: pause and resume are `runs`, cancel is `admin`.
var runActions = map[string]string{"pause": apikey.ScopeRuns, "resume": apikey.ScopeRuns, "cancel": apikey.ScopeAdmin}

// maxCancelReason bounds a cancel reason: it is shown in status and
// reports, not a document.
const maxCancelReason = 500

// stateCount is one line of a run's counts.
type stateCount struct {
	State string
	N     int
}

// runPage is the data of a run's page.
type runPage struct {
	chrome
	Run    store.Run
	Status string
	Counts []stateCount
	Done   string // the action just done, shown once
	// Actions are the controls this session may use on the run now.
	Actions []string
	// Held are the run's sends held as ambiguous, for an operator to
	// release or settle.
	Held []held.Row
}

// runOf reads the run named by the path, answering 404 (or 500) itself.
func (s *Server) runOf(w http.ResponseWriter, r *http.Request) (store.Run, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		http.Error(w, "No such run.", http.StatusNotFound)
		return store.Run{}, false
	}
	run, err := s.d.Store.GetRun(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		http.Error(w, "No such run.", http.StatusNotFound)
		return store.Run{}, false
	}
	if err != nil {
		s.fail(w, "get run", err)
		return store.Run{}, false
	}
	return run, true
}

func (s *Server) run(w http.ResponseWriter, r *http.Request) {
	run, ok := s.runOf(w, r)
	if !ok {
		return
	}
	counts, err := s.d.Store.CountLedger(r.Context(), run.ID)
	if err != nil {
		s.fail(w, "count run", err)
		return
	}
	p := runPage{chrome: s.chromeOf(r), Run: run, Status: store.RunStatus(run, counts)}
	if d := r.URL.Query().Get("done"); runActions[d] != "" {
		p.Done = d
	}
	for st, n := range counts {
		p.Counts = append(p.Counts, stateCount{st, n})
	}
	slices.SortFunc(p.Counts, func(a, b stateCount) int { return strings.Compare(a.State, b.State) })
	// Listing by state reads the run's rows: only when some are held.
	if counts[string(store.Ambiguous)] > 0 {
		if p.Held, err = held.List(r.Context(), s.d.Store, run.ID); err != nil {
			s.fail(w, "list held sends", err)
			return
		}
	}
	x := sessionOf(r)
	for _, a := range []string{"pause", "resume", "cancel"} {
		if x.Allows(runActions[a]) && applicable(a, run, p.Status) {
			p.Actions = append(p.Actions, a)
		}
	}
	s.render(w, http.StatusOK, "run", p)
}

// applicable reports whether action changes anything on a run in status.
func applicable(action string, run store.Run, status string) bool {
	if run.DryRun || !run.CanceledAt.IsZero() || status == store.RunDone {
		return false
	}
	switch action {
	case "pause":
		return run.PausedAt.IsZero()
	case "resume":
		return !run.PausedAt.IsZero()
	}
	return true
}

// allowedAction checks the path's action exists (404) and the session's
// key has its scope (403).
func (s *Server) allowedAction(w http.ResponseWriter, r *http.Request) (string, bool) {
	a := r.PathValue("action")
	scope, ok := runActions[a]
	if !ok {
		http.NotFound(w, r)
		return "", false
	}
	if !sessionOf(r).Allows(scope) {
		http.Error(w, a+" needs an API key with the "+scope+" scope", http.StatusForbidden)
		return "", false
	}
	return a, true
}

// confirmPage asks for a confirmation (and, to cancel, a reason).
type confirmPage struct {
	chrome
	Run    store.Run
	Action string
}

// confirmAction shows the confirmation step of a run action.
func (s *Server) confirmAction(w http.ResponseWriter, r *http.Request) {
	a, ok := s.allowedAction(w, r)
	if !ok {
		return
	}
	run, ok := s.runOf(w, r)
	if !ok {
		return
	}
	s.render(w, http.StatusOK, "confirm", confirmPage{chrome: s.chromeOf(r), Run: run, Action: a})
}

// runAction pauses, resumes or cancels a run, as `relais pause`, `resume`
// and `cancel` do, then shows the run. The CSRF token was checked by
// auth; the scope is checked here.
func (s *Server) runAction(w http.ResponseWriter, r *http.Request) {
	a, ok := s.allowedAction(w, r)
	if !ok {
		return
	}
	run, ok := s.runOf(w, r)
	if !ok {
		return
	}
	x, ctx, now := sessionOf(r), r.Context(), s.d.Now()
	var err error
	switch a {
	case "pause":
		_, err = s.d.Store.PauseRun(ctx, run.ID, now)
	case "resume":
		_, err = s.d.Store.ResumeRun(ctx, run.ID)
	case "cancel":
		reason := strings.TrimSpace(r.PostFormValue("reason"))
		if reason == "" {
			http.Error(w, "a reason is required to cancel a run", http.StatusBadRequest)
			return
		}
		if len(reason) > maxCancelReason {
			http.Error(w, "the reason is too long (500 bytes at most)", http.StatusBadRequest)
			return
		}
		_, err = s.d.Store.CancelRun(ctx, run.ID, reason+" (dashboard, key "+x.Session.KeyID+")", now)
	}
	if err != nil {
		s.fail(w, a+" run", err)
		return
	}
	s.d.Log.Info("dashboard: run "+a, "run", run.ID, "campaign", run.CampaignID, "key", x.Session.KeyID)
	http.Redirect(w, r, "/ui/runs/"+strconv.FormatInt(run.ID, 10)+"?done="+a, http.StatusSeeOther)
}
