package app_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/app/config"
)

// The big school's members are named from these lists, member i (1-based)
// given bigGiven[i%len] and family bigFamily[(i/len(bigGiven))%len], so a
// given name is shared by 2,000 members and a pair by 20; the neighbouring
// school's 50,000 from othersGiven, names nobody in the big school has.
var (
	bigGiven = []string{
		"Maria", "James", "Wei", "Fatima", "Olu", "Anna", "Liam", "Noah", "Emma", "Ava",
		"Mia", "Lucas", "Sofia", "Ivan", "Aiko", "Kenji", "Priya", "Ravi", "Chloe", "Jack",
		"Leah", "Omar", "Sara", "Yusuf", "Elena", "Diego", "Ines", "Hugo", "Lena", "Jonas",
		"Nora", "Felix", "Clara", "Oscar", "Iris", "Max", "Ida", "Theo", "Zoe", "Adam",
		"Eva", "Luca", "Rosa", "Tom", "Amir", "Nina", "Paul", "Vera", "Alex", "Ruth",
	}
	bigFamily = []string{
		"Garcia", "Smith", "Wang", "Khan", "Adeyemi", "Muller", "Rossi", "Dubois", "Silva", "Kim",
		"Nguyen", "Ivanov", "Sato", "Patel", "Cohen", "Jensen", "Novak", "Horvat", "Popescu", "Lopez",
		"Brown", "Jones", "Miller", "Davis", "Wilson", "Moore", "Taylor", "Anderson", "Thomas", "Jackson",
		"White", "Harris", "Martin", "Thompson", "Young", "Allen", "King", "Wright", "Scott", "Green",
		"Baker", "Adams", "Nelson", "Hill", "Campbell", "Mitchell", "Roberts", "Carter", "Phillips", "Evans",
		"Turner", "Torres", "Parker", "Collins", "Edwards", "Stewart", "Morris", "Murphy", "Cook", "Rogers",
		"Morgan", "Peterson", "Cooper", "Reed", "Bailey", "Bell", "Gomez", "Kelly", "Howard", "Ward",
		"Cox", "Diaz", "Richardson", "Wood", "Watson", "Brooks", "Bennett", "Gray", "James", "Reyes",
		"Cruz", "Hughes", "Price", "Myers", "Long", "Foster", "Sanders", "Ross", "Morales", "Powell",
		"Sullivan", "Russell", "Ortiz", "Jenkins", "Gutierrez", "Perry", "Butler", "Barnes", "Fisher", "Henderson",
	}
	othersGiven = []string{"Zed", "Xena", "Quill", "Yara", "Wren"}
)

// bigMember is member i of the big school: names and email.
func bigMember(i int) (given, family, email string) {
	given, family = bigGiven[i%len(bigGiven)], bigFamily[(i/len(bigGiven))%len(bigFamily)]
	return given, family, fmt.Sprintf("%s.%s.%d@big.example", strings.ToLower(given), strings.ToLower(family), i)
}

// seedMembers writes n members of orgID straight into the database, ids
// prefix-000001 on, named by given[i%len] and family[(i/len(given))%len]
// with emails given.family.i@domain, as
// TestConsoleListsAHundredThousandMembersPostgres writes its pupils.
func seedMembers(t *testing.T, conn *pgx.Conn, orgID, prefix, domain string, n int, given, family []string) {
	t.Helper()
	ctx := context.Background()
	_, err := conn.Exec(ctx, `INSERT INTO users (id, email, email_key, email_verified, given_name, family_name, picture,
		phone_number, phone_number_verified, password_hash, status, created_at, updated_at, profiles, home_organization_id,
		given_name_key, family_name_key)
		SELECT $3 || lpad(i::text, 6, '0'), e, e, true, g, f, '', '', false, '', 'active', now(), now(), '{}', $1, lower(g), lower(f)
		FROM generate_series(1, $2) AS i,
			LATERAL (SELECT ($4::text[])[1 + i % cardinality($4::text[])] AS g,
				($5::text[])[1 + (i / cardinality($4::text[])) % cardinality($5::text[])] AS f) AS names,
			LATERAL (SELECT lower(g) || '.' || lower(f) || '.' || i || '@' || $6 AS e) AS email`,
		orgID, n, prefix, given, family, domain)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, `INSERT INTO memberships (user_id, organization_id, role, is_primary, created_at, status)
		SELECT $3 || lpad(i::text, 6, '0'), $1, 'member', true, now(), 'active' FROM generate_series(1, $2) AS i`, orgID, n, prefix)
	require.NoError(t, err)
}

// TestConsoleSearchesAHundredThousandMembersPostgres searches a school of
// 100,000 members, next to one of 50,000, in the console on PostgreSQL:
// common and rare prefixes of names and emails, two words, a name found
// only in the other school, and a common name paged through. Every page
// holds exactly the matches, in order; the timings are logged (median of
// the pages, per kind of search), not asserted.
func TestConsoleSearchesAHundredThousandMembersPostgres(t *testing.T) {
	t.Parallel()
	dsn := postgresDSN(t)
	srv := startServer(t, func(c *config.Config) {
		usePostgres(dsn, newKEK())(c)
		c.RateLimit.Enabled = false
	})
	big := adminCall(t, srv, http.MethodPost, "/api/v1/admin/organizations", map[string]any{"name": "Big District"}, http.StatusCreated)["id"].(string)
	other := adminCall(t, srv, http.MethodPost, "/api/v1/admin/organizations", map[string]any{"name": "Next District"}, http.StatusCreated)["id"].(string)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer func() { _ = conn.Close(ctx) }()
	start := time.Now()
	seedMembers(t, conn, big, "big-", "big.example", hundredThousand, bigGiven, bigFamily)
	seedMembers(t, conn, other, "oth-", "next.example", hundredThousand/2, othersGiven, bigFamily)
	_, err = conn.Exec(ctx, `ANALYZE users; ANALYZE memberships`)
	require.NoError(t, err)
	t.Logf("%d + %d members written in %s", hundredThousand, hundredThousand/2, time.Since(start).Round(time.Millisecond))

	b, page := consoleSignIn(t, srv, seedEmail, seedPassword)
	require.Equal(t, http.StatusOK, page.status, page.body)
	row := regexp.MustCompile(`<td>([^<]+@big\.example)</td>`)
	next := regexp.MustCompile(`<a href="(/console/organizations/[^"]+\?[^"]+)">Next page</a>`)
	orgURL := srv.BaseURL + "/console/organizations/" + big

	// want lists the emails of the big school's members a query matches,
	// in member id order (ids are zero-padded, so numeric order).
	want := func(match func(given, family, email string) bool) []string {
		var out []string
		for i := 1; i <= hundredThousand; i++ {
			if g, f, e := bigMember(i); match(strings.ToLower(g), strings.ToLower(f), e) {
				out = append(out, e)
			}
		}
		return out
	}
	var all []time.Duration
	search := func(kind, q string, pages int, expect []string) {
		t.Helper()
		link := orgURL + "?q=" + url.QueryEscape(q)
		var got []string
		var took []time.Duration
		for p := 0; p < pages; p++ {
			t0 := time.Now()
			res := guideGet(t, ctx, b, link)
			took = append(took, time.Since(t0))
			require.Equal(t, http.StatusOK, res.status, res.body)
			for _, m := range row.FindAllStringSubmatch(res.body, -1) {
				got = append(got, m[1])
			}
			m := next.FindStringSubmatch(res.body)
			if m == nil {
				break
			}
			link = srv.BaseURL + strings.ReplaceAll(m[1], "&amp;", "&")
		}
		assert.Equal(t, expect[:min(len(expect), 50*pages)], got, "%s (%q): the matches, in order, once each", kind, q)
		all = append(all, took...)
		slices.Sort(took)
		t.Logf("%-44s q=%-22q %2d page(s), %6d matches: median %s, slowest %s", kind, q, len(took), len(expect),
			took[len(took)/2].Round(time.Microsecond), took[len(took)-1].Round(time.Microsecond))
	}
	search("a common given name, paged", "Maria", 20, want(func(g, _, _ string) bool { return strings.HasPrefix(g, "maria") }))
	search("a one-letter prefix, paged", "a", 5, want(func(g, f, e string) bool {
		return strings.HasPrefix(g, "a") || strings.HasPrefix(f, "a") || strings.HasPrefix(e, "a")
	}))
	search("a family name", "garc", 3, want(func(g, f, e string) bool {
		return strings.HasPrefix(g, "garc") || strings.HasPrefix(f, "garc") || strings.HasPrefix(e, "garc")
	}))
	search("given and family name", "maria garcia", 1, want(func(g, f, e string) bool {
		has := func(p string) bool {
			return strings.HasPrefix(g, p) || strings.HasPrefix(f, p) || strings.HasPrefix(e, p)
		}
		return has("maria") && has("garcia")
	}))
	_, _, rare := bigMember(77777)
	search("one member's whole email", rare, 1, []string{rare})
	search("one member's email, by its first part", strings.TrimSuffix(rare, "@big.example"), 1,
		want(func(_, _, e string) bool { return strings.HasPrefix(e, strings.TrimSuffix(rare, "@big.example")) }))
	search("a name only the other school has", "zed", 1, nil)
	search("no one", "qqqq", 1, nil)
	slices.Sort(all)
	t.Logf("member search among %d members: median page %s over %d pages, slowest %s", hundredThousand,
		all[len(all)/2].Round(time.Microsecond), len(all), all[len(all)-1].Round(time.Microsecond))
}
