package apikey

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestScopesDocumented: every scope a key can have is in docs/api.md's
// scope table, so a user can tell what a key they create grants.
func TestScopesDocumented(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "api.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range AllScopes {
		if !strings.Contains(string(b), "\n| `"+s+"` | ") {
			t.Errorf("scope %q is missing from the scope table of docs/api.md", s)
		}
	}
}
