package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// keyRowRE reads a key's kid and state off the console's keys page.
var keyRowRE = regexp.MustCompile(`<tr data-kid="([^"]+)" data-state="([^"]+)">`)

// pageKeyStates returns the state of each key the keys page lists, by kid.
func pageKeyStates(t *testing.T, body string) map[string]string {
	t.Helper()
	states := map[string]string{}
	for _, m := range keyRowRE.FindAllStringSubmatch(body, -1) {
		states[m[1]] = m[2]
	}
	require.NotEmpty(t, states, "the page lists no key: %s", body)
	return states
}

// kidsIn returns the kids in state, sorted.
func kidsIn(states map[string]string, state string) []string {
	var kids []string
	for kid, s := range states {
		if s == state {
			kids = append(kids, kid)
		}
	}
	slices.Sort(kids)
	return kids
}

// publishedJWKS fetches the provider's JWKS and returns each JWK's members.
func publishedJWKS(t *testing.T, base string) []map[string]any {
	t.Helper()
	resp, err := http.Get(base + "/api/v1/oidc/jwks")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	require.NoError(t, json.Unmarshal(body, &set))
	return set.Keys
}

func TestConsoleSigningKeys(t *testing.T) {
	t.Parallel()
	w := newConsoleWorld(t)
	ctx := context.Background()
	base := w.srv.BaseURL
	keysPage := func(t *testing.T, b *http.Client) map[string]string {
		t.Helper()
		page := guideGet(t, ctx, b, base+"/console/keys")
		require.Equal(t, http.StatusOK, page.status, page.body)
		return pageKeyStates(t, page.body)
	}
	current := func(t *testing.T) map[string]string {
		t.Helper()
		b, page := consoleSignIn(t, w.srv, seedEmail, seedPassword)
		require.Equal(t, http.StatusOK, page.status, page.body)
		return keysPage(t, b)
	}

	t.Run("a platform administrator sees each key's state, rotates, and the JWKS follows", func(t *testing.T) {
		b, home := consoleSignIn(t, w.srv, seedEmail, seedPassword)
		require.Equal(t, http.StatusOK, home.status, home.body)
		assert.Contains(t, home.body, `href="/console/keys"`, "the navigation links the keys page")
		page := guideGet(t, ctx, b, base+"/console/keys")
		require.Equal(t, http.StatusOK, page.status, page.body)
		before := pageKeyStates(t, page.body)
		active, next := kidsIn(before, "active"), kidsIn(before, "next")
		require.NotEmpty(t, active, "an active key is listed")
		require.Len(t, next, len(active), "each algorithm has a next key")
		assert.Empty(t, kidsIn(before, "retired"))
		assert.Contains(t, page.body, " UTC</td>", "the keys' dates are shown")

		rotate := page.form(t, "csrf_token")
		require.NotNil(t, rotate)
		assert.Contains(t, rotate.action, "/console/keys/rotate")
		got := guidePost(t, ctx, b, rotate.action, rotate.values())
		require.Equal(t, http.StatusOK, got.status, got.body)
		assert.Equal(t, "/console/keys", got.url.Path, "the page is shown again, by a See Other")
		assert.Contains(t, got.body, `id="keys-rotated"`)
		after := pageKeyStates(t, got.body)
		assert.Equal(t, active, kidsIn(after, "retired"), "the active keys retired")
		assert.Equal(t, next, kidsIn(after, "active"), "the next keys became active")
		fresh := kidsIn(after, "next")
		require.Len(t, fresh, len(next))
		for _, kid := range fresh {
			assert.NotContains(t, before, kid, "a new next key is published")
		}

		jwks := publishedJWKS(t, base)
		var published []string
		for _, k := range jwks {
			published = append(published, k["kid"].(string))
			members := slices.Sorted(maps.Keys(k))
			assert.Contains(t, [][]string{{"alg", "e", "kid", "kty", "n", "use"}, {"alg", "crv", "kid", "kty", "use", "x", "y"}}, members,
				"a JWK carries its key and nothing of its state")
		}
		slices.Sort(published)
		assert.Equal(t, slices.Sorted(maps.Keys(after)), published, "the JWKS publishes exactly the keys the page lists")
	})

	t.Run("a forged form rotates nothing", func(t *testing.T) {
		b, _ := consoleSignIn(t, w.srv, seedEmail, seedPassword)
		before := keysPage(t, b)
		for _, token := range []string{"", "forged"} {
			got := guidePost(t, ctx, b, base+"/console/keys/rotate", map[string][]string{"csrf_token": {token}})
			assert.Equal(t, http.StatusBadRequest, got.status, "csrf_token %q", token)
		}
		assert.Equal(t, before, keysPage(t, b))
	})

	t.Run("an owner and a member get 403 and rotate nothing", func(t *testing.T) {
		before := current(t)

		ob, opage := consoleSignIn(t, w.srv, w.ownerEmail, consolePassword)
		require.Equal(t, http.StatusOK, opage.status, opage.body)
		assert.NotContains(t, opage.body, `href="/console/keys"`, "no link to a page the owner may not see")
		got := guideGet(t, ctx, ob, base+"/console/keys")
		assert.Equal(t, http.StatusForbidden, got.status)
		assert.NotContains(t, got.body, "data-kid")
		got = guidePost(t, ctx, ob, base+"/console/keys/rotate", opage.form(t, "csrf_token").values())
		assert.Equal(t, http.StatusForbidden, got.status, "with the owner's own good token")

		mb, mpage := consoleSignIn(t, w.srv, w.member, consolePassword)
		assert.Equal(t, http.StatusForbidden, mpage.status)
		assert.Equal(t, http.StatusForbidden, guideGet(t, ctx, mb, base+"/console/keys").status)
		got = guidePost(t, ctx, mb, base+"/console/keys/rotate", map[string][]string{"csrf_token": {"x"}})
		assert.Equal(t, http.StatusForbidden, got.status)

		assert.Equal(t, before, current(t), "nobody rotated")
	})
}

// orgLinkRE reads the organizations a console home page lists.
var orgLinkRE = regexp.MustCompile(`<li><a href="/console/organizations/([^"]+)">([^<]*)</a>`)

// nextPageRE reads the link to a listing's next page.
var nextPageRE = regexp.MustCompile(`<a href="([^"]+)">Next page</a>`)

// listedOrgs returns the names of the organizations a page lists, by id,
// and the link to its next page ("" on the last).
func listedOrgs(page guidePage) (map[string]string, string) {
	orgs := map[string]string{}
	for _, m := range orgLinkRE.FindAllStringSubmatch(page.body, -1) {
		orgs[m[1]] = html.UnescapeString(m[2])
	}
	next := ""
	if m := nextPageRE.FindStringSubmatch(page.body); m != nil {
		next = html.UnescapeString(m[1])
	}
	return orgs, next
}

func TestConsoleSearchesOrganizations(t *testing.T) {
	t.Parallel()
	w := newConsoleWorld(t)
	ctx := context.Background()
	base := w.srv.BaseURL
	lincoln := adminCall(t, w.srv, http.MethodPost, "/api/v1/admin/organizations", map[string]any{"name": "Lincoln High School"}, http.StatusCreated)["id"].(string)
	paged := map[string]bool{}
	for i := range 55 {
		o := adminCall(t, w.srv, http.MethodPost, "/api/v1/admin/organizations", map[string]any{"name": fmt.Sprintf("Paging Academy %02d", i)}, http.StatusCreated)
		paged[o["id"].(string)] = true
	}
	search := func(b *http.Client, q string) guidePage {
		return guideGet(t, ctx, b, base+"/console?q="+url.QueryEscape(q))
	}

	t.Run("a platform administrator finds organizations by a word's start or the slug, by page", func(t *testing.T) {
		b, home := consoleSignIn(t, w.srv, seedEmail, seedPassword)
		require.Equal(t, http.StatusOK, home.status, home.body)
		assert.Contains(t, home.body, `<form class="form" method="get" action="/console" role="search">`, "the home page has the search form")
		assert.Contains(t, home.body, `<label for="org-search">`)

		for _, q := range []string{"high sch", "LINCOLN", "lincoln-h"} {
			page := search(b, q)
			require.Equal(t, http.StatusOK, page.status, page.body)
			orgs, next := listedOrgs(page)
			assert.Equal(t, map[string]string{lincoln: "Lincoln High School"}, orgs, "q=%q", q)
			assert.Empty(t, next)
			assert.Contains(t, page.body, `value="`+html.EscapeString(q)+`"`, "the search stays in its field")
		}

		page := search(b, "paging acad")
		require.Equal(t, http.StatusOK, page.status, page.body)
		first, next := listedOrgs(page)
		assert.Len(t, first, 50, "a page of 50")
		require.NotEmpty(t, next, "and a next page")
		assert.Contains(t, next, "q=paging+acad", "the next page searches the same")
		page = guideGet(t, ctx, b, base+next)
		require.Equal(t, http.StatusOK, page.status, page.body)
		second, last := listedOrgs(page)
		assert.Len(t, second, 5)
		assert.Empty(t, last)
		found := map[string]bool{}
		for id := range first {
			found[id] = true
		}
		for id := range second {
			assert.False(t, found[id], "%s on both pages", id)
			found[id] = true
		}
		assert.Equal(t, paged, found, "every match, once")
	})

	t.Run("a search that matches nothing says so", func(t *testing.T) {
		b, _ := consoleSignIn(t, w.srv, seedEmail, seedPassword)
		for _, q := range []string{"no such school", "!!!", "incoln"} {
			page := search(b, q)
			require.Equal(t, http.StatusOK, page.status, page.body)
			orgs, _ := listedOrgs(page)
			assert.Empty(t, orgs, "q=%q", q)
			assert.Contains(t, page.body, `id="no-match"`, "q=%q", q)
		}
	})

	t.Run("bad input is a clear 400", func(t *testing.T) {
		b, _ := consoleSignIn(t, w.srv, seedEmail, seedPassword)
		for name, path := range map[string]string{
			"a 2,000-character search":   "/console?q=" + strings.Repeat("a", 2000),
			"a search that is not UTF-8": "/console?q=%ff%fe",
			"a cursor that is not one":   "/console?q=paging&cursor=!!!",
			"a cursor of nothing":        "/console?q=paging&cursor=AAAA%00",
		} {
			page := guideGet(t, ctx, b, base+path)
			assert.Equal(t, http.StatusBadRequest, page.status, "%s: %s", name, page.body)
			assert.Contains(t, page.body, "This request can&#39;t be completed", name)
		}
	})

	t.Run("an owner searches their own organizations only", func(t *testing.T) {
		b, home := consoleSignIn(t, w.srv, w.ownerEmail, consolePassword)
		require.Equal(t, http.StatusOK, home.status, home.body)
		page := search(b, "shelby")
		require.Equal(t, http.StatusOK, page.status, page.body)
		orgs, _ := listedOrgs(page)
		assert.Equal(t, map[string]string{w.other: "Shelbyville Elementary"}, orgs)
		for _, q := range []string{"lincoln", "paging", "elementary x"} {
			page := search(b, q)
			require.Equal(t, http.StatusOK, page.status, page.body)
			orgs, _ := listedOrgs(page)
			assert.Empty(t, orgs, "q=%q finds nothing of others'", q)
		}
		page = guideGet(t, ctx, b, base+"/console?q="+strings.Repeat("a", 2000))
		assert.Equal(t, http.StatusBadRequest, page.status)
	})
}
