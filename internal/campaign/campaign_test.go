package campaign

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/relais-dev/relais/internal/render"
)

func TestValidateRejects(t *testing.T) {
	const c, tp = "testdata/bad/campaigns/", "testdata/bad/templates/"
	tests := []struct {
		name string
		file string
		want []string // "path:line:col" + "|" + message substring, all required
	}{
		{name: "unknown key", file: "unknown_key", want: []string{c + `unknown_key.yaml:1:1|unknown key "chanels" in campaign (did you mean "channels"?)`, c + `unknown_key.yaml:5:36|unknown key "txet" in sms (did you mean "text"?)`}},
		{name: "missing template", file: "missing_template", want: []string{c + "missing_template.yaml:5:18|cannot read templates/nope.txt"}},
		{name: "template syntax", file: "template_syntax", want: []string{tp + `syntax.txt:2:10|function "env" not defined`}},
		{name: "canonical field typo", file: "field_typo", want: []string{tp + "typo.txt:2:5|unknown field FirstNam in .Contact (did you mean FirstName?)"}},
		{name: "field not in audience", file: "field_audience", want: []string{
			c + "field_audience.yaml:6:34|field .Contact.Attrs.vile is not in the audience audiences/a.csv (did you mean .Contact.Attrs.ville?)",
			tp + "attrs.txt:1:9|field .Contact.Attrs.revenu is not in the audience",
			tp + "attrs.txt:1:35|.Data is only set for transactional campaigns"}},
		{name: "bad where", file: "bad_where", want: []string{c + `bad_where.yaml:2:27|bad where expression: unexpected token Operator("and")`}},
		{name: "when unknown step", file: "bad_when_step", want: []string{c + `bad_when_step.yaml:8:23|when: no step with id "anonce"`}},
		{name: "bad cron", file: "bad_cron", want: []string{c + `bad_cron.yaml:1:19|bad cron expression "0 9 * * LUNDI"`}},
		{name: "bad time zone", file: "bad_timezone", want: []string{c + `bad_timezone.yaml:1:40|unknown time zone "Europe/Lyon"`}},
		{name: "channel without content", file: "no_content", want: []string{c + `no_content.yaml:1:11|step "s1": channel email has no content`}},
		{name: "unknown channel", file: "unknown_channel", want: []string{c + `unknown_channel.yaml:1:17|unknown channel "fax"`}},
		{name: "marketing sms without stop", file: "no_stop", want: []string{c + "no_stop.yaml:5:18|has no STOP opt-out mention"}},
		{name: "duration without unit", file: "duration_no_unit", want: []string{c + `duration_no_unit.yaml:7:12|duration "72" has no unit`}},
		{name: "duplicate step", file: "duplicate_step", want: []string{c + `duplicate_step.yaml:6:9|duplicate step id "s1"`}},
		{name: "at and after", file: "at_and_after", want: []string{c + "at_and_after.yaml:6:12|either at or after, not both"}},
		{name: "bad rates", file: "bad_rate", want: []string{c + `bad_rate.yaml:1:16|limits.sms: bad rate "5"`, c + `bad_rate.yaml:1:34|period "7" needs a unit`}},
		{name: "bad purpose", file: "bad_purpose", want: []string{c + `bad_purpose.yaml:1:10|(did you mean "marketing"?)`}},
		{name: "bad link hosts", file: "bad_link_hosts", want: []string{c + `bad_link_hosts.yaml:3:37|link_hosts item "https://shop.example/" must be a host name`,
			c + `bad_link_hosts.yaml:3:62|link_hosts item "*.dupont.example" must be a host name`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			errs := Validate(c + tc.file + ".yaml")
			if len(errs) != len(tc.want) {
				t.Errorf("got %d errors, want %d:\n%s", len(errs), len(tc.want), Errors(errs))
			}
			for _, w := range tc.want {
				pos, msg, _ := strings.Cut(w, "|")
				if !slices.ContainsFunc(errs, func(e Error) bool {
					return strings.HasPrefix(e.Error(), pos+": ") && strings.Contains(e.Msg, msg)
				}) {
					t.Errorf("missing %s: …%s…\ngot:\n%s", pos, msg, Errors(errs))
				}
			}
		})
	}
}

func TestValidateAcceptsTransactionalData(t *testing.T) {
	if errs := Validate("testdata/bad/campaigns/transactional_data.yaml"); len(errs) != 0 {
		t.Fatalf("unexpected errors:\n%s", Errors(errs))
	}
}

func TestLoadFrenchExample(t *testing.T) {
	sp, err := Load("testdata/ok/campaigns/printemps-2027.yaml")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{name: "id from file name", got: sp.ID, want: "printemps-2027"},
		{name: "root", got: sp.Root, want: "testdata/ok"},
		{name: "purpose", got: sp.Purpose, want: Marketing},
		{name: "on_ambiguous", got: sp.OnAmbiguous, want: "hold"},
		{name: "source", got: sp.Audience.Source, want: "file"},
		{name: "top", got: *sp.Audience.Top, want: Top{By: "attrs.revenue_12m", Percent: 20}},
		{name: "step 1 channels default", got: sp.Steps[0].Channels, want: []string{"email", "sms", "print"}},
		{name: "step 2 channels", got: sp.Steps[1].Channels, want: []string{"sms"}},
		{name: "after 3d", got: sp.Steps[1].After, want: 72 * time.Hour},
		{name: "at", got: sp.Steps[0].At.Equal(time.Date(2027, 3, 20, 8, 0, 0, 0, time.UTC)), want: true},
		{name: "email rate", got: sp.Limits.Rates["email"], want: Rate{N: 50, Per: time.Second}},
		{name: "frequency cap", got: *sp.Limits.FrequencyCap, want: FrequencyCap{N: 3, Per: 7 * 24 * time.Hour}},
		{name: "cost", got: sp.Cost.PerUnit["print"], want: 0.70},
		{name: "schedule", got: *sp.Schedule, want: Schedule{Cron: "0 9 * * MON", Timezone: "Europe/Paris"}},
		{name: "postal", got: sp.Sender.Postal.Lines, want: []string{"12 rue des Lilas", "69003 LYON"}},
		{name: "files", got: len(sp.Files), want: 10},
		{name: "catalogue bytes", got: string(sp.Files["templates/printemps/catalogue.pdf"]), want: "%PDF-1.4 catalogue"},
		{name: "hash length", got: len(sp.ContentHash), want: 64},
		{name: "audience hash", got: len(sp.AudienceHash), want: 64},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			gj, _ := json.Marshal(c.got)
			wj, _ := json.Marshal(c.want)
			if string(gj) != string(wj) {
				t.Errorf("got %s, want %s", gj, wj)
			}
		})
	}
	subj := sp.Template(SubjectKey("annonce", "email"))
	if subj == nil {
		t.Fatal("no compiled email subject")
	}
	out, err := subj.Execute(&render.Data{Contact: render.ContactData{FirstName: "Élise"}})
	if err != nil || out != "Élise, le printemps arrive" {
		t.Errorf("subject = %q, %v", out, err)
	}
	html := sp.Template("templates/printemps/email.html")
	if html == nil || html.Kind() != render.HTML {
		t.Fatalf("email.html not compiled as HTML: %v", html)
	}
	out, err = html.Execute(&render.Data{Contact: render.ContactData{FirstName: "A<b>",
		Attrs: map[string]any{"orders_12m": 3, "revenue_12m": 1234.56}}})
	if err != nil || !strings.Contains(out, "A&lt;b&gt;") || !strings.Contains(out, "1\u00a0234,56\u00a0€") {
		t.Errorf("email.html = %q, %v", out, err)
	}
}

func TestContentHashStable(t *testing.T) {
	dir := t.TempDir()
	copyTree(t, "testdata/ok", dir)
	path := filepath.Join(dir, "campaigns", "printemps-2027.yaml")
	a, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if a.ContentHash != b.ContentHash {
		t.Fatal("hash differs between two loads of the same files")
	}
	sms := filepath.Join(dir, "templates", "printemps", "relance.txt")
	if err := os.WriteFile(sms, []byte("Dernier jour ! STOP au 36180\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.ContentHash == a.ContentHash {
		t.Fatal("hash unchanged after a template changed")
	}
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestLoadReturnsErrors(t *testing.T) {
	_, err := Load("testdata/bad/campaigns/no_stop.yaml")
	var es Errors
	if !errors.As(err, &es) || len(es) != 1 {
		t.Fatalf("got %T %v, want Errors with one entry", err, err)
	}
	if _, err := Load("testdata/nope.yaml"); err == nil || !strings.Contains(err.Error(), "testdata/nope.yaml: cannot read") {
		t.Errorf("missing file: %v", err)
	}
}

func TestLoadAll(t *testing.T) {
	specs, errs := LoadAll([]string{"testdata/ok/campaigns"})
	if len(errs) != 0 || len(specs) != 1 {
		t.Fatalf("got %d specs, errors:\n%s", len(specs), Errors(errs))
	}
	_, errs = LoadAll([]string{"testdata/bad/campaigns"})
	if len(errs) < 17 {
		t.Errorf("want every bad file reported, got %d errors", len(errs))
	}
}

func TestYAMLSyntax(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.yaml")
	if err := os.WriteFile(p, []byte("id: a\nsteps: [\n  - x: : y\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	errs := Validate(p)
	if len(errs) != 1 || errs[0].Line < 2 || !strings.Contains(errs[0].Msg, "YAML syntax") {
		t.Errorf("got %v", Errors(errs))
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		name, in string
		want     time.Duration
		err      string
	}{
		{name: "hours", in: "72h", want: 72 * time.Hour},
		{name: "days", in: "3d", want: 72 * time.Hour},
		{name: "minutes", in: "90m", want: 90 * time.Minute},
		{name: "days and hours", in: "1d12h", want: 36 * time.Hour},
		{name: "no unit", in: "72", err: "has no unit"},
		{name: "garbage", in: "soon", err: "bad duration"},
		{name: "negative", in: "-1h", err: "bad duration"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseDuration(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, %v; want error %q", got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestParseRate(t *testing.T) {
	tests := []struct {
		name, in string
		n        int
		per      time.Duration
		bad      bool
	}{
		{name: "per second", in: "50/s", n: 50, per: time.Second},
		{name: "per minute", in: "5/m", n: 5, per: time.Minute},
		{name: "per week", in: "3/7d", n: 3, per: 7 * 24 * time.Hour},
		{name: "no period", in: "5", bad: true},
		{name: "zero", in: "0/s", bad: true},
		{name: "unitless period", in: "3/7", bad: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, per, err := parseRate(tc.in)
			if (err != nil) != tc.bad || n != tc.n || per != tc.per {
				t.Fatalf("got %d/%v, %v", n, per, err)
			}
		})
	}
}

func TestCSVHeader(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{name: "semicolon bom", in: "\xef\xbb\xbfa;b c;d\n1;2;3\n", want: []string{"a", "b c", "d"}},
		{name: "comma quoted", in: "\"a,1\",b\n", want: []string{"a,1", "b"}},
		{name: "windows-1252", in: "Pr\xe9nom;Ville\r\n", want: []string{"Prénom", "Ville"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := csvHeader([]byte(tc.in)); !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestYAMLSyntaxLine: yaml.v3 counts some syntax errors' lines from zero;
// the error must name the line the user has to edit.
func TestYAMLSyntaxLine(t *testing.T) {
	tests := []struct {
		name, src string
		line      int
	}{
		{"unclosed flow sequence", "id: a\nname: b\npurpose: marketing\nchannels:\n  - email\naudience:\n  file: a.csv\nsteps: [1, 2\n", 8},
		{"bad indentation", "id: a\nname: b\naudience:\n  file: a.csv\n where: x\n", 5},
		{"mapping in plain value", "id: a\nname: b\nsteps: c: d\n", 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "x.yaml")
			if err := os.WriteFile(p, []byte(tc.src), 0o644); err != nil {
				t.Fatal(err)
			}
			errs := Validate(p)
			if len(errs) != 1 || errs[0].Line != tc.line || !strings.Contains(errs[0].Msg, "YAML syntax") {
				t.Errorf("got %v, want one YAML syntax error on line %d", Errors(errs), tc.line)
			}
		})
	}
}

// TestDuplicateIDsNameBothFiles: two files with one campaign id are both
// errors, each naming the other, and neither is loaded.
func TestDuplicateIDsNameBothFiles(t *testing.T) {
	dir := t.TempDir()
	copyTree(t, "testdata/ok", dir)
	camp := filepath.Join(dir, "campaigns")
	src, err := os.ReadFile(filepath.Join(camp, "printemps-2027.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(camp, "copie.yaml"), append([]byte("id: printemps-2027\n"), src...), 0o644); err != nil {
		t.Fatal(err)
	}
	a, b := filepath.Join(camp, "copie.yaml"), filepath.Join(camp, "printemps-2027.yaml")
	check := func(t *testing.T, errs []Error) {
		t.Helper()
		if len(errs) != 2 || errs[0].File != a || !strings.Contains(errs[0].Msg, b) || errs[1].File != b || !strings.Contains(errs[1].Msg, a) {
			t.Errorf("want one error per file naming the other, got:\n%s", Errors(errs))
		}
	}
	specs, errs := LoadAll([]string{camp})
	check(t, errs)
	if len(specs) != 0 {
		t.Errorf("loaded %d specs, want none", len(specs))
	}
	errs, _ = Loader{}.ValidateFiles([]string{a, b})
	check(t, errs)
}
