package oidc

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"time"
)

// DPoPNonceSlot is how long one server nonce (RFC 9449 §8, §9) is handed
// out. A nonce is accepted in its own slot and the next, so it lives
// between one and two slots.
const DPoPNonceSlot = 5 * time.Minute

// Nonces are stateless: the nonce of a slot is an HMAC of the slot's number
// under Config.DPoPNonceKey. Every instance that shares the key makes and
// accepts the same nonces, with nothing stored and nothing to coordinate.

// nonceCache holds the nonce of the latest slot asked for, so that an HMAC
// is computed once per slot and not once per response.
type nonceCache struct {
	slot  int64
	nonce string
}

// DPoPNonce returns the nonce to send in the DPoP-Nonce header now.
func (p *Provider) DPoPNonce() string {
	slot := p.nonceSlot()
	if c := p.nonces.Load(); c != nil && c.slot == slot {
		return c.nonce
	}
	n := p.nonceFor(slot)
	p.nonces.Store(&nonceCache{slot: slot, nonce: n})
	return n
}

// validNonce reports whether n is the nonce of the current slot or of the
// one before.
func (p *Provider) validNonce(n string) bool {
	if n == "" || len(n) > 64 {
		return false
	}
	slot := p.nonceSlot()
	return hmac.Equal([]byte(n), []byte(p.nonceFor(slot))) || hmac.Equal([]byte(n), []byte(p.nonceFor(slot-1)))
}

func (p *Provider) nonceSlot() int64 {
	return p.now().Unix() / int64(DPoPNonceSlot/time.Second)
}

// nonceFor is the nonce of slot: 144 bits of HMAC-SHA-256, base64url.
func (p *Provider) nonceFor(slot int64) string {
	mac := hmac.New(sha256.New, p.cfg.DPoPNonceKey)
	mac.Write([]byte("calimatic dpop nonce "))
	_ = binary.Write(mac, binary.BigEndian, slot)
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil)[:18])
}
