package audience

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"slices"

	"github.com/expr-lang/expr/vm"

	"github.com/relais-dev/relais/internal/contact"
)

// Selector applies a campaign's audience rules to a Source: the where
// filter, the Pareto top and de-duplication. It is immutable after
// NewSelector and safe for concurrent Stream calls.
type Selector struct {
	where   *vm.Program // nil: everyone
	by      *vm.Program // nil: no top
	percent float64
	seed    maphash.Seed
}

// NewSelector compiles where ("" keeps everyone) and, when topBy is not
// empty, the Pareto top: the best topPercent % (0 < topPercent <= 100) of
// the matching contacts by the value of topBy. Errors are *ExprError for a
// bad expression, or a plain error for a bad percentage.
func NewSelector(where string, topBy string, topPercent float64) (*Selector, error) {
	s := &Selector{seed: maphash.MakeSeed()}
	var err error
	if where != "" {
		if s.where, err = compile(where, true); err != nil {
			return nil, fmt.Errorf("where: %w", err)
		}
	}
	if topBy != "" {
		if !(topPercent > 0 && topPercent <= 100) {
			return nil, fmt.Errorf("top: percent must be in (0, 100], got %v", topPercent)
		}
		if s.by, err = compile(topBy, false); err != nil {
			return nil, fmt.Errorf("top.by: %w", err)
		}
		s.percent = topPercent
	}
	return s, nil
}

// pass holds the per-pass state of a stream: the dedupe set and a reused
// expression environment.
type pass struct {
	s    *Selector
	seen seenSet
	env  map[string]any
	vm   vm.VM
	n    int // contacts read, for error messages
}

func (s *Selector) newPass() *pass {
	return &pass{s: s, env: make(map[string]any, 16)}
}

// admit says whether c passes where and is the first of its email (or
// phone, when it has no valid email) in this pass. Contacts with neither
// cannot be duplicates of anyone and always pass.
func (p *pass) admit(c *contact.Contact) (bool, error) {
	p.n++
	if p.s.where != nil {
		fillEnv(p.env, c)
		out, err := p.vm.Run(p.s.where, p.env)
		if err != nil {
			return false, fmt.Errorf("where: contact #%d: %w", p.n, err)
		}
		if ok, _ := out.(bool); !ok {
			return false, nil
		}
	}
	key := ""
	switch {
	case c.EmailNorm != "":
		key = "e" + c.EmailNorm
	case c.Email != "":
		if norm, _ := contact.NormalizeEmail(c.Email); norm != "" {
			key = "e" + norm
		}
	}
	if key == "" && c.Phone != "" {
		key = "p" + c.Phone
	}
	if key == "" {
		return true, nil
	}
	return p.seen.add(maphash.String(p.s.seed, key)), nil
}

// value evaluates top.by; ok is false when the contact has no numeric value.
func (p *pass) value(c *contact.Contact) (float64, bool, error) {
	if p.s.where == nil { // admit did not fill the env
		fillEnv(p.env, c)
	}
	out, err := p.vm.Run(p.s.by, p.env)
	if err != nil {
		return 0, false, fmt.Errorf("top.by: contact #%d: %w", p.n, err)
	}
	f, ok := toFloat(out)
	if !ok || math.IsNaN(f) {
		return 0, false, nil
	}
	return f, true, nil
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case int32:
		return float64(x), true
	case uint:
		return float64(x), true
	case uint64:
		return float64(x), true
	case float64:
		return x, true
	case float32:
		return float64(x), true
	}
	return 0, false
}

// Stream calls fn for every selected contact in source order. Without a
// top it is one pass. With a top it reads src twice: pass 1 keeps only the
// top.by values of the matching contacts (8 bytes each) to find how many to
// keep, ceil(percent % of the matching contacts, those without a value
// included), and the threshold value; pass 2 emits contacts above the
// threshold, then ties at the threshold in source order until that count
// is reached. Contacts without a numeric value are never in the top.
// Duplicates (same normalized email, else same phone) keep their first
// matching occurrence; the dedupe set holds one 64-bit hash per contact.
// Expression errors at run time (e.g. comparing text with a number) stop
// the stream; fn's errors are returned as is.
func (s *Selector) Stream(ctx context.Context, src Source, fn func(c *contact.Contact) error) error {
	if s.by == nil {
		p := s.newPass()
		defer p.seen.free()
		return src.Each(ctx, func(c *contact.Contact) error {
			ok, err := p.admit(c)
			if err != nil || !ok {
				return err
			}
			return fn(c)
		})
	}

	// Pass 1: values only.
	p := s.newPass()
	defer func() { p.seen.free() }() // pass 2's set, or pass 1's after an error
	var values []float64
	matching := 0
	err := src.Each(ctx, func(c *contact.Contact) error {
		ok, err := p.admit(c)
		if err != nil || !ok {
			return err
		}
		matching++
		v, has, err := p.value(c)
		if err != nil {
			return err
		}
		if has {
			values = append(values, v)
		}
		return nil
	})
	if err != nil {
		return err
	}
	keep := int(math.Ceil(s.percent*float64(matching)/100 - 1e-9))
	keep = min(keep, len(values))
	if keep == 0 {
		return nil
	}
	slices.Sort(values)
	threshold := values[len(values)-keep]
	above := len(values) - keep
	for above < len(values) && values[above] == threshold {
		above++
	}
	ties := keep - (len(values) - above) // slots left for values equal to the threshold
	values = nil

	// Pass 2: the same admission sequence, so dedupe decisions match pass 1.
	p.seen.free()
	p = s.newPass()
	emitted := 0
	err = src.Each(ctx, func(c *contact.Contact) error {
		ok, err := p.admit(c)
		if err != nil || !ok {
			return err
		}
		v, has, err := p.value(c)
		if err != nil || !has {
			return err
		}
		switch {
		case v > threshold:
		case v == threshold && ties > 0:
			ties--
		default:
			return nil
		}
		emitted++
		if err := fn(c); err != nil {
			return err
		}
		if emitted == keep {
			return errStop
		}
		return nil
	})
	if errors.Is(err, errStop) {
		return nil
	}
	return err
}

// errStop ends pass 2 early once the top is complete.
var errStop = errors.New("top complete")
