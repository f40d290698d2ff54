package postgres

import (
	"crypto/cipher"
	"crypto/rand"
	"fmt"
)

// Purposes prefix the additional data, so that a value sealed for one use
// (a webhook secret bound to a subscription id) never opens as another (a
// TOTP secret bound to a user id), whatever the ids. KeyStore, which came
// first, binds a signing key to its kid alone: every additional data here
// holds a NUL, which a kid (a base64url JWK thumbprint) never does.
const (
	purposeWebhookSecret = "webhook-secret"
	// The confirmed authenticator and the pending enrolment are sealed for
	// different purposes, so that a pending secret copied into the
	// confirmed column does not open: it would skip the confirmation.
	purposeTOTPSecret        = "totp-secret"
	purposePendingTOTPSecret = "pending-totp-secret"
	// An upstream identity provider's OAuth client secret, bound to the
	// provider's id.
	purposeClientSecret = "idp-client-secret"
)

// secretBox seals secrets at rest with AES-256-GCM under the key-encryption
// key, as KeyStore seals signing keys: a random nonce per write, stored as
// nonce||ciphertext, with the purpose and the owning row's id bound as
// additional data so that a sealed secret cannot be moved to another row
// or to another use.
type secretBox struct{ aead cipher.AEAD }

func newSecretBox(keyEncryptionKey []byte) (secretBox, error) {
	aead, err := newAEAD(keyEncryptionKey)
	if err != nil {
		return secretBox{}, err
	}
	return secretBox{aead: aead}, nil
}

func sealAD(purpose, id string) []byte { return []byte(purpose + "\x00" + id) }

// seal encrypts plain for the row id of purpose.
func (b secretBox) seal(purpose, id string, plain []byte) ([]byte, error) {
	nonce := make([]byte, b.aead.NonceSize(), b.aead.NonceSize()+len(plain)+b.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("postgres: seal %s of %s: %w", purpose, id, err)
	}
	return b.aead.Seal(nonce, nonce, plain, sealAD(purpose, id)), nil
}

// open decrypts what seal wrote for the same purpose and id; anything else
// (another key, another row or purpose, tampering) fails with fail,
// wrapped.
func (b secretBox) open(purpose, id string, sealed []byte, fail error) ([]byte, error) {
	n := b.aead.NonceSize()
	if len(sealed) < n+b.aead.Overhead() {
		return nil, fmt.Errorf("postgres: %s of %s: %w", purpose, id, fail)
	}
	plain, err := b.aead.Open(nil, sealed[:n], sealed[n:], sealAD(purpose, id))
	if err != nil {
		return nil, fmt.Errorf("postgres: %s of %s: %w", purpose, id, fail)
	}
	return plain, nil
}
