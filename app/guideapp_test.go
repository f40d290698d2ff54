package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"
)

// guideExpressDir holds the integration guide's Express example (§2), with
// its package.json and package-lock.json; `npm ci` there installs it.
const guideExpressDir = "../testsuite/guideapps/express"

// guideAppTimeout bounds the whole sign-in through the guide's app.
const guideAppTimeout = 60 * time.Second

// TestGuideAppExpress proves the "Done when": an app written from the
// guide's §2 Node.js / Express example signs the demo user in against the
// local server when only ISSUER is changed. The app is the guide's code run
// by Node (testsuite/guideapps/express/app.mjs); the test registers it as in
// §1 and plays the user's browser: /login on the app, the provider's login
// and consent pages, then the app's callback, which exchanges the code and
// calls userinfo exactly as the guide does.
func TestGuideAppExpress(t *testing.T) {
	dir, err := filepath.Abs(guideExpressDir)
	require.NoError(t, err)
	node := guideNode(t, dir)

	srv := startServer(t, nil)
	appPort := freePort(t)
	appURL := fmt.Sprintf("http://127.0.0.1:%d", appPort)
	redirectURI := appURL + "/auth/callback"

	clientID, clientSecret := guideRegister(t, srv.BaseURL, redirectURI)

	ctx, cancel := context.WithTimeout(context.Background(), guideAppTimeout)
	defer cancel()
	out := guideStartApp(t, ctx, node, dir, map[string]string{
		// The one value the guide says to change.
		"ISSUER": srv.BaseURL,
		// The guide reads these from the environment already.
		"CALIMATIC_CLIENT_ID":     clientID,
		"CALIMATIC_CLIENT_SECRET": clientSecret,
		// This app's real callback, as registered above.
		"REDIRECT_URI": redirectURI,
		"PORT":         fmt.Sprint(appPort),
	}, appPort)

	browser := guideBrowser(t)

	// The app's /login redirects to the provider's authorize endpoint, which
	// shows the login page.
	page := guideGet(t, ctx, browser, appURL+"/login")
	require.Equal(t, http.StatusOK, page.status, "GET /login on the guide's app must end on the provider's login page; at %s: %s\napp output:\n%s", page.url, page.body, out)
	require.True(t, guideSameOrigin(page.url, srv.BaseURL), "the guide's /login must land on the provider; landed on %s\napp output:\n%s", page.url, out)
	login := page.form(t, "email")
	require.NotNil(t, login, "the provider's login page must have a form with an email input; got: %s", page.body)
	require.NotEmpty(t, login.hidden.Get("interaction"), "the login form carries the interaction")
	require.NotEmpty(t, login.hidden.Get("csrf_token"), "the login form carries a CSRF token")
	vals := login.values()
	vals.Set("email", seedEmail)
	vals.Set("password", seedPassword)

	// First sign-in of this client: the consent page.
	page = guidePost(t, ctx, browser, login.action, vals)
	require.Equal(t, http.StatusOK, page.status, "signing in must show the consent page; at %s: %s\napp output:\n%s", page.url, page.body, out)
	consent := page.form(t, "decision")
	require.NotNil(t, consent, "the provider's consent page must have a form with Allow/Deny (decision) buttons; got at %s: %s", page.url, page.body)
	vals = consent.values()
	vals.Set("decision", "allow")

	// Allow: the provider redirects to the app's callback, which exchanges
	// the code, calls userinfo, and redirects to its /dashboard.
	page = guidePost(t, ctx, browser, consent.action, vals)
	require.Equal(t, http.StatusOK, page.status, "after consent the guide's app must reach /dashboard; at %s: %s\napp output:\n%s", page.url, page.body, out)
	require.Equal(t, appURL+"/dashboard", page.url.String(), "after consent the browser must end on the guide's /dashboard; body: %s\napp output:\n%s", page.body, out)

	var user map[string]any
	require.NoError(t, json.Unmarshal([]byte(page.body), &user), "/dashboard shows the userinfo the app received as JSON; got: %s\napp output:\n%s", page.body, out)
	require.NotContains(t, user, "error", "the app's token request or userinfo call failed (the guide's code does not check either response)\napp output:\n%s", out)
	demo, err := srv.Users.GetUserByEmail(context.Background(), seedEmail)
	require.NoError(t, err)
	assert.Equal(t, demo.ID, user["sub"], "userinfo sub is the demo user's id; userinfo: %s", page.body)
	assert.Equal(t, seedEmail, user["email"], "userinfo email; userinfo: %s", page.body)
	assert.Equal(t, demo.GivenName, user["given_name"], "userinfo given_name; userinfo: %s", page.body)
	assert.Equal(t, demo.FamilyName, user["family_name"], "userinfo family_name; userinfo: %s", page.body)
	assert.Equal(t, true, user["email_verified"], "userinfo email_verified; userinfo: %s", page.body)
	// §3: a third-party app with openid profile email gets no phone number
	// and no organization data.
	for _, claim := range []string{"phone_number", "organization_id", "organization_memberships"} {
		assert.NotContains(t, user, claim, "the guide's scopes must not release %s; userinfo: %s", claim, page.body)
	}
}

// guideNode returns the node binary, after checking that the example's
// packages are installed. Without either the test skips, unless every
// backend is required (CI), where it fails.
func guideNode(t *testing.T, dir string) string {
	t.Helper()
	var missing string
	node, err := exec.LookPath("node")
	switch {
	case err != nil:
		missing = "node is not in PATH: install Node.js (Debian's nodejs and npm), then run `npm ci` in testsuite/guideapps/express"
	default:
		if _, err := os.Stat(filepath.Join(dir, "node_modules")); err != nil {
			missing = "testsuite/guideapps/express/node_modules is missing: run `npm ci` in testsuite/guideapps/express"
		}
	}
	if missing == "" {
		return node
	}
	if os.Getenv("CALIMATIC_TEST_REQUIRE_BACKENDS") == "1" {
		t.Fatal(missing + " (CALIMATIC_TEST_REQUIRE_BACKENDS=1)")
	}
	t.Skip(missing)
	return ""
}

// guideRegister registers a confidential client as the guide's §1 does,
// with the app's local callback as its one redirect URI.
func guideRegister(t *testing.T, baseURL, redirectURI string) (id, secret string) {
	t.Helper()
	body, err := json.Marshal(map[string]any{
		"client_name":   "My Third-Party App",
		"redirect_uris": []string{redirectURI},
		"grant_types":   []string{"authorization_code", "refresh_token"},
		"scope":         "openid profile email",
		"client_uri":    "https://myapp.com",
		"logo_uri":      "https://myapp.com/logo.png",
	})
	require.NoError(t, err)
	resp, err := http.Post(baseURL+"/api/v1/oidc/register", "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, resp.StatusCode, "registration as in the guide's §1 must succeed; body: %s", raw)
	var reg struct {
		ClientID                string `json:"client_id"`
		ClientSecret            string `json:"client_secret"`
		TokenEndpointAuthMethod string `json:"token_endpoint_auth_method"`
	}
	require.NoError(t, json.Unmarshal(raw, &reg), "registration response: %s", raw)
	require.NotEmpty(t, reg.ClientID, "registration response: %s", raw)
	require.NotEmpty(t, reg.ClientSecret, "a confidential client gets a secret; registration response: %s", raw)
	require.Equal(t, "client_secret_post", reg.TokenEndpointAuthMethod, "the guide's app sends its secret in the form body; registration response: %s", raw)
	return reg.ClientID, reg.ClientSecret
}

// guideOutput collects the app's stdout and stderr.
type guideOutput struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *guideOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

func (o *guideOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// guideStartApp runs `node app.mjs` in dir with env added, waits until it
// answers on port, and stops it when the test ends. Its output goes into
// the returned collector, and into the test log when the test fails.
func guideStartApp(t *testing.T, ctx context.Context, node, dir string, env map[string]string, port int) *guideOutput {
	t.Helper()
	out := &guideOutput{}
	cmd := exec.CommandContext(ctx, node, "app.mjs")
	cmd.Dir = dir
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 5 * time.Second
	require.NoError(t, cmd.Start(), "node app.mjs must start")
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("output of the guide's Express app:\n%s", out)
		}
	})

	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			return out
		}
		select {
		case err := <-exited:
			exited <- err // for the cleanup
			t.Fatalf("the guide's Express app exited before listening on %s: %v\noutput:\n%s", addr, err, out)
		case <-ctx.Done():
			t.Fatalf("the guide's Express app did not listen on %s in time\noutput:\n%s", addr, out)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// guideBrowser is the user's browser without JavaScript: it keeps cookies
// (for the provider and the app alike) and follows every redirect.
func guideBrowser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &http.Client{Jar: jar, Timeout: 30 * time.Second}
}

// guidePage is where a navigation ended, after redirects.
type guidePage struct {
	status int
	url    *url.URL
	body   string
}

func guideGet(t *testing.T, ctx context.Context, c *http.Client, rawURL string) guidePage {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	require.NoError(t, err)
	return guideDo(t, c, req)
}

func guidePost(t *testing.T, ctx context.Context, c *http.Client, rawURL string, form url.Values) guidePage {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return guideDo(t, c, req)
}

func guideDo(t *testing.T, c *http.Client, req *http.Request) guidePage {
	t.Helper()
	req.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	resp, err := c.Do(req)
	require.NoError(t, err, "%s %s", req.Method, req.URL.Redacted())
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return guidePage{status: resp.StatusCode, url: resp.Request.URL, body: string(body)}
}

func guideSameOrigin(u *url.URL, base string) bool {
	b, err := url.Parse(base)
	return err == nil && u.Scheme == b.Scheme && u.Host == b.Host
}

// guideForm is a POST form of a page: where it goes and its hidden inputs.
type guideForm struct {
	action string
	hidden url.Values
}

func (f *guideForm) values() url.Values {
	v := url.Values{}
	for k, vs := range f.hidden {
		v[k] = append([]string(nil), vs...)
	}
	return v
}

// form returns the page's first form that has an input or button named
// field, or nil.
func (p guidePage) form(t *testing.T, field string) *guideForm {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(p.body))
	require.NoError(t, err)
	var found *guideForm
	var walk func(n *html.Node, f *guideForm, has *bool)
	walk = func(n *html.Node, f *guideForm, has *bool) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "form":
				if f == nil {
					action, err := p.url.Parse(guideAttr(n, "action"))
					require.NoError(t, err, "a form's action must be a URL")
					nf := &guideForm{action: action.String(), hidden: url.Values{}}
					var nhas bool
					for c := n.FirstChild; c != nil; c = c.NextSibling {
						walk(c, nf, &nhas)
					}
					if nhas && found == nil && strings.EqualFold(guideAttr(n, "method"), "post") {
						found = nf
					}
					return
				}
			case "input", "button":
				if f != nil {
					name := guideAttr(n, "name")
					if name == field {
						*has = true
					}
					if n.Data == "input" && strings.EqualFold(guideAttr(n, "type"), "hidden") {
						f.hidden.Add(name, guideAttr(n, "value"))
					}
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, f, has)
		}
	}
	walk(doc, nil, nil)
	return found
}

func guideAttr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}
