package campaign

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// okRepo copies the valid example into a temp dir, applies edit to the
// files (path relative to the repository → new content) and returns the
// campaign file's path.
func okRepo(t *testing.T, edit map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	copyTree(t, "testdata/ok", dir)
	for rel, content := range edit {
		if err := os.WriteFile(filepath.Join(dir, rel), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "campaigns", "printemps-2027.yaml")
}

func hasMsg[T Error | Warning](list []T, msg string) bool {
	return slices.ContainsFunc(list, func(e T) bool {
		switch v := any(e).(type) {
		case Error:
			return strings.Contains(v.Msg, msg)
		case Warning:
			return strings.Contains(v.Msg, msg)
		}
		return false
	})
}

// TestEmptyAudience: a 0-byte audience file is an error at the file's
// position; a header-only one is a warning (the campaign sends nothing).
func TestEmptyAudience(t *testing.T) {
	p := okRepo(t, map[string]string{"audiences/printemps.csv": ""})
	errs, _ := ValidateWithWarnings(p)
	if !slices.ContainsFunc(errs, func(e Error) bool {
		return e.Line == 6 && e.Col == 9 && strings.Contains(e.Msg, "audience file audiences/printemps.csv is empty")
	}) {
		t.Errorf("empty audience: want an error at 6:9, got:\n%s", Errors(errs))
	}

	p = okRepo(t, map[string]string{"audiences/printemps.csv": "external_id;Prénom;last_name;email;phone;city;CA 12 mois;orders_12m;Type\r\n"})
	errs, warns := ValidateWithWarnings(p)
	if len(errs) != 0 || !hasMsg(warns, "has a header and no rows") {
		t.Errorf("header-only audience: want no error and a warning, got errors:\n%s\nwarnings: %v", Errors(errs), warns)
	}

	_, warns = ValidateWithWarnings(okRepo(t, nil))
	if hasMsg(warns, "no rows") {
		t.Errorf("warning for an audience with rows: %v", warns)
	}
}

// TestUnsubscribeLinkWarning: a marketing email template without a
// visible {{.Links.Unsubscribe}} is warned about, at its path in the
// campaign file; with it, no warning.
func TestUnsubscribeLinkWarning(t *testing.T) {
	p := okRepo(t, map[string]string{"templates/printemps/email.txt": "Bonjour {{.Contact.FirstName}},\nà bientôt.\n"})
	errs, warns := ValidateWithWarnings(p)
	if len(errs) != 0 {
		t.Fatalf("errors: %s", Errors(errs))
	}
	if len(warns) != 1 || !strings.Contains(warns[0].Msg, "templates/printemps/email.txt shows no unsubscribe link") || warns[0].Line != 18 {
		t.Errorf("want one warning on line 18 for email.txt, got %v", warns)
	}
	if _, warns := ValidateWithWarnings(okRepo(t, nil)); hasMsg(warns, "unsubscribe") {
		t.Errorf("warning with the link present: %v", warns)
	}
}

// TestSubjectLineBreak: a line break in a subject is refused at its
// position.
func TestSubjectLineBreak(t *testing.T) {
	dir := t.TempDir()
	copyTree(t, "testdata/ok", dir)
	p := filepath.Join(dir, "campaigns", "printemps-2027.yaml")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(string(b), `subject: "{{.Contact.FirstName}}, le printemps arrive"`, `subject: "{{.Contact.FirstName}},\r\nBcc: x@example.net"`, 1)
	if src == string(b) {
		t.Fatal("subject not found in the example")
	}
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	errs := Validate(p)
	if len(errs) != 1 || errs[0].Line != 18 || errs[0].Col != 47 || !strings.Contains(errs[0].Msg, "line break") {
		t.Errorf("want one error at 18:47 (the backslash), got:\n%s", Errors(errs))
	}
}
