package sqlstore

import "github.com/relais-dev/relais/internal/contact"

// slot is one contact row the batch writes: a stored one being updated
// (id ≠ 0) or a new one (id = 0 until inserted).
type slot struct {
	id    int64
	c     *contact.Contact
	dirty bool
}

// matcher indexes a batch's candidate slots by each matching key. Lists
// keep id order (stored contacts first, new ones after, as their ids will
// be), so "the first match" is the stored contact of lowest id. These are the
// matching rules of store.Store.UpsertContacts, written once for both
// databases.
type matcher struct {
	slots            []*slot
	seen             map[*slot]bool
	byExt            map[string]*slot
	byEmail, byPhone map[string][]*slot
}

func newMatcher() *matcher {
	return &matcher{seen: map[*slot]bool{}, byExt: map[string]*slot{},
		byEmail: map[string][]*slot{}, byPhone: map[string][]*slot{}}
}

// add indexes sl under its current keys; re-adding after a merge indexes
// new keys (stale ones are filtered out by match).
func (m *matcher) add(sl *slot) {
	if !m.seen[sl] {
		m.seen[sl] = true
		m.slots = append(m.slots, sl)
	}
	c := sl.c
	if c.ExternalID != "" {
		m.byExt[c.ExternalID] = sl
	}
	if c.EmailNorm != "" && !has(m.byEmail[c.EmailNorm], sl) {
		m.byEmail[c.EmailNorm] = insertByID(m.byEmail[c.EmailNorm], sl)
	}
	if c.Phone != "" && !has(m.byPhone[c.Phone], sl) {
		m.byPhone[c.Phone] = insertByID(m.byPhone[c.Phone], sl)
	}
}

// match applies the store.Store matching rules to c.
func (m *matcher) match(c *contact.Contact) *slot {
	if c.ExternalID != "" {
		if sl := m.byExt[c.ExternalID]; sl != nil && sl.c.ExternalID == c.ExternalID {
			return sl
		}
	}
	compatible := func(sl *slot) bool {
		return c.ExternalID == "" || sl.c.ExternalID == "" || sl.c.ExternalID == c.ExternalID
	}
	if c.EmailNorm != "" {
		for _, sl := range m.byEmail[c.EmailNorm] {
			if sl.c.EmailNorm == c.EmailNorm && compatible(sl) {
				return sl
			}
		}
	}
	if c.Phone != "" {
		for _, sl := range m.byPhone[c.Phone] {
			if sl.c.Phone == c.Phone && compatible(sl) {
				return sl
			}
		}
	}
	return nil
}

func has(list []*slot, sl *slot) bool {
	for _, x := range list {
		if x == sl {
			return true
		}
	}
	return false
}

// insertByID keeps stored slots (by id) before new ones (in batch order).
func insertByID(list []*slot, sl *slot) []*slot {
	if sl.id == 0 {
		return append(list, sl)
	}
	i := 0
	for i < len(list) && list[i].id != 0 && list[i].id < sl.id {
		i++
	}
	list = append(list, nil)
	copy(list[i+1:], list[i:])
	list[i] = sl
	return list
}
