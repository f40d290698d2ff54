package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every lookup the stores perform has an index: with sequential scans
// disabled, the planner still finds a plan without one. (A table with no
// usable index gets a Seq Scan anyway, at a prohibitive cost.)
func TestEveryLookupHasAnIndex(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	ctx := context.Background()
	conn, err := pool.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	_, err = conn.Exec(ctx, `SET enable_seqscan = off`)
	require.NoError(t, err)

	lookups := []struct{ name, query string }{
		{"a client by id", `SELECT * FROM clients WHERE id = 'x'`},
		{"a user by id", `SELECT * FROM users WHERE id = 'x'`},
		{"a user by email", `SELECT * FROM users WHERE email_key = 'x'`},
		{"an organization by id", `SELECT * FROM organizations WHERE id = 'x'`},
		{"an organization by slug", `SELECT * FROM organizations WHERE slug = 'x'`},
		{"a user's memberships", `SELECT * FROM memberships WHERE user_id = 'x' ORDER BY created_at, organization_id`},
		{"a code by hash", `SELECT * FROM auth_codes WHERE hash = '\x00'`},
		{"expired codes", `SELECT hash FROM auth_codes WHERE expires_at < now() LIMIT 100`},
		{"a refresh family by id", `SELECT * FROM refresh_families WHERE id = 'x'`},
		{"a user's refresh families", `SELECT * FROM refresh_families WHERE user_id = 'x'`},
		{"a user's refresh families for a client", `UPDATE refresh_families SET revoked_at = now()
			WHERE user_id = 'x' AND client_id = 'y' AND revoked_at IS NULL AND expires_at > now()`},
		{"expired refresh families", `SELECT id FROM refresh_families WHERE expires_at < now() LIMIT 100`},
		{"a refresh token by hash", `SELECT * FROM refresh_tokens WHERE hash = '\x00'`},
		{"a family's refresh tokens", `SELECT * FROM refresh_tokens WHERE family_id = 'x'`},
		{"a revoked access token", `SELECT 1 FROM revoked_access_tokens WHERE jti = 'x'`},
		{"expired access-token revocations", `SELECT jti FROM revoked_access_tokens WHERE expires_at < now() LIMIT 100`},
		{"a revoked grant", `SELECT 1 FROM revoked_grants WHERE grant_id = 'x'`},
		{"an organization's events, newest first", `SELECT seq FROM event_organizations WHERE organization_id = 'o' ORDER BY seq DESC LIMIT 51`},
		{"a user's events, newest first", `SELECT seq FROM events WHERE user_id = 'u' ORDER BY seq DESC LIMIT 51`},
		{"an organization's own actors' events", `SELECT seq FROM events WHERE actor_organization_id = 'o' ORDER BY seq DESC LIMIT 51`},
		{"an app's grants by organization", `SELECT * FROM client_grants WHERE organization_id = 'o' ORDER BY client_id`},
		{"an organization's members by search key", `SELECT user_id FROM memberships WHERE organization_id = 'o'
			AND search_given COLLATE "C" >= 'ad' AND search_given COLLATE "C" < 'ad􏿿'`},
		{"expired grant revocations", `SELECT grant_id FROM revoked_grants WHERE expires_at < now() LIMIT 100`},
		{"a consent", `SELECT * FROM consents WHERE user_id = 'x' AND client_id = 'y'`},
		{"a user's consents", `SELECT * FROM consents WHERE user_id = 'x' ORDER BY client_id LIMIT 200`},
		{"a session by hash", `SELECT * FROM sessions WHERE hash = '\x00'`},
		{"a user's sessions", `SELECT * FROM sessions WHERE user_id = 'x'`},
		{"a user's live sessions", `SELECT * FROM sessions WHERE user_id = 'x' AND expires_at > now()
			ORDER BY auth_time DESC NULLS LAST, sid LIMIT 100`},
		{"expired sessions", `SELECT hash FROM sessions WHERE expires_at < now() LIMIT 100`},
		{"an auth request by id", `SELECT * FROM auth_requests WHERE id = 'x'`},
		{"expired auth requests", `SELECT id FROM auth_requests WHERE expires_at < now() LIMIT 100`},
		{"a device grant by device code", `SELECT * FROM device_grants WHERE device_code_hash = '\x00'`},
		{"a device grant by user code", `SELECT * FROM device_grants WHERE user_code_hash = '\x00'`},
		{"expired device grants", `SELECT device_code_hash FROM device_grants WHERE expires_at < now() LIMIT 100`},
		{"a rate-limit counter", `SELECT * FROM rate_limits WHERE rule = 'r' AND key = 'k'`},
		{"ended rate-limit windows", `SELECT rule, key FROM rate_limits WHERE window_end < now() LIMIT 100`},
		{"a replay record", `SELECT * FROM replay_cache WHERE key = 'x'`},
		{"expired replay records", `SELECT key FROM replay_cache WHERE expires_at < now() LIMIT 100`},
		{"a page of organizations", `SELECT * FROM organizations WHERE id > 'x' ORDER BY id LIMIT 10`},
		{"a membership", `SELECT * FROM memberships WHERE user_id = 'x' AND organization_id = 'y'`},
		{"a user's other memberships", `SELECT 1 FROM memberships WHERE user_id = 'x'`},
		{"a page of an organization's members", `SELECT * FROM memberships m JOIN users u ON u.id = m.user_id
			WHERE m.organization_id = 'x' AND m.user_id > 'y' AND m.status <> 'pending' ORDER BY m.user_id LIMIT 10`},
		{"a user's visible memberships in some organizations", `SELECT 1 FROM memberships
			WHERE user_id = 'x' AND organization_id = ANY('{a,b}') AND status <> 'pending'`},
		{"a user's primary membership elsewhere", `SELECT 1 FROM memberships
			WHERE user_id = 'x' AND organization_id <> 'y' AND is_primary`},
		{"a membership by user name", `SELECT * FROM memberships
			WHERE organization_id = 'x' AND user_name_key = 'y' AND user_name_key <> ''`},
		{"another member with a user name", `SELECT 1 FROM memberships
			WHERE organization_id = 'x' AND user_name_key = 'y' AND user_name_key <> '' AND user_id <> 'z'`},
		{"a license", `SELECT 1 FROM licenses WHERE user_id = 'x' AND client_id = 'y'`},
		{"a user's licenses", `SELECT * FROM licenses WHERE user_id = 'x' ORDER BY assigned_at, client_id`},
		{"a client grant", `SELECT * FROM client_grants WHERE client_id = 'x' AND organization_id = 'y'`},
		{"a client's grants", `SELECT * FROM client_grants WHERE client_id = 'x' ORDER BY organization_id`},
		{"an organization's client grants (cascade)", `SELECT 1 FROM client_grants WHERE organization_id = 'x'`},
		{"a role", `SELECT * FROM roles WHERE organization_id = 'x' AND name = 'y'`},
		{"an organization's roles", `SELECT * FROM roles WHERE organization_id = 'x' ORDER BY name`},
		{"an admin key by hash", `SELECT * FROM admin_keys WHERE hash = '\x00'`},
		{"an admin key by id", `SELECT * FROM admin_keys WHERE id = 'x'`},
		{"an action token by hash", `SELECT * FROM action_tokens WHERE hash = '\x00'`},
		{"a user's action tokens", `SELECT * FROM action_tokens WHERE user_id = 'x'`},
		{"expired action tokens", `SELECT hash FROM action_tokens WHERE expires_at < now() LIMIT 100`},
		{"an event by id", `SELECT * FROM events WHERE id = 'x'`},
		{"the next events to deliver", `SELECT * FROM events WHERE seq > 0 ORDER BY seq LIMIT 100`},
		{"the next events to dispatch", `SELECT * FROM events WHERE NOT dispatched ORDER BY seq LIMIT 100 FOR UPDATE SKIP LOCKED`},
		{"events to mark dispatched", `UPDATE events SET dispatched = true WHERE seq = ANY('{1,2}')`},
		{"dispatched events past retention", `SELECT ctid FROM events WHERE occurred_at < now() AND dispatched LIMIT 100`},
		{"a subscription by id", `SELECT * FROM webhook_subscriptions WHERE id = 'x'`},
		{"a client's subscriptions", `SELECT * FROM webhook_subscriptions WHERE client_id = 'x' ORDER BY created_at, id`},
		{"the active subscriptions to an event type", `SELECT * FROM webhook_subscriptions
			WHERE NOT disabled AND events @> ARRAY['user.created'] ORDER BY created_at, id`},
		{"a delivery by id", `SELECT * FROM webhook_deliveries WHERE id = 'x'`},
		{"due deliveries to claim", `SELECT d.id FROM webhook_deliveries d JOIN webhook_subscriptions s ON s.id = d.subscription_id
			WHERE d.state = 'pending' AND d.next_attempt_at <= now() AND d.lease_until <= now() AND NOT s.disabled
			ORDER BY d.next_attempt_at, d.created_at, d.id LIMIT 10 FOR UPDATE OF d SKIP LOCKED`},
		{"a page of a subscription's deliveries", `SELECT * FROM webhook_deliveries WHERE subscription_id = 'x'
			AND (created_at, id) < (now(), 'y') ORDER BY created_at DESC, id DESC LIMIT 10`},
		{"a subscription's deliveries (cascade)", `SELECT 1 FROM webhook_deliveries WHERE subscription_id = 'x'`},
		{"completed deliveries past retention", `SELECT ctid FROM webhook_deliveries
			WHERE completed_at < now() AND state <> 'pending' LIMIT 100`},
		{"a page's attempts", `SELECT * FROM webhook_attempts WHERE delivery_id = ANY('{x,y}') ORDER BY delivery_id, number`},
		{"a delivery's attempts (cascade)", `SELECT 1 FROM webhook_attempts WHERE delivery_id = 'x'`},
		{"a user by an organization's externalId", `SELECT * FROM users
			WHERE profiles @> '{"org": {"externalId": "x"}}'::jsonb`},
		{"a SCIM token by hash", `SELECT * FROM scim_tokens WHERE hash = '\x00'`},
		{"a SCIM token by id", `SELECT * FROM scim_tokens WHERE id = 'x' AND organization_id = 'y'`},
		{"an organization's SCIM tokens", `SELECT * FROM scim_tokens WHERE organization_id = 'x'
			ORDER BY created_at NULLS FIRST, id`},
		{"a verified domain by name", `SELECT * FROM verified_domains WHERE domain = 'x'`},
		{"an organization's verified domains", `SELECT * FROM verified_domains WHERE organization_id = 'x' ORDER BY domain`},
		{"a group by id", `SELECT * FROM groups WHERE id = 'x' AND organization_id = 'y'`},
		{"a group by name", `SELECT * FROM groups WHERE organization_id = 'x' AND name_key = 'y'`},
		{"a page of an organization's groups", `SELECT * FROM groups WHERE organization_id = 'x' AND id > 'y' ORDER BY id LIMIT 10`},
		{"an organization's groups (cascade)", `SELECT 1 FROM groups WHERE organization_id = 'x'`},
		{"a group's would-be members", `SELECT user_id FROM memberships
			WHERE user_id = ANY('{a,b}') AND organization_id = 'x' AND status <> 'pending' FOR SHARE`},
		{"a page of a group's members", `SELECT user_id FROM group_members
			WHERE group_id = 'x' AND organization_id = 'y' AND user_id > 'z' ORDER BY user_id LIMIT 10`},
		{"a group's members to remove", `DELETE FROM group_members WHERE group_id = 'x' AND user_id = ANY('{a,b}')`},
		{"a group's members (cascade)", `SELECT 1 FROM group_members WHERE group_id = 'x' AND organization_id = 'y'`},
		{"a user's groups in an organization", `SELECT g.* FROM group_members gm JOIN groups g ON g.id = gm.group_id
			WHERE gm.organization_id = 'x' AND gm.user_id = 'y' ORDER BY gm.group_id`},
		{"a membership's groups (cascade)", `SELECT 1 FROM group_members WHERE user_id = 'x' AND organization_id = 'y'`},
		{"a user's factors (and the cascade from users)", `SELECT * FROM user_factors WHERE user_id = 'x' FOR UPDATE`},
		{"an identity provider by id", `SELECT * FROM identity_providers WHERE id = 'x' FOR UPDATE`},
		{"an organization's identity providers (and the cascade)", `SELECT * FROM identity_providers
			WHERE organization_id = 'x' ORDER BY created_at NULLS FIRST, id`},
		{"a linked identity", `SELECT * FROM linked_identities WHERE issuer = 'x' AND subject = 'y'`},
		{"a user's linked identities (and the cascade from users)", `SELECT * FROM linked_identities
			WHERE user_id = 'x' ORDER BY created_at NULLS FIRST, issuer, subject`},
	}
	// A prepared statement may run a generic plan, which cannot see its
	// parameters: the email and user name lookups restate the partial
	// index's predicate.
	generic := []struct{ name, query string }{
		{"a user by email, generic plan", `SELECT * FROM users WHERE email_key = $1 AND email_key <> ''`},
		{"a membership by user name, generic plan", `SELECT * FROM memberships
			WHERE organization_id = $1 AND user_name_key = $1 AND user_name_key <> ''`},
	}
	_, err = conn.Exec(ctx, `SET plan_cache_mode = force_generic_plan`)
	require.NoError(t, err)
	for _, g := range generic {
		t.Run(g.name, func(t *testing.T) {
			_, err := conn.Exec(ctx, `PREPARE lookup AS `+g.query)
			require.NoError(t, err)
			defer func() { _, _ = conn.Exec(ctx, `DEALLOCATE lookup`) }()
			rows, err := conn.Query(ctx, `EXPLAIN EXECUTE lookup('x')`)
			require.NoError(t, err)
			lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
			require.NoError(t, err)
			plan := strings.Join(lines, "\n")
			assert.NotContains(t, plan, "Seq Scan", plan)
		})
	}
	_, err = conn.Exec(ctx, `RESET plan_cache_mode`)
	require.NoError(t, err)

	for _, l := range lookups {
		t.Run(l.name, func(t *testing.T) {
			rows, err := conn.Query(ctx, `EXPLAIN `+l.query)
			require.NoError(t, err)
			lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
			require.NoError(t, err)
			plan := strings.Join(lines, "\n")
			assert.NotContains(t, plan, "Seq Scan", plan)
		})
	}
}
