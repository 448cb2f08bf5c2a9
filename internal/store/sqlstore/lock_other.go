//go:build !unix

package sqlstore

// lockFile is a no-op where flock is unavailable: concurrent first Opens of
// a new database from two processes may then race on the migrations (a
// retried Open succeeds).
func lockFile(string) (func(), error) { return func() {}, nil }
