package sqlstore_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/contact"
)

// TestEraseLeavesNoCopyInFile erases a contact that was imported and then
// updated (so an older version of its row was freed once already) and
// reads the database file and its WAL byte by byte for the address.
func TestEraseLeavesNoCopyInFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "relais.db")
	s := open(t, path)
	const addr = "unique.person.1234@example.org"
	c := &contact.Contact{ExternalID: "X1", FirstName: "Zéphirin", Email: addr, Phone: "06 11 22 33 44"}
	c.Normalize()
	if _, _, err := s.UpsertContacts(t.Context(), []*contact.Contact{c}); err != nil {
		t.Fatal(err)
	}
	up := &contact.Contact{ExternalID: "X1", Address: contact.Address{City: "Lyon"}}
	up.Normalize()
	if _, _, err := s.UpsertContacts(t.Context(), []*contact.Contact{up}); err != nil {
		t.Fatal(err)
	}
	secret := []byte("0123456789abcdef0123456789abcdef")
	if _, err := s.EraseContact(t.Context(), c.ID, func(sc *contact.Contact) []string {
		var ks []string
		for _, k := range contact.SuppressionKeys(secret, sc) {
			ks = append(ks, k)
		}
		return ks
	}, time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(f)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, needle := range []string{addr, "Zéphirin", "+33611223344"} {
			if bytes.Contains(b, []byte(needle)) {
				t.Errorf("%s still holds %q after erasure", filepath.Base(f), needle)
			}
		}
	}
}
