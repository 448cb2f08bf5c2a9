package bounce

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/relais-dev/relais/internal/store"
)

// HookPrefix is where the provider webhooks are mounted:
// <public URL>/hooks/email/{ses,sendgrid,mailgun,postmark}.
const HookPrefix = "/hooks/email/"

// maxHookBody bounds a webhook request body.
const maxHookBody = 4 << 20

// Hooks serves the email providers' event webhooks. A provider whose
// configuration is nil is not served (404). A request whose signature or
// credentials are missing gets 401, a wrong one 403, and nothing is
// recorded; a store error gets 500 so the provider retries; events about
// messages relais does not know are ignored (200).
type Hooks struct {
	Recorder   *Recorder
	Correlator *Correlator
	SES        *SESConfig
	SendGrid   *SendGridConfig
	Mailgun    *MailgunConfig
	Postmark   *PostmarkConfig
	Log        *slog.Logger
	Now        func() time.Time
}

// Routes returns the handler of POST HookPrefix+provider for every
// configured provider.
func (h *Hooks) Routes() http.Handler {
	mux := http.NewServeMux()
	if h.SES != nil {
		mux.HandleFunc("POST "+HookPrefix+ProviderSES, h.ses)
	}
	if h.SendGrid != nil {
		mux.HandleFunc("POST "+HookPrefix+ProviderSendGrid, h.sendgrid)
	}
	if h.Mailgun != nil {
		mux.HandleFunc("POST "+HookPrefix+ProviderMailgun, h.mailgun)
	}
	if h.Postmark != nil {
		mux.HandleFunc("POST "+HookPrefix+ProviderPostmark, h.postmark)
	}
	return mux
}

// Configured reports whether any provider is configured.
func (h *Hooks) Configured() bool {
	return h.SES != nil || h.SendGrid != nil || h.Mailgun != nil || h.Postmark != nil
}

func (h *Hooks) log() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return slog.Default()
}

func (h *Hooks) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// readBody reads a bounded request body.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxHookBody))
	if err != nil {
		http.Error(w, "bad body", http.StatusBadRequest)
		return nil, false
	}
	return b, true
}

// event is one provider event before correlation.
type event struct {
	out Outcome
	// token is the ledger token or VERP address the event carries
	// (custom variable, envelope sender, ledger header).
	token string
	// messageID is the Message-ID the provider echoes, the fallback when
	// no token came back.
	messageID string
}

// resolve finds the event's ledger id.
func (h *Hooks) resolve(ctx context.Context, e event) (string, error) {
	if e.token != "" {
		if id, ok := h.Correlator.FindAddress(e.token); ok {
			return id, nil
		}
	}
	if mid := strings.Trim(strings.TrimSpace(e.messageID), "<>"); mid != "" {
		row, err := h.Recorder.Store.GetLedgerByProvider(ctx, mid)
		if err == nil {
			return row.ID, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return "", err
		}
	}
	return "", ErrUnknownMessage
}

// apply records verified events and answers the provider.
func (h *Hooks) apply(w http.ResponseWriter, r *http.Request, provider string, evs []event) {
	applied, unknown := 0, 0
	for _, e := range evs {
		id, err := h.resolve(r.Context(), e)
		if err == nil {
			e.out.LedgerID, e.out.Source = id, provider
			var ok bool
			ok, err = h.Recorder.Apply(r.Context(), e.out)
			if ok {
				applied++
			}
		}
		if errors.Is(err, ErrUnknownMessage) {
			unknown++
			continue
		}
		if err != nil {
			h.log().Error("email webhook: store error", "provider", provider, "err", err)
			http.Error(w, "temporary failure", http.StatusInternalServerError)
			return
		}
	}
	h.log().Info("email webhook", "provider", provider, "events", len(evs), "applied", applied, "unknown", unknown)
	w.WriteHeader(http.StatusOK)
}

// deny answers an unauthenticated (401) or forged (403) request.
func (h *Hooks) deny(w http.ResponseWriter, provider string, status int, why string) {
	h.log().Warn("email webhook refused", "provider", provider, "status", status, "why", why)
	http.Error(w, http.StatusText(status), status)
}
