package twilio_test

import (
	"context"
	"testing"

	"github.com/relais-dev/relais/internal/channel"
	"github.com/relais-dev/relais/internal/channel/twilio"
	"github.com/relais-dev/relais/internal/testenv"
)

// BenchmarkSendSMS measures sends through twilio-go to the local double
// (target: ≥ 1,500/s). The double shares the CPU with the sender, so the
// figure is a lower bound for the channel itself.
func BenchmarkSendSMS(b *testing.B) {
	d, err := testenv.NewTwilioDouble()
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	d.SetRecording(false)
	s, err := twilio.New(twilio.Config{
		AccountSID: d.AccountSID, AuthToken: d.AuthToken, APIBaseURL: d.URL,
		From: "+33700000001", StatusCallback: "https://relais.example/webhooks/twilio/status",
	})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.SetParallelism(8)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		m := channel.Message{LedgerID: "bench", To: "+33612345678", Text: "Bonjour Zoé, -20 % sur votre prochaine commande avec le code PRINTEMPS. STOP au 36111"}
		for pb.Next() {
			if _, err := s.Send(context.Background(), &m); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
