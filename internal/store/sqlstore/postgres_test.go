package sqlstore_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/relais-dev/relais/internal/store"
	"github.com/relais-dev/relais/internal/store/sqlstore"
	"github.com/relais-dev/relais/internal/testenv"
)

func TestOpenConcurrentlyPostgres(t *testing.T) {
	url := testenv.PostgresURL(t)
	const n = 4
	stores := make([]*sqlstore.Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { stores[i], errs[i] = sqlstore.OpenPostgres(t.Context(), url) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open #%d: %v", i, err)
		}
		t.Cleanup(func() { stores[i].Close() })
	}
	for i, s := range stores {
		r, _, err := s.CreateRun(t.Context(), store.Run{CampaignID: "c", RunKey: "k"})
		if err != nil {
			t.Fatalf("store #%d CreateRun: %v", i, err)
		}
		if r.ID != 1 {
			t.Errorf("store #%d sees run %d, want the shared run 1", i, r.ID)
		}
	}
}

func TestRedact(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"password in userinfo", "postgres://u:s3cret@h:5432/db", "postgres://u:xxxxx@h:5432/db"},
		{"password in query", "postgres://u@h/db?password=s3cret&sslmode=disable", "postgres://u@h/db?password=xxxxx&sslmode=disable"},
		{"no password", "postgres://u@h/db", "postgres://u@h/db"},
		{"key=value DSN hidden", "host=h password=s3cret", "(unparsable database URL)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := sqlstore.Redact(tc.in); got != tc.want {
				t.Errorf("Redact = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestOpenErrorHidesPassword(t *testing.T) {
	// Port 1 on loopback refuses at once: no server is contacted.
	_, err := sqlstore.OpenPostgres(t.Context(), "postgres://u:s3cret@127.0.0.1:1/db?connect_timeout=1")
	if err == nil {
		t.Fatal("Open succeeded without a server")
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error leaks the password: %v", err)
	}
}
