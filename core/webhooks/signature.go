package webhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// Headers of a delivery.
const (
	HeaderSignature = "X-Webhook-Signature" // the guide's: sha256=<hex HMAC-SHA256 of the body>
	HeaderEvent     = "X-Webhook-Event"     // the event type
	HeaderDelivery  = "X-Webhook-Delivery"  // the stable delivery id
	// Standard Webhooks (standardwebhooks.com): id, unix timestamp, and
	// v1,<base64 HMAC-SHA256 of "id.timestamp.body">.
	HeaderWebhookID        = "webhook-id"
	HeaderWebhookTimestamp = "webhook-timestamp"
	HeaderWebhookSignature = "webhook-signature"
)

// GuideSignature is the guide's X-Webhook-Signature value: the HMAC key is
// the secret's text, as createHmac("sha256", secret) uses it.
func GuideSignature(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// StandardKey is the Standard Webhooks key of a secret: the base64 after
// "whsec_" when the secret has that form (as generated ones do), else the
// secret's text.
func StandardKey(secret string) []byte {
	if rest, ok := strings.CutPrefix(secret, "whsec_"); ok {
		if key, err := base64.StdEncoding.DecodeString(rest); err == nil && len(key) > 0 {
			return key
		}
	}
	return []byte(secret)
}

// StandardSignature is the Standard Webhooks webhook-signature value.
func StandardSignature(secret, id string, ts time.Time, body []byte) string {
	m := hmac.New(sha256.New, StandardKey(secret))
	m.Write([]byte(id + "." + strconv.FormatInt(ts.Unix(), 10) + "."))
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// headers are the headers of one attempt, signed at ts.
func headers(secret, deliveryID, eventType string, ts time.Time, body []byte) map[string]string {
	return map[string]string{
		"Content-Type":         "application/json",
		"User-Agent":           "Calimatic-Webhooks/1.0",
		HeaderEvent:            eventType,
		HeaderDelivery:         deliveryID,
		HeaderSignature:        GuideSignature(secret, body),
		HeaderWebhookID:        deliveryID,
		HeaderWebhookTimestamp: strconv.FormatInt(ts.Unix(), 10),
		HeaderWebhookSignature: StandardSignature(secret, deliveryID, ts, body),
	}
}
