package layering_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// specRef matches references to the product's specification and design
// notes, which are not in the repository, so a reader cannot follow them.
// The two words are raised to upper case here so this file does not
// contain the very words it looks for.
var specRef = func() *regexp.Regexp {
	spec, design := strings.ToUpper("spec"), strings.ToUpper("design")
	return regexp.MustCompile(spec + ` §|\b` + spec + `\b|` + design + ` convention|\b` + design + `\b`)
}()

// TestNoReferencesToMissingDocuments: code comments, docs and generated
// text speak of the product and of files that exist, never of documents
// outside the repository.
func TestNoReferencesToMissingDocuments(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	self, _ := filepath.Abs("references_test.go")
	err = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); p != root && (strings.HasPrefix(name, ".") || name == "bin" || name == "var" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		switch filepath.Ext(p) {
		case ".go", ".md", ".yaml", ".yml", ".json", ".html", ".txt", ".tmpl", ".css", ".js":
		default:
			if filepath.Base(p) != "Makefile" {
				return nil
			}
		}
		if p == self {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(b), "\n") {
			if specRef.MatchString(line) {
				rel, _ := filepath.Rel(root, p)
				t.Errorf("%s:%d: refers to a document not in the repository: %s", rel, i+1, strings.TrimSpace(line))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
