package tracking

import (
	"html/template"
	"net/http"

	"golang.org/x/text/language"
)

// pageText holds the wording of the public pages in one language.
type pageText struct {
	Lang                              string
	ConfirmTitle, ConfirmBody, Button string
	DoneTitle, DoneBody               string
	InvalidTitle, InvalidBody         string
	FailedTitle, FailedBody           string
	ViewMissingTitle, ViewMissingBody string
	ThanksTitle, ThanksBody           string
}

var texts = map[string]*pageText{
	"fr": {
		Lang:             "fr",
		ConfirmTitle:     "Se désabonner",
		ConfirmBody:      "Confirmez-vous ne plus vouloir recevoir nos messages commerciaux ?",
		Button:           "Me désabonner",
		DoneTitle:        "Désabonnement confirmé",
		DoneBody:         "C’est fait : vous ne recevrez plus nos messages commerciaux. Ce changement peut prendre quelques minutes pour les envois déjà en cours.",
		InvalidTitle:     "Lien invalide",
		InvalidBody:      "Ce lien est incomplet ou n’est plus valable. Copiez-le en entier depuis le message reçu, ou répondez à ce message pour demander votre désabonnement.",
		FailedTitle:      "Réessayez dans un instant",
		FailedBody:       "Votre demande n’a pas pu être enregistrée pour le moment. Merci de réessayer dans quelques minutes.",
		ViewMissingTitle: "Message indisponible",
		ViewMissingBody:  "Ce message n’est plus disponible en ligne.",
		ThanksTitle:      "Merci",
		ThanksBody:       "Votre réponse a bien été prise en compte.",
	},
	"en": {
		Lang:             "en",
		ConfirmTitle:     "Unsubscribe",
		ConfirmBody:      "Do you confirm you no longer want to receive our marketing messages?",
		Button:           "Unsubscribe me",
		DoneTitle:        "You are unsubscribed",
		DoneBody:         "Done: you will no longer receive our marketing messages. Sends already under way may take a few minutes to stop.",
		InvalidTitle:     "Invalid link",
		InvalidBody:      "This link is incomplete or no longer valid. Copy it whole from the message you received, or reply to that message to ask to be unsubscribed.",
		FailedTitle:      "Please try again shortly",
		FailedBody:       "Your request could not be recorded right now. Please try again in a few minutes.",
		ViewMissingTitle: "Message unavailable",
		ViewMissingBody:  "This message is no longer available online.",
		ThanksTitle:      "Thank you",
		ThanksBody:       "Your response has been recorded.",
	},
}

// langMatcher picks French unless the browser prefers English: relais'
// recipients are mostly French.
var langMatcher = language.NewMatcher([]language.Tag{language.French, language.English})

// textFor returns the page wording for the request's Accept-Language.
func textFor(r *http.Request) *pageText {
	tags, _, err := language.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
	if err != nil || len(tags) == 0 {
		return texts["fr"]
	}
	_, i, _ := langMatcher.Match(tags...)
	if i == 1 {
		return texts["en"]
	}
	return texts["fr"]
}

// pageTmpl renders every public page; Form shows the confirmation button.
var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="{{.T.Lang}}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>{{.Title}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:34rem;margin:4rem auto;padding:0 1rem;color:#222;line-height:1.5}
button{font-size:1rem;padding:.6rem 1.2rem;border:0;border-radius:.3rem;background:#1d4ed8;color:#fff;cursor:pointer}</style>
</head><body><main>
<h1>{{.Title}}</h1>
<p>{{.Body}}</p>
{{- if .Form}}
<form method="post" action=""><button type="submit">{{.T.Button}}</button></form>
{{- end}}
</main></body></html>
`))

type pageData struct {
	T           *pageText
	Title, Body string
	Form        bool
}

// page writes a public page with status; it sets headers that keep the
// token in the URL out of caches, frames and Referer headers.
func page(w http.ResponseWriter, status int, d pageData) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	h.Set("Content-Language", d.T.Lang)
	w.WriteHeader(status)
	_ = pageTmpl.Execute(w, d) // a failed write means the client left
}
