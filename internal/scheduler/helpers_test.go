package scheduler

import (
	"os"
	"path/filepath"
	"testing"
)

// audienceCSV is a small French customer file: persons with and without
// consent and a business.
const audienceCSV = `external_id;first_name;last_name;email;phone;address_line1;postcode;city;kind;consent_email;consent_sms;orders_12m
C001;Camille;Durand;camille.durand@example.org;06 12 34 56 78;12 rue Mercière;69002;Lyon;person;oui;oui;4
C002;Julien;Moreau;julien.moreau@example.org;06 23 45 67 89;5 place Bellecour;69002;Lyon;person;oui;non;2
C003;Léa;Lefèvre;lea.lefevre@example.net;07 11 22 33 44;8 cours Vitton;69006;Lyon;person;oui;oui;1
`

// campaignYAML is a scheduled campaign; %s placeholders are filled by
// tests (subject and schedule lines).
const campaignYAML = `id: hebdo
name: Hebdo
purpose: marketing
audience: { source: file, file: audiences/clients.csv }
channels: [email]
sender: { email: "Maison Dupont <news@dupont.example>" }
steps:
  - id: lettre
    email: { subject: "SUBJECT", text: templates/hebdo/email.txt }
SCHEDULE
`

// repo writes a campaign repository (campaigns/, templates/, audiences/)
// into a temp dir and returns its campaigns folder.
func repo(t *testing.T, campaign string) string {
	t.Helper()
	root := t.TempDir()
	write(t, filepath.Join(root, "audiences", "clients.csv"), audienceCSV)
	write(t, filepath.Join(root, "templates", "hebdo", "email.txt"),
		"Bonjour {{.Contact.FirstName}},\nLes nouveautés de la semaine.\nSe désinscrire : {{.Links.Unsubscribe}}\n")
	write(t, filepath.Join(root, "campaigns", "hebdo.yaml"), campaign)
	return filepath.Join(root, "campaigns")
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	// Write then rename, as editors and git do, so a watcher never reads
	// a half-written file.
	tmp := path + ".tmp~"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func removeFile(t *testing.T, path string) {
	t.Helper()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
}
