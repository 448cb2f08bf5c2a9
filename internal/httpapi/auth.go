package httpapi

import (
	"context"
	"errors"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/time/rate"

	"github.com/relais-dev/relais/internal/apikey"
	"github.com/relais-dev/relais/internal/store"
)

type ctxKey struct{}

// auth checks the bearer key (401 when absent, malformed, unknown,
// revoked or wrong), its scope (403; any of scope and alt is enough) and
// its token bucket (429) before h.
func (s *Server) auth(scope string, h http.HandlerFunc, alt ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		tok = strings.TrimSpace(tok)
		if !ok || tok == "" {
			unauthorized(w, "missing bearer API key (Authorization: Bearer rk_…)")
			return
		}
		id, ok := apikey.ID(tok)
		if !ok {
			unauthorized(w, "invalid API key")
			return
		}
		if s.d.API == nil {
			writeError(w, errNotImplemented("API keys are not available on this store"))
			return
		}
		k, err := s.d.API.GetAPIKey(r.Context(), id)
		if errors.Is(err, store.ErrNotFound) || err == nil && !apikey.Verify(tok, k) {
			unauthorized(w, "invalid or revoked API key")
			return
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if !apikey.Allows(k, scope) && !slices.ContainsFunc(alt, func(a string) bool { return apikey.Allows(k, a) }) {
			writeError(w, &Error{Status: http.StatusForbidden, Code: CodeForbidden,
				Message: "this API key lacks the scope " + strconv.Quote(scope)})
			return
		}
		if !s.limiter(k.ID).AllowN(s.d.Now(), 1) {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(1/float64(s.d.Rate)))))
			writeError(w, &Error{Status: http.StatusTooManyRequests, Code: CodeRateLimited,
				Message: "too many requests for this API key; retry later"})
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, k)))
	})
}

func unauthorized(w http.ResponseWriter, msg string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="relais"`)
	writeError(w, &Error{Status: http.StatusUnauthorized, Code: CodeUnauthorized, Message: msg, Field: "Authorization"})
}

// limiter returns the token bucket of key id, made on first use. The map
// grows with the number of keys that ever called, which is small.
func (s *Server) limiter(id string) *rate.Limiter {
	s.limMu.Lock()
	defer s.limMu.Unlock()
	l := s.limiters[id]
	if l == nil {
		l = rate.NewLimiter(s.d.Rate, s.d.Burst)
		s.limiters[id] = l
	}
	return l
}
