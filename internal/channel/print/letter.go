package print

import (
	"strconv"
	"strings"
	"time"

	"github.com/relais-dev/relais/internal/channel"
	"github.com/relais-dev/relais/internal/contact"
	"github.com/relais-dev/relais/internal/postal"
)

// letter is everything needed to lay out one letter, computed at Send time
// so that assembly is pure layout. It is what the spool stores as JSON.
type letter struct {
	LedgerID     string      `json:"ledger_id"`
	ContactRef   string      `json:"contact_ref"`
	Country      string      `json:"country"`
	Postcode     string      `json:"postcode"`
	Address      []string    `json:"address"`
	Name         string      `json:"name"`
	English      bool        `json:"english,omitempty"`
	DateLine     string      `json:"date_line"`
	Salutation   string      `json:"salutation"`
	Subject      string      `json:"subject"`
	Body         string      `json:"body"`
	Marketing    bool        `json:"marketing,omitempty"`
	Sender       []string    `json:"sender,omitempty"`
	ResponseCode string      `json:"response_code,omitempty"`
	ResponseURL  string      `json:"response_url,omitempty"`
	Inserts      []insertRef `json:"inserts,omitempty"`

	qr [][]bool // QR modules of ResponseURL, computed ahead of layout
}

// insertRef names an insert stored once per content in the spool.
type insertRef struct {
	Hash  string `json:"hash"`
	Pages int    `json:"pages"`
}

// newLetter prepares m for layout. An unusable address is a permanent
// refusal (*postal.RefusalError); so is a message without a contact.
func newLetter(m *channel.Message, lay postal.Layout, now time.Time) (*letter, error) {
	if m.Contact == nil {
		return nil, postal.InvalidAddress("message has no contact")
	}
	c := m.Contact
	addr, err := postal.Address(c)
	if err != nil {
		return nil, err
	}
	en := isEnglish(c.Locale)
	if tz, err := time.LoadLocation(c.Timezone); c.Timezone != "" && err == nil {
		now = now.In(tz)
	}
	country := strings.ToUpper(c.Address.Country)
	if country == "" {
		country = "FR"
	}
	ref := c.ExternalID
	if ref == "" && c.ID != 0 {
		ref = "id:" + strconv.FormatInt(c.ID, 10)
	}
	return &letter{
		LedgerID: m.LedgerID, ContactRef: ref, Country: country,
		Postcode: strings.Join(strings.Fields(c.Address.Postcode), ""),
		Address:  addr, Name: addr[0], English: en,
		DateLine:   FormatDate(lay.Place, now, c.Locale),
		Salutation: Salutation(c),
		Subject:    m.Subject, Body: m.Text,
		Marketing:    m.Purpose != "transactional",
		Sender:       m.SenderPostal,
		ResponseCode: m.ResponseCode, ResponseURL: m.ResponseURL,
	}, nil
}

// Salutation greets the recipient in their language: "Madame Dupont,",
// "Monsieur Martin,", or "Madame, Monsieur," when the title or the last
// name is unknown (English: "Dear Ms Dupont,", "Dear Sir or Madam,").
func Salutation(c *contact.Contact) string {
	title := postal.FormalTitle(c.Title)
	last := strings.Join(strings.Fields(c.LastName), " ")
	en := isEnglish(c.Locale)
	if (title != "Madame" && title != "Monsieur") || last == "" {
		if en {
			return "Dear Sir or Madam,"
		}
		return "Madame, Monsieur,"
	}
	if en {
		if title == "Madame" {
			return "Dear Ms " + last + ","
		}
		return "Dear Mr " + last + ","
	}
	return title + " " + last + ","
}

// words are the fixed texts of a letter in each language.
type words struct {
	Subject, Coupon, CodeLabel, OnlineLabel, ReturnTo, ReplyFree, OptOut string
}

var (
	wordsFR = words{
		Subject: "Objet : ", Coupon: "Coupon-réponse", CodeLabel: "Votre code réponse",
		OnlineLabel: "Ou répondez en ligne en scannant ce code :",
		ReturnTo:    "À retourner à :", ReplyFree: "À retourner sans affranchir :",
		OptOut: "Conformément au RGPD, vous pouvez à tout moment vous opposer à l'envoi de nos courriers " +
			"en écrivant à l'adresse de l'expéditeur.",
	}
	wordsEN = words{
		Subject: "Subject: ", Coupon: "Reply coupon", CodeLabel: "Your reply code",
		OnlineLabel: "Or reply online by scanning this code:",
		ReturnTo:    "Return to:", ReplyFree: "Return postage-free to:",
		OptOut: "Under the GDPR you may object to receiving our letters at any time " +
			"by writing to the sender's address.",
	}
)

func (l *letter) words() words {
	if l.English {
		return wordsEN
	}
	return wordsFR
}
