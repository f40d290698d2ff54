package testsuite

import (
	"bytes"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

// FactorStores are one backend's factor store and the user store on the
// same data. A backend may keep factors only for users it holds (on
// PostgreSQL a user's factors reference the user and go with them), so the
// suite creates every user whose factors it writes.
type FactorStores struct {
	Factors ports.FactorStore
	Users   ports.UserStore
}

// RunFactorStore checks a FactorStore against its port contract. newStores
// is called once per subtest; the stores may hold other users.
func RunFactorStore(t *testing.T, newStores func(t *testing.T) FactorStores) {
	runSubtests(t, newStores, []subtest[FactorStores]{
		{"a user with no factors reads back as an empty record, without error", factorsEmpty},
		{"an update stores every field, and reads back as the callback left it", factorsRoundTrip},
		{"the callback gets the stored factors", factorsCallbackSeesStored},
		{"a value handed in or read back shares no memory with the store", factorsShareNothing},
		{"an update whose callback fails writes nothing and returns the callback's error", factorsUpdateRefused},
		{"the callback cannot move the factors to another user", factorsKeepUserID},
		{"an authenticator, a passkey or everything removed stays removed", factorsRemoved},
		{"deleting a user's factors removes them, and deleting none is no error", factorsDelete},
		{"each user's factors are kept apart", factorsApart},
	})
}

// RunFactorStoreConcurrency checks that updates of one user's factors apply
// one after the other: none is lost, and a recovery code or a TOTP step is
// spent once however many updates race for it.
func RunFactorStoreConcurrency(t *testing.T, newStores func(t *testing.T) FactorStores) {
	runSubtests(t, newStores, []subtest[FactorStores]{
		{"of concurrent spends of one recovery code exactly one succeeds", factorsRaceRecoveryCode},
		{"of concurrent uses of one TOTP step exactly one is accepted", factorsRaceTOTPStep},
		{"concurrent updates of one user lose none", factorsRaceIncrements},
		{"concurrent first updates of a user with no factors lose none", factorsRaceFirstUpdates},
	})
}

// errSpentInTest is what a racing callback returns when it finds the factor
// it came for already spent.
var errSpentInTest = errors.New("spent by another update")

// factorUser creates a user for factors to belong to and returns its id.
func factorUser(t *testing.T, s FactorStores) string {
	t.Helper()
	return createUser(t, s.Users).ID
}

// at is epoch plus ms milliseconds: every backend keeps milliseconds, so
// the sample times survive them all, while not being whole seconds.
func at(ms int64) time.Time { return epoch.Add(time.Duration(ms) * time.Millisecond) }

// sampleFactors fills every field of a user's factors, with the cases an
// encoding may get wrong: a used and unused recovery code, a passkey with
// every field set (a sign count past 2³¹, a name outside ASCII) and others
// with nil or empty slices and zero times.
func sampleFactors(userID string) domain.Factors {
	return domain.Factors{
		UserID:           userID,
		TOTP:             &domain.TOTP{Secret: uniqueHash()[:20], LastStep: 68_012_345, CreatedAt: at(1_001)},
		PendingTOTP:      &domain.TOTP{Secret: uniqueHash()[:20], CreatedAt: at(2_002)},
		PendingTOTPOwner: "request:owner-hash",
		RecoveryCodes: []domain.RecoveryCode{
			{Hash: uniqueHash()},
			{Hash: uniqueHash(), UsedAt: at(3_003)},
			{Hash: uniqueHash()},
		},
		Passkeys: []domain.Passkey{
			{
				ID: uniqueHash(), Name: "Ana’s YubiKey 🔑", PublicKey: append(uniqueHash(), uniqueHash()...),
				AttestationType: "packed", AAGUID: uniqueHash()[:16], SignCount: 4_000_000_001,
				BackupEligible: true, BackupState: true, Transports: []string{"usb", "nfc"},
				CreatedAt: at(4_004), LastUsedAt: at(5_005),
			},
			{ID: uniqueHash()[:16], PublicKey: uniqueHash(), AttestationType: "none", CreatedAt: at(6_006)},
			{
				ID: uniqueHash(), Name: "Phone", PublicKey: uniqueHash(), AttestationType: "none",
				BackupEligible: true, Transports: []string{}, CreatedAt: at(7_007),
			},
		},
		Ceremony:        []byte(`{"challenge":"c2Vzc2lvbg","user_id":"dXNlcg","expires":"2031-03-14T15:14:26Z"}`),
		CeremonyExpires: at(300_000),
		UpdatedAt:       at(8_008),
	}
}

// putFactors stores f as the user's factors and returns what the update
// returned.
func putFactors(t *testing.T, s FactorStores, f domain.Factors) domain.Factors {
	t.Helper()
	got, err := s.Factors.UpdateFactors(t.Context(), f.UserID, func(x *domain.Factors) error {
		*x = f.Clone()
		return nil
	})
	require.NoError(t, err)
	return got
}

func getFactors(t *testing.T, s FactorStores, userID string) domain.Factors {
	t.Helper()
	f, err := s.Factors.GetFactors(t.Context(), userID)
	require.NoError(t, err)
	return f
}

func factorsEmpty(t *testing.T, s FactorStores) {
	user := factorUser(t, s)
	assert.Equal(t, domain.Factors{UserID: user}, getFactors(t, s, user))
	var seen domain.Factors
	_, err := s.Factors.UpdateFactors(t.Context(), user, func(x *domain.Factors) error {
		seen = x.Clone()
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, domain.Factors{UserID: user}, seen, "the first update starts from an empty record")
	assertSame(t, domain.Factors{UserID: user}, getFactors(t, s, user), "an update that adds nothing leaves an empty record")
}

func factorsRoundTrip(t *testing.T, s FactorStores) {
	want := sampleFactors(factorUser(t, s))
	assertSame(t, want, putFactors(t, s, want), "the update returns what the callback left")
	assertSame(t, want, getFactors(t, s, want.UserID), "a read returns what was stored")
}

func factorsCallbackSeesStored(t *testing.T, s FactorStores) {
	want := sampleFactors(factorUser(t, s))
	putFactors(t, s, want)
	_, err := s.Factors.UpdateFactors(t.Context(), want.UserID, func(x *domain.Factors) error {
		assertSame(t, want, *x)
		x.TOTP.LastStep++
		x.UpdatedAt = at(9_009)
		return nil
	})
	require.NoError(t, err)
	want.TOTP.LastStep++
	want.UpdatedAt = at(9_009)
	assertSame(t, want, getFactors(t, s, want.UserID), "the second update is kept")
}

// scribble changes every byte slice, string slice and pointer target that
// f may share with another value.
func scribble(f *domain.Factors) {
	f.TOTP.Secret[0]++
	f.TOTP.LastStep++
	f.PendingTOTP.Secret[0]++
	f.RecoveryCodes[0].Hash[0]++
	f.RecoveryCodes[1].UsedAt = time.Time{}
	p := &f.Passkeys[0]
	p.ID[0]++
	p.PublicKey[0]++
	p.AAGUID[0]++
	p.Transports[0] = "scribbled"
	p.SignCount++
	f.Ceremony[0]++
}

func factorsShareNothing(t *testing.T, s FactorStores) {
	want := sampleFactors(factorUser(t, s))
	given := want.Clone()
	got, err := s.Factors.UpdateFactors(t.Context(), want.UserID, func(x *domain.Factors) error {
		*x = given // the caller's own slices, not a copy
		return nil
	})
	require.NoError(t, err)
	scribble(&given)
	scribble(&got)
	read := getFactors(t, s, want.UserID)
	assertSame(t, want, read, "changing what was handed in or returned changes nothing stored")
	scribble(&read)
	assertSame(t, want, getFactors(t, s, want.UserID), "changing what was read changes nothing stored")
}

func factorsUpdateRefused(t *testing.T, s FactorStores) {
	want := sampleFactors(factorUser(t, s))
	putFactors(t, s, want)
	_, err := s.Factors.UpdateFactors(t.Context(), want.UserID, func(x *domain.Factors) error {
		scribble(x)
		x.Passkeys = append(x.Passkeys, domain.Passkey{ID: uniqueHash(), Name: "refused"})
		x.TOTP, x.UpdatedAt = nil, at(9_009)
		return errRefused
	})
	require.ErrorIs(t, err, errRefused)
	assertSame(t, want, getFactors(t, s, want.UserID), "the stored factors are unchanged")

	none := factorUser(t, s)
	_, err = s.Factors.UpdateFactors(t.Context(), none, func(x *domain.Factors) error {
		*x = sampleFactors(none)
		return errRefused
	})
	require.ErrorIs(t, err, errRefused)
	assertSame(t, domain.Factors{UserID: none}, getFactors(t, s, none), "a user without factors still has none")
}

func factorsKeepUserID(t *testing.T, s FactorStores) {
	user, other := factorUser(t, s), factorUser(t, s)
	want := sampleFactors(user)
	got, err := s.Factors.UpdateFactors(t.Context(), user, func(x *domain.Factors) error {
		*x = sampleFactors(other)
		x.TOTP, x.Passkeys = want.TOTP, want.Passkeys
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, user, got.UserID, "the update returns the user's own id")
	read := getFactors(t, s, user)
	assert.Equal(t, user, read.UserID)
	assertSame(t, want.TOTP, read.TOTP, "the change is the user's")
	assertSame(t, want.Passkeys, read.Passkeys, "the change is the user's")
	assertSame(t, domain.Factors{UserID: other}, getFactors(t, s, other), "the other user has none")
}

func factorsRemoved(t *testing.T, s FactorStores) {
	want := sampleFactors(factorUser(t, s))
	putFactors(t, s, want)

	_, err := s.Factors.UpdateFactors(t.Context(), want.UserID, func(x *domain.Factors) error {
		x.TOTP, x.Passkeys = nil, x.Passkeys[1:2]
		return nil
	})
	require.NoError(t, err)
	want.TOTP, want.Passkeys = nil, want.Passkeys[1:2]
	assertSame(t, want, getFactors(t, s, want.UserID), "the authenticator and two passkeys are gone")

	empty := domain.Factors{UserID: want.UserID, UpdatedAt: at(9_009)}
	_, err = s.Factors.UpdateFactors(t.Context(), want.UserID, func(x *domain.Factors) error {
		*x = empty
		return nil
	})
	require.NoError(t, err)
	assertSame(t, empty, getFactors(t, s, want.UserID), "every factor is gone")
}

func factorsDelete(t *testing.T, s FactorStores) {
	f := sampleFactors(factorUser(t, s))
	putFactors(t, s, f)
	require.NoError(t, s.Factors.DeleteFactors(t.Context(), f.UserID))
	assert.Equal(t, domain.Factors{UserID: f.UserID}, getFactors(t, s, f.UserID), "the factors are gone")
	require.NoError(t, s.Factors.DeleteFactors(t.Context(), f.UserID), "deleting them again")
	require.NoError(t, s.Factors.DeleteFactors(t.Context(), factorUser(t, s)), "deleting a user's that has none")

	_, err := s.Factors.UpdateFactors(t.Context(), f.UserID, func(x *domain.Factors) error {
		assert.Equal(t, domain.Factors{UserID: f.UserID}, *x, "an update after the delete starts from an empty record")
		x.TOTP = f.TOTP
		return nil
	})
	require.NoError(t, err)
	assertSame(t, f.TOTP, getFactors(t, s, f.UserID).TOTP, "and is stored")
}

func factorsApart(t *testing.T, s FactorStores) {
	a, b := sampleFactors(factorUser(t, s)), sampleFactors(factorUser(t, s))
	putFactors(t, s, a)
	putFactors(t, s, b)
	assertSame(t, a, getFactors(t, s, a.UserID))
	assertSame(t, b, getFactors(t, s, b.UserID))
	require.NoError(t, s.Factors.DeleteFactors(t.Context(), a.UserID))
	assertSame(t, b, getFactors(t, s, b.UserID), "deleting one user's factors keeps the other's")
}

// raceUpdates runs fn as the callback of contenders concurrent updates of
// the user's factors, and returns their errors. Each callback yields the
// processor first: it widens the gap between an update's read and its
// write, so that a store which lets updates overlap is caught even on a
// machine of two cores.
func raceUpdates(t *testing.T, s FactorStores, userID string, fn func(i int, x *domain.Factors) error) []error {
	errs := make([]error, contenders)
	race(contenders, func(i int) {
		_, errs[i] = s.Factors.UpdateFactors(t.Context(), userID, func(x *domain.Factors) error {
			runtime.Gosched()
			return fn(i, x)
		})
	})
	return errs
}

func factorsRaceRecoveryCode(t *testing.T, s FactorStores) {
	f := sampleFactors(factorUser(t, s))
	putFactors(t, s, f)
	code := f.RecoveryCodes[2].Hash
	errs := raceUpdates(t, s, f.UserID, func(i int, x *domain.Factors) error {
		for j := range x.RecoveryCodes {
			c := &x.RecoveryCodes[j]
			if !bytes.Equal(c.Hash, code) {
				continue
			}
			if !c.UsedAt.IsZero() {
				return errSpentInTest
			}
			c.UsedAt = at(10_000 + int64(i))
			return nil
		}
		return errors.New("the code is missing")
	})
	ok, spent := countErrors(errs, errSpentInTest)
	assert.Equal(t, 1, ok, "exactly one update spends the code")
	assert.Equal(t, contenders-1, spent, "every other update finds it spent: %v", errs)
	got := getFactors(t, s, f.UserID)
	assert.Equal(t, 1, got.UnusedRecoveryCodes(), "the other unused code is left")
	assert.False(t, got.RecoveryCodes[2].UsedAt.IsZero(), "the raced code is spent")
}

func factorsRaceTOTPStep(t *testing.T, s FactorStores) {
	f := sampleFactors(factorUser(t, s))
	putFactors(t, s, f)
	step := f.TOTP.LastStep + 1
	errs := raceUpdates(t, s, f.UserID, func(_ int, x *domain.Factors) error {
		// RFC 6238 §5.2: a code of the last accepted step is refused.
		if x.TOTP.LastStep >= step {
			return errSpentInTest
		}
		x.TOTP.LastStep = step
		return nil
	})
	ok, spent := countErrors(errs, errSpentInTest)
	assert.Equal(t, 1, ok, "exactly one update accepts the step")
	assert.Equal(t, contenders-1, spent, "every other update finds it used: %v", errs)
	assert.Equal(t, step, getFactors(t, s, f.UserID).TOTP.LastStep)
}

func factorsRaceIncrements(t *testing.T, s FactorStores) {
	f := sampleFactors(factorUser(t, s))
	f.TOTP.LastStep = 0
	putFactors(t, s, f)
	errs := raceUpdates(t, s, f.UserID, func(_ int, x *domain.Factors) error {
		x.TOTP.LastStep++
		return nil
	})
	ok, _ := countErrors(errs, nil)
	require.Equal(t, contenders, ok, "every update succeeds: %v", errs)
	got := getFactors(t, s, f.UserID)
	assert.Equal(t, int64(contenders), got.TOTP.LastStep, "no increment is lost")
	assertSame(t, f.TOTP.Secret, got.TOTP.Secret, "the secret is kept")
}

func factorsRaceFirstUpdates(t *testing.T, s FactorStores) {
	user := factorUser(t, s)
	hashes := make([][]byte, contenders)
	for i := range hashes {
		hashes[i] = uniqueHash()
	}
	errs := raceUpdates(t, s, user, func(i int, x *domain.Factors) error {
		x.RecoveryCodes = append(x.RecoveryCodes, domain.RecoveryCode{Hash: hashes[i]})
		return nil
	})
	ok, _ := countErrors(errs, nil)
	require.Equal(t, contenders, ok, "every update succeeds: %v", errs)
	var got [][]byte
	for _, c := range getFactors(t, s, user).RecoveryCodes {
		got = append(got, c.Hash)
	}
	assert.ElementsMatch(t, hashes, got, "each update's code is kept")
}
