package testsuite

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

// RunKeyStore runs the ports.KeyStore conformance suite. newStore must
// return an empty store that no other test shares.
func RunKeyStore(t *testing.T, newStore func(t *testing.T) ports.KeyStore) {
	ctx := context.Background()
	a := keyRecord("kid-a", domain.AlgRS256, domain.KeyActive)
	b := keyRecord("kid-b", domain.AlgRS256, domain.KeyNext)
	c := keyRecord("kid-c", domain.AlgES256, domain.KeyRetired)

	// withKeys returns a new store holding recs.
	withKeys := func(t *testing.T, recs ...domain.KeyRecord) ports.KeyStore {
		s := newStore(t)
		require.NoError(t, s.ReplaceKeys(ctx, nil, recs))
		return s
	}

	t.Run("NewStoreIsEmpty", func(t *testing.T) {
		requireKeys(t, newStore(t))
	})

	t.Run("ReplacedKeysComeBackAsWritten", func(t *testing.T) {
		s := withKeys(t, a, b, c)
		requireKeys(t, s, a, b, c)
	})

	t.Run("ReplaceWithStalePrevConflictsAndChangesNothing", func(t *testing.T) {
		s := withKeys(t, a)
		err := s.ReplaceKeys(ctx, nil, []domain.KeyRecord{b})
		require.ErrorIs(t, err, domain.ErrConflict)
		requireKeys(t, s, a)
	})

	t.Run("ReplaceWithPrevMissingAKeyConflicts", func(t *testing.T) {
		s := withKeys(t, a, b)
		err := s.ReplaceKeys(ctx, []domain.KeyRecord{a}, []domain.KeyRecord{c})
		require.ErrorIs(t, err, domain.ErrConflict)
		requireKeys(t, s, a, b)
	})

	t.Run("ReplaceWithPrevHavingAnExtraKeyConflicts", func(t *testing.T) {
		s := withKeys(t, a)
		err := s.ReplaceKeys(ctx, []domain.KeyRecord{a, b}, []domain.KeyRecord{c})
		require.ErrorIs(t, err, domain.ErrConflict)
		requireKeys(t, s, a)
	})

	t.Run("ReplaceWithPrevInAnotherStateConflicts", func(t *testing.T) {
		s := withKeys(t, a, b)
		promoted := b
		promoted.State = domain.KeyActive
		err := s.ReplaceKeys(ctx, []domain.KeyRecord{a, promoted}, []domain.KeyRecord{c})
		require.ErrorIs(t, err, domain.ErrConflict)
		requireKeys(t, s, a, b)
	})

	t.Run("ReplaceComparesOnlyKIDsAndStatesOfPrev", func(t *testing.T) {
		s := withKeys(t, a, b)
		prev := []domain.KeyRecord{
			{KID: b.KID, State: b.State},
			{KID: a.KID, State: a.State},
		}
		require.NoError(t, s.ReplaceKeys(ctx, prev, []domain.KeyRecord{c}))
		requireKeys(t, s, c)
	})

	t.Run("ReplaceSwapsTheWholeSet", func(t *testing.T) {
		s := withKeys(t, a, b)
		retired := a
		retired.State = domain.KeyRetired
		retired.RetireAt = a.ActiveAt.Add(time.Hour)
		promoted := b
		promoted.State = domain.KeyActive
		promoted.ActiveAt = retired.RetireAt.Add(-time.Hour)
		require.NoError(t, s.ReplaceKeys(ctx, []domain.KeyRecord{a, b}, []domain.KeyRecord{retired, promoted, c}))
		requireKeys(t, s, retired, promoted, c)

		require.NoError(t, s.ReplaceKeys(ctx, []domain.KeyRecord{retired, promoted, c}, nil))
		requireKeys(t, s)
	})

	t.Run("StoredKeysAreCopies", func(t *testing.T) {
		written := []domain.KeyRecord{a}
		written[0].Private = slices.Clone(a.Private)
		s := withKeys(t, written...)
		// Each side changes a different byte, so that neither change can undo
		// the other.
		written[0].Private[0] = 'W'
		written[0].State = domain.KeyRetired

		listed, err := s.ListKeys(ctx)
		require.NoError(t, err)
		require.Len(t, listed, 1)
		listed[0].Private[1] = 'L'
		listed[0].KID = "changed"

		requireKeys(t, s, a)
	})

	t.Run("ConcurrentReplacesWithOnePrevHaveExactlyOneWinner", func(t *testing.T) {
		s := withKeys(t, a)
		const writers = 8
		errs := make([]error, writers)
		var wg sync.WaitGroup
		for i := range writers {
			wg.Go(func() {
				next := keyRecord(fmt.Sprintf("kid-writer-%d", i), domain.AlgES256, domain.KeyNext)
				errs[i] = s.ReplaceKeys(ctx, []domain.KeyRecord{a}, []domain.KeyRecord{a, next})
			})
		}
		wg.Wait()

		winner := -1
		for i, err := range errs {
			if err == nil {
				assert.Equal(t, -1, winner, "writers %d and %d both won", winner, i)
				winner = i
				continue
			}
			assert.ErrorIs(t, err, domain.ErrConflict)
		}
		require.NotEqual(t, -1, winner, "no writer won")
		requireKeys(t, s, a, keyRecord(fmt.Sprintf("kid-writer-%d", winner), domain.AlgES256, domain.KeyNext))
	})
}

// keyRecord returns a record in state with distinct private bytes. Its times
// are whole milliseconds in UTC, which every store keeps exactly (Mongo's
// dates have millisecond precision).
func keyRecord(kid, alg string, state domain.KeyState) domain.KeyRecord {
	created := keySuiteStart.Add(-24 * time.Hour)
	r := domain.KeyRecord{
		KID:       kid,
		Algorithm: alg,
		State:     state,
		Private:   []byte("pkcs8-der-of-" + kid),
		CreatedAt: created,
	}
	switch state {
	case domain.KeyActive:
		r.ActiveAt = created.Add(time.Hour)
	case domain.KeyRetired:
		r.ActiveAt = created.Add(time.Hour)
		r.RetireAt = created.Add(48 * time.Hour)
	}
	return r
}

// requireKeys checks that s holds exactly want, in any order. Times are
// compared as instants, since a store may hand them back in another location.
func requireKeys(t *testing.T, s ports.KeyStore, want ...domain.KeyRecord) {
	t.Helper()
	got, err := s.ListKeys(context.Background())
	require.NoError(t, err)
	byKID := func(a, b domain.KeyRecord) int { return cmp.Compare(a.KID, b.KID) }
	want = slices.SortedFunc(slices.Values(want), byKID)
	got = slices.SortedFunc(slices.Values(got), byKID)
	require.Len(t, got, len(want), "stored keys: %v", kidsOfRecords(got))
	for i := range want {
		w, g := want[i], got[i]
		assert.Equal(t, w.KID, g.KID)
		assert.Equal(t, w.Algorithm, g.Algorithm, w.KID)
		assert.Equal(t, w.State, g.State, w.KID)
		assert.Equal(t, w.Private, g.Private, w.KID)
		for _, tm := range []struct {
			name      string
			want, got time.Time
		}{{"CreatedAt", w.CreatedAt, g.CreatedAt}, {"ActiveAt", w.ActiveAt, g.ActiveAt}, {"RetireAt", w.RetireAt, g.RetireAt}} {
			assert.True(t, tm.want.Equal(tm.got), "%s of %s: want %v, got %v", tm.name, w.KID, tm.want, tm.got)
		}
	}
}

func kidsOfRecords(recs []domain.KeyRecord) []string {
	kids := make([]string, len(recs))
	for i, r := range recs {
		kids[i] = r.KID
	}
	return kids
}
