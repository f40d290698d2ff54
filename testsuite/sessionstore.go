package testsuite

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

// sessionLifetime is how long the sample sessions last.
const sessionLifetime = time.Hour

// RunSessionStore checks a SessionStore against its port contract. newStore
// is called once per subtest; the store may hold other sessions.
func RunSessionStore(t *testing.T, newStore func(t *testing.T) ports.SessionStore) {
	runSubtests(t, newStore, []subtest[ports.SessionStore]{
		{"a created session reads back until it expires", sessionReadsBack},
		{"creating a session whose hash is taken fails with ErrAlreadyExists", sessionDuplicate},
		{"reading a missing session fails with ErrNotFound", sessionMissing},
		{"a session reads back by its sid until it expires or is deleted", sessionBySID},
		{"creating a session whose sid is taken fails with ErrAlreadyExists", sessionDuplicateSID},
		{"touching a session moves its last use and its expiry", sessionTouch},
		{"touching an expired session fails with ErrNotFound and does not revive it", sessionTouchExpired},
		{"touching a missing session fails with ErrNotFound", sessionTouchMissing},
		{"a deleted session is gone, and deleting a missing one fails with ErrNotFound", sessionDelete},
		{"deleting a user's sessions ends each of them and no other user's", sessionDeleteUser},
		{"a client added to a session is kept once and returned by the delete that ends it", sessionClients},
		{"adding a client to a missing, expired or deleted session fails with ErrNotFound", sessionClientsMissing},
		{"deleting a user's sessions returns each with its clients", sessionDeleteUserClients},
		{"a user's live sessions list newest sign-in first, then by sid, and no other user's", sessionListUser},
		{"a session leaves its user's list when it expires or is deleted", sessionListUserEnds},
		{"a user's sessions list at most MaxUserSessions, the newest live ones", sessionListUserBound},
	})
}

func sampleSession(userID string) domain.Session {
	return domain.Session{
		Hash:      uniqueHash(),
		SID:       uuid.NewString(),
		UserID:    userID,
		AuthTime:  epoch,
		AMR:       []string{"pwd"},
		CreatedAt: epoch,
		LastSeen:  epoch,
		ExpiresAt: epoch.Add(sessionLifetime),
	}
}

func createSession(t *testing.T, s ports.SessionStore, userID string) domain.Session {
	t.Helper()
	sess := sampleSession(userID)
	require.NoError(t, s.CreateSession(t.Context(), sess))
	return sess
}

func requireNoSession(t *testing.T, s ports.SessionStore, hash []byte, now time.Time, msg string) {
	t.Helper()
	_, err := s.GetSession(t.Context(), hash, now)
	require.ErrorIs(t, err, domain.ErrNotFound, msg)
}

func sessionReadsBack(t *testing.T, s ports.SessionStore) {
	sess := createSession(t, s, uuid.NewString())
	got, err := s.GetSession(t.Context(), sess.Hash, sess.ExpiresAt.Add(-time.Second))
	require.NoError(t, err, "a second before expiry")
	assertSame(t, sess, got)
	requireNoSession(t, s, sess.Hash, sess.ExpiresAt, "at expiry")
}

func sessionDuplicate(t *testing.T, s ports.SessionStore) {
	sess := createSession(t, s, uuid.NewString())
	other := sampleSession(uuid.NewString())
	other.Hash = sess.Hash
	require.ErrorIs(t, s.CreateSession(t.Context(), other), domain.ErrAlreadyExists)
	got, err := s.GetSession(t.Context(), sess.Hash, epoch)
	require.NoError(t, err)
	assert.Equal(t, sess.UserID, got.UserID, "the first session is kept")
}

func sessionBySID(t *testing.T, s ports.SessionStore) {
	sess := createSession(t, s, uuid.NewString())
	other := createSession(t, s, sess.UserID)
	got, err := s.GetSessionBySID(t.Context(), sess.SID, sess.ExpiresAt.Add(-time.Second))
	require.NoError(t, err, "a second before expiry")
	assertSame(t, sess, got)
	_, err = s.GetSessionBySID(t.Context(), sess.SID, sess.ExpiresAt)
	require.ErrorIs(t, err, domain.ErrNotFound, "at expiry")
	_, err = s.GetSessionBySID(t.Context(), uuid.NewString(), epoch)
	require.ErrorIs(t, err, domain.ErrNotFound, "an unknown sid")

	_, err = s.DeleteSession(t.Context(), sess.Hash)
	require.NoError(t, err)
	_, err = s.GetSessionBySID(t.Context(), sess.SID, epoch)
	require.ErrorIs(t, err, domain.ErrNotFound, "a deleted session")
	got, err = s.GetSessionBySID(t.Context(), other.SID, epoch)
	require.NoError(t, err, "the user's other session is kept")
	assertSame(t, other, got)

	_, err = s.DeleteUserSessions(t.Context(), sess.UserID)
	require.NoError(t, err)
	_, err = s.GetSessionBySID(t.Context(), other.SID, epoch)
	require.ErrorIs(t, err, domain.ErrNotFound, "after sign-out everywhere")
}

func sessionDuplicateSID(t *testing.T, s ports.SessionStore) {
	sess := createSession(t, s, uuid.NewString())
	other := sampleSession(uuid.NewString())
	other.SID = sess.SID
	require.ErrorIs(t, s.CreateSession(t.Context(), other), domain.ErrAlreadyExists)
	got, err := s.GetSessionBySID(t.Context(), sess.SID, epoch)
	require.NoError(t, err)
	assert.Equal(t, sess.UserID, got.UserID, "the first session is kept")
	requireNoSession(t, s, other.Hash, epoch, "the refused session was not stored")
}

func sessionMissing(t *testing.T, s ports.SessionStore) {
	requireNoSession(t, s, uniqueHash(), epoch, "an unknown hash")
}

func sessionTouch(t *testing.T, s ports.SessionStore) {
	sess := createSession(t, s, uuid.NewString())
	now := epoch.Add(30 * time.Minute)
	require.NoError(t, s.TouchSession(t.Context(), sess.Hash, now, now.Add(sessionLifetime)))

	got, err := s.GetSession(t.Context(), sess.Hash, sess.ExpiresAt)
	require.NoError(t, err, "the session outlives its first expiry")
	want := sess
	want.LastSeen, want.ExpiresAt = now, now.Add(sessionLifetime)
	assertSame(t, want, got)
}

func sessionTouchExpired(t *testing.T, s ports.SessionStore) {
	sess := createSession(t, s, uuid.NewString())
	now := sess.ExpiresAt
	err := s.TouchSession(t.Context(), sess.Hash, now, now.Add(sessionLifetime))
	require.ErrorIs(t, err, domain.ErrNotFound)
	requireNoSession(t, s, sess.Hash, now.Add(time.Second), "the session stays expired")
}

func sessionTouchMissing(t *testing.T, s ports.SessionStore) {
	err := s.TouchSession(t.Context(), uniqueHash(), epoch, epoch.Add(sessionLifetime))
	require.ErrorIs(t, err, domain.ErrNotFound)
}

func sessionDelete(t *testing.T, s ports.SessionStore) {
	sess := createSession(t, s, uuid.NewString())
	got, err := s.DeleteSession(t.Context(), sess.Hash)
	require.NoError(t, err)
	assertSame(t, sess, got, "the delete returns the session it removed")
	requireNoSession(t, s, sess.Hash, epoch, "the deleted session")
	_, err = s.DeleteSession(t.Context(), sess.Hash)
	require.ErrorIs(t, err, domain.ErrNotFound, "deleting it again")
	_, err = s.DeleteSession(t.Context(), uniqueHash())
	require.ErrorIs(t, err, domain.ErrNotFound, "deleting an unknown hash")
}

func sessionClients(t *testing.T, s ports.SessionStore) {
	sess := createSession(t, s, uuid.NewString())
	a, b := uuid.NewString(), uuid.NewString()
	for _, c := range []string{a, b, a} {
		require.NoError(t, s.AddSessionClient(t.Context(), sess.SID, c, epoch))
	}
	got, err := s.GetSession(t.Context(), sess.Hash, epoch)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{a, b}, got.ClientIDs, "each client once")
	got, err = s.DeleteSession(t.Context(), sess.Hash)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{a, b}, got.ClientIDs, "the delete returns the clients")
}

func sessionClientsMissing(t *testing.T, s ports.SessionStore) {
	require.ErrorIs(t, s.AddSessionClient(t.Context(), uuid.NewString(), "c", epoch), domain.ErrNotFound, "an unknown sid")
	sess := createSession(t, s, uuid.NewString())
	require.ErrorIs(t, s.AddSessionClient(t.Context(), sess.SID, "c", sess.ExpiresAt), domain.ErrNotFound, "at expiry")
	_, err := s.DeleteSession(t.Context(), sess.Hash)
	require.NoError(t, err)
	require.ErrorIs(t, s.AddSessionClient(t.Context(), sess.SID, "c", epoch), domain.ErrNotFound, "a deleted session")
}

func sessionDeleteUserClients(t *testing.T, s ports.SessionStore) {
	user := uuid.NewString()
	one, two := createSession(t, s, user), createSession(t, s, user)
	require.NoError(t, s.AddSessionClient(t.Context(), one.SID, "app-a", epoch))
	require.NoError(t, s.AddSessionClient(t.Context(), two.SID, "app-b", epoch))
	got, err := s.DeleteUserSessions(t.Context(), user)
	require.NoError(t, err)
	bySID := map[string][]string{}
	for _, g := range got {
		bySID[g.SID] = g.ClientIDs
	}
	assert.Equal(t, map[string][]string{one.SID: {"app-a"}, two.SID: {"app-b"}}, bySID)
	got, err = s.DeleteUserSessions(t.Context(), user)
	require.NoError(t, err)
	assert.Empty(t, got, "nothing is left to delete")
}

func sessionDeleteUser(t *testing.T, s ports.SessionStore) {
	user := uuid.NewString()
	mine := []domain.Session{createSession(t, s, user), createSession(t, s, user), createSession(t, s, user)}
	theirs := createSession(t, s, uuid.NewString())

	got, err := s.DeleteUserSessions(t.Context(), user)
	require.NoError(t, err)
	assert.Len(t, got, len(mine), "each deleted session is returned")
	for _, sess := range mine {
		requireNoSession(t, s, sess.Hash, epoch, "the user's session")
	}
	_, err = s.GetSession(t.Context(), theirs.Hash, epoch)
	require.NoError(t, err, "another user's session survives")
}

// signedInAt is a sample session of userID signed in at authTime.
func signedInAt(userID string, authTime time.Time) domain.Session {
	sess := sampleSession(userID)
	sess.AuthTime = authTime
	return sess
}

func requireUserSessions(t *testing.T, s ports.SessionStore, userID string, now time.Time, want []domain.Session, msg string) {
	t.Helper()
	got, err := s.ListUserSessions(t.Context(), userID, now)
	require.NoError(t, err, msg)
	if len(want) == 0 {
		assert.Empty(t, got, msg)
		return
	}
	assertSame(t, want, got, msg)
}

func sessionListUser(t *testing.T, s ports.SessionStore) {
	user := uuid.NewString()
	oldest := signedInAt(user, epoch.Add(-3*time.Hour))
	newest := signedInAt(user, epoch.Add(-time.Minute))
	// Two sign-ins in one instant: the sid orders them.
	tieA, tieB := signedInAt(user, epoch.Add(-time.Hour)), signedInAt(user, epoch.Add(-time.Hour))
	if tieB.SID < tieA.SID {
		tieA, tieB = tieB, tieA
	}
	// Signed in last, but over: it must not be listed, nor count.
	expired := signedInAt(user, epoch)
	expired.ExpiresAt = epoch
	theirs := signedInAt(uuid.NewString(), epoch.Add(-2*time.Hour))
	for _, sess := range []domain.Session{tieB, oldest, expired, newest, theirs, tieA} {
		require.NoError(t, s.CreateSession(t.Context(), sess))
	}
	require.NoError(t, s.AddSessionClient(t.Context(), newest.SID, "app-a", epoch))
	newest.ClientIDs = []string{"app-a"}

	requireUserSessions(t, s, user, epoch, []domain.Session{newest, tieA, tieB, oldest}, "the user's live sessions, newest first")
	requireUserSessions(t, s, theirs.UserID, epoch, []domain.Session{theirs}, "the other user's session")
	requireUserSessions(t, s, uuid.NewString(), epoch, nil, "a user without sessions")
}

func sessionListUserEnds(t *testing.T, s ports.SessionStore) {
	user := uuid.NewString()
	early := signedInAt(user, epoch)
	late := signedInAt(user, epoch.Add(time.Minute))
	late.ExpiresAt = epoch.Add(2 * sessionLifetime)
	gone := signedInAt(user, epoch.Add(2*time.Minute))
	for _, sess := range []domain.Session{early, late, gone} {
		require.NoError(t, s.CreateSession(t.Context(), sess))
	}
	_, err := s.DeleteSession(t.Context(), gone.Hash)
	require.NoError(t, err)

	requireUserSessions(t, s, user, early.ExpiresAt.Add(-time.Second), []domain.Session{late, early}, "a second before the first expiry")
	requireUserSessions(t, s, user, early.ExpiresAt, []domain.Session{late}, "at the first expiry")

	// A touched session is listed as touched, and as long as it lasts.
	now := epoch.Add(30 * time.Minute)
	require.NoError(t, s.TouchSession(t.Context(), early.Hash, now, now.Add(2*sessionLifetime)))
	early.LastSeen, early.ExpiresAt = now, now.Add(2*sessionLifetime)
	requireUserSessions(t, s, user, late.ExpiresAt, []domain.Session{early}, "the touched session outlives the other")
}

func sessionListUserBound(t *testing.T, s ports.SessionStore) {
	user := uuid.NewString()
	all := make([]domain.Session, ports.MaxUserSessions+1)
	for i := range all {
		// Whole seconds apart, so that every backend keeps the order.
		all[i] = signedInAt(user, epoch.Add(-time.Duration(i)*time.Second))
	}
	expired := signedInAt(user, epoch.Add(time.Second))
	expired.ExpiresAt = epoch
	// Stored oldest first, the opposite of the listing's order.
	for i := len(all) - 1; i >= 0; i-- {
		require.NoError(t, s.CreateSession(t.Context(), all[i]))
		if i == len(all)/2 {
			require.NoError(t, s.CreateSession(t.Context(), expired))
		}
	}
	got, err := s.ListUserSessions(t.Context(), user, epoch)
	require.NoError(t, err)
	require.Len(t, got, ports.MaxUserSessions, "the bound")
	for i, sess := range got {
		require.Equal(t, all[i].SID, sess.SID, "session %d: the newest live ones, in order", i)
	}
}
