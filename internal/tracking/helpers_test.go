package tracking

import "github.com/relais-dev/relais/internal/contact"

// personContact is a contact whose every identifying field must stay out
// of tokens and URLs.
func personContact() *contact.Contact {
	return &contact.Contact{ID: 77, ExternalID: "CRM-0042", FirstName: "Élodie", LastName: "Martinaud",
		Email: "Elodie.Martinaud@example.fr", EmailNorm: "elodie.martinaud@example.fr", Phone: "+33612345678",
		Address: contact.Address{Line1: "12 rue des Tilleuls", Postcode: "69003", City: "LYON"}, Locale: "fr-FR"}
}
