package layering_test

import (
	"go/build"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/relais-dev/relais"

// sdks are the provider SDKs: linking one is the provider package's
// business, never the domain's.
var sdks = []string{
	"github.com/twilio/twilio-go",
	"github.com/wneessen/go-mail",
	"github.com/go-pdf/fpdf",
	"github.com/pdfcpu/pdfcpu",
}

// providers may import an SDK; cmd/ may too, to wire them.
var providers = []string{"internal/channel/email", "internal/channel/print", "internal/channel/twilio"}

// domain packages must not link an SDK, even through other relais
// packages.
var domain = []string{
	"internal/campaign", "internal/run", "internal/policy", "internal/tracking",
	"internal/feedback", "internal/httpapi", "internal/report", "internal/scheduler",
	"internal/store", "internal/config", "internal/compose", "internal/postal",
	"internal/segments", "internal/channel/sms", "internal/audience", "internal/render",
	"internal/channel/builtin",
}

// imports returns the non-test imports of every package of the module,
// keyed by path relative to the module root.
func imports(t *testing.T) map[string][]string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found: %v", err)
	}
	out := map[string][]string{}
	err = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		if name := d.Name(); p != root && (strings.HasPrefix(name, ".") || name == "testdata") {
			return filepath.SkipDir
		}
		pkg, err := build.Default.ImportDir(p, 0)
		if err != nil {
			return nil // no Go files here
		}
		rel, _ := filepath.Rel(root, p)
		out[filepath.ToSlash(rel)] = pkg.Imports
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func isSDK(path string) bool {
	return slices.ContainsFunc(sdks, func(s string) bool { return path == s || strings.HasPrefix(path, s+"/") })
}

func under(rel string, roots ...string) bool {
	return slices.ContainsFunc(roots, func(r string) bool { return rel == r || strings.HasPrefix(rel, r+"/") })
}

func TestOnlyProvidersAndCmdImportSDKs(t *testing.T) {
	for rel, imps := range imports(t) {
		if under(rel, "cmd") || under(rel, providers...) {
			continue
		}
		for _, imp := range imps {
			if isSDK(imp) {
				t.Errorf("%s imports %s: only cmd/ and %v may", rel, imp, providers)
			}
		}
	}
}

func TestDomainLinksNoSDK(t *testing.T) {
	all := imports(t)
	for rel := range all {
		if !under(rel, domain...) {
			continue
		}
		// Walk the relais packages rel depends on.
		seen := map[string]string{rel: ""} // package → the package that imports it
		queue := []string{rel}
		for len(queue) > 0 {
			p := queue[0]
			queue = queue[1:]
			for _, imp := range all[p] {
				if isSDK(imp) {
					chain := []string{imp}
					for q := p; q != ""; q = seen[q] {
						chain = append(chain, q)
					}
					slices.Reverse(chain)
					t.Errorf("%s links %s: %s", rel, imp, strings.Join(chain, " → "))
					continue
				}
				dep, ok := strings.CutPrefix(imp, module+"/")
				if _, done := seen[dep]; !ok || done {
					continue
				}
				seen[dep] = p
				queue = append(queue, dep)
			}
		}
	}
}

func TestOnlyCmdImportsWorker(t *testing.T) {
	for rel, imps := range imports(t) {
		if under(rel, "cmd", "internal/worker") {
			continue
		}
		if slices.Contains(imps, module+"/internal/worker") {
			t.Errorf("%s imports internal/worker: the send path is wired by cmd/ only; share code through internal/compose", rel)
		}
	}
}

// forbidden lists, per group of packages, the imports that would make data
// flow backwards: storage knows no transport, queue or channel; senders
// know no store or queue; nothing imports a command.
var forbidden = []struct {
	name    string
	pkgs    []string // packages (and their sub-packages) the rule applies to
	imports []string // import prefixes they must not use
}{
	{"storage knows no transport or queue", []string{"internal/store"},
		[]string{"github.com/hibiken/asynq", "github.com/redis/go-redis", module + "/internal/channel", module + "/internal/queue", module + "/internal/policy", "net/http"}},
	{"senders know no store or queue", []string{"internal/channel"},
		[]string{module + "/internal/store", module + "/internal/queue", "github.com/hibiken/asynq", "github.com/redis/go-redis"}},
	{"nothing imports a command", []string{"internal"}, []string{module + "/cmd"}},
}

func TestDataMovesForward(t *testing.T) {
	all := imports(t)
	for _, rule := range forbidden {
		for rel, imps := range all {
			if !under(rel, rule.pkgs...) {
				continue
			}
			for _, imp := range imps {
				if slices.ContainsFunc(rule.imports, func(p string) bool { return imp == p || strings.HasPrefix(imp, p+"/") }) {
					t.Errorf("%s imports %s: %s", rel, imp, rule.name)
				}
			}
		}
	}
}
