package mongo_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"

	mongoadapter "github.com/calimatic/calimatic-auth/adapters/mongo"
	"github.com/calimatic/calimatic-auth/core/domain"
)

// Documents an older version wrote lack the fields added since: a user
// without platform_admin or platform_locked (issue 20) is no platform
// administrator and under no platform lock, and a
// pending request without upstream (issue 19) has no upstream attempt.
// Neither needs a backfill.
func TestDocumentsWrittenBeforeFederationAndTheConsoleRead(t *testing.T) {
	db := testDB(t)
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Millisecond)

	users := mongoadapter.NewUserStore(db)
	u := domain.User{ID: uuid.NewString(), Email: uuid.NewString() + "@example.com", Status: domain.UserSuspended, PlatformAdmin: true, PlatformLocked: true, CreatedAt: now, UpdatedAt: now}
	require.NoError(t, users.CreateUser(ctx, u))
	_, err := db.Collection("users").UpdateOne(ctx, bson.M{"_id": u.ID}, bson.M{"$unset": bson.M{"platform_admin": "", "platform_locked": ""}})
	require.NoError(t, err)
	got, err := users.GetUser(ctx, u.ID)
	require.NoError(t, err)
	assert.False(t, got.PlatformAdmin)
	assert.False(t, got.PlatformLocked, "suspended by its organization, as every suspension before the lock was")

	reqs := mongoadapter.NewAuthRequestStore(db)
	r := domain.AuthRequest{
		ID: uuid.NewString(), BindingHash: []byte("binding-hash-0123456789abcdef012"), CSRFToken: "csrf", ClientID: "cca_x",
		RedirectURI: "https://app.example/cb", Scopes: []string{"openid"}, MaxAge: -1, CreatedAt: now, ExpiresAt: now.Add(time.Hour),
		Upstream: &domain.UpstreamAttempt{ProviderID: "idp", State: "s", Nonce: "n", CodeVerifier: "v", StartedAt: now},
	}
	require.NoError(t, reqs.CreateAuthRequest(ctx, r))
	res, err := db.Collection("auth_requests").UpdateMany(ctx, bson.M{"_id.id": r.ID}, bson.M{"$unset": bson.M{"upstream": ""}})
	require.NoError(t, err)
	require.Positive(t, res.ModifiedCount, "the document is found by its id")
	gotReq, err := reqs.GetAuthRequest(ctx, r.ID, now)
	require.NoError(t, err)
	assert.Nil(t, gotReq.Upstream)
}

// A subscription disabled before DisabledAt was recorded has no
// disabled_at: it reads as disabled at an unknown (zero) time.
func TestAWebhookSubscriptionWrittenBeforeDisabledAtReads(t *testing.T) {
	db := testDB(t)
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Millisecond)
	hooks, err := mongoadapter.NewWebhookStore(db, make([]byte, 32))
	require.NoError(t, err)
	sub := domain.Subscription{ID: "whs_" + uuid.NewString(), ClientID: "cca_old", URL: "https://hooks.example", Events: []string{domain.EventUserCreated},
		Secret: "whsec_x", Disabled: true, DisabledReason: "the endpoint answered 410 Gone", DisabledAt: now, CreatedAt: now, UpdatedAt: now}
	require.NoError(t, hooks.CreateSubscription(ctx, sub))
	res, err := db.Collection("webhook_subscriptions").UpdateOne(ctx, bson.M{"_id": sub.ID}, bson.M{"$unset": bson.M{"disabled_at": ""}})
	require.NoError(t, err)
	require.Equal(t, int64(1), res.ModifiedCount, "the stored document had the field")
	got, err := hooks.GetSubscription(ctx, sub.ID)
	require.NoError(t, err)
	assert.True(t, got.Disabled)
	assert.True(t, got.DisabledAt.IsZero(), "%v", got.DisabledAt)
}
