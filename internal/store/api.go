package store

import (
	"context"
	"errors"
	"time"
)

// ErrAPIKeyExists is returned by CreateAPIKey when the key id is taken
// (a 72-bit random id colliding: the caller generates another).
var ErrAPIKeyExists = errors.New("api key id exists")

// APIKey is a credential of the HTTP API. Only a hash of the key is
// stored, so a database dump does not leak usable keys; the key itself is
// shown once when it is created.
type APIKey struct {
	// ID is public: it is embedded in the key so that a presented key is
	// looked up by id and its hash compared in constant time.
	ID        string
	Name      string
	Hash      []byte // SHA-256 of the whole key
	Scopes    []string
	CreatedAt time.Time
	RevokedAt time.Time // zero while the key is active
}

// Idempotency is the record of one Idempotency-Key of the HTTP API. The
// unique (Scope, Key) row is inserted before any other write, so of
// concurrent requests with the same key exactly one does the work.
type Idempotency struct {
	Scope string // what the key is unique within (e.g. "send:<campaign id>")
	Key   string
	// RequestHash identifies the request body: the same key with another
	// body is a client error, not a replay.
	RequestHash string
	// Status and Response are the first response, replayed to later
	// requests; Status is 0 while the owner is still working.
	Status    int
	Response  []byte
	ClaimedAt time.Time // when the current owner claimed the key
	CreatedAt time.Time
}

// APIStore is what the HTTP API needs from the store besides Store. Both
// backends implement it; it is meant to be embedded into Store.
type APIStore interface {
	// CreateAPIKey stores k (CreatedAt defaults to now). An existing ID
	// gives an error wrapping ErrAPIKeyExists.
	CreateAPIKey(ctx context.Context, k APIKey) error
	// GetAPIKey returns the key with this id, revoked or not, or
	// ErrNotFound.
	GetAPIKey(ctx context.Context, id string) (APIKey, error)
	// ListAPIKeys returns every key, oldest first.
	ListAPIKeys(ctx context.Context) ([]APIKey, error)
	// RevokeAPIKey marks key id revoked at at (now when zero); revoking a
	// revoked key keeps the first date. A missing key is ErrNotFound.
	RevokeAPIKey(ctx context.Context, id string, at time.Time) error

	// ClaimIdempotency inserts rec (ClaimedAt and CreatedAt set to now)
	// unless its (Scope, Key) exists. It returns the stored record and
	// whether the caller owns it and must do the work: true when it was
	// inserted, or when the stored record is unfinished (Status 0), has
	// the same RequestHash and was claimed before staleBefore (its owner
	// died), in which case the claim is taken over atomically.
	ClaimIdempotency(ctx context.Context, rec Idempotency, staleBefore time.Time) (Idempotency, bool, error)
	// CompleteIdempotency stores the response of a claimed key; later
	// claims replay it. A missing record is ErrNotFound.
	CompleteIdempotency(ctx context.Context, scope, key string, status int, response []byte) error
	// ReleaseIdempotency deletes an unfinished record (Status 0), so that
	// a request that failed before writing anything can be retried with
	// the same key at once.
	ReleaseIdempotency(ctx context.Context, scope, key string) error

	// InsertLedgerPayload inserts rows as InsertLedger does and, in the
	// same transaction, stores data as the payload of every new row (the
	// transactional API's per-message data, read by the worker).
	InsertLedgerPayload(ctx context.Context, rows []LedgerRow, data map[string]any) (int, error)
	// LedgerPayload returns the data stored with ledger row id, or
	// ErrNotFound when it has none.
	LedgerPayload(ctx context.Context, id string) (map[string]any, error)
	// LedgerPayloads returns the data of those of ledger rows ids that
	// have some (as LedgerPayload does), by id: the rows of a batch in
	// one read.
	LedgerPayloads(ctx context.Context, ids []string) (map[string]map[string]any, error)

	// ResolveExternalID returns the id of the contact with this external
	// id, or ErrNotFound.
	ResolveExternalID(ctx context.Context, externalID string) (int64, error)
	// LastTouch returns the newest ledger row of campaignID sent to the
	// contact (states accepted, delivered, bounced, ambiguous, submitting)
	// created at or after since, for last-touch attribution of a
	// conversion, or ErrNotFound.
	LastTouch(ctx context.Context, contactID int64, campaignID string, since time.Time) (LedgerRow, error)
}
