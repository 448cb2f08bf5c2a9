package store

import (
	"context"
	"time"
)

// Session is one signed-in dashboard browser. The browser holds a random
// token; only its hash (ID) is stored, so a database dump opens no
// session.
type Session struct {
	ID            string // hex SHA-256 of the browser's token
	KeyID         string // the API key it signed in with
	CreatedAt     time.Time
	LastSeenAt    time.Time
	ExpiresAt     time.Time // absolute end, whatever the activity
	IdleExpiresAt time.Time // end unless a request comes first
	UserAgent     string    // as sent at sign-in, for operators
	IP            string    // the peer address at sign-in
}

// SessionStore keeps the dashboard's sessions in the database, so that
// every process serving the dashboard sees them and an operator can list
// and end them (`relais sessions`, `relais apikey revoke`).
type SessionStore interface {
	// CreateSession stores s.
	CreateSession(ctx context.Context, s Session) error
	// TouchSession returns session id when it is live at now (before
	// both its expiries), after moving its last activity to now and its
	// idle end to idleUntil. A missing or expired session is ErrNotFound.
	TouchSession(ctx context.Context, id string, now, idleUntil time.Time) (Session, error)
	// ListSessions returns the sessions live at now, newest first.
	ListSessions(ctx context.Context, now time.Time) ([]Session, error)
	// DeleteSession ends session id; a missing one is ErrNotFound.
	DeleteSession(ctx context.Context, id string) error
	// DeleteKeySessions ends every session of API key keyID and returns
	// how many there were.
	DeleteKeySessions(ctx context.Context, keyID string) (int, error)
	// PurgeSessions deletes the sessions expired at now and returns how
	// many there were.
	PurgeSessions(ctx context.Context, now time.Time) (int, error)
}
