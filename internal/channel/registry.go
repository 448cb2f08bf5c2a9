package channel

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// Registry holds the channels relais knows and the senders attached to
// each. It is built once, in cmd, by explicit registration (no init side
// effects), so a test can build its own with an extra channel. It is not
// safe to modify while in use; reads are safe for concurrent use.
type Registry struct {
	order   []*Descriptor
	byName  map[string]*Descriptor
	senders map[string][]Sender
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{byName: map[string]*Descriptor{}, senders: map[string][]Sender{}}
}

// Register adds channels; a duplicate name or an incomplete descriptor is
// an error, since a silently replaced channel would send through the
// wrong rules.
func (r *Registry) Register(ds ...*Descriptor) error {
	for _, d := range ds {
		switch {
		case d == nil || d.Name == "":
			return errors.New("channel: descriptor without a name")
		case r.byName[d.Name] != nil:
			return fmt.Errorf("channel %q registered twice", d.Name)
		case d.Address == nil || d.Address.Class == "" || d.Address.Check == nil || d.Address.Normalized == nil:
			return fmt.Errorf("channel %q: descriptor has no complete address", d.Name)
		case d.Block.Decode == nil || d.Block.Compose == nil:
			return fmt.Errorf("channel %q: descriptor has no content block", d.Name)
		case d.ConsentKey == "":
			return fmt.Errorf("channel %q: descriptor has no consent key", d.Name)
		}
		r.byName[d.Name] = d
		r.order = append(r.order, d)
	}
	return nil
}

// Lookup returns the channel called name.
func (r *Registry) Lookup(name string) (*Descriptor, bool) {
	d, ok := r.byName[name]
	return d, ok
}

// Known reports whether name is a registered channel.
func (r *Registry) Known(name string) bool { return r.byName[name] != nil }

// All returns the channels in registration order (the order campaign
// steps default to and messages list them in).
func (r *Registry) All() []*Descriptor { return slices.Clone(r.order) }

// Names returns the channel names in registration order.
func (r *Registry) Names() []string {
	out := make([]string, len(r.order))
	for i, d := range r.order {
		out[i] = d.Name
	}
	return out
}

// Addresses returns the distinct addresses of the channels, by class, in
// registration order: erasure suppresses each of them.
func (r *Registry) Addresses() []*Address {
	var out []*Address
	seen := map[string]bool{}
	for _, d := range r.order {
		if !seen[d.Address.Class] {
			seen[d.Address.Class] = true
			out = append(out, d.Address)
		}
	}
	return out
}

// ConsentKeys returns the distinct consent keys, in registration order.
func (r *Registry) ConsentKeys() []string {
	var out []string
	for _, d := range r.order {
		if !slices.Contains(out, d.ConsentKey) {
			out = append(out, d.ConsentKey)
		}
	}
	return out
}

// AddSender attaches s to channel name. The first sender attached is the
// primary; each later one is a failover, tried in order when the ones
// before it fail temporarily.
func (r *Registry) AddSender(name string, s Sender) error {
	if r.byName[name] == nil {
		return fmt.Errorf("channel %q is not registered", name)
	}
	r.senders[name] = append(r.senders[name], s)
	return nil
}

// Sender returns what sends on channel name: its only sender, or its
// senders chained for failover; false when none is attached here.
func (r *Registry) Sender(name string) (Sender, bool) {
	ss := r.senders[name]
	switch len(ss) {
	case 0:
		return nil, false
	case 1:
		return ss[0], true
	}
	return failover{name: name, senders: ss}, true
}

// Close closes every sender.
func (r *Registry) Close() error {
	var errs []error
	for _, d := range r.order {
		for _, s := range r.senders[d.Name] {
			errs = append(errs, s.Close())
		}
	}
	return errors.Join(errs...)
}

// failover sends through the first sender that accepts. A permanent
// failure stops there (another provider would refuse the same address);
// a temporary one moves on, since a provider's temporary refusal means it
// did not take the message; a lost answer (ErrAmbiguous) stops there too,
// since the first provider may have taken it.
type failover struct {
	name    string
	senders []Sender
}

func (f failover) Name() string { return f.name }

func (f failover) Send(ctx context.Context, m *Message) (Receipt, error) {
	var errs []error
	for _, s := range f.senders {
		rc, err := s.Send(ctx, m)
		if err == nil || IsPermanent(err) || IsAmbiguous(err) {
			return rc, err // an ambiguous send may have gone: no other provider
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return Receipt{}, errors.Join(errs...)
}

// Close is a no-op: the registry closes each sender once.
func (f failover) Close() error { return nil }
