package register

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/relais-dev/relais/internal/config"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// Security measures, as keys of the text tables: what relais does, and
// what the configuration adds.
const (
	secLedger      = "sec_ledger"
	secSuppression = "sec_suppression"
	secTokens      = "sec_tokens"
	secQueue       = "sec_queue"
	secAPIKeys     = "sec_apikeys"
	secRetention   = "sec_retention"
	secTLS         = "sec_smtp_tls"
	secDKIM        = "sec_dkim"
	secPolicy      = "sec_policy"
)

func security(cfg config.Config) []string {
	out := []string{secPolicy, secLedger, secSuppression, secTokens, secQueue, secAPIKeys}
	if cfg.Retention.Enabled {
		out = append(out, secRetention)
	}
	if strings.Contains(cfg.SMTPURL, "tls=") || strings.HasPrefix(cfg.SMTPURL, "smtps:") {
		out = append(out, secTLS)
	}
	if cfg.DKIM.Domain != "" || len(cfg.DKIM.Keys) > 0 {
		out = append(out, secDKIM)
	}
	return out
}

// text is the wording of the record in one language.
type text map[string]string

var texts = map[string]text{
	"fr": {
		"sep": " : ", "title": "Registre des activités de traitement", "intro": "Article 30 du RGPD. Établi par `relais register` à partir des campagnes et de la configuration ; à compléter et valider par le délégué à la protection des données.",
		"controller": "Responsable du traitement", "name": "Nom", "address": "Adresse", "contact": "Contact", "dpo": "Délégué à la protection des données",
		"unset":    "(à compléter : section `register.controller` de relais.yaml)",
		"activity": "Activité", "purpose": "Finalité", "marketing": "prospection commerciale et fidélisation (campagne « %s »)", "transactional": "message de service lié à la relation contractuelle (campagne « %s »)",
		"basis": "Base légale par étape", "step": "étape", "channels": "canaux", "person": "particuliers", "business": "professionnels",
		"consent": "consentement (art. 6.1.a)", "contract": "exécution d'un contrat (art. 6.1.b)", "legitimate_interest": "intérêt légitime (art. 6.1.f), droit d'opposition", "none": "aucune : canal fermé à la prospection",
		"subjects": "Catégories de personnes concernées", "subj_person": "clients et prospects particuliers", "subj_business": "contacts professionnels",
		"data": "Catégories de données utilisées", "identity": "État civil, identité", "contact_cat": "Coordonnées", "professional": "Vie professionnelle", "personal_life": "Vie personnelle (langue, fuseau)", "economic": "Relation commerciale (attributs)", "consent_cat": "Consentements", "interactions": "Interactions avec les messages", "payload": "Données de la transaction (API)",
		"delivery": "Adresses d'acheminement", "source": "Source des données", "src_contacts": "base de contacts relais", "src_file": "fichier d'audience", "src_query": "requête sur une base",
		"recipients": "Destinataires des données", "recipients_text": "service marketing (utilisateurs de relais) ; sous-traitants : %s",
		"processors": "Sous-traitants", "role": "rôle", "country": "pays", "transfer": "transfert hors UE", "yes": "oui", "no": "non", "y": "ans", "m": "mois", "d": "jours", "safeguards": "garanties",
		"transfers": "Transferts hors de l'Union européenne", "no_transfer": "Aucun sous-traitant n'est déclaré hors de l'UE (`register.processors[].outside_eu`).",
		"retention": "Durées de conservation", "ret_on": "Prospects et clients inactifs effacés après %s d'inactivité (tâche planifiée `%s`) ; l'adresse reste dans la liste d'opposition sous forme d'empreinte.", "ret_off": "Effacement automatique désactivé : lancer `relais contacts retention` selon la politique de conservation.",
		"security": "Mesures de sécurité", "fields": "Champs de contact utilisés par les modèles et les expressions",
		secPolicy:      "Contrôle de chaque envoi à la planification et avant l'envoi : consentement, liste d'opposition, pression commerciale, plages horaires",
		secLedger:      "Journal des envois : ce qui a été envoyé à qui, et pourquoi un envoi a été refusé",
		secSuppression: "Liste d'opposition conservée sous forme d'empreintes HMAC, jamais en clair",
		secTokens:      "Liens de désinscription et de suivi signés (HMAC), rotation des secrets sans invalider les anciens liens",
		secQueue:       "File de tâches sans donnée personnelle (identifiants seulement)",
		secAPIKeys:     "API et tableau de bord protégés par des clés à portée limitée, stockées hachées",
		secRetention:   "Effacement planifié des contacts inactifs",
		secTLS:         "Relais SMTP joint en TLS",
		secDKIM:        "Courriels signés DKIM",
		"email":        "relais SMTP (courriel)", "sms": "SMS/MMS", "print": "imprimeur (courrier)", "hosting": "hébergement",
	},
	"en": {
		"sep": ": ", "title": "Record of processing activities", "intro": "GDPR article 30. Written by `relais register` from the campaigns and the configuration; to be completed and approved by the data protection officer.",
		"controller": "Controller", "name": "Name", "address": "Address", "contact": "Contact", "dpo": "Data protection officer",
		"unset":    "(to complete: `register.controller` in relais.yaml)",
		"activity": "Activity", "purpose": "Purpose", "marketing": "direct marketing and customer loyalty (campaign “%s”)", "transactional": "service message of the contractual relationship (campaign “%s”)",
		"basis": "Legal basis per step", "step": "step", "channels": "channels", "person": "individuals", "business": "business contacts",
		"consent": "consent (art. 6(1)(a))", "contract": "performance of a contract (art. 6(1)(b))", "legitimate_interest": "legitimate interest (art. 6(1)(f)), right to object", "none": "none: channel closed to marketing",
		"subjects": "Categories of data subjects", "subj_person": "individual customers and prospects", "subj_business": "business contacts",
		"data": "Categories of data used", "identity": "Identity", "contact_cat": "Contact details", "professional": "Professional life", "personal_life": "Personal life (language, time zone)", "economic": "Customer relationship (attributes)", "consent_cat": "Consents", "interactions": "Interactions with messages", "payload": "Transaction data (API)",
		"delivery": "Delivery addresses", "source": "Data source", "src_contacts": "relais contact base", "src_file": "audience file", "src_query": "database query",
		"recipients": "Recipients of the data", "recipients_text": "marketing team (relais users); processors: %s",
		"processors": "Processors", "role": "role", "country": "country", "transfer": "transfer outside the EU", "yes": "yes", "no": "no", "y": "years", "m": "months", "d": "days", "safeguards": "safeguards",
		"transfers": "Transfers outside the European Union", "no_transfer": "No processor is declared outside the EU (`register.processors[].outside_eu`).",
		"retention": "Retention periods", "ret_on": "Inactive prospects and customers erased after %s of inactivity (scheduled job `%s`); the address stays on the suppression list as a hash.", "ret_off": "Automatic erasure disabled: run `relais contacts retention` according to the retention policy.",
		"security": "Security measures", "fields": "Contact fields used by templates and expressions",
		secPolicy:      "Every send checked at planning and before sending: consent, suppression list, frequency cap, quiet hours",
		secLedger:      "Send ledger: what was sent to whom, and why a send was refused",
		secSuppression: "Suppression list kept as HMAC hashes, never in clear",
		secTokens:      "Signed (HMAC) unsubscribe and tracking links; secret rotation keeps old links valid",
		secQueue:       "Task queue without personal data (ids only)",
		secAPIKeys:     "API and dashboard protected by scoped keys, stored hashed",
		secRetention:   "Scheduled erasure of inactive contacts",
		secTLS:         "SMTP relay reached over TLS",
		secDKIM:        "Emails signed with DKIM",
		"email":        "SMTP relay (email)", "sms": "SMS/MMS", "print": "print house (letters)", "hosting": "hosting",
	},
}

// Langs are the languages WriteMarkdown knows.
var Langs = []string{"fr", "en"}

// WriteJSON writes r as JSON.
func WriteJSON(w io.Writer, r Record) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteMarkdown writes r in its language, after the CNIL template's
// sections.
func WriteMarkdown(w io.Writer, r Record) error {
	t, ok := texts[r.Lang]
	if !ok {
		return fmt.Errorf("unknown language %q (want fr or en)", r.Lang)
	}
	b := &strings.Builder{}
	fmt.Fprintf(b, "# %s\n\n%s\n\n## %s\n\n", t["title"], t["intro"], t["controller"])
	c := r.Controller
	for _, kv := range [][2]string{{"name", c.Name}, {"address", c.Address}, {"contact", c.Contact}, {"dpo", c.DPO}} {
		v := kv[1]
		if v == "" {
			v = t["unset"]
		}
		fmt.Fprintf(b, "- %s%s%s\n", t[kv[0]], t["sep"], v)
	}
	fmt.Fprintf(b, "\n%s%s`%s`\n\n", t["fields"], t["sep"], strings.Join(r.Fields, "`, `"))
	for _, a := range r.Activities {
		fmt.Fprintf(b, "## %s%s%s\n\n", t["activity"], t["sep"], a.Campaign)
		fmt.Fprintf(b, "- %s%s%s\n", t["purpose"], t["sep"], fmt.Sprintf(t[a.Purpose], orID(a.Name, a.Campaign)))
		fmt.Fprintf(b, "- %s%s%s\n", t["source"], t["sep"], t["src_"+a.Source])
		var subj []string
		for _, s := range a.DataSubjects {
			subj = append(subj, t["subj_"+s])
		}
		fmt.Fprintf(b, "- %s%s%s\n", t["subjects"], t["sep"], strings.Join(subj, ", "))
		var rec []string
		for _, x := range a.Recipients {
			rec = append(rec, t[x])
		}
		fmt.Fprintf(b, "- %s%s%s\n", t["recipients"], t["sep"], fmt.Sprintf(t["recipients_text"], strings.Join(rec, ", ")))
		fmt.Fprintf(b, "- %s%s%s\n\n", t["channels"], t["sep"], strings.Join(a.Channels, ", "))
		fmt.Fprintf(b, "### %s\n\n| %s | %s | %s | %s |\n|---|---|---|---|\n", t["basis"], t["step"], t["channels"], t["person"], t["business"])
		for _, s := range a.Steps {
			fmt.Fprintf(b, "| %s | %s | %s | %s |\n", s.Step, strings.Join(s.Channels, ", "), t[s.Basis["person"]], t[s.Basis["business"]])
		}
		fmt.Fprintf(b, "\n### %s\n\n", t["data"])
		for _, cat := range a.Categories {
			name := t[cat.Name+"_cat"]
			if name == "" {
				name = t[cat.Name]
			}
			fmt.Fprintf(b, "- %s%s`%s`\n", name, t["sep"], strings.Join(cat.Fields, "`, `"))
		}
		if len(a.Delivery) > 0 {
			fmt.Fprintf(b, "- %s%s`%s`\n", t["delivery"], t["sep"], strings.Join(a.Delivery, "`, `"))
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(b, "## %s\n\n| %s | %s | %s | %s | %s |\n|---|---|---|---|---|\n", t["processors"], t["role"], t["name"], t["country"], t["transfer"], t["safeguards"])
	var outside []Processor
	for _, p := range r.Processors {
		tr := t["no"]
		if p.OutsideEU {
			tr = t["yes"]
			outside = append(outside, p)
		}
		name := p.Name
		if p.Detail != "" {
			name += " (" + p.Detail + ")"
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", t[p.Role], name, dash(p.Country), tr, dash(p.Safeguards))
	}
	fmt.Fprintf(b, "\n## %s\n\n", t["transfers"])
	if len(outside) == 0 {
		b.WriteString(t["no_transfer"] + "\n")
	}
	for _, p := range outside {
		fmt.Fprintf(b, "- %s (%s)%s%s\n", p.Name, dash(p.Country), t["sep"], dash(p.Safeguards))
	}
	fmt.Fprintf(b, "\n## %s\n\n", t["retention"])
	if r.Retention.Enabled {
		fmt.Fprintf(b, t["ret_on"]+"\n", period(r.Retention.Prospects, t), r.Retention.Cron)
	} else {
		b.WriteString(t["ret_off"] + "\n")
	}
	fmt.Fprintf(b, "\n## %s\n\n", t["security"])
	for _, s := range r.Security {
		fmt.Fprintf(b, "- %s\n", t[s])
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func orID(name, id string) string {
	if name != "" {
		return name
	}
	return id
}

func dash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// period spells "3y" as "3 ans" / "3 years".
func period(p string, t text) string {
	if len(p) < 2 {
		return p
	}
	if unit, ok := t[p[len(p)-1:]]; ok {
		return p[:len(p)-1] + " " + unit
	}
	return p
}
