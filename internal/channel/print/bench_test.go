package print

import (
	"context"
	"testing"

	"github.com/relais-dev/relais/internal/channel"
)

// BenchmarkLetters measures the whole print path per letter: Send (address,
// spool) and Assemble (layout with reply coupon and vector QR, batch PDF,
// manifest, preflight), reported as letters/s (goal: ≥ 1,000/s).
func BenchmarkLetters(b *testing.B) {
	bt, err := NewBatcher(b.TempDir(), testLayout)
	if err != nil {
		b.Fatal(err)
	}
	s := bt.Sender()
	ctx := context.Background()
	msgs := make([]*channel.Message, b.N)
	for i := range msgs {
		msgs[i] = testMessage(b, "bench", i)
	}
	b.ResetTimer()
	for _, m := range msgs {
		if _, err := s.Send(ctx, m); err != nil {
			b.Fatal(err)
		}
	}
	res, err := bt.Assemble(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	for _, r := range res {
		if r.Rejected {
			b.Fatalf("rejected: %s", r.Reason)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "letters/s")
}
