package testsuite

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/ports"
)

func revocationTests() []subtest[ports.GrantStore] {
	return []subtest[ports.GrantStore]{
		{"unknown token and grant ids are not revoked", revocationUnknown},
		{"a revoked access token is revoked, and revoking it again is harmless", revocationAccessToken},
		{"a revoked grant covers every token carrying it, once its id is given", revocationGrant},
	}
}

func requireRevoked(t *testing.T, s ports.RevocationStore, jti, grantID string, want bool, msg string) {
	t.Helper()
	got, err := s.IsRevoked(t.Context(), jti, grantID)
	require.NoError(t, err, msg)
	assert.Equal(t, want, got, msg)
}

func revocationUnknown(t *testing.T, s ports.GrantStore) {
	requireRevoked(t, s, uuid.NewString(), "", false, "a token without a grant")
	requireRevoked(t, s, uuid.NewString(), uuid.NewString(), false, "a token with a grant")
}

func revocationAccessToken(t *testing.T, s ports.GrantStore) {
	jti := uuid.NewString()
	expiresAt := epoch.Add(time.Hour)
	require.NoError(t, s.RevokeAccessToken(t.Context(), jti, expiresAt))
	require.NoError(t, s.RevokeAccessToken(t.Context(), jti, expiresAt), "revoking again")
	requireRevoked(t, s, jti, "", true, "the token alone")
	requireRevoked(t, s, jti, uuid.NewString(), true, "the token with a live grant")
	requireRevoked(t, s, uuid.NewString(), "", false, "another token")
}

func revocationGrant(t *testing.T, s ports.GrantStore) {
	grantID := uuid.NewString()
	expiresAt := epoch.Add(time.Hour)
	require.NoError(t, s.RevokeGrant(t.Context(), grantID, expiresAt))
	require.NoError(t, s.RevokeGrant(t.Context(), grantID, expiresAt), "revoking again")
	requireRevoked(t, s, uuid.NewString(), grantID, true, "any token of the grant")
	requireRevoked(t, s, uuid.NewString(), "", false, "a token whose grant is not given")
	requireRevoked(t, s, uuid.NewString(), uuid.NewString(), false, "a token of another grant")
}
