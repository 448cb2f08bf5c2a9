package testenv

import "strings"

// NewsletterHTML is the HTML template of a newsletter of about 3 KB, with
// personalization and five links; with NewsletterText and headers the
// message is about 5 KB. Benchmarks of the send path use it.
var NewsletterHTML = `<!doctype html>
<html lang="fr">
<head><meta charset="utf-8"><title>Le printemps arrive</title></head>
<body style="font-family: Georgia, serif; color: #2b2b2b; max-width: 600px; margin: auto">
  <h1 style="color: #5a7d2b">Le printemps arrive chez Maison Dupont</h1>
  <p>Bonjour {{.Contact.FirstName}},</p>
  <p>Vous faites partie de nos clients fidèles{{if .Contact.Address.City}} à {{.Contact.Address.City}}{{end}} :
     pour vous remercier de vos {{.Contact.Attrs.orders_12m}} commandes cette année, nous vous réservons
     <strong>15 % de remise</strong> sur la nouvelle collection.</p>
` + strings.Repeat(`  <table role="presentation" style="width: 100%; border-collapse: collapse; margin: 12px 0">
    <tr><td style="padding: 8px; border: 1px solid #e0e0e0">
      <h2 style="font-size: 18px; color: #5a7d2b">Une collection pensée pour vous</h2>
      <p style="font-size: 14px; line-height: 1.5">Des matières naturelles, des couleurs tendres et des coupes
      qui vous accompagnent toute la saison : découvrez nos nouveautés en boutique et en ligne.</p>
      <p><a href="https://dupont.example/printemps" style="color: #5a7d2b">Découvrir la collection</a></p>
    </td></tr>
  </table>
`, 4) + `  <p>À très bientôt,<br>Claire Dupont<br><em>Maison Dupont, Lyon</em></p>
  <hr>
  <p style="font-size: 12px; color: #777">Vous recevez ce message car vous êtes client de Maison Dupont.
     <a href="{{.Links.Unsubscribe}}">Se désinscrire</a></p>
</body>
</html>
`

// NewsletterText is NewsletterHTML's text part.
var NewsletterText = `Bonjour {{.Contact.FirstName}},

Vous faites partie de nos clients fidèles{{if .Contact.Address.City}} à {{.Contact.Address.City}}{{end}} :
pour vous remercier de vos {{.Contact.Attrs.orders_12m}} commandes cette année, nous vous réservons
15 % de remise sur la nouvelle collection.
` + strings.Repeat(`
Une collection pensée pour vous : des matières naturelles, des couleurs tendres et des coupes
qui vous accompagnent toute la saison. https://dupont.example/printemps
`, 4) + `
À très bientôt,
Claire Dupont
Maison Dupont, Lyon

--
Vous recevez ce message car vous êtes client de Maison Dupont.
Se désinscrire : {{.Links.Unsubscribe}}
`
