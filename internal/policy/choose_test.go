package policy

import (
	"context"
	"errors"
	"testing"
)

func TestChoose(t *testing.T) {
	refuse := func(r string) Decision { return Decision{Verdict: Deny, Reason: r} }
	cases := []struct {
		name   string
		chans  []string
		by     map[string]Decision
		wantCh string
		want   string
	}{
		{"first allowed wins", []string{"email", "sms"}, map[string]Decision{"email": {Verdict: Allow}, "sms": {Verdict: Allow}}, "email", ""},
		{"falls through a refusal", []string{"email", "sms"}, map[string]Decision{"email": refuse(ReasonOptedOut), "sms": {Verdict: Allow}}, "sms", ""},
		{"first refusal kept", []string{"email", "sms"}, map[string]Decision{"email": refuse(ReasonOptedOut), "sms": refuse(ReasonNoAddress)}, "email", ReasonOptedOut},
		{"no address yields to a telling refusal", []string{"email", "sms"}, map[string]Decision{"email": refuse(ReasonNoAddress), "sms": refuse(ReasonOptedOut)}, "sms", ReasonOptedOut},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ch, dec, err := Choose(context.Background(), tc.chans, func(_ context.Context, ch string) (Decision, error) { return tc.by[ch], nil })
			if err != nil || ch != tc.wantCh || dec.Reason != tc.want {
				t.Fatalf("Choose = %q %q %v, want %q %q", ch, dec.Reason, err, tc.wantCh, tc.want)
			}
		})
	}
	if _, _, err := Choose(context.Background(), nil, nil); !errors.Is(err, ErrNoChannel) {
		t.Fatalf("no channel: %v", err)
	}
	boom := errors.New("boom")
	if _, _, err := Choose(context.Background(), []string{"email"}, func(context.Context, string) (Decision, error) { return Decision{}, boom }); !errors.Is(err, boom) {
		t.Fatalf("error: %v", err)
	}
}
