package web

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/relais-dev/relais/internal/held"
	"github.com/relais-dev/relais/internal/store"
)

// runPage is the data of one run's page: its state, its ledger counts and
// the sends held as ambiguous, for an operator to release or settle.
type runPage struct {
	Run    store.Run
	Status string
	Counts []stateCount
	Held   []held.Row
	Queues bool
}

// stateCount is one ledger state of a run and its number of rows.
type stateCount struct {
	State string
	N     int
}

func (s *Server) run(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		http.Error(w, "No such run.", http.StatusNotFound)
		return
	}
	ctx := r.Context()
	rn, err := s.d.Store.GetRun(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		http.Error(w, "No such run.", http.StatusNotFound)
		return
	}
	if err != nil {
		s.fail(w, "read run", err)
		return
	}
	counts, err := s.d.Store.CountLedger(ctx, id)
	if err != nil {
		s.fail(w, "count ledger", err)
		return
	}
	p := runPage{Run: rn, Status: store.RunStatus(rn, counts), Queues: s.mon != nil}
	for _, st := range store.States {
		if n := counts[string(st)]; n > 0 {
			p.Counts = append(p.Counts, stateCount{string(st), n})
		}
	}
	if p.Held, err = held.List(ctx, s.d.Store, id); err != nil {
		s.fail(w, "list held sends", err)
		return
	}
	s.render(w, http.StatusOK, "run", p)
}
