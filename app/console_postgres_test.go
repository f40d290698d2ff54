package app_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/app/config"
)

// hundredThousand is the organization size the console's member list must
// stay fast at (issue 20).
const hundredThousand = 100_000

// TestConsoleListsAHundredThousandMembersPostgres pages through an
// organization of 100,000 members in the console, on PostgreSQL: every page
// holds the next 50 members in order, whatever page it is. The members are
// written straight into the database (provisioning them through the API
// would take minutes); the timings are logged for docs/PERFORMANCE.md, not
// asserted.
func TestConsoleListsAHundredThousandMembersPostgres(t *testing.T) {
	t.Parallel()
	dsn := postgresDSN(t)
	srv := startServer(t, func(c *config.Config) {
		usePostgres(dsn, newKEK())(c)
		c.RateLimit.Enabled = false
	})
	org := adminCall(t, srv, http.MethodPost, "/api/v1/admin/organizations", map[string]any{"name": "Big District"}, http.StatusCreated)
	orgID := org["id"].(string)

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer func() { _ = conn.Close(ctx) }()
	start := time.Now()
	_, err = conn.Exec(ctx, `INSERT INTO users (id, email, email_key, email_verified, given_name, family_name, picture,
		phone_number, phone_number_verified, password_hash, status, created_at, updated_at, profiles, home_organization_id)
		SELECT 'big-' || lpad(i::text, 6, '0'), 'pupil' || i || '@big.example', 'pupil' || i || '@big.example', true,
			'Pupil', 'No. ' || i, '', '', false, '', 'active', now(), now(), '{}', $1
		FROM generate_series(1, $2) AS i`, orgID, hundredThousand)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, `INSERT INTO memberships (user_id, organization_id, role, is_primary, created_at, status)
		SELECT 'big-' || lpad(i::text, 6, '0'), $1, 'member', true, now(), 'active' FROM generate_series(1, $2) AS i`, orgID, hundredThousand)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, `ANALYZE users; ANALYZE memberships`)
	require.NoError(t, err)
	t.Logf("%d members written in %s", hundredThousand, time.Since(start).Round(time.Millisecond))

	b, page := consoleSignIn(t, srv, seedEmail, seedPassword)
	require.Equal(t, http.StatusOK, page.status, page.body)
	row := regexp.MustCompile(`<td>(pupil\d+@big\.example)</td>`)
	next := regexp.MustCompile(`<a href="(/console/organizations/[^"]+\?cursor=[^"]+)">Next page</a>`)
	url := srv.BaseURL + "/console/organizations/" + orgID
	var seen []string
	var took []time.Duration
	for range 20 {
		t0 := time.Now()
		got := guideGet(t, ctx, b, url)
		took = append(took, time.Since(t0))
		require.Equal(t, http.StatusOK, got.status, got.body)
		var emails []string
		for _, m := range row.FindAllStringSubmatch(got.body, -1) {
			emails = append(emails, m[1])
		}
		require.Len(t, emails, 50, "a full page")
		seen = append(seen, emails...)
		m := next.FindStringSubmatch(got.body)
		require.NotNil(t, m, "a next page")
		url = srv.BaseURL + strings.ReplaceAll(m[1], "&amp;", "&")
	}
	// The pages run on in the members' order, none twice.
	for i, e := range seen {
		assert.Equal(t, "pupil"+strconv.Itoa(i+1)+"@big.example", e, "member %d", i+1)
	}
	slices.Sort(took)
	t.Logf("the first 20 pages of 50 members of %d: median %s, slowest %s", hundredThousand, took[len(took)/2].Round(time.Microsecond), took[len(took)-1].Round(time.Microsecond))

	// The last page, by a cursor after the 99,950th member (the
	// directory's cursors are the last id seen, base64url): as fast, with
	// no next page.
	cursor := base64.RawURLEncoding.EncodeToString([]byte("big-099950"))
	t0 := time.Now()
	last := guideGet(t, ctx, b, srv.BaseURL+"/console/organizations/"+orgID+"?cursor="+cursor)
	tookLast := time.Since(t0)
	require.Equal(t, http.StatusOK, last.status, last.body)
	emails := row.FindAllStringSubmatch(last.body, -1)
	require.Len(t, emails, 50)
	assert.Equal(t, "pupil99951@big.example", emails[0][1])
	assert.Equal(t, "pupil100000@big.example", emails[49][1])
	t.Logf("the last page: %s", tookLast.Round(time.Microsecond))
}
