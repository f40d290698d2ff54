package mfa_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/adapters/memory"
	"github.com/calimatic/calimatic-auth/adapters/system"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/mfa"
	"github.com/calimatic/calimatic-auth/testsuite"
)

const (
	rpID       = "auth.example.com"
	origin     = "https://auth.example.com"
	userID     = "0b0f5d5e-0000-4000-8000-0000000000aa"
	otherID    = "0b0f5d5e-0000-4000-8000-0000000000bb"
	strangerID = "0b0f5d5e-0000-4000-8000-0000000000cc"
)

var b64 = base64.RawURLEncoding

// mailbox is a ports.Mailer that keeps what it is given.
type mailbox struct {
	mu   sync.Mutex
	sent []domain.Mail
}

func (m *mailbox) Send(_ context.Context, mail domain.Mail) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, mail)
	return nil
}

func (m *mailbox) subjects() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, x := range m.sent {
		out = append(out, x.Subject)
	}
	return out
}

// world is an mfa.Service for one relying party on memory stores, with a
// clock the test moves.
type world struct {
	svc     *mfa.Service
	factors *memory.FactorStore
	events  *memory.EventLog
	mail    *mailbox
	clock   *testsuite.FakeClock
}

func newWorld(t *testing.T) *world {
	t.Helper()
	users := memory.NewUserStore()
	w := &world{
		factors: memory.NewFactorStore(), events: memory.NewEventLog(), mail: &mailbox{},
		clock: testsuite.NewFakeClock(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)),
	}
	orgs := memory.NewOrganizationStore()
	w.svc = mfa.New(mfa.Config{RPID: rpID, RPOrigins: []string{origin}, Attempts: mfa.DefaultAttempts}, mfa.Deps{
		Factors: w.factors, Users: users, Orgs: orgs, Roles: memory.NewRoleStore(orgs), Groups: orgs, Events: w.events,
		Units: memory.NewUnits(), Mailer: w.mail, Limiter: memory.NewRateLimiter(), Clock: w.clock,
		Random: system.NewRandom(), Replay: memory.NewReplayCache(),
	})
	require.True(t, w.svc.PasskeysOn())
	for _, u := range []domain.User{
		{ID: userID, Email: "teacher@example.com", GivenName: "Tess", FamilyName: "Teacher", Status: domain.UserActive},
		{ID: otherID, Email: "other@example.com", Status: domain.UserActive},
	} {
		require.NoError(t, users.CreateUser(context.Background(), u))
	}
	return w
}

func (w *world) get(t *testing.T, uid string) domain.Factors {
	t.Helper()
	f, err := w.factors.GetFactors(context.Background(), uid)
	require.NoError(t, err)
	return f
}

// eventsOf lists the events of a type, each as its data.
func (w *world) eventsOf(typ string) []map[string]any {
	var out []map[string]any
	for _, e := range w.events.Events() {
		if e.Type != typ {
			continue
		}
		data := map[string]any{}
		for _, f := range e.Data {
			data[f.Key] = f.Value
		}
		out = append(out, data)
	}
	return out
}

// register runs a registration to the end, from the browser at origin.
func (w *world) register(t *testing.T, a *authenticator, uid, name string) ([]string, error) {
	t.Helper()
	ctx := context.Background()
	options, err := w.svc.BeginPasskeyRegistration(ctx, uid)
	require.NoError(t, err)
	return w.svc.FinishPasskeyRegistration(ctx, uid, name, a.create(t, options, origin))
}

// authenticator is a software WebAuthn authenticator with one ES256
// credential, which answers as a browser would pass its answers on.
type authenticator struct {
	key    *ecdsa.PrivateKey
	id     []byte
	handle []byte // the user handle it was registered with
	// counts: a device-bound authenticator counts its signatures; a synced
	// passkey keeps its counter at zero.
	counts  bool
	counter uint32
	be, bs  bool
	noUV    bool
}

// newAuthenticator is a synced passkey (backup eligible and backed up)
// when synced, else a device-bound one that counts.
func newAuthenticator(t *testing.T, synced bool) *authenticator {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	return &authenticator{key: key, id: id, counts: !synced, be: synced, bs: synced}
}

// clone is a copy of the authenticator, key and counter and all.
func (a *authenticator) clone() *authenticator {
	c := *a
	return &c
}

func (a *authenticator) flags() byte {
	f := protocol.FlagUserPresent
	if !a.noUV {
		f |= protocol.FlagUserVerified
	}
	if a.be {
		f |= protocol.FlagBackupEligible
	}
	if a.bs {
		f |= protocol.FlagBackupState
	}
	return byte(f)
}

// authData is WebAuthn §6.1's authenticator data, without the attested
// credential data.
func (a *authenticator) authData(rp string, extra protocol.AuthenticatorFlags) []byte {
	h := sha256.Sum256([]byte(rp))
	out := append(h[:], a.flags()|byte(extra))
	return binary.BigEndian.AppendUint32(out, a.counter)
}

func clientData(t *testing.T, typ string, challenge []byte, from string) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"type": typ, "challenge": b64.EncodeToString(challenge), "origin": from, "crossOrigin": false})
	require.NoError(t, err)
	return b
}

type creationOptions struct {
	PublicKey struct {
		Challenge protocol.URLEncodedBase64 `json:"challenge"`
		RP        struct{ ID, Name string } `json:"rp"`
		User      struct {
			ID          protocol.URLEncodedBase64 `json:"id"`
			Name        string                    `json:"name"`
			DisplayName string                    `json:"displayName"`
		} `json:"user"`
		Exclude   []struct{ ID protocol.URLEncodedBase64 } `json:"excludeCredentials"`
		Selection struct {
			ResidentKey        string `json:"residentKey"`
			RequireResidentKey bool   `json:"requireResidentKey"`
			UserVerification   string `json:"userVerification"`
		} `json:"authenticatorSelection"`
		Attestation string `json:"attestation"`
	} `json:"publicKey"`
}

func parseCreation(t *testing.T, options []byte) creationOptions {
	t.Helper()
	var o creationOptions
	require.NoError(t, json.Unmarshal(options, &o))
	return o
}

// create answers navigator.credentials.create with "none" attestation.
func (a *authenticator) create(t *testing.T, options []byte, from string) []byte {
	t.Helper()
	o := parseCreation(t, options).PublicKey
	a.handle = o.User.ID
	pub, err := a.key.PublicKey.Bytes() // 0x04 ‖ X ‖ Y
	require.NoError(t, err)
	cose, err := webauthncbor.Marshal(webauthncose.EC2PublicKeyData{
		PublicKeyData: webauthncose.PublicKeyData{KeyType: int64(webauthncose.EllipticKey), Algorithm: int64(webauthncose.AlgES256)},
		Curve:         int64(webauthncose.P256), XCoord: pub[1:33], YCoord: pub[33:65],
	})
	require.NoError(t, err)
	data := a.authData(o.RP.ID, protocol.FlagAttestedCredentialData)
	data = append(data, make([]byte, 16)...) // AAGUID: none said
	data = binary.BigEndian.AppendUint16(data, uint16(len(a.id)))
	data = append(append(data, a.id...), cose...)
	att, err := webauthncbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": data})
	require.NoError(t, err)
	return a.respond(t, map[string]any{
		"clientDataJSON":    b64.EncodeToString(clientData(t, "webauthn.create", o.Challenge, from)),
		"attestationObject": b64.EncodeToString(att),
		"transports":        []string{"internal", "hybrid"},
	})
}

func (a *authenticator) respond(t *testing.T, response map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"id": b64.EncodeToString(a.id), "rawId": b64.EncodeToString(a.id), "type": "public-key",
		"response": response, "clientExtensionResults": map[string]any{}, "authenticatorAttachment": "platform",
	})
	require.NoError(t, err)
	return b
}
func TestAPasskeyIsRegisteredOnTheAccountPage(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	options, err := w.svc.BeginPasskeyRegistration(ctx, userID)
	require.NoError(t, err)
	o := parseCreation(t, options).PublicKey
	assert.Equal(t, rpID, o.RP.ID)
	assert.Equal(t, "Calimatic", o.RP.Name)
	assert.Equal(t, userID, string(o.User.ID), "the user handle is the user's id")
	assert.Equal(t, "teacher@example.com", o.User.Name)
	assert.Equal(t, "Tess Teacher", o.User.DisplayName)
	assert.Equal(t, "required", o.Selection.ResidentKey, "every passkey is discoverable")
	assert.True(t, o.Selection.RequireResidentKey)
	assert.Equal(t, "required", o.Selection.UserVerification)
	assert.Equal(t, "none", o.Attestation)
	assert.Empty(t, o.Exclude)
	assert.Len(t, o.Challenge, 32)
	f := w.get(t, userID)
	assert.NotEmpty(t, f.Ceremony)
	assert.Equal(t, w.clock.Now().Add(5*time.Minute), f.CeremonyExpires)

	a := newAuthenticator(t, true)
	codes, err := w.svc.FinishPasskeyRegistration(ctx, userID, "  Phone  ", a.create(t, options, origin))
	require.NoError(t, err)
	assert.Len(t, codes, 10, "the first second factor brings recovery codes")
	f = w.get(t, userID)
	assert.Empty(t, f.Ceremony, "the ceremony is spent")
	require.Len(t, f.Passkeys, 1)
	p := f.Passkeys[0]
	assert.Equal(t, a.id, p.ID)
	assert.Equal(t, "Phone", p.Name, "the name is trimmed")
	assert.Equal(t, "none", p.AttestationType)
	assert.Equal(t, []string{"internal", "hybrid"}, p.Transports)
	assert.True(t, p.BackupEligible)
	assert.True(t, p.BackupState)
	assert.Equal(t, w.clock.Now(), p.CreatedAt)
	assert.Equal(t, 10, f.UnusedRecoveryCodes())
	assert.Equal(t, []map[string]any{{
		"userId": userID, "email": "teacher@example.com", "factor": "passkey", "name": "Phone",
		"occurredAt": "2026-12-07T09:00:00.000Z",
	}}, w.eventsOf(domain.EventUserFactorAdded))
	assert.Equal(t, []string{"A passkey was added to your Calimatic account"}, w.mail.subjects())
}

func TestAPasskeyRegisteredFromAnotherOriginIsRefused(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	a := newAuthenticator(t, true)
	options, err := w.svc.BeginPasskeyRegistration(ctx, userID)
	require.NoError(t, err)
	_, err = w.svc.FinishPasskeyRegistration(ctx, userID, "Phone", a.create(t, options, "https://auth.example.com.evil.example"))
	assert.ErrorIs(t, err, mfa.ErrWrongCode)
	_, err = w.svc.FinishPasskeyRegistration(ctx, userID, "Phone", a.create(t, options, origin))
	assert.ErrorIs(t, err, mfa.ErrNoEnrolment, "a wrong answer spends the ceremony")
	assert.Empty(t, w.get(t, userID).Passkeys)
}

func TestARegistrationAnswersOnce(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	a := newAuthenticator(t, true)
	options, err := w.svc.BeginPasskeyRegistration(ctx, userID)
	require.NoError(t, err)
	answer := a.create(t, options, origin)
	_, err = w.svc.FinishPasskeyRegistration(ctx, userID, "Phone", answer)
	require.NoError(t, err)
	_, err = w.svc.FinishPasskeyRegistration(ctx, userID, "Phone again", answer)
	assert.ErrorIs(t, err, mfa.ErrNoEnrolment, "a registration's answer is not taken twice")
	assert.Len(t, w.get(t, userID).Passkeys, 1)
}

func TestAnExpiredRegistrationIsRefused(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	a := newAuthenticator(t, true)
	options, err := w.svc.BeginPasskeyRegistration(ctx, userID)
	require.NoError(t, err)
	w.clock.Advance(5 * time.Minute)
	_, err = w.svc.FinishPasskeyRegistration(ctx, userID, "Phone", a.create(t, options, origin))
	assert.ErrorIs(t, err, mfa.ErrNoEnrolment)
	assert.Empty(t, w.get(t, userID).Ceremony, "the expired ceremony is dropped")
}

func TestTheSamePasskeyIsNotRegisteredTwice(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	a := newAuthenticator(t, true)
	_, err := w.register(t, a, userID, "Phone")
	require.NoError(t, err)
	options, err := w.svc.BeginPasskeyRegistration(ctx, userID)
	require.NoError(t, err)
	exclude := parseCreation(t, options).PublicKey.Exclude
	require.Len(t, exclude, 1, "the browser is told which passkeys the user has")
	assert.Equal(t, a.id, []byte(exclude[0].ID))
	_, err = w.svc.FinishPasskeyRegistration(ctx, userID, "Phone again", a.create(t, options, origin))
	assert.ErrorIs(t, err, mfa.ErrPasskeyExists, "a browser that ignores the exclusions")
	f := w.get(t, userID)
	assert.Len(t, f.Passkeys, 1)
	assert.Empty(t, f.Ceremony)
	assert.Len(t, w.eventsOf(domain.EventUserFactorAdded), 1)
}

func TestAnAccountHasAtMostTwentyPasskeys(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	for i := range domain.MaxPasskeys {
		codes, err := w.register(t, newAuthenticator(t, i%2 == 0), userID, "Key "+strconv.Itoa(i))
		require.NoError(t, err)
		if i == 0 {
			assert.Len(t, codes, 10)
		} else {
			assert.Nil(t, codes, "recovery codes come with the first factor only")
		}
	}
	_, err := w.svc.BeginPasskeyRegistration(ctx, userID)
	assert.ErrorIs(t, err, mfa.ErrTooManyPasskeys)

	// A newer registration replaces an older one's ceremony.
	require.NoError(t, w.svc.RemovePasskey(ctx, userID, w.get(t, userID).Passkeys[0].ID))
	options, err := w.svc.BeginPasskeyRegistration(ctx, userID)
	require.NoError(t, err)
	_, err = w.register(t, newAuthenticator(t, true), userID, "Key 20")
	require.NoError(t, err)
	_, err = w.svc.FinishPasskeyRegistration(ctx, userID, "Key 21", newAuthenticator(t, true).create(t, options, origin))
	assert.ErrorIs(t, err, mfa.ErrNoEnrolment, "the later registration replaced the earlier ceremony")
	assert.Len(t, w.get(t, userID).Passkeys, domain.MaxPasskeys)

	require.NoError(t, w.svc.RemovePasskey(ctx, userID, w.get(t, userID).Passkeys[0].ID))
	options, err = w.svc.BeginPasskeyRegistration(ctx, userID)
	require.NoError(t, err)
	_, err = w.factors.UpdateFactors(ctx, userID, func(f *domain.Factors) error {
		f.Passkeys = append(f.Passkeys, domain.Passkey{ID: []byte("taken meanwhile"), Name: "Elsewhere"})
		return nil
	})
	require.NoError(t, err)
	_, err = w.svc.FinishPasskeyRegistration(ctx, userID, "Key 21", newAuthenticator(t, true).create(t, options, origin))
	assert.ErrorIs(t, err, mfa.ErrTooManyPasskeys)
	assert.Len(t, w.get(t, userID).Passkeys, domain.MaxPasskeys)
}

func TestAPasskeyNeedsAProperName(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	a := newAuthenticator(t, true)
	options, err := w.svc.BeginPasskeyRegistration(ctx, userID)
	require.NoError(t, err)
	answer := a.create(t, options, origin)
	for _, tc := range []struct{ why, name string }{
		{"an empty name", ""},
		{"a name of spaces", "   "},
		{"a name of 65 characters", strings.Repeat("é", 65)},
		{"a name with a NUL", "Phone\x00"},
		{"a name with a line break", "Phone\nSubject: hi"},
		{"a name with a tab", "My\tphone"},
		{"a name that is not UTF-8", "Phone \xff"},
		{"a name that turns the text around (U+202E)", "\u202eevil"},
	} {
		_, err := w.svc.FinishPasskeyRegistration(ctx, userID, tc.name, answer)
		assert.ErrorIs(t, err, mfa.ErrBadName, tc.why)
	}
	_, err = w.svc.FinishPasskeyRegistration(ctx, userID, strings.Repeat("é", 64), answer)
	require.NoError(t, err, "a bad name leaves the ceremony for a better one")
	assert.Equal(t, strings.Repeat("é", 64), w.get(t, userID).Passkeys[0].Name)
}

func TestPasskeysAreRenamedAndRemoved(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	phone, key := newAuthenticator(t, true), newAuthenticator(t, false)
	_, err := w.register(t, phone, userID, "Phone")
	require.NoError(t, err)
	_, err = w.register(t, key, userID, "Key")
	require.NoError(t, err)
	events := len(w.events.Events())

	require.NoError(t, w.svc.RenamePasskey(ctx, userID, phone.id, " Old phone "))
	f := w.get(t, userID)
	assert.Equal(t, "Old phone", f.Passkey(phone.id).Name)
	assert.Len(t, w.events.Events(), events, "a new name is no event")
	assert.ErrorIs(t, w.svc.RenamePasskey(ctx, userID, phone.id, "\x1b[31m"), mfa.ErrBadName)
	assert.ErrorIs(t, w.svc.RenamePasskey(ctx, userID, []byte("nope"), "Name"), mfa.ErrNoFactor)

	require.NoError(t, w.svc.RemovePasskey(ctx, userID, phone.id))
	f = w.get(t, userID)
	assert.Nil(t, f.Passkey(phone.id))
	assert.Equal(t, 10, f.UnusedRecoveryCodes(), "the codes stay while a factor does")
	removed := w.eventsOf(domain.EventUserFactorRemoved)
	require.Len(t, removed, 1)
	assert.Equal(t, "passkey", removed[0]["factor"])
	assert.Equal(t, "Old phone", removed[0]["name"])
	assert.Contains(t, w.mail.subjects(), "A passkey was removed from your Calimatic account")
	assert.ErrorIs(t, w.svc.RemovePasskey(ctx, userID, phone.id), mfa.ErrNoFactor)

	require.NoError(t, w.svc.RemovePasskey(ctx, userID, key.id))
	f = w.get(t, userID)
	assert.Empty(t, f.Passkeys)
	assert.Empty(t, f.RecoveryCodes, "the codes go with the last factor")
}

func TestPasskeysAreOffWithoutARelyingPartyID(t *testing.T) {
	svc := mfa.New(mfa.Config{}, mfa.Deps{Replay: memory.NewReplayCache()})
	assert.False(t, svc.PasskeysOn())
	ctx := context.Background()
	_, err := svc.BeginPasskeyRegistration(ctx, userID)
	assert.ErrorIs(t, err, mfa.ErrPasskeysOff)
	_, err = svc.FinishPasskeyRegistration(ctx, userID, "Phone", nil)
	assert.ErrorIs(t, err, mfa.ErrPasskeysOff)
	_, _, err = svc.BeginPasskeyLogin(ctx, "")
	assert.ErrorIs(t, err, mfa.ErrPasskeysOff)
	_, _, err = svc.FinishPasskeyLogin(ctx, nil, "", nil)
	assert.ErrorIs(t, err, mfa.ErrPasskeysOff)

	svc = mfa.New(mfa.Config{RPID: "127.0.0.1", RPOrigins: []string{"http://127.0.0.1:8080"}}, mfa.Deps{Replay: memory.NewReplayCache()})
	assert.False(t, svc.PasskeysOn(), "WebAuthn takes no IP address as a relying party id")
	_, _, err = svc.BeginPasskeyLogin(ctx, "")
	assert.ErrorIs(t, err, mfa.ErrPasskeysOff)
}
