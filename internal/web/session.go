package web

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// cookieName is the session cookie. It holds a random session id, not the
// API key: the key never sits in the browser, and the session lives on the
// server, where it can be listed, ended, and re-checked against its key.
const cookieName = "relais_session"

// Identity is who a dashboard session acts for: the API key's id and
// whether that key has the admin scope (the only one allowed to act on
// queues).
type Identity struct {
	KeyID string
	Admin bool
}

// Session is one signed-in browser, as listed by Sessions.
type Session struct {
	ID       string // public handle (a hash of the cookie value)
	KeyID    string
	Admin    bool
	Created  time.Time
	LastSeen time.Time
}

// sessions is the server-side session table. The cookie value is never
// stored: the table is keyed by its SHA-256, which is also the public id.
type sessions struct {
	mu sync.Mutex
	m  map[string]*Session
}

func (t *sessions) create(id Identity, now time.Time) (cookie string, err error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	cookie = base64.RawURLEncoding.EncodeToString(b[:])
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[string]*Session{}
	}
	h := sessionID(cookie)
	t.m[h] = &Session{ID: h, KeyID: id.KeyID, Admin: id.Admin, Created: now, LastSeen: now}
	return cookie, nil
}

func sessionID(cookie string) string {
	h := sha256.Sum256([]byte(cookie))
	return hex.EncodeToString(h[:16])
}

// Sessions lists the open dashboard sessions, for operators.
func (s *Server) Sessions() []Session {
	s.sess.mu.Lock()
	defer s.sess.mu.Unlock()
	out := make([]Session, 0, len(s.sess.m))
	for _, x := range s.sess.m {
		out = append(out, *x)
	}
	return out
}

// RevokeSession ends one session by its id; it reports whether it existed.
func (s *Server) RevokeSession(id string) bool {
	s.sess.mu.Lock()
	defer s.sess.mu.Unlock()
	_, ok := s.sess.m[id]
	delete(s.sess.m, id)
	return ok
}

// RevokeKey ends every session opened with the key keyID and returns how
// many there were.
func (s *Server) RevokeKey(keyID string) int {
	s.sess.mu.Lock()
	defer s.sess.mu.Unlock()
	n := 0
	for id, x := range s.sess.m {
		if x.KeyID == keyID {
			delete(s.sess.m, id)
			n++
		}
	}
	return n
}

// session returns the live session of r, enforcing the idle and absolute
// timeouts and re-checking the key (a revoked key or a lost scope ends the
// session at once), and records the activity.
func (s *Server) session(r *http.Request) (*Session, bool) {
	c, err := r.Cookie(cookieName)
	if err != nil || c.Value == "" {
		return nil, false
	}
	id := sessionID(c.Value)
	now := s.d.Now()
	s.sess.mu.Lock()
	x, ok := s.sess.m[id]
	if ok && (now.Sub(x.Created) >= s.d.SessionTTL || now.Sub(x.LastSeen) >= s.d.SessionIdle) {
		delete(s.sess.m, id)
		ok = false
	}
	var cp Session
	if ok {
		cp = *x
	}
	s.sess.mu.Unlock()
	if !ok {
		return nil, false
	}
	if s.d.LookupKey != nil {
		ident, live, err := s.d.LookupKey(r.Context(), cp.KeyID)
		if err != nil {
			s.d.Log.Error("dashboard: API key re-check failed", "err", err)
			return nil, false
		}
		if !live {
			s.RevokeKey(cp.KeyID)
			return nil, false
		}
		cp.Admin = ident.Admin
	}
	s.sess.mu.Lock()
	if x, ok := s.sess.m[id]; ok {
		x.LastSeen, x.Admin = now, cp.Admin
	}
	s.sess.mu.Unlock()
	return &cp, true
}

type sessionCtxKey struct{}

// auth lets signed-in requests through and sends others to the login
// page, remembering where they were going. A state-changing request must
// come from the dashboard's own origin (CSRF protection on top of the
// SameSite=Strict cookie).
func (s *Server) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if x, ok := s.session(r); ok {
			if !safeMethod(r.Method) && !sameOrigin(r) {
				http.Error(w, "cross-origin request refused", http.StatusForbidden)
				return
			}
			next.ServeHTTP(w, r.WithContext(contextWith(r, x)))
			return
		}
		if r.Method != http.MethodGet {
			http.Error(w, "sign in first", http.StatusUnauthorized)
			return
		}
		http.Redirect(w, r, "/ui/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
	})
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
	now := s.d.Now()
	v, err := s.sess.create(id, now)
	if err != nil {
		s.fail(w, "open session", err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: v, Path: "/ui/", Expires: now.Add(s.d.SessionTTL),
		HttpOnly: true, Secure: s.d.SecureCookie, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(cookieName); err == nil {
		s.RevokeSession(sessionID(c.Value))
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/ui/", MaxAge: -1,
		HttpOnly: true, Secure: s.d.SecureCookie, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
}

// safeNext keeps a post-login redirect inside the dashboard (no open
// redirect through ?next=).
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/ui/") || strings.ContainsAny(next, "\\\r\n") {
		return "/ui/"
	}
	return next
}

// RequireLogin wraps h behind the dashboard's login, for pages mounted
// beside the dashboard (the live campaign versions).
func (s *Server) RequireLogin(h http.Handler) http.Handler { return s.auth(h) }
