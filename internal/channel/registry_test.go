package channel_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/relais-dev/relais/internal/channel"
	"github.com/relais-dev/relais/internal/contact"
)

func testDescriptor(name string) *channel.Descriptor {
	return &channel.Descriptor{
		Name:       name,
		ConsentKey: name,
		Address: &channel.Address{Class: name,
			Normalized: func(*contact.Contact) string { return "x" },
			Check:      func(*contact.Contact) error { return nil }},
		Block: channel.Block{
			Decode:  func(channel.BlockDecoder, *yaml.Node) any { return nil },
			Compose: func(*channel.ComposeInput, *channel.Message) error { return nil },
		},
	}
}

func TestRegisterRefusesDuplicatesAndIncompleteDescriptors(t *testing.T) {
	r := channel.NewRegistry()
	if err := r.Register(testDescriptor("a"), testDescriptor("b")); err != nil {
		t.Fatal(err)
	}
	if err := r.Register(testDescriptor("a")); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("duplicate registered: %v", err)
	}
	noAddr := testDescriptor("c")
	noAddr.Address = nil
	if err := r.Register(noAddr); err == nil {
		t.Error("descriptor without an address registered")
	}
	if got := strings.Join(r.Names(), ","); got != "a,b" {
		t.Errorf("Names = %s", got)
	}
	if err := r.AddSender("nope", stubSender{}); err == nil {
		t.Error("sender attached to an unknown channel")
	}
}

type stubSender struct {
	id  string
	err error
	n   *int
}

func (s stubSender) Name() string { return "a" }
func (s stubSender) Close() error { return nil }
func (s stubSender) Send(context.Context, *channel.Message) (channel.Receipt, error) {
	if s.n != nil {
		*s.n++
	}
	return channel.Receipt{ProviderID: s.id}, s.err
}

// A second sender is a failover: tried after a temporary failure of the
// first, never after a permanent one (another provider would refuse the
// same address).
func TestSenderFailover(t *testing.T) {
	temporary := errors.New("503")
	permanent := errors.Join(channel.ErrPermanent, errors.New("invalid number"))
	tests := []struct {
		name      string
		first     error
		wantID    string
		wantErr   bool
		wantCalls int
	}{
		{name: "primary accepts", wantID: "primary", wantCalls: 0},
		{name: "primary down", first: temporary, wantID: "backup", wantCalls: 1},
		{name: "permanent refusal", first: permanent, wantErr: true, wantCalls: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := channel.NewRegistry()
			if err := r.Register(testDescriptor("a")); err != nil {
				t.Fatal(err)
			}
			backupCalls := 0
			_ = r.AddSender("a", stubSender{id: "primary", err: tt.first})
			_ = r.AddSender("a", stubSender{id: "backup", n: &backupCalls})
			s, ok := r.Sender("a")
			if !ok {
				t.Fatal("no sender")
			}
			rc, err := s.Send(t.Context(), &channel.Message{})
			if (err != nil) != tt.wantErr || (!tt.wantErr && rc.ProviderID != tt.wantID) || backupCalls != tt.wantCalls {
				t.Errorf("Send = %q, %v (backup called %d times)", rc.ProviderID, err, backupCalls)
			}
			if tt.wantErr && !channel.IsPermanent(err) {
				t.Errorf("permanent failure lost: %v", err)
			}
		})
	}
	if _, ok := channel.NewRegistry().Sender("a"); ok {
		t.Error("sender found on an empty registry")
	}
}
