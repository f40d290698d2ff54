package memory

import (
	"context"
	"slices"
	"sync"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

var _ ports.KeyStore = (*KeyStore)(nil)

// KeyStore keeps the localkeys signer's keys in process memory. Keys do not
// survive a restart, and only signers in this process share them; that is what
// the default, dependency-free run wants.
type KeyStore struct {
	mu   sync.Mutex
	keys []domain.KeyRecord
}

// NewKeyStore returns an empty key store.
func NewKeyStore() *KeyStore {
	return &KeyStore{}
}

// ListKeys returns a copy of every stored key: callers may change it freely.
func (s *KeyStore) ListKeys(_ context.Context) ([]domain.KeyRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return cloneKeyRecords(s.keys), nil
}

// ReplaceKeys swaps the whole set for next under the store's lock, if the
// stored set has exactly the (kid, state) pairs of prev. Other fields of prev
// are not compared: the state is what a concurrent rotation changes.
func (s *KeyStore) ReplaceKeys(_ context.Context, prev, next []domain.KeyRecord) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !slices.Equal(keyStates(prev), keyStates(s.keys)) {
		return domain.ErrConflict
	}
	s.keys = cloneKeyRecords(next)
	return nil
}

// keyStates returns the sorted (kid, state) pairs of recs, the part of a key
// set that ReplaceKeys compares.
func keyStates(recs []domain.KeyRecord) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		// A NUL cannot occur in a kid (base64url), so the pair is unambiguous.
		out[i] = r.KID + "\x00" + string(r.State)
	}
	slices.Sort(out)
	return out
}

// cloneKeyRecords copies recs deeply: Private is a slice, and a caller that
// zeroes its copy of a private key must not wipe the stored one.
func cloneKeyRecords(recs []domain.KeyRecord) []domain.KeyRecord {
	out := make([]domain.KeyRecord, len(recs))
	for i, r := range recs {
		r.Private = slices.Clone(r.Private)
		out[i] = r
	}
	return out
}
