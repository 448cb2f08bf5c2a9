package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// cookieName is the session cookie. It holds an expiry and its HMAC, not
// the API key: a stolen cookie expires, and the key never sits in the
// browser.
const cookieName = "relais_session"

// sessionKey derives the cookie-signing key from the secret, so a session
// MAC can never be confused with a tracking token signed with the same
// secret.
func sessionKey(secret []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("relais dashboard session v1"))
	return m.Sum(nil)
}

func (s *Server) sign(exp time.Time) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(exp.Unix()))
	m := hmac.New(sha256.New, s.key)
	m.Write(b[:])
	return base64.RawURLEncoding.EncodeToString(append(b[:], m.Sum(nil)...))
}

// valid reports whether the cookie value is a session this server signed
// and that has not expired.
func (s *Server) valid(v string) bool {
	raw, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil || len(raw) != 8+sha256.Size {
		return false
	}
	m := hmac.New(sha256.New, s.key)
	m.Write(raw[:8])
	if !hmac.Equal(m.Sum(nil), raw[8:]) {
		return false
	}
	exp := time.Unix(int64(binary.BigEndian.Uint64(raw[:8])), 0)
	return s.d.Now().Before(exp)
}

// auth lets signed-in requests through and sends others to the login
// page, remembering where they were going.
func (s *Server) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie(cookieName); err == nil && s.valid(c.Value) {
			next.ServeHTTP(w, r)
			return
		}
		if r.Method != http.MethodGet {
			http.Error(w, "sign in first", http.StatusUnauthorized)
			return
		}
		http.Redirect(w, r, "/ui/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
	})
}

type loginPage struct {
	Next, Error string
}

func (s *Server) loginForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "login", loginPage{Next: safeNext(r.URL.Query().Get("next"))})
}

// login checks the key and sets the session cookie. The key is never
// logged, even on failure.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	next := safeNext(r.PostForm.Get("next"))
	key := strings.TrimSpace(r.PostForm.Get("key"))
	ok := false
	if key != "" {
		var err error
		if ok, err = s.d.CheckKey(r.Context(), key); err != nil {
			s.d.Log.Error("dashboard: API key check failed", "err", err)
			s.render(w, http.StatusServiceUnavailable, "login", loginPage{Next: next, Error: "The key could not be checked right now; try again."})
			return
		}
	}
	if !ok {
		s.render(w, http.StatusUnauthorized, "login", loginPage{Next: next, Error: "Invalid API key."})
		return
	}
	exp := s.d.Now().Add(s.d.SessionTTL)
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: s.sign(exp), Path: "/ui/", Expires: exp,
		HttpOnly: true, Secure: s.d.SecureCookie, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
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
