package testsuite

import (
	"testing"

	"github.com/calimatic/calimatic-auth/ports"
)

// RunGrantStore checks a GrantStore against the contracts of its four parts:
// authorization codes, refresh-token families, revocations and consents.
// newStore is called once per subtest; the store may hold other grants.
func RunGrantStore(t *testing.T, newStore func(t *testing.T) ports.GrantStore) {
	t.Run("authorization codes", func(t *testing.T) { runSubtests(t, newStore, authCodeTests()) })
	t.Run("refresh tokens", func(t *testing.T) { runSubtests(t, newStore, refreshTokenTests()) })
	t.Run("revocations", func(t *testing.T) { runSubtests(t, newStore, revocationTests()) })
	t.Run("consents", func(t *testing.T) { runSubtests(t, newStore, consentTests()) })
}

// RunGrantStoreConcurrency checks what a GrantStore promises under
// contention: codes redeem once, live refresh tokens rotate once, and
// consent upserts lose no scope.
func RunGrantStoreConcurrency(t *testing.T, newStore func(t *testing.T) ports.GrantStore) {
	runSubtests(t, newStore, []subtest[ports.GrantStore]{
		{"of parallel redemptions of one code exactly one succeeds and the rest see ErrAlreadyUsed", codeParallelRedeem},
		{"of parallel rotations of one token without grace exactly one rotates and the rest are replays", refreshParallelRotateNoGrace},
		{"of parallel rotations of one token within the grace window exactly one rotates and the rest are retries", refreshParallelRotateInGrace},
		{"parallel consents of one user for one client keep every scope", consentParallelPuts},
	})
}
