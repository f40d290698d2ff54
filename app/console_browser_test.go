package app_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBrowserConsole: in Chromium, a platform administrator signs in to
// the console through the provider's sign-in page and creates an
// organization; an owner of another school sees only that school.
func TestBrowserConsole(t *testing.T) {
	chromium := chromiumPath(t)
	t.Parallel()
	w := newConsoleWorld(t)
	chrome := newBrowser(t, chromium)

	admin := freshProfile(t, chrome)
	require.NoError(t, chromedp.Do(admin,
		chromedp.Navigate(w.srv.BaseURL+"/console"),
		chromedp.WaitVisible(labelledInput("Email")),
		chromedp.SendKeys(labelledInput("Email"), seedEmail),
		chromedp.SendKeys(labelledInput("Password"), seedPassword),
		chromedp.Click(submitButton),
		chromedp.WaitVisible(chromedp.ID("org-list")),
	), "the console signs in through the provider's page")
	keepScreenshot(t, admin, "1-organizations")
	require.NoError(t, chromedp.Do(admin,
		chromedp.SendKeys(labelledInput("Name"), "Capital City High"),
		chromedp.Click(buttonNamed("Create organization")),
		chromedp.WaitVisible(chromedp.ID("org-name-heading")),
	), "creating an organization")
	heading, err := chromedp.Run(admin, chromedp.Text(chromedp.ID("org-name-heading")))
	require.NoError(t, err)
	assert.Equal(t, "Capital City High", heading)
	keepScreenshot(t, admin, "2-organization-created")

	// A SCIM token for it: shown once, then revoked.
	require.NoError(t, chromedp.Do(admin,
		chromedp.SendKeys(labelledInput("Token name"), "Entra ID"),
		chromedp.Click(buttonNamed("Make a SCIM token")),
		chromedp.WaitVisible(chromedp.ID("new-scim-token")),
	), "making a SCIM token")
	token, err := chromedp.Run(admin, chromedp.Text(chromedp.ID("new-scim-token")))
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(token, "cst_"), "the token is shown: %q", token)
	keepScreenshot(t, admin, "2a-scim-token-made")
	require.NoError(t, chromedp.Do(admin,
		chromedp.Click(chromedp.Search(`//button[@aria-label="Revoke SCIM token Entra ID"]`)),
		chromedp.WaitVisible(chromedp.ID("no-scim-tokens")),
	), "revoking it")
	keepScreenshot(t, admin, "2b-scim-token-revoked")

	owner := freshProfile(t, chrome)
	require.NoError(t, chromedp.Do(owner,
		chromedp.Navigate(w.srv.BaseURL+"/console"),
		chromedp.WaitVisible(labelledInput("Email")),
		chromedp.SendKeys(labelledInput("Email"), w.ownerEmail),
		chromedp.SendKeys(labelledInput("Password"), consolePassword),
		chromedp.Click(submitButton),
		chromedp.WaitVisible(chromedp.ID("org-list")),
	), "an owner signs in")
	list, err := chromedp.Run(owner, chromedp.Text(chromedp.ID("org-list")))
	require.NoError(t, err)
	assert.Contains(t, list, "Shelbyville Elementary")
	assert.NotContains(t, list, "Capital City High", "an owner sees only their school")
	keepScreenshot(t, owner, "3-owner-sees-their-school")

	// The owner invites a member, then suspends them.
	require.NoError(t, chromedp.Do(owner,
		chromedp.Click(chromedp.Search(`//a[normalize-space()="Shelbyville Elementary"]`)),
		chromedp.WaitVisible(chromedp.ID("member-list")),
		chromedp.SendKeys(labelledInput("Email"), "pupil@shelbyville.example"),
		chromedp.SendKeys(labelledInput("First name"), "Nelson"),
		chromedp.Click(buttonNamed("Invite member")),
		chromedp.WaitVisible(chromedp.Search(`//button[@aria-label="Suspend pupil@shelbyville.example"]`)),
	), "inviting a member")
	keepScreenshot(t, owner, "4-member-invited")
	require.NoError(t, chromedp.Do(owner,
		chromedp.Click(chromedp.Search(`//button[@aria-label="Suspend pupil@shelbyville.example"]`)),
		chromedp.WaitVisible(chromedp.Search(`//button[@aria-label="Reactivate pupil@shelbyville.example"]`)),
	), "suspending the member")
	members, err := chromedp.Run(owner, chromedp.Text(chromedp.ID("member-list")))
	require.NoError(t, err)
	assert.Contains(t, members, "suspended")
	keepScreenshot(t, owner, "5-member-suspended")

	// The member's own page, the school's activity naming the owner, and
	// the search.
	require.NoError(t, chromedp.Do(owner,
		chromedp.Click(chromedp.Search(`//a[normalize-space()="Nelson"]`)),
		chromedp.WaitVisible(chromedp.ID("member-heading")),
	), "opening the member's page")
	status, err := chromedp.Run(owner, chromedp.Text(chromedp.ID("member-status")))
	require.NoError(t, err)
	assert.Equal(t, "suspended", status)
	keepScreenshot(t, owner, "6-member-page")
	require.NoError(t, chromedp.Do(owner,
		chromedp.Navigate(w.srv.BaseURL+"/console/organizations/"+w.other+"/activity"),
		chromedp.WaitVisible(chromedp.ID("activity-list")),
	), "the activity")
	activity, err := chromedp.Run(owner, chromedp.Text(chromedp.ID("activity-list")))
	require.NoError(t, err)
	assert.Contains(t, activity, "user.suspended")
	assert.Contains(t, activity, w.ownerEmail, "naming who acted")
	keepScreenshot(t, owner, "7-activity")

	// The platform administrator's apps and signing keys.
	require.NoError(t, chromedp.Do(admin,
		chromedp.Click(chromedp.Search(`//nav//a[normalize-space()="Apps"]`)),
		chromedp.WaitVisible(chromedp.Search(`//h1[normalize-space()="Apps"]`)),
	), "the apps")
	keepScreenshot(t, admin, "8-apps")
	require.NoError(t, chromedp.Do(admin,
		chromedp.Click(chromedp.Search(`//nav//a[normalize-space()="Signing keys"]`)),
		chromedp.WaitVisible(chromedp.Search(`//h1[normalize-space()="Signing keys"]`)),
		chromedp.Click(buttonNamed("Rotate the signing keys")),
		chromedp.WaitVisible(chromedp.Search(`//*[@role="status"]`)),
	), "the signing keys, rotated")
	keys, err := chromedp.Run(admin, chromedp.Text(chromedp.Search(`//table`)))
	require.NoError(t, err)
	assert.Contains(t, keys, "retired", "a rotation retires the active key")
	keepScreenshot(t, admin, "9-signing-keys-rotated")
}
