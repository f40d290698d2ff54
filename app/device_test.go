package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"

	"github.com/calimatic/calimatic-auth/app/config"
	"github.com/calimatic/calimatic-auth/ports"
	"github.com/calimatic/calimatic-auth/testsuite"
)

// The device authorization grant (RFC 8628) end to end over HTTP: a device
// asks for codes and polls; the user's browser, without JavaScript, enters
// the code, signs in and approves through the HTML pages.

// deviceServer is a test server on a clock the test moves, with a public
// device client registered through dynamic registration.
type deviceServer struct {
	*testServer
	clock    *testsuite.FakeClock
	clientID string
}

func startDeviceServer(t *testing.T, edit func(*config.Config)) *deviceServer {
	t.Helper()
	clock := testsuite.NewFakeClock(time.Now().UTC())
	srv := startServer(t, edit, fx.Decorate(func(ports.Clock) ports.Clock { return clock }))
	ds := &deviceServer{testServer: srv, clock: clock}
	ds.clientID = ds.register(t)
	return ds
}

// register registers a public device client (a TV app has no secret).
func (s *deviceServer) register(t *testing.T) string {
	t.Helper()
	body, err := json.Marshal(map[string]any{
		"client_name": "Living Room TV", "grant_types": []string{"urn:ietf:params:oauth:grant-type:device_code"},
		"token_endpoint_auth_method": "none", "scope": "openid profile email",
	})
	require.NoError(t, err)
	resp, err := http.Post(s.BaseURL+"/api/v1/oidc/register", "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", raw)
	var reg struct {
		ClientID string `json:"client_id"`
	}
	require.NoError(t, json.Unmarshal(raw, &reg))
	return reg.ClientID
}

type deviceAuthorization struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int    `json:"expires_in"`
	Interval                int    `json:"interval"`
}

// postForm posts form to path and returns the status and the JSON body.
func (s *deviceServer) postForm(t *testing.T, path string, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := http.PostForm(s.BaseURL+path, form)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Contains(t, resp.Header.Get("Content-Type"), "application/json", "OAuth answers in JSON")
	var body map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	return resp.StatusCode, body
}

func (s *deviceServer) authorize(t *testing.T) deviceAuthorization {
	t.Helper()
	resp, err := http.PostForm(s.BaseURL+"/api/v1/oidc/device/authorize", url.Values{"client_id": {s.clientID}, "scope": {"openid email"}})
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", raw)
	var da deviceAuthorization
	require.NoError(t, json.Unmarshal(raw, &da))
	return da
}

// poll asks for tokens as clientID and returns the status and body.
func (s *deviceServer) poll(t *testing.T, deviceCode, clientID string) (int, map[string]any) {
	t.Helper()
	return s.postForm(t, "/api/v1/oidc/token", url.Values{
		"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "device_code": {deviceCode}, "client_id": {clientID},
	})
}

func requirePollError(t *testing.T, want string, status int, body map[string]any) {
	t.Helper()
	require.NotEqual(t, http.StatusOK, status, "no tokens: %v", body)
	assert.Equal(t, want, body["error"], "%v", body)
	// RFC 8628 §3.5 with RFC 6749 §5.2: every poll error is a 400, but
	// invalid_client.
	wantStatus := http.StatusBadRequest
	if want == "invalid_client" {
		wantStatus = http.StatusUnauthorized
	}
	assert.Equal(t, wantStatus, status, "%s: %v", want, body)
}

// enterCode opens the page at link in browser, submits code (the form's
// own value when code is empty) and returns where that led.
func enterCode(t *testing.T, browser *http.Client, link, code string) guidePage {
	t.Helper()
	ctx := context.Background()
	page := guideGet(t, ctx, browser, link)
	require.Equal(t, http.StatusOK, page.status, page.body)
	form := page.form(t, "user_code")
	require.NotNil(t, form, "the device page has a code form: %s", page.body)
	vals := form.values()
	vals.Set("user_code", code)
	return guidePost(t, ctx, browser, form.action, vals)
}

// approveInBrowser goes from the code form through sign-in to the approval
// page and chooses decision ("allow" or "deny"), returning the final page.
func approveInBrowser(t *testing.T, browser *http.Client, da deviceAuthorization, decision string) guidePage {
	t.Helper()
	ctx := context.Background()
	page := guideGet(t, ctx, browser, da.VerificationURIComplete)
	require.Contains(t, page.body, `value="`+da.UserCode+`"`, "verification_uri_complete fills the code in")
	page = enterCode(t, browser, da.VerificationURIComplete, strings.ToLower(da.UserCode))
	if login := page.form(t, "password"); login != nil {
		vals := login.values()
		vals.Set("email", seedEmail)
		vals.Set("password", seedPassword)
		page = guidePost(t, ctx, browser, login.action, vals)
	}
	require.Equal(t, "/device/confirm", page.url.Path, "%d: %s", page.status, page.body)
	assert.Contains(t, page.body, "Living Room TV")
	confirm := page.form(t, "decision")
	require.NotNil(t, confirm, page.body)
	vals := confirm.values()
	require.NotEmpty(t, vals.Get("csrf_token"))
	vals.Set("decision", decision)
	return guidePost(t, ctx, browser, confirm.action, vals)
}

func TestEndToEndDeviceFlow(t *testing.T) {
	t.Parallel()
	s := startDeviceServer(t, nil)
	runDeviceFlow(t, s)

	t.Run("polling faster than the interval is slow_down", func(t *testing.T) {
		da := s.authorize(t)
		status, body := s.poll(t, da.DeviceCode, s.clientID)
		requirePollError(t, "authorization_pending", status, body)
		status, body = s.poll(t, da.DeviceCode, s.clientID)
		requirePollError(t, "slow_down", status, body)
	})
	t.Run("a denial answers access_denied", func(t *testing.T) {
		da := s.authorize(t)
		page := approveInBrowser(t, guideBrowser(t), da, "deny")
		require.Equal(t, http.StatusOK, page.status, page.body)
		assert.Contains(t, page.body, "Request denied")
		status, body := s.poll(t, da.DeviceCode, s.clientID)
		requirePollError(t, "access_denied", status, body)
	})
	t.Run("a device code polled by another client is invalid_grant", func(t *testing.T) {
		da := s.authorize(t)
		status, body := s.poll(t, da.DeviceCode, s.register(t))
		requirePollError(t, "invalid_grant", status, body)
	})
	t.Run("bad input gets a 4xx in the endpoint's format", func(t *testing.T) {
		status, body := s.postForm(t, "/api/v1/oidc/device/authorize", url.Values{"scope": {"openid"}})
		requirePollError(t, "invalid_client", status, body)
		status, body = s.postForm(t, "/api/v1/oidc/device/authorize", url.Values{"client_id": {s.clientID}, "scope": {"openid phone"}})
		requirePollError(t, "invalid_scope", status, body)
		status, body = s.postForm(t, "/api/v1/oidc/token", url.Values{
			"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "client_id": {s.clientID},
		})
		requirePollError(t, "invalid_request", status, body)
		ctx := context.Background()
		page := guideGet(t, ctx, guideBrowser(t), s.BaseURL+"/device/confirm?interaction=nonsense")
		assert.Equal(t, http.StatusBadRequest, page.status)
		assert.Contains(t, page.body, "<html")
		page = guidePost(t, ctx, guideBrowser(t), s.BaseURL+"/device", url.Values{"user_code": {"BCDF-GHJK"}})
		assert.Equal(t, http.StatusBadRequest, page.status, "no CSRF token")
		assert.Contains(t, page.body, "<html")
	})
	t.Run("an expired device code answers expired_token", func(t *testing.T) {
		da := s.authorize(t)
		s.clock.Advance(time.Duration(da.ExpiresIn)*time.Second + time.Second)
		status, body := s.poll(t, da.DeviceCode, s.clientID)
		requirePollError(t, "expired_token", status, body)
		page := enterCode(t, guideBrowser(t), da.VerificationURI, da.UserCode)
		assert.Equal(t, http.StatusBadRequest, page.status)
		assert.Contains(t, page.body, "not valid or has expired")
	})
	// Last: it spends this address's allowance of code entries.
	t.Run("guessed user codes are refused, then throttled", func(t *testing.T) {
		s.clock.Advance(time.Minute) // a fresh window
		browser := guideBrowser(t)
		for i := range 10 {
			page := enterCode(t, browser, s.BaseURL+"/device", "BBBB-BBB"+string("BCDFGHJKLM"[i]))
			require.Equal(t, http.StatusBadRequest, page.status, "guess %d", i)
			assert.Contains(t, page.body, "not valid or has expired")
		}
		page := enterCode(t, browser, s.BaseURL+"/device", "BBBB-BBBN")
		assert.Equal(t, http.StatusTooManyRequests, page.status)
		assert.Contains(t, page.body, "Too many codes")
	})
}

// runDeviceFlow is the approval path on any backend: codes, a pending poll,
// sign-in and approval in the browser, tokens, and then both codes spent.
func runDeviceFlow(t *testing.T, s *deviceServer) {
	t.Run("approval through the page issues tokens once", func(t *testing.T) {
		da := s.authorize(t)
		assert.Regexp(t, `^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$`, da.UserCode)
		assert.Equal(t, s.BaseURL+"/device", da.VerificationURI)
		assert.Equal(t, 600, da.ExpiresIn)
		assert.Equal(t, 5, da.Interval)
		status, body := s.poll(t, da.DeviceCode, s.clientID)
		requirePollError(t, "authorization_pending", status, body)

		browser := guideBrowser(t)
		page := approveInBrowser(t, browser, da, "allow")
		require.Equal(t, http.StatusOK, page.status, page.body)
		assert.Contains(t, page.body, "Your device is connected")

		s.clock.Advance(5 * time.Second)
		status, body = s.poll(t, da.DeviceCode, s.clientID)
		require.Equal(t, http.StatusOK, status, "%v", body)
		assert.NotEmpty(t, body["access_token"])
		assert.NotEmpty(t, body["id_token"], "openid was granted")
		requireUserInfo(t, s.BaseURL, body["access_token"].(string), http.StatusOK)

		status, body = s.poll(t, da.DeviceCode, s.clientID)
		requirePollError(t, "invalid_grant", status, body)
		page = enterCode(t, browser, da.VerificationURI, da.UserCode)
		assert.Equal(t, http.StatusBadRequest, page.status, "a user code is single use")
		assert.Contains(t, page.body, "already used")
	})
}

func TestEndToEndDeviceFlowPostgres(t *testing.T) {
	t.Parallel()
	dsn := postgresDSN(t)
	runDeviceFlow(t, startDeviceServer(t, usePostgres(dsn, newKEK())))
}

func TestEndToEndDeviceFlowMongo(t *testing.T) {
	t.Parallel()
	uri, database := mongoURI(t)
	runDeviceFlow(t, startDeviceServer(t, useMongo(uri, database, newKEK())))
}
