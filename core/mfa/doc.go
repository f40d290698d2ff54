// Package mfa holds an account's second factors: an authenticator app
// (TOTP, RFC 6238), single-use recovery codes and passkeys (WebAuthn). It
// enrols, checks and removes them, and decides from the organizations'
// policies whether a sign-in must have one. A passkey also signs in on its
// own, without a password, as it names its user.
//
// The sign-in (core/oidc) asks it to check a code; the account page asks
// it to enrol and remove. Every change an account holder should know of
// is an event, stored with the change in one unit of work, and a mail to
// the holder once the unit is stored.
package mfa
