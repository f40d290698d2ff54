// Package vault is a driven adapter of the ports.KeySigner port over
// HashiCorp Vault's transit secrets engine: private signing keys are made in
// Vault, never leave it (exportable is false), and every signature is one
// transit sign call. The core sees only the port; app picks this adapter with
// signer.kind: vault, in place of localkeys.
//
// Each algorithm has a transit key (rsa-2048 for RS256, signed with
// pkcs1v15; ecdsa-p256 for ES256, marshaled as JWS r‖s). The signing input is
// hashed here and sent prehashed, so 32 bytes travel per signature.
//
// The key's versions are the signing keys. The newest version is the next
// key: published, never signing. The version before it is the active key,
// once it has been published for Options.PublishDelay; until then the one
// before keeps signing, named by an explicit key_version. Older versions are
// retired and stay published for Options.RetireAfter after they stopped
// signing. Rotate rotates the transit keys; instances sharing Vault see each
// other's rotations through the periodic refresh. Each kid is the RFC 7638
// thumbprint of the version's public key, so the JWKS is the same from every
// instance.
//
// Concurrent Sign calls for one key version are gathered into one transit
// call with batch_input (Options.BatchMax, Options.BatchWindow).
//
// While Vault cannot be reached, Ready, ActiveKey and Sign fail with
// domain.ErrUnavailable and PublicKeys serves the last key set it read. The
// signer probes Vault again on the next ActiveKey, Ready or refresh, so it
// recovers by itself.
package vault
