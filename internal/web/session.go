package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/relais-dev/relais/internal/apikey"
	"github.com/relais-dev/relais/internal/store"
)

// cookieName is the session cookie. It holds a random token, not the API
// key: the key never sits in the browser, and the session lives in the
// database (only the token's hash), where it can be listed and ended.
const cookieName = "relais_session"

// csrfCookie carries the session's CSRF token to the page's scripts: the
// queue monitor's client copies it into the X-XSRF-TOKEN header of each
// request. Forms carry the same token in a hidden csrf field.
const csrfCookie = "XSRF-TOKEN"

// csrfField and csrfHeaders are where a state-changing request carries
// the CSRF token.
const csrfField = "csrf"

var csrfHeaders = []string{"X-CSRF-Token", "X-XSRF-TOKEN"}

// Identity is who a dashboard session acts for: the API key's id, name
// and scopes.
type Identity struct {
	KeyID  string
	Name   string
	Scopes []string
}

// Allows reports whether the identity's key grants scope (admin grants
// every scope).
func (i Identity) Allows(scope string) bool {
	return apikey.Allows(store.APIKey{Scopes: i.Scopes}, scope)
}

// session is a live session of a request: its stored row, the key's
// current identity and the CSRF token its forms must carry.
type session struct {
	store.Session
	Identity
	CSRF string
}

// SessionID is the stored id of the session whose browser token is
// token: the hex SHA-256 of the token.
func SessionID(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// csrfToken derives the CSRF token of a session from its browser token
// and the deployment secret: a page of another site can neither read nor
// compute it.
func (s *Server) csrfToken(token string) string {
	m := hmac.New(sha256.New, s.d.Secret)
	m.Write([]byte("relais dashboard csrf\x00" + token))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// newToken returns a random browser token.
func newToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// errNoSession means the request has no live session.
var errNoSession = errors.New("no live session")

// session returns the live session of r: the stored session must exist
// and be within its idle and absolute ends (the request extends the idle
// end), and its key must still be valid and allowed on the dashboard (a
// revoked key ends the session at once). Any other error is the store's.
func (s *Server) session(r *http.Request) (*session, error) {
	c, err := r.Cookie(cookieName)
	if err != nil || c.Value == "" {
		return nil, errNoSession
	}
	ctx, id, now := r.Context(), SessionID(c.Value), s.d.Now()
	x, err := s.d.Store.TouchSession(ctx, id, now, now.Add(s.d.SessionIdle))
	if errors.Is(err, store.ErrNotFound) {
		return nil, errNoSession
	}
	if err != nil {
		return nil, err
	}
	ident, live, err := s.d.LookupKey(ctx, x.KeyID)
	if err != nil {
		return nil, err
	}
	if !live {
		if err := s.d.Store.DeleteSession(ctx, id); err != nil && !errors.Is(err, store.ErrNotFound) {
			s.d.Log.Error("dashboard: end the session of a revoked key", "err", err)
		}
		return nil, errNoSession
	}
	return &session{Session: x, Identity: ident, CSRF: s.csrfToken(c.Value)}, nil
}

type sessionCtxKey struct{}

// auth lets signed-in requests through and sends others to the login
// page, remembering where they were going. A state-changing request must
// carry the session's CSRF token (form field or header) and, when the
// browser names one, come from the dashboard's own origin; the cookie is
// SameSite=Strict besides.
func (s *Server) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		x, err := s.session(r)
		if err != nil && !errors.Is(err, errNoSession) {
			s.d.Log.Error("dashboard: session check failed", "err", err)
			http.Error(w, "The session could not be checked right now; try again.", http.StatusServiceUnavailable)
			return
		}
		if x == nil {
			if r.Method != http.MethodGet {
				http.Error(w, "sign in first", http.StatusUnauthorized)
				return
			}
			http.Redirect(w, r, "/ui/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		if !safeMethod(r.Method) && (!sameOrigin(r) || !s.csrfOK(w, r, x)) {
			http.Error(w, "missing or wrong CSRF token (reload the page)", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r.WithContext(contextWith(r, x)))
	})
}

// csrfOK reports whether r carries x's CSRF token, in a header or, for a
// form, in its csrf field (the form is parsed here, bounded).
func (s *Server) csrfOK(w http.ResponseWriter, r *http.Request, x *session) bool {
	got := ""
	for _, h := range csrfHeaders {
		if got = r.Header.Get(h); got != "" {
			break
		}
	}
	if got == "" {
		r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
		if err := r.ParseForm(); err != nil {
			return false
		}
		got = r.PostForm.Get(csrfField)
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(x.CSRF)) == 1
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// sameOrigin accepts a request whose Origin (or, lacking it, Referer)
// names this host; browsers send Origin on every cross-site POST, so a
// request with neither comes from a non-browser client holding the cookie.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		o = r.Header.Get("Referer")
	}
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

type loginPage struct {
	Next, Error string
}

func (s *Server) loginForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "login", loginPage{Next: safeNext(r.URL.Query().Get("next"))})
}

// login checks the key and opens a session. The key is never logged,
// even on failure. Attempts are rate-limited per client address.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if !s.loginLimit.allow(clientIP(r), s.d.Now()) {
		w.Header().Set("Retry-After", "60")
		http.Error(w, "too many sign-in attempts; retry in a minute", http.StatusTooManyRequests)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	next := safeNext(r.PostForm.Get("next"))
	key := strings.TrimSpace(r.PostForm.Get("key"))
	ok := false
	var id Identity
	if key != "" {
		var err error
		if id, ok, err = s.d.CheckKey(r.Context(), key); err != nil {
			s.d.Log.Error("dashboard: API key check failed", "err", err)
			s.render(w, http.StatusServiceUnavailable, "login", loginPage{Next: next, Error: "The key could not be checked right now; try again."})
			return
		}
	}
	if !ok {
		s.render(w, http.StatusUnauthorized, "login", loginPage{Next: next, Error: "Invalid API key."})
		return
	}
	tok, err := newToken()
	if err != nil {
		s.fail(w, "open session", err)
		return
	}
	ctx, now := r.Context(), s.d.Now()
	if _, err := s.d.Store.PurgeSessions(ctx, now); err != nil {
		s.d.Log.Error("dashboard: purge expired sessions", "err", err)
	}
	ua := r.UserAgent()
	if len(ua) > 200 {
		ua = ua[:200]
	}
	if err := s.d.Store.CreateSession(ctx, store.Session{ID: SessionID(tok), KeyID: id.KeyID, CreatedAt: now, LastSeenAt: now,
		ExpiresAt: now.Add(s.d.SessionTTL), IdleExpiresAt: now.Add(s.d.SessionIdle), UserAgent: ua, IP: clientIP(r)}); err != nil {
		s.fail(w, "open session", err)
		return
	}
	s.setCookies(w, tok, s.csrfToken(tok), int(s.d.SessionTTL.Seconds()))
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// setCookies sets (maxAge > 0) or clears (maxAge < 0) the session and
// CSRF cookies.
func (s *Server) setCookies(w http.ResponseWriter, tok, csrf string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: tok, Path: "/ui/", MaxAge: maxAge,
		HttpOnly: true, Secure: s.d.SecureCookie, SameSite: http.SameSiteStrictMode})
	http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: csrf, Path: "/ui/", MaxAge: maxAge,
		Secure: s.d.SecureCookie, SameSite: http.SameSiteStrictMode})
}

// logout ends the session (with its CSRF token: no other site can sign a
// user out) and clears the cookies.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	x, err := s.session(r)
	if err != nil && !errors.Is(err, errNoSession) {
		s.fail(w, "check session", err)
		return
	}
	if x != nil {
		if !sameOrigin(r) || !s.csrfOK(w, r, x) {
			http.Error(w, "missing or wrong CSRF token (reload the page)", http.StatusForbidden)
			return
		}
		if err := s.d.Store.DeleteSession(r.Context(), x.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			s.fail(w, "end session", err)
			return
		}
	}
	s.setCookies(w, "", "", -1)
	http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
}

// safeNext keeps a post-login redirect inside the dashboard (no open
// redirect through ?next=).
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/ui/") || strings.ContainsAny(next, "\\\r\n") || slices.Contains([]string{"/ui/logout", "/ui/login"}, next) {
		return "/ui/"
	}
	return next
}

// RequireLogin wraps h behind the dashboard's login, for pages mounted
// beside the dashboard (the live campaign versions).
func (s *Server) RequireLogin(h http.Handler) http.Handler { return s.auth(h) }
