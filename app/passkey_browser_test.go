package app_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/app/config"
)

// A real browser registers a passkey on the account page and then signs in
// with it alone, through Chromium's virtual authenticator (the DevTools
// WebAuthn domain): a platform authenticator with resident keys and user
// verification, as a laptop's or phone's is.
//
// WebAuthn refuses an IP address as the relying party, so this server's
// issuer is http://localhost:PORT (a secure context, as https would be).
func TestPasskeyRegisteredOnTheAccountPageSignsInAlone(t *testing.T) {
	path := chromiumPath(t)
	srv := startServer(t, func(c *config.Config) {
		c.Issuer = strings.Replace(c.Issuer, "127.0.0.1", "localhost", 1)
	})
	ctx := freshProfile(t, newBrowser(t, path))
	_, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{})
	require.NoError(t, err, "the WebAuthn domain")
	_, err = chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol: webauthn.AuthenticatorProtocolCtap2, Transport: webauthn.AuthenticatorTransportInternal,
			HasResidentKey: true, HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true,
		},
	})
	require.NoError(t, err, "a virtual authenticator")

	// Sign in to the account page with the password.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(srv.BaseURL+"/account"),
		chromedp.WaitVisible(labelledInput("Email")),
		chromedp.SendKeys(labelledInput("Email"), seedEmail),
		chromedp.SendKeys(labelledInput("Password"), seedPassword),
		chromedp.Click(submitButton),
		chromedp.WaitVisible(chromedp.ID("account-email")),
	), "the password signs in to the account page")
	keepScreenshot(t, ctx, "1-account")

	// Add a passkey: the script asks for options, the authenticator makes
	// the credential, and the form posts it. It is the first second factor,
	// so recovery codes come with it.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.WaitVisible(buttonNamed("Add a passkey")),
		chromedp.SendKeys(labelledInput("Passkey name"), "Test laptop"),
		chromedp.Click(buttonNamed("Add a passkey")),
		chromedp.WaitVisible(chromedp.ID("recovery-codes")),
	), "adding a passkey shows the recovery codes once")
	keepScreenshot(t, ctx, "2-recovery-codes")
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.Search(`//a[contains(normalize-space(), "back to my account")]`)),
		chromedp.WaitVisible(chromedp.ID("passkey-list")),
	))
	list, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("passkey-list")))
	require.NoError(t, err)
	assert.Contains(t, list, "Test laptop")
	keepScreenshot(t, ctx, "3-passkey-added")

	// Sign out, as the account page's link does.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.Search(`//a[normalize-space()="Sign out"]`)),
		chromedp.WaitVisible(buttonNamed("Sign out")),
		chromedp.Click(buttonNamed("Sign out")),
		chromedp.WaitNotPresent(buttonNamed("Cancel")),
	), "signing out")

	// Sign in with the passkey alone: no email, no password.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(srv.BaseURL+"/account"),
		chromedp.WaitVisible(buttonNamed("Sign in with a passkey")),
	), "the login page offers a passkey")
	keepScreenshot(t, ctx, "4-login")
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(buttonNamed("Sign in with a passkey")),
		chromedp.WaitVisible(chromedp.ID("account-email")),
	), "the passkey alone signs in")
	email, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("account-email")))
	require.NoError(t, err)
	assert.Equal(t, seedEmail, email)
	list, err = chromedp.Run(ctx, chromedp.Text(chromedp.ID("passkey-list")))
	require.NoError(t, err)
	assert.NotContains(t, list, "last used never", "the sign-in is recorded on the passkey")
	keepScreenshot(t, ctx, "5-signed-in-with-passkey")
}

// keepScreenshot saves a screenshot in the screenshots directory
// (-browser.screenshots or CALIMATIC_TEST_SCREENSHOTS), or else in
// calimatic-screenshots under the system's temporary directory, where it
// outlives the test, and logs its path. Screenshots are test output, never
// committed.
func keepScreenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := *screenshots
	if dir == "" || dir == "1" || dir == "true" {
		dir = filepath.Join(os.TempDir(), "calimatic-screenshots")
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(dir, 0o755))
	file := filepath.Join(dir, strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())+"-"+name+".png")
	require.NoError(t, os.WriteFile(file, png, 0o644))
	t.Logf("screenshot: %s", file)
}
