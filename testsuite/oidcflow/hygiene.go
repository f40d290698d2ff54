package oidcflow

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var hygieneChecks = []check{
	{"the login, consent and error pages carry the security headers", securityHeaders},
	{"the session cookie is HttpOnly and SameSite=Lax, and Secure unless the issuer is loopback http", sessionCookie},
	{"the login and consent forms refuse a wrong CSRF token", csrfRefused},
	{"a login form opened in another browser is refused", formOfAnotherBrowser},
	{"bad input to the JSON endpoints gets a 4xx JSON error, never a 5xx", badJSONEndpointInput},
	{"bad input to the browser endpoints gets a 4xx HTML page, never a 5xx", badPageInput},
}

func requireSecurityHeaders(t *testing.T, h http.Header, page string) {
	t.Helper()
	csp := h.Get("Content-Security-Policy")
	assert.Contains(t, csp, "frame-ancestors 'none'", "%s: CSP forbids framing", page)
	assert.NotContains(t, csp, "'unsafe-inline'", "%s: no inline script or style", page)
	assert.NotEmpty(t, h.Get("Referrer-Policy"), "%s: Referrer-Policy", page)
	assert.Equal(t, "nosniff", h.Get("X-Content-Type-Options"), page)
	assert.Contains(t, h.Get("Cache-Control"), "no-store", "%s: pages with CSRF tokens are not cached", page)
}

func securityHeaders(t *testing.T, s *suite) {
	c := s.register(t, nil)
	a := s.newAgent(t)
	l := a.get(t, s.newAuthRequest(c).URL())
	require.True(t, l.isLogin(t))
	requireSecurityHeaders(t, l.Header, "login page")
	l = a.login(t, l, s.env.Email, s.env.Password)
	require.True(t, l.isConsent(t))
	requireSecurityHeaders(t, l.Header, "consent page")
	l = s.newAgent(t).get(t, s.env.BaseURL+pathAuthorize+"?client_id=cca_unknown")
	require.Equal(t, http.StatusBadRequest, l.Status)
	requireSecurityHeaders(t, l.Header, "error page")
}

func sessionCookie(t *testing.T, s *suite) {
	c := s.register(t, nil)
	a := s.newAgent(t)
	l := a.get(t, s.newAuthRequest(c).URL())
	before := len(a.setCookies)
	a.login(t, l, s.env.Email, s.env.Password)
	var session *http.Cookie
	for _, raw := range a.setCookies[before:] {
		ck, err := http.ParseSetCookie(raw)
		require.NoError(t, err)
		if ck.MaxAge >= 0 && ck.Value != "" {
			session = ck
		}
	}
	require.NotNil(t, session, "signing in sets a session cookie; got %q", a.setCookies[before:])
	assert.True(t, session.HttpOnly, "the session cookie is HttpOnly")
	assert.Equal(t, http.SameSiteLaxMode, session.SameSite, "the session cookie is SameSite=Lax")
	loopback := s.base.Scheme == "http" && (s.base.Hostname() == "localhost" || s.base.Hostname() == "127.0.0.1" || s.base.Hostname() == "::1")
	assert.Equal(t, !loopback, session.Secure, "Secure unless the issuer is http on loopback")
	assert.Equal(t, "/", session.Path)
	for _, raw := range a.setCookies {
		ck, err := http.ParseSetCookie(raw)
		require.NoError(t, err)
		assert.True(t, ck.HttpOnly, "every cookie of the provider is HttpOnly: %s", ck.Name)
		if !ck.Expires.IsZero() && ck.MaxAge >= 0 {
			assert.Less(t, time.Until(ck.Expires), 31*24*time.Hour, "%s lives no longer than a session can", ck.Name)
		}
		if session.Secure {
			// __Host-: only this origin, over https, may set it, for the
			// whole path and no Domain; a sibling subdomain cannot plant one.
			assert.True(t, strings.HasPrefix(ck.Name, "__Host-"), "a Secure cookie carries the __Host- prefix: %s", ck.Name)
			assert.True(t, ck.Secure, "%s is Secure", ck.Name)
			assert.Equal(t, "/", ck.Path, "%s is for the whole path", ck.Name)
			assert.Empty(t, ck.Domain, "%s has no Domain", ck.Name)
		}
	}
}

func csrfRefused(t *testing.T, s *suite) {
	c := s.register(t, nil)
	a := s.newAgent(t)
	r := s.newAuthRequest(c)
	l := a.get(t, r.URL())
	f := l.formWith(t, loginLabels, nil)
	require.NotNil(t, f)
	good := f.Hidden.Get("csrf_token")
	require.NotEmpty(t, good, "the login form carries a CSRF token")
	f.Hidden.Set("csrf_token", "forged")
	bad := a.submit(t, f, map[string]string{"Email": s.env.Email, "Password": s.env.Password}, "")
	requireErrorPage(t, bad, http.StatusBadRequest)

	f.Hidden.Set("csrf_token", good)
	l = a.submit(t, f, map[string]string{"Email": s.env.Email, "Password": s.env.Password}, "")
	require.True(t, l.isConsent(t), "the real token still works; got %q", l.Text())
	cf := l.formWith(t, nil, consentButtons)
	require.NotEmpty(t, cf.Hidden.Get("csrf_token"), "the consent form carries a CSRF token")
	good = cf.Hidden.Get("csrf_token")
	cf.Hidden.Set("csrf_token", "forged")
	requireErrorPage(t, a.submit(t, cf, nil, "Allow"), http.StatusBadRequest)
	cf.Hidden.Set("csrf_token", good)
	l = a.submit(t, cf, nil, "Allow")
	s.code(t, r, journey{Callback: l.Query(t), Last: l})
}

func formOfAnotherBrowser(t *testing.T, s *suite) {
	c := s.register(t, nil)
	victim, attacker := s.newAgent(t), s.newAgent(t)
	l := attacker.get(t, s.newAuthRequest(c).URL())
	f := l.formWith(t, loginLabels, nil)
	require.NotNil(t, f)
	// The attacker's form, with its CSRF token, submitted from the victim's browser.
	out := victim.submit(t, f, map[string]string{"Email": s.env.Email, "Password": s.env.Password}, "")
	requireErrorPage(t, out, http.StatusBadRequest)
}

// rawRequest is one hand-made request and the status it must get.
type rawRequest struct {
	name        string
	method      string
	path        string
	contentType string
	body        string
	header      map[string]string
	repeated    [][2]string // headers sent after header, each added (so a name may repeat)
	oversized   bool        // the body is over the server's limit; see sendOversized
	status      int
	code        string // the OAuth error code, when the answer is JSON
}

func (s *suite) sendRaw(t *testing.T, rr rawRequest) response {
	t.Helper()
	req := s.newRequest(t, rr.method, rr.path, rr.contentType, nil)
	if rr.body != "" {
		setBody(req, rr.body)
	}
	for k, v := range rr.header {
		req.Header.Set(k, v)
	}
	for _, kv := range rr.repeated {
		req.Header.Add(kv[0], kv[1])
	}
	if rr.oversized {
		return s.sendOversized(t, req)
	}
	return s.send(t, req)
}

const (
	formType = "application/x-www-form-urlencoded"
	jsonType = "application/json"
)

func badJSONEndpointInput(t *testing.T, s *suite) {
	c := s.register(t, nil)
	auth := "client_id=" + url.QueryEscape(c.ID) + "&client_secret=" + url.QueryEscape(c.Secret)
	huge := strings.Repeat("a", 1<<20)
	injection := []string{`' OR 1=1 --`, `<script>alert(1)</script>`, `{"$gt": ""}`, `../../etc/passwd`, "cca_\x00nul", "\xff\xfe"}
	cases := []rawRequest{
		{name: "a malformed form body at the token endpoint", method: "POST", path: pathToken, contentType: formType,
			body: "grant_type=%zz&&=&%%%=" + "&" + auth, status: 400, code: "unsupported_grant_type"},
		{name: "a body over 1 MiB at the token endpoint is 413", method: "POST", path: pathToken, contentType: formType,
			body: "grant_type=client_credentials&pad=" + huge, oversized: true, status: 413, code: "invalid_request"},
		{name: "a JSON body at the token endpoint", method: "POST", path: pathToken, contentType: jsonType,
			body: `{"grant_type":"client_credentials"}`, status: 400, code: "invalid_request"},
		{name: "a multipart body at the token endpoint", method: "POST", path: pathToken, contentType: "multipart/form-data; boundary=x",
			body: "--x\r\nContent-Disposition: form-data; name=\"grant_type\"\r\n\r\nclient_credentials\r\n--x--\r\n", status: 400, code: "invalid_request"},
		{name: "a duplicate parameter at the token endpoint", method: "POST", path: pathToken, contentType: formType,
			body: "grant_type=client_credentials&grant_type=authorization_code&" + auth, status: 400, code: "invalid_request"},
		{name: "a 5000-character code at the token endpoint", method: "POST", path: pathToken, contentType: formType,
			body: "grant_type=authorization_code&code_verifier=x&code=" + strings.Repeat("c", 5000) + "&" + auth, status: 400, code: "invalid_request"},
		{name: "a 5000-character client_id at the token endpoint", method: "POST", path: pathToken, contentType: formType,
			body: "grant_type=client_credentials&client_secret=x&client_id=" + strings.Repeat("c", 5000), status: 401, code: "invalid_client"},
		{name: "a hundred parameters at the token endpoint", method: "POST", path: pathToken, contentType: formType,
			body: manyParams(100) + "&" + auth, status: 400, code: "invalid_request"},
		{name: "a body over 1 MiB at registration is 413", method: "POST", path: pathRegister, contentType: jsonType,
			body: `{"client_name":"` + huge + `"}`, oversized: true, status: 413, code: "invalid_request"},
		{name: "deeply nested JSON at registration", method: "POST", path: pathRegister, contentType: jsonType,
			body: strings.Repeat(`{"a":`, 20000) + "1" + strings.Repeat("}", 20000), status: 400, code: "invalid_client_metadata"},
		{name: "a 5000-character client_name at registration", method: "POST", path: pathRegister, contentType: jsonType,
			body: `{"client_name":"` + strings.Repeat("n", 5000) + `","redirect_uris":["https://app.example.com/cb"]}`, status: 400, code: "invalid_client_metadata"},
		{name: "a JSON body at introspection", method: "POST", path: pathIntrospect, contentType: jsonType,
			body: `{"token":"x"}`, status: 400, code: "invalid_request"},
		{name: "a duplicate token at revocation", method: "POST", path: pathRevoke, contentType: formType,
			body: "token=a&token=b&" + auth, status: 400, code: "invalid_request"},
		{name: "a 9000-character bearer token at userinfo", method: "GET", path: pathUserInfo,
			header: map[string]string{"Authorization": "Bearer " + strings.Repeat("t", 9000)}, status: 401, code: "invalid_token"},
		{name: "a Basic header at userinfo", method: "GET", path: pathUserInfo,
			header: map[string]string{"Authorization": "Basic Zm9vOmJhcg=="}, status: 401, code: "invalid_token"},
		// A compressed body is refused unread: inflating nested gzip
		// before the size check would turn bytes into gigabytes.
		{name: "a gzip body at registration is 415", method: "POST", path: pathRegister, contentType: jsonType,
			body: gzipBomb(t), header: map[string]string{"Content-Encoding": "gzip, gzip"}, status: 415, code: "invalid_request"},
		{name: "a deflate body at the token endpoint is 415", method: "POST", path: pathToken, contentType: formType,
			body: "grant_type=client_credentials&" + auth, header: map[string]string{"Content-Encoding": "deflate"}, status: 415, code: "invalid_request"},
		{name: "a gzip body behind an identity Content-Encoding is 415", method: "POST", path: pathRegister, contentType: jsonType,
			body: gzipBomb(t), repeated: [][2]string{{"Content-Encoding", "identity"}, {"Content-Encoding", "gzip, gzip"}}, status: 415, code: "invalid_request"},
		{name: "a gzip body behind an empty Content-Encoding is 415", method: "POST", path: "/api/v1/oidc/nope", contentType: jsonType,
			body: gzipBomb(t), repeated: [][2]string{{"Content-Encoding", ""}, {"content-encoding", "gzip"}}, status: 415, code: "invalid_request"},
		{name: "a gzip body at an unknown path is 415", method: "POST", path: "/api/v1/oidc/nope", contentType: jsonType,
			body: gzipBomb(t), header: map[string]string{"Content-Encoding": "gzip"}, status: 415, code: "invalid_request"},
		{name: "an unknown endpoint", method: "GET", path: "/api/v1/oidc/nope", status: 404, code: "not_found"},
		{name: "a GET on the token endpoint", method: "GET", path: pathToken, status: 405, code: "method_not_allowed"},
	}
	for _, id := range injection {
		cases = append(cases,
			rawRequest{name: "the client_id " + quote(id) + " at the token endpoint", method: "POST", path: pathToken, contentType: formType,
				body: url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {"x"}}.Encode(), status: 401, code: "invalid_client"},
			rawRequest{name: "the client_id " + quote(id) + " at introspection", method: "POST", path: pathIntrospect, contentType: formType,
				body: url.Values{"token": {"x"}, "client_id": {id}, "client_secret": {"x"}}.Encode(), status: 401, code: "invalid_client"},
			rawRequest{name: "the client_id " + quote(id) + " in the registration URI", method: "GET", path: pathRegister + "/" + url.PathEscape(id),
				header: map[string]string{"Authorization": "Bearer x"}, status: 401, code: "invalid_token"},
		)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := s.sendRaw(t, tc)
			requireOAuthError(t, resp, tc.status, tc.code)
		})
	}
}

// gzipBomb is 16 MiB of spaces gzipped twice: a few hundred bytes.
func gzipBomb(t *testing.T) string {
	t.Helper()
	once := func(b []byte) []byte {
		var out bytes.Buffer
		w, err := gzip.NewWriterLevel(&out, gzip.BestCompression)
		require.NoError(t, err)
		_, err = w.Write(b)
		require.NoError(t, err)
		require.NoError(t, w.Close())
		return out.Bytes()
	}
	return string(once(once(bytes.Repeat([]byte(" "), 16<<20))))
}

func manyParams(n int) string {
	var b strings.Builder
	b.WriteString("grant_type=client_credentials")
	for i := range n {
		b.WriteString("&p")
		b.WriteString(strings.Repeat("x", i%7+1))
		b.WriteString(string(rune('a' + i%26)))
		b.WriteString(string(rune('a' + i/26)))
		b.WriteString("=1")
	}
	return b.String()
}

func quote(s string) string {
	return strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", `\0`), "?")
}

func badPageInput(t *testing.T, s *suite) {
	c := s.register(t, nil)
	valid := validAuthorizeParams(c)
	a := s.newAgent(t)
	type pageCase struct {
		name   string
		url    string
		form   url.Values // POST when set
		status int
	}
	cases := []pageCase{
		{name: "a duplicate client_id at authorize", url: s.rawAuthorize(valid) + "&client_id=" + url.QueryEscape(c.ID), status: 400},
		{name: "no parameters at authorize", url: s.env.BaseURL + pathAuthorize, status: 400},
		{name: "a 5000-character client_id at authorize", url: s.rawAuthorize(with(valid, "client_id", strings.Repeat("c", 5000))), status: 400},
		{name: "a 5000-character redirect_uri at authorize", url: s.rawAuthorize(with(valid, "redirect_uri", callbackURI+"?"+strings.Repeat("r", 5000))), status: 400},
		{name: "a malformed query at authorize", url: s.env.BaseURL + pathAuthorize + "?client_id=%zz&redirect_uri=%&&=", status: 400},
		{name: "a garbage login form", url: s.env.BaseURL + "/login", form: url.Values{"interaction": {"x"}, "csrf_token": {"y"}, "email": {"e"}, "password": {"p"}}, status: 400},
		{name: "an empty login form", url: s.env.BaseURL + "/login", form: url.Values{}, status: 400},
		{name: "a login page for no request", url: s.env.BaseURL + "/login?interaction=" + strings.Repeat("i", 5000), status: 400},
		{name: "a garbage consent form", url: s.env.BaseURL + "/consent", form: url.Values{"interaction": {"x"}, "decision": {"allow"}}, status: 400},
		{name: "a consent form with an unknown decision", url: s.env.BaseURL + "/consent", form: url.Values{"interaction": {"x"}, "decision": {"maybe"}}, status: 400},
		{name: "a garbage id_token_hint at end session", url: endSessionURL(s, url.Values{"id_token_hint": {"garbage"}}), status: 400},
		{name: "a post_logout_redirect_uri without a client at end session", url: endSessionURL(s, url.Values{"post_logout_redirect_uri": {logoutURI}}), status: 400},
	}
	for _, id := range []string{`' OR 1=1 --`, `<script>alert(1)</script>`, `"><img src=x onerror=alert(1)>`, "cca_\x00nul"} {
		cases = append(cases, pageCase{name: "the client_id " + quote(id) + " at authorize", url: s.rawAuthorize(with(valid, "client_id", id)), status: 400})
		cases = append(cases, pageCase{name: "the client_id " + quote(id) + " at end session", url: endSessionURL(s, url.Values{"client_id": {id}}), status: 400})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var l *landing
			if tc.form != nil {
				l = a.post(t, tc.url, tc.form)
			} else {
				l = a.get(t, tc.url)
			}
			requireErrorPage(t, l, tc.status)
			assert.NotContains(t, l.Body, "<script>alert", "input is never reflected unescaped")
			assert.NotContains(t, l.Body, "<img src=x")
		})
	}
	t.Run("a 5000-character state is refused without a code", func(t *testing.T) {
		l := a.get(t, s.rawAuthorize(with(valid, "state", strings.Repeat("s", 5000))))
		if l.Left != nil {
			assert.Equal(t, "invalid_request", l.Left.Query().Get("error"))
			assert.Empty(t, l.Left.Query().Get("code"))
		} else {
			requireErrorPage(t, l, http.StatusBadRequest)
		}
	})
	t.Run("a login form over 1 MiB gets a 413 page", func(t *testing.T) {
		req := s.newRequest(t, http.MethodPost, "/login", formType, nil)
		setBody(req, "interaction=x&pad="+strings.Repeat("a", 1<<20))
		resp := s.sendOversized(t, req)
		assert.Equal(t, http.StatusRequestEntityTooLarge, resp.Status)
		assert.Contains(t, resp.Header.Get("Content-Type"), "text/html", "a browser endpoint answers with a page")
	})
	t.Run("a JSON body at the login endpoint", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodPost, s.env.BaseURL+"/login", strings.NewReader(`{"email":"x"}`))
		require.NoError(t, err)
		req.Header.Set("Content-Type", jsonType)
		requireErrorPage(t, a.do(t, req), http.StatusBadRequest)
	})
}

// with returns a copy of v with key set to value.
func with(v url.Values, key, value string) url.Values {
	out := cloneValues(v)
	out.Set(key, value)
	return out
}
