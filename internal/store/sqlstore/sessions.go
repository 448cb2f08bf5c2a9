package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/relais-dev/relais/internal/store"
)

var _ store.SessionStore = (*Store)(nil)

const sessionCols = `id, key_id, created_at, last_seen_at, expires_at, idle_expires_at, user_agent, ip`

const (
	qCreateSession = `INSERT INTO sessions (` + sessionCols + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`

	// qTouchSession extends a live session and returns it; an expired
	// one matches no row.
	qTouchSession = `UPDATE sessions SET last_seen_at = $1, idle_expires_at = $2
WHERE id = $3 AND expires_at > $1 AND idle_expires_at > $1
RETURNING ` + sessionCols

	qListSessions = `SELECT ` + sessionCols + ` FROM sessions
WHERE expires_at > $1 AND idle_expires_at > $1 ORDER BY created_at DESC, id`

	qDeleteSession     = `DELETE FROM sessions WHERE id = $1`
	qDeleteKeySessions = `DELETE FROM sessions WHERE key_id = $1`
	qPurgeSessions     = `DELETE FROM sessions WHERE expires_at <= $1 OR idle_expires_at <= $1`
)

func scanSession(r rowScanner) (store.Session, error) {
	var x store.Session
	err := r.Scan(&x.ID, &x.KeyID, ts(&x.CreatedAt), ts(&x.LastSeenAt), ts(&x.ExpiresAt), ts(&x.IdleExpiresAt), &x.UserAgent, &x.IP)
	return x, err
}

// CreateSession implements store.SessionStore.
func (s *Store) CreateSession(ctx context.Context, x store.Session) error {
	if _, err := s.w.ExecContext(ctx, qCreateSession, x.ID, x.KeyID, s.d.t(x.CreatedAt), s.d.t(x.LastSeenAt),
		s.d.t(x.ExpiresAt), s.d.t(x.IdleExpiresAt), x.UserAgent, x.IP); err != nil {
		return s.errf("create session: %w", err)
	}
	return nil
}

// TouchSession implements store.SessionStore in one conditional update.
func (s *Store) TouchSession(ctx context.Context, id string, now, idleUntil time.Time) (store.Session, error) {
	x, err := scanSession(s.w.QueryRowContext(ctx, qTouchSession, s.d.t(now), s.d.t(idleUntil), id))
	if err == sql.ErrNoRows {
		return store.Session{}, s.errf("session: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.Session{}, s.errf("touch session: %w", err)
	}
	return x, nil
}

// ListSessions implements store.SessionStore.
func (s *Store) ListSessions(ctx context.Context, now time.Time) ([]store.Session, error) {
	return queryAll(ctx, s, "list sessions", scanSession, qListSessions, s.d.t(now))
}

// DeleteSession implements store.SessionStore.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	n, err := affected(s.w.ExecContext(ctx, qDeleteSession, id))
	if err != nil {
		return s.errf("delete session: %w", err)
	}
	if n == 0 {
		return s.errf("session: %w", store.ErrNotFound)
	}
	return nil
}

// DeleteKeySessions implements store.SessionStore.
func (s *Store) DeleteKeySessions(ctx context.Context, keyID string) (int, error) {
	n, err := affected(s.w.ExecContext(ctx, qDeleteKeySessions, keyID))
	if err != nil {
		return 0, s.errf("delete sessions of api key %s: %w", keyID, err)
	}
	return n, nil
}

// PurgeSessions implements store.SessionStore.
func (s *Store) PurgeSessions(ctx context.Context, now time.Time) (int, error) {
	n, err := affected(s.w.ExecContext(ctx, qPurgeSessions, s.d.t(now)))
	if err != nil {
		return 0, s.errf("purge sessions: %w", err)
	}
	return n, nil
}
