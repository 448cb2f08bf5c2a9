package twiliohook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/relais-dev/relais/internal/campaign"
)

// MediaPath is where MediaHandler is mounted; a media URL is
// <public URL>/media/<token>.
const MediaPath = "/media/"

// Campaigns finds a campaign version by id and content hash; catalog.Catalog
// implements it.
type Campaigns interface {
	Campaign(ctx context.Context, id, contentHash string) (*campaign.Spec, error)
}

// mediaMACLen is the length of a media token's MAC (128 bits: enough
// against forgery, short enough for the URL).
const mediaMACLen = 16

// mediaKey derives the media signing key from the relais secret, so a media
// token can never be replayed as another kind of signed value.
func mediaKey(secret []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("relais/mms-media/v1"))
	return m.Sum(nil)
}

// IsRemoteMedia reports whether an MMS media reference is already a URL
// (http or https) rather than a campaign file path.
func IsRemoteMedia(ref string) bool {
	u, err := url.Parse(ref)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

// MediaURL returns the URL Twilio fetches an MMS media item of sp from. A
// reference that is already an http(s) URL is returned as it is (the sms
// sender still checks it is public https). A campaign file path must be in
// sp.Files and listed as media by one of sp's MMS steps; it becomes
// <publicURL>/media/<token>, where the token signs the campaign id,
// content hash and path, so MediaHandler serves exactly that content from
// the campaign version being sent, and nothing else of the repository
// (templates, the audience file). The token does not expire: Twilio may
// fetch media long after the send and the content is what every recipient
// receives anyway. Errors: empty publicURL, a path not among sp's media.
func MediaURL(secret []byte, publicURL string, sp *campaign.Spec, ref string) (string, error) {
	if IsRemoteMedia(ref) {
		return ref, nil
	}
	if publicURL == "" {
		return "", errors.New("mms media: no public URL to serve campaign files from")
	}
	if !isMedia(sp, ref) {
		return "", fmt.Errorf("mms media %s is not a media file of campaign %s", ref, sp.ID)
	}
	return strings.TrimRight(publicURL, "/") + MediaPath + signMedia(secret, sp.ID, sp.ContentHash, ref), nil
}

// MediaURLs maps every reference with MediaURL; the first error stops it.
func MediaURLs(secret []byte, publicURL string, sp *campaign.Spec, refs []string) ([]string, error) {
	out := make([]string, 0, len(refs))
	for _, r := range refs {
		u, err := MediaURL(secret, publicURL, sp, r)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}

// isMedia reports whether p is a media file of one of sp's steps, read
// at load time.
func isMedia(sp *campaign.Spec, p string) bool {
	if _, ok := sp.Files[p]; !ok {
		return false
	}
	for _, st := range sp.Steps {
		for _, content := range st.Content {
			if m, ok := content.(mediaContent); ok && slices.Contains(m.MediaRefs(), p) {
				return true
			}
		}
	}
	return false
}

// mediaContent is a step block that sends media (mms), whichever channel
// defines it.
type mediaContent interface{ MediaRefs() []string }

func signMedia(secret []byte, id, hash, p string) string {
	payload := id + "\x00" + hash + "\x00" + p
	m := hmac.New(sha256.New, mediaKey(secret))
	m.Write([]byte(payload))
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(payload)) + "." + enc.EncodeToString(m.Sum(nil)[:mediaMACLen])
}

// openMedia checks a token and returns what it signs.
func openMedia(secret []byte, token string) (id, hash, p string, ok bool) {
	b64, mac64, found := strings.Cut(token, ".")
	if !found {
		return "", "", "", false
	}
	enc := base64.RawURLEncoding
	payload, err := enc.DecodeString(b64)
	if err != nil {
		return "", "", "", false
	}
	mac, err := enc.DecodeString(mac64)
	if err != nil || len(mac) != mediaMACLen {
		return "", "", "", false
	}
	m := hmac.New(sha256.New, mediaKey(secret))
	m.Write(payload)
	if !hmac.Equal(mac, m.Sum(nil)[:mediaMACLen]) {
		return "", "", "", false
	}
	parts := strings.SplitN(string(payload), "\x00", 3)
	if len(parts) != 3 {
		return "", "", "", false
	}
	return parts[0], parts[1], parts[2], true
}

// MediaHandler serves GET and HEAD <MediaPath><token> for URLs made by
// MediaURL with the same secret, from the campaign version the token
// names (looked up in campaigns, so media of a run planned with an older
// version still match what was hashed). Answers: 404 for a malformed,
// forged or unknown token, a version no longer loadable, or a path that is
// not a media file of it (no detail: the URL space is not to be probed);
// 405 for other methods; otherwise the bytes with a Content-Type from the
// file extension (sniffed when unknown), nosniff, and a long public cache
// lifetime because the content behind a token never changes. Range
// requests and conditional GETs are honoured (http.ServeContent).
func MediaHandler(secret []byte, campaigns Campaigns) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		token := r.PathValue("token")
		if token == "" {
			token = path.Base(r.URL.Path)
		}
		id, hash, p, ok := openMedia(secret, token)
		if !ok {
			http.NotFound(w, r)
			return
		}
		sp, err := campaigns.Campaign(r.Context(), id, hash)
		if err != nil || sp == nil || !isMedia(sp, p) {
			http.NotFound(w, r)
			return
		}
		data := sp.Files[p]
		ct := mime.TypeByExtension(path.Ext(p))
		if ct == "" {
			ct = http.DetectContentType(data)
		}
		h := w.Header()
		h.Set("Content-Type", ct)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "public, max-age=2592000, immutable")
		h.Set("ETag", `"`+hash[:min(len(hash), 16)]+`"`)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
	})
}
