package layering_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestFuzzTargetsRunAndHaveACorpus: every fuzz target of the module is
// run by `make fuzz` (and so by `make test`) and has a committed seed
// corpus in its package's testdata/fuzz/<Name>/.
func TestFuzzTargetsRunAndHaveACorpus(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	mk, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	fuzzFunc := regexp.MustCompile(`(?m)^func (Fuzz\w+)\(f \*testing\.F\)`)
	found := 0
	err = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && p != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(p))
		for _, m := range fuzzFunc.FindAllStringSubmatch(string(src), -1) {
			found++
			target := "./" + filepath.ToSlash(rel) + ":" + m[1]
			if !strings.Contains(string(mk), target) {
				t.Errorf("%s is not in the Makefile's FUZZ_TARGETS", target)
			}
			corpus, _ := os.ReadDir(filepath.Join(filepath.Dir(p), "testdata", "fuzz", m[1]))
			if len(corpus) == 0 {
				t.Errorf("%s has no committed seed corpus in %s/testdata/fuzz/%s/", target, rel, m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found == 0 {
		t.Fatal("no fuzz target found")
	}
}
