package main

import (
	"bytes"
	"context"
	"math"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/relais-dev/relais/internal/testenv"
)

func TestSpreadOf(t *testing.T) {
	tests := []struct {
		name          string
		in            []float64
		med, min, max float64
		n             int
		str           string
	}{
		{"three runs", []float64{300, 100, 200}, 200, 100, 300, 3, "200 (100–300, 3 runs)"},
		{"even count", []float64{4, 1, 2, 3}, 2.5, 1, 4, 4, "2.50 (1.00–4.00, 4 runs)"},
		{"one run", []float64{1500}, 1500, 1500, 1500, 1, "1,500"},
		{"failed run left out", []float64{math.NaN(), 10, 20}, 15, 10, 20, 2, "15.0 (10.0–20.0, 2 runs)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := spreadOf(tt.in)
			if s.Median != tt.med || s.Min != tt.min || s.Max != tt.max || s.N != tt.n {
				t.Errorf("spreadOf(%v) = %+v", tt.in, s)
			}
			if s.String() != tt.str {
				t.Errorf("String() = %q, want %q", s.String(), tt.str)
			}
		})
	}
	if s := spreadOf(nil); !math.IsNaN(s.Median) || s.N != 0 {
		t.Errorf("spreadOf(nil) = %+v", s)
	}
}

func TestParseStatCPU(t *testing.T) {
	tests := []struct {
		name    string
		line    string
		want    time.Duration
		wantErr bool
	}{
		{"plain", "1234 (redis-server) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 4 0 100 0", 3 * time.Second, false},
		{"name with spaces and parens", "77 (postgres: a (b) c) S 1 77 77 0 -1 0 0 0 0 0 7 3 0 0 20 0", 100 * time.Millisecond, false},
		{"truncated", "77 (x) S 1 2", 0, true},
		{"garbage", "no parenthesis", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStatCPU(tt.line)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("parseStatCPU = %v, %v; want %v (error %v)", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestParseFlagsScaleRunsDB(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		runs    int
		scale   float64
		dbs     int
		wantErr bool
	}{
		{"defaults", nil, 3, 1, 2, false},
		{"quick", []string{"-quick"}, 1, 0.1, 2, false},
		{"quick with runs", []string{"-quick", "-runs", "2"}, 2, 0.1, 2, false},
		{"sqlite only", []string{"-db", "sqlite", "-scale", "0.5"}, 3, 0.5, 1, false},
		{"unknown db", []string{"-db", "mysql"}, 0, 0, 0, true},
		{"no runs", []string{"-runs", "0"}, 0, 0, 0, true},
		{"bad scale", []string{"-scale", "0"}, 0, 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseFlags(tt.args, &bytes.Buffer{})
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !tt.wantErr && (o.runs != tt.runs || o.scale != tt.scale || len(o.dbs) != tt.dbs) {
				t.Errorf("runs %d scale %v dbs %v", o.runs, o.scale, o.dbs)
			}
		})
	}
}

// TestBareCeilings runs the bare SMTP and HTTP baselines briefly against
// the servers the send benchmarks use: every message reaches the server.
func TestBareCeilings(t *testing.T) {
	ctx := context.Background()
	smtp := testenv.StartSMTPWith(t, testenv.SMTPOptions{Discard: true})
	if rate, err := bareSMTP(ctx, smtp.Addr(), 60, 4); err != nil || rate <= 0 {
		t.Fatalf("bareSMTP = %v, %v", rate, err)
	}
	if smtp.Count() != 60 || smtp.Connections() != 4 {
		t.Errorf("SMTP server got %d messages over %d connections, want 60 over 4", smtp.Count(), smtp.Connections())
	}
	if n := len(bareMessages(1)[0]); n < 4500 || n > 6500 {
		t.Errorf("bare message is %d bytes, want about 5 KB", n)
	}
	tw := testenv.StartTwilio(t)
	if rate, err := bareHTTP(ctx, tw.URL, tw.AccountSID, tw.AuthToken, 40, 4); err != nil || rate <= 0 {
		t.Fatalf("bareHTTP = %v, %v", rate, err)
	}
	if got := len(tw.Requests()); got != 40 {
		t.Errorf("Twilio double got %d requests, want 40", got)
	}
}

// TestThrowAwayDatabases creates a database of each kind, opens it with
// the store (migrations included), samples its backends' CPU, and checks
// that drop leaves nothing behind.
func TestThrowAwayDatabases(t *testing.T) {
	ctx := context.Background()
	e := &env{}
	for _, kind := range []string{dbSQLite, dbPostgres} {
		t.Run(kind, func(t *testing.T) {
			db, err := e.newDatabase(ctx, kind, t.TempDir(), "probe")
			if err != nil {
				testenv.Missing(t, "PostgreSQL", err.Error())
				return
			}
			smp := sampleDB(ctx, db)
			st, err := openStore(ctx, db.URL)
			if err != nil {
				_ = db.drop(ctx)
				t.Fatal(err)
			}
			if _, err := st.CountLedger(ctx, 1); err != nil {
				t.Errorf("CountLedger: %v", err)
			}
			// The store's pool keeps its connection open: the last sample,
			// taken by total, sees its backend.
			if _, measured := smp.total(); measured != (kind == dbPostgres) {
				t.Errorf("database CPU measured = %v on %s", measured, kind)
			}
			st.Close()
			if err := db.drop(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := openStoreNoCreate(ctx, db); err == nil {
				t.Errorf("%s database still there after drop", kind)
			}
		})
	}
}

// openStoreNoCreate checks that the dropped database is gone: the SQLite
// file does not exist, the PostgreSQL database cannot be connected to.
func openStoreNoCreate(ctx context.Context, db *database) (any, error) {
	if db.Kind == dbSQLite {
		return os.Stat(db.path)
	}
	c, err := pgx.Connect(ctx, db.URL)
	if err == nil {
		c.Close(ctx)
	}
	return c, err
}
