// Package localkeys is a driven adapter of the ports.KeySigner port: it makes
// RS256 and ES256 signing keys in process, keeps them through a ports.KeyStore
// (memory, Postgres, Mongo), and signs JWS signing inputs with them.
//
// It sits on the outer ring of the hexagon, beside the vault adapter, which
// implements the same port over Vault's transit engine; app picks one.
//
// Keys live in three states (domain.KeyNext, KeyActive, KeyRetired). A key is
// published as next before it signs anything, and a retired key stays
// published for Options.RetireAfter, so relying parties that cache the JWKS
// can verify every token. Instances that share a store agree on keys through
// the store's compare-and-swap, and converge on each other's rotations by
// reloading it.
//
// Private keys are parsed once, when they are loaded; the hot path (ActiveKey,
// Sign, PublicKeys) reads an immutable snapshot without locks.
package localkeys
