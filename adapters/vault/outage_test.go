package vault_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/adapters/vault"
	"github.com/calimatic/calimatic-auth/core/domain"
)

func TestWhileVaultIsUnreachableSigningIsUnavailableAndJWKSIsServedThenItRecovers(t *testing.T) {
	addr, _ := vaultEnv(t)
	ctx := context.Background()
	p := newProxy(t, addr)
	s := newSigner(t, vault.Options{Address: p.url(), Algorithms: bothAlgorithms, Timeout: 2 * time.Second})
	ref, err := s.ActiveKey(ctx, domain.AlgES256)
	require.NoError(t, err)
	cached, err := s.PublicKeys(ctx)
	require.NoError(t, err)

	p.stop()
	err = s.Ready(ctx)
	require.ErrorIs(t, err, domain.ErrUnavailable, "Ready while Vault is gone")
	_, err = s.Sign(ctx, ref, jwsInput(ref, `{}`))
	require.ErrorIs(t, err, domain.ErrUnavailable, "Sign while Vault is gone")
	_, err = s.ActiveKey(ctx, domain.AlgES256)
	require.ErrorIs(t, err, domain.ErrUnavailable, "ActiveKey while Vault is gone")
	set, err := s.PublicKeys(ctx)
	require.NoError(t, err, "JWKS is served from memory")
	assert.Equal(t, cached, set)

	p.start(t)
	// No call to Ready first: the next request probes Vault and recovers.
	for _, alg := range bothAlgorithms {
		ref, err := s.ActiveKey(ctx, alg)
		require.NoError(t, err, "ActiveKey after Vault came back")
		input := jwsInput(ref, `{}`)
		sig, err := s.Sign(ctx, ref, input)
		require.NoError(t, err, "Sign after Vault came back")
		requireStdlibVerifies(t, s, ref, input, sig)
	}
	require.NoError(t, s.Ready(ctx))
}

func TestAnOutageFoundBySignIsUnavailableForBatchedAndUnbatchedSigns(t *testing.T) {
	addr, _ := vaultEnv(t)
	ctx := context.Background()
	for _, batchMax := range []int{1, 64} {
		p := newProxy(t, addr)
		s := newSigner(t, vault.Options{Address: p.url(), Algorithms: []string{domain.AlgRS256}, BatchMax: batchMax, Timeout: 2 * time.Second})
		ref, err := s.ActiveKey(ctx, domain.AlgRS256)
		require.NoError(t, err)
		p.stop()
		_, err = s.Sign(ctx, ref, jwsInput(ref, `{}`))
		require.ErrorIs(t, err, domain.ErrUnavailable, "BatchMax %d", batchMax)
		assert.Error(t, s.Ready(ctx))
		p.start(t)
		require.NoError(t, s.Ready(ctx), "BatchMax %d", batchMax)
	}
}
