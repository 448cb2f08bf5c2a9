// Package sms is the provider-neutral side of the sms and mms channels:
// the checks every message passes before any provider sees it (E.164
// recipient, a sender, public media URLs), the segment count that is
// billed, the stable failure reasons, and the outbox that writes messages
// as files in embedded mode. Providers (channel/twilio) build on it, so a
// second provider can sit beside Twilio and planning never links an SDK.
package sms
