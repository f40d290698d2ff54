package mongo

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

// KeyEncryptionKeySize is the size of the key-encryption key: AES-256.
const KeyEncryptionKeySize = 32

// ErrKeyDecryption is returned (wrapped) by KeyStore.ListKeys when a stored
// private key does not open under the key-encryption key, so that the
// signer never replaces undecryptable keys with new ones.
var ErrKeyDecryption = errors.New("signing key does not decrypt: wrong key_encryption_key or corrupted record")

// ErrSecretDecryption is returned (wrapped) when a stored webhook secret
// does not open under the key-encryption key.
var ErrSecretDecryption = errors.New("webhook secret does not decrypt: wrong key_encryption_key or corrupted record")

// ErrFactorDecryption is returned (wrapped) when a stored TOTP secret does
// not open under the key-encryption key.
var ErrFactorDecryption = errors.New("TOTP secret does not decrypt: wrong key_encryption_key or corrupted record")

// ErrClientSecretDecryption is returned (wrapped) when an identity
// provider's stored client secret does not open under the key-encryption
// key.
var ErrClientSecretDecryption = errors.New("identity provider client secret does not decrypt: wrong key_encryption_key or corrupted record")

// Purposes prefix the additional data, so that a value sealed for one use
// (a signing key bound to its kid) never opens as another (a webhook secret
// bound to a subscription id), whatever the ids.
const (
	purposeSigningKey    = "signing-key"
	purposeWebhookSecret = "webhook-secret"
	// The confirmed authenticator and the pending enrolment are sealed for
	// different purposes, so that a pending secret copied into the
	// confirmed field does not open: it would skip the confirmation.
	purposeTOTPSecret        = "totp-secret"
	purposePendingTOTPSecret = "pending-totp-secret"
	// An upstream identity provider's OAuth client secret, bound to the
	// provider's id.
	purposeClientSecret = "idp-client-secret"
)

// sealer seals values at rest with AES-256-GCM under the key-encryption key:
// a random 12-byte nonce per write, stored as nonce||ciphertext, with the
// owning record's id bound as additional data so that a sealed value cannot
// be moved to another record.
type sealer struct{ aead cipher.AEAD }

func newSealer(keyEncryptionKey []byte) (sealer, error) {
	if len(keyEncryptionKey) != KeyEncryptionKeySize {
		return sealer{}, fmt.Errorf("mongo: key encryption key must be %d bytes, got %d", KeyEncryptionKeySize, len(keyEncryptionKey))
	}
	block, err := aes.NewCipher(keyEncryptionKey)
	if err != nil {
		return sealer{}, fmt.Errorf("mongo: key encryption key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return sealer{}, fmt.Errorf("mongo: key encryption key: %w", err)
	}
	return sealer{aead: aead}, nil
}

func sealAD(purpose, id string) []byte { return []byte(purpose + "\x00" + id) }

// seal encrypts plain for the record id of purpose.
func (s sealer) seal(purpose, id string, plain []byte) ([]byte, error) {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("mongo: seal %s of %s: %w", purpose, id, err)
	}
	return s.aead.Seal(nonce, nonce, plain, sealAD(purpose, id)), nil
}

// open decrypts what seal wrote for the same purpose and id; anything else
// (another key, another record, tampering) fails with fail, wrapped.
func (s sealer) open(purpose, id string, sealed []byte, fail error) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n+s.aead.Overhead() {
		return nil, fmt.Errorf("mongo: %s of %s: %w", purpose, id, fail)
	}
	plain, err := s.aead.Open(nil, sealed[:n], sealed[n:], sealAD(purpose, id))
	if err != nil {
		return nil, fmt.Errorf("mongo: %s of %s: %w", purpose, id, fail)
	}
	return plain, nil
}
