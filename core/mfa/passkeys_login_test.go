package mfa_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/core/mfa"
)

// login runs a sign-in to the end: discoverable for uid "", else as uid's
// second factor.
func (w *world) login(t *testing.T, a *authenticator, uid string) (string, []string, error) {
	t.Helper()
	ctx := context.Background()
	options, ceremony, err := w.svc.BeginPasskeyLogin(ctx, uid)
	require.NoError(t, err)
	return w.svc.FinishPasskeyLogin(ctx, ceremony, uid, a.get(t, options, origin))
}

type requestOptions struct {
	PublicKey struct {
		Challenge        protocol.URLEncodedBase64                `json:"challenge"`
		RPID             string                                   `json:"rpId"`
		Allow            []struct{ ID protocol.URLEncodedBase64 } `json:"allowCredentials"`
		UserVerification string                                   `json:"userVerification"`
	} `json:"publicKey"`
}

func parseRequest(t *testing.T, options []byte) requestOptions {
	t.Helper()
	var o requestOptions
	require.NoError(t, json.Unmarshal(options, &o))
	return o
}

// get answers navigator.credentials.get, counting the signature when the
// authenticator counts.
func (a *authenticator) get(t *testing.T, options []byte, from string) []byte {
	t.Helper()
	o := parseRequest(t, options).PublicKey
	if a.counts {
		a.counter++
	}
	data := a.authData(o.RPID, 0)
	cd := clientData(t, "webauthn.get", o.Challenge, from)
	cdHash := sha256.Sum256(cd)
	digest := sha256.Sum256(append(bytes.Clone(data), cdHash[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, a.key, digest[:])
	require.NoError(t, err)
	return a.respond(t, map[string]any{
		"clientDataJSON":    b64.EncodeToString(cd),
		"authenticatorData": b64.EncodeToString(data),
		"signature":         b64.EncodeToString(sig),
		"userHandle":        b64.EncodeToString(a.handle),
	})
}

func TestAPasskeySignsInWithoutAPassword(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	a := newAuthenticator(t, true)
	_, err := w.register(t, a, userID, "Phone")
	require.NoError(t, err)

	w.clock.Advance(time.Minute)
	options, ceremony, err := w.svc.BeginPasskeyLogin(ctx, "")
	require.NoError(t, err)
	ro := parseRequest(t, options).PublicKey
	assert.Empty(t, ro.Allow, "a discoverable sign-in names no credential")
	assert.Equal(t, "required", ro.UserVerification)
	assert.Equal(t, rpID, ro.RPID)
	uid, amr, err := w.svc.FinishPasskeyLogin(ctx, ceremony, "", a.get(t, options, origin))
	require.NoError(t, err)
	assert.Equal(t, userID, uid)
	assert.Equal(t, []string{"swk", "mfa"}, amr, "a synced passkey is a software key; it verified its user")
	p := w.get(t, userID).Passkeys[0]
	assert.Equal(t, w.clock.Now(), p.LastUsedAt)
	assert.Zero(t, p.SignCount)

	uid, _, err = w.login(t, a, "")
	require.NoError(t, err, "a synced passkey's counter stays at zero, and that is no clone")
	assert.Equal(t, userID, uid)
	assert.Len(t, w.events.Events(), 1, "signing in is no event")
	assert.Len(t, w.mail.subjects(), 1, "nor a mail")
}

func TestASignInFromAnotherOriginIsRefused(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	a := newAuthenticator(t, true)
	_, err := w.register(t, a, userID, "Phone")
	require.NoError(t, err)

	options, ceremony, err := w.svc.BeginPasskeyLogin(ctx, "")
	require.NoError(t, err)
	_, _, err = w.svc.FinishPasskeyLogin(ctx, ceremony, "", a.get(t, options, "https://evil.example"))
	assert.ErrorIs(t, err, mfa.ErrWrongCode)
	assert.True(t, w.get(t, userID).Passkeys[0].LastUsedAt.IsZero())
}

func TestASignInCeremonyAnswersOnce(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	a := newAuthenticator(t, true)
	_, err := w.register(t, a, userID, "Phone")
	require.NoError(t, err)
	options, ceremony, err := w.svc.BeginPasskeyLogin(ctx, "")
	require.NoError(t, err)
	answer := a.get(t, options, origin)
	_, _, err = w.svc.FinishPasskeyLogin(ctx, ceremony, "", answer)
	require.NoError(t, err)
	_, _, err = w.svc.FinishPasskeyLogin(ctx, ceremony, "", answer)
	assert.ErrorIs(t, err, mfa.ErrNoEnrolment, "the same answer again")
	_, _, err = w.svc.FinishPasskeyLogin(ctx, ceremony, "", a.get(t, options, origin))
	assert.ErrorIs(t, err, mfa.ErrNoEnrolment, "a new answer to a finished ceremony")
}

func TestAnExpiredSignInCeremonyIsRefused(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	a := newAuthenticator(t, true)
	_, err := w.register(t, a, userID, "Phone")
	require.NoError(t, err)
	options, ceremony, err := w.svc.BeginPasskeyLogin(ctx, "")
	require.NoError(t, err)
	w.clock.Advance(5*time.Minute - time.Second)
	answer := a.get(t, options, origin)
	w.clock.Advance(time.Second)
	_, _, err = w.svc.FinishPasskeyLogin(ctx, ceremony, "", answer)
	assert.ErrorIs(t, err, mfa.ErrNoEnrolment)
	_, _, err = w.svc.FinishPasskeyLogin(ctx, nil, "", answer)
	assert.ErrorIs(t, err, mfa.ErrNoEnrolment, "no ceremony at all")
}

func TestADeviceBoundPasskeyIsASecondFactorAfterThePassword(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	a := newAuthenticator(t, false)
	_, err := w.register(t, a, userID, "Security key")
	require.NoError(t, err)
	other := newAuthenticator(t, false)
	_, err = w.register(t, other, otherID, "Other's key")
	require.NoError(t, err)

	options, ceremony, err := w.svc.BeginPasskeyLogin(ctx, userID)
	require.NoError(t, err)
	ro := parseRequest(t, options).PublicKey
	require.Len(t, ro.Allow, 1, "only the user's passkeys are allowed")
	assert.Equal(t, a.id, []byte(ro.Allow[0].ID))
	assert.Equal(t, "required", ro.UserVerification)
	uid, amr, err := w.svc.FinishPasskeyLogin(ctx, ceremony, userID, a.get(t, options, origin))
	require.NoError(t, err)
	assert.Equal(t, userID, uid)
	assert.Equal(t, []string{"hwk", "mfa"}, amr, "a device-bound passkey is a hardware key")
	assert.Equal(t, uint32(1), w.get(t, userID).Passkeys[0].SignCount, "the counter is written back")

	_, _, err = w.login(t, other, userID)
	assert.ErrorIs(t, err, mfa.ErrWrongCode, "another user's passkey is no second factor of this one")
	options, ceremony, err = w.svc.BeginPasskeyLogin(ctx, otherID)
	require.NoError(t, err)
	_, _, err = w.svc.FinishPasskeyLogin(ctx, ceremony, userID, a.get(t, options, origin))
	assert.ErrorIs(t, err, mfa.ErrWrongCode, "a ceremony begun for another user")

	_, _, err = w.svc.BeginPasskeyLogin(ctx, strangerID)
	assert.ErrorIs(t, err, mfa.ErrNoFactor, "a user with no passkey has none to offer")
}

func TestASignCounterThatGoesBackIsRefused(t *testing.T) {
	w := newWorld(t)
	a := newAuthenticator(t, false)
	_, err := w.register(t, a, userID, "Security key")
	require.NoError(t, err)
	_, _, err = w.login(t, a, userID)
	require.NoError(t, err)
	copied := a.clone()
	_, _, err = w.login(t, a, userID)
	require.NoError(t, err)
	require.Equal(t, uint32(2), w.get(t, userID).Passkeys[0].SignCount)

	_, _, err = w.login(t, copied, userID)
	assert.ErrorIs(t, err, mfa.ErrWrongCode, "a counter that does not go up means a cloned key")
	copied.counter = 0
	_, _, err = w.login(t, copied, "")
	assert.ErrorIs(t, err, mfa.ErrWrongCode, "in a discoverable sign-in too")
	p := w.get(t, userID).Passkeys[0]
	assert.Equal(t, uint32(2), p.SignCount, "the refused counter is not stored")

	_, _, err = w.login(t, a, userID)
	assert.NoError(t, err, "the genuine key, counting on, still signs in")
}

func TestBackupEligibilityMayNotChangeButBackupStateMay(t *testing.T) {
	w := newWorld(t)
	bound := newAuthenticator(t, false)
	_, err := w.register(t, bound, userID, "Security key")
	require.NoError(t, err)
	bound.be = true
	_, _, err = w.login(t, bound, userID)
	assert.ErrorIs(t, err, mfa.ErrWrongCode, "a device-bound key cannot become syncable")
	bound.be, bound.bs = false, true
	_, _, err = w.login(t, bound, userID)
	assert.ErrorIs(t, err, mfa.ErrWrongCode, "backed up but not eligible is invalid")

	synced := newAuthenticator(t, true)
	synced.bs = false
	_, err = w.register(t, synced, otherID, "Phone")
	require.NoError(t, err)
	assert.False(t, w.get(t, otherID).Passkeys[0].BackupState)
	synced.bs = true
	uid, amr, err := w.login(t, synced, "")
	require.NoError(t, err, "an eligible key may be backed up later")
	assert.Equal(t, otherID, uid)
	assert.Equal(t, []string{"swk", "mfa"}, amr)
	assert.True(t, w.get(t, otherID).Passkeys[0].BackupState, "the backup state is written back")
	synced.be = false
	synced.bs = false
	_, _, err = w.login(t, synced, "")
	assert.ErrorIs(t, err, mfa.ErrWrongCode, "a syncable key cannot become device-bound")
}

func TestAPasskeyMustVerifyItsUser(t *testing.T) {
	w := newWorld(t)
	a := newAuthenticator(t, false)
	a.noUV = true
	_, err := w.register(t, a, userID, "Key without a PIN")
	assert.ErrorIs(t, err, mfa.ErrWrongCode)
	a.noUV = false
	_, err = w.register(t, a, userID, "Key with a PIN")
	require.NoError(t, err)
	a.noUV = true
	_, _, err = w.login(t, a, userID)
	assert.ErrorIs(t, err, mfa.ErrWrongCode, "as a second factor")
	_, _, err = w.login(t, a, "")
	assert.ErrorIs(t, err, mfa.ErrWrongCode, "and alone")
}

func TestAnUnknownPasskeyOrUserIsAWrongAnswer(t *testing.T) {
	w := newWorld(t)
	a := newAuthenticator(t, true)
	_, err := w.register(t, a, userID, "Phone")
	require.NoError(t, err)

	unregistered := a.clone()
	unregistered.id = []byte("an id never registered")
	_, _, err = w.login(t, unregistered, "")
	assert.ErrorIs(t, err, mfa.ErrWrongCode)

	stranger := a.clone()
	stranger.handle = []byte(strangerID)
	_, _, err = w.login(t, stranger, "")
	assert.ErrorIs(t, err, mfa.ErrWrongCode, "a user handle no one has")

	otherUser := a.clone()
	otherUser.handle = []byte(otherID)
	_, _, err = w.login(t, otherUser, "")
	assert.ErrorIs(t, err, mfa.ErrWrongCode, "a user handle that does not own the passkey")

	require.NoError(t, w.svc.RemovePasskey(context.Background(), userID, a.id))
	_, _, err = w.login(t, a, "")
	assert.ErrorIs(t, err, mfa.ErrWrongCode, "a removed passkey")
	_, err = w.register(t, a, userID, "Phone")
	require.NoError(t, err)

	bad := newAuthenticator(t, true)
	bad.id, bad.handle = a.id, a.handle
	_, _, err = w.login(t, bad, "")
	assert.ErrorIs(t, err, mfa.ErrWrongCode, "a signature by another key")

	_, ceremony, err := w.svc.BeginPasskeyLogin(context.Background(), "")
	require.NoError(t, err)
	_, _, err = w.svc.FinishPasskeyLogin(context.Background(), ceremony, "", []byte(`{"id":"x"}`))
	assert.ErrorIs(t, err, mfa.ErrWrongCode, "an answer that does not parse")
}

func TestSecondFactorPasskeyTriesCountAgainstTheAccount(t *testing.T) {
	w := newWorld(t)
	a := newAuthenticator(t, false)
	_, err := w.register(t, a, userID, "Key")
	require.NoError(t, err)
	forger := newAuthenticator(t, false)
	forger.id, forger.handle = a.id, a.handle
	for range mfa.DefaultAttempts.Limit {
		_, _, err = w.login(t, forger, userID)
		require.ErrorIs(t, err, mfa.ErrWrongCode)
	}
	_, _, err = w.login(t, a, userID)
	assert.ErrorIs(t, err, mfa.ErrThrottled)
	_, _, err = w.login(t, a, "")
	assert.NoError(t, err, "a discoverable sign-in counts no tries against a handle anyone can send")
}
