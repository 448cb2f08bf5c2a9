package channel

import (
	"errors"
	"fmt"
)

// Registry maps channel names to their senders. It is built once, in cmd,
// by explicit registration.
type Registry map[string]Sender

// NewRegistry registers senders by Name(); a duplicate name is an error.
func NewRegistry(senders ...Sender) (Registry, error) {
	r := Registry{}
	for _, s := range senders {
		if err := r.Add(s); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Add registers s; a second sender for the same channel is an error.
func (r Registry) Add(s Sender) error {
	if _, dup := r[s.Name()]; dup {
		return fmt.Errorf("channel %q registered twice", s.Name())
	}
	r[s.Name()] = s
	return nil
}

// Close closes every sender.
func (r Registry) Close() error {
	var errs []error
	for _, s := range r {
		errs = append(errs, s.Close())
	}
	return errors.Join(errs...)
}
