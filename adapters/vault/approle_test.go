package vault_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/adapters/vault"
)

// appRole enables AppRole at a mount of its own and makes a role whose
// tokens may use only keys and live for at most maxTTL. It returns the
// mount, role_id and secret_id.
func appRole(t *testing.T, keys map[string]string, ttl, maxTTL time.Duration) (mount, roleID, secretID string) {
	t.Helper()
	addr, token := vaultEnv(t)
	c := rootClient(addr, token)
	suffix := randomSuffix()
	mount = "approle-" + suffix
	require.NoError(t, c.Sys().EnableAuthWithOptions(mount, &api.EnableAuthOptions{Type: "approle"}))
	t.Cleanup(func() { _ = c.Sys().DisableAuth(mount) })

	policy := ""
	for _, name := range keys {
		policy += fmt.Sprintf("path \"transit/keys/%s\" { capabilities = [\"read\", \"create\", \"update\"] }\n", name)
		policy += fmt.Sprintf("path \"transit/keys/%s/rotate\" { capabilities = [\"update\"] }\n", name)
		policy += fmt.Sprintf("path \"transit/sign/%s/*\" { capabilities = [\"update\"] }\n", name)
	}
	policyName := "signer-" + suffix
	require.NoError(t, c.Sys().PutPolicy(policyName, policy))
	t.Cleanup(func() { _ = c.Sys().DeletePolicy(policyName) })

	role := "auth/" + mount + "/role/signer"
	_, err := c.Logical().Write(role, map[string]any{
		"token_policies": policyName,
		"token_ttl":      ttl.String(),
		"token_max_ttl":  maxTTL.String(),
	})
	require.NoError(t, err)
	sec, err := c.Logical().Read(role + "/role-id")
	require.NoError(t, err)
	roleID = sec.Data["role_id"].(string)
	sec, err = c.Logical().Write(role+"/secret-id", nil)
	require.NoError(t, err)
	secretID = sec.Data["secret_id"].(string)
	return mount, roleID, secretID
}

func TestAppRoleLoginRenewsAndLogsInAgainWhenTheTokenCannotBeRenewed(t *testing.T) {
	ctx := context.Background()
	keys := testKeys()
	const maxTTL = 4 * time.Second
	mount, roleID, secretID := appRole(t, keys, 2*time.Second, maxTTL)
	s := newSigner(t, vault.Options{Keys: keys, Algorithms: bothAlgorithms, AppRoleMount: mount, RoleID: roleID, SecretID: secretID})

	sign := func() error {
		for _, alg := range bothAlgorithms {
			ref, err := s.ActiveKey(ctx, alg)
			if err != nil {
				return err
			}
			input := jwsInput(ref, `{}`)
			sig, err := s.Sign(ctx, ref, input)
			if err != nil {
				return err
			}
			requireStdlibVerifies(t, s, ref, input, sig)
		}
		return nil
	}
	require.NoError(t, sign(), "signing with the AppRole token")
	require.NoError(t, s.Rotate(ctx), "rotating with the AppRole token")

	// Past the first token's max TTL, only a new login can sign.
	time.Sleep(maxTTL + time.Second)
	require.Eventually(t, func() bool { return sign() == nil }, 5*time.Second, 100*time.Millisecond,
		"signing failed after the first token's max TTL: no new login")
	require.NoError(t, s.Ready(ctx))
}

func TestAppRoleWithAWrongSecretFailsTheStart(t *testing.T) {
	addr, _ := vaultEnv(t)
	keys := testKeys()
	mount, roleID, _ := appRole(t, keys, time.Minute, time.Hour)
	_, err := vault.New(context.Background(), vault.Options{Address: addr, Keys: keys, AppRoleMount: mount, RoleID: roleID, SecretID: "wrong", RetireAfter: time.Hour})
	require.Error(t, err)
}
