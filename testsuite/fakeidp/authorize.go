package fakeidp

import (
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// authorizeParams are the parameters of an authorization request carried
// through the Form page, in this order.
var authorizeParams = []string{
	"client_id", "redirect_uri", "response_type", "scope", "state", "nonce",
	"code_challenge", "code_challenge_method",
}

// serveAuthorize answers an authorization request (RFC 6749 §4.1.1, OIDC
// Core §3.1.2.1) after checking it as a strict provider would, by Mode:
// at once with a code, with a page to continue from, or with
// access_denied. The Form page posts back here.
func (p *IdP) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "malformed request", http.StatusBadRequest)
		return
	}
	q := r.Form
	p.mu.Lock()
	client, known := p.clients[q.Get("client_id")]
	mode, user := p.mode, p.user
	p.mu.Unlock()
	// RFC 6749 §4.1.2.1: with an unknown client or redirect_uri the user
	// is told here, never sent to the redirect_uri.
	if !known {
		http.Error(w, "fakeidp: unknown client_id", http.StatusBadRequest)
		return
	}
	redirect := q.Get("redirect_uri")
	if !slices.Contains(client.RedirectURIs, redirect) {
		http.Error(w, "fakeidp: redirect_uri not registered", http.StatusBadRequest)
		return
	}
	state := q.Get("state")
	if problem, code := checkAuthorize(q); problem != "" {
		back(w, r, redirect, url.Values{"error": {code}, "error_description": {problem}, "state": {state}})
		return
	}
	if r.Method == http.MethodGet && mode == Form {
		p.showForm(w, q, user)
		return
	}
	if mode == Deny || (r.Method == http.MethodPost && r.PostForm.Get("deny") != "") {
		back(w, r, redirect, url.Values{"error": {"access_denied"}, "state": {state}})
		return
	}
	code := randomToken(32)
	p.mu.Lock()
	p.codes[code] = issuedCode{
		clientID:      client.ID,
		redirectURI:   redirect,
		codeChallenge: q.Get("code_challenge"),
		nonce:         q.Get("nonce"),
		scope:         q.Get("scope"),
		user:          user,
		expires:       p.clock.Now().Add(codeTTL),
	}
	p.mu.Unlock()
	back(w, r, redirect, url.Values{"code": {code}, "state": {state}})
}

// checkAuthorize returns what is wrong with a request from a known client
// to a registered redirect_uri, and its error code; "" if nothing.
func checkAuthorize(q url.Values) (problem, code string) {
	switch {
	case q.Get("response_type") != "code":
		return "response_type must be code", "unsupported_response_type"
	case !slices.Contains(strings.Fields(q.Get("scope")), "openid"):
		return "scope must include openid", "invalid_scope"
	case q.Get("state") == "":
		return "state is required", "invalid_request"
	case q.Get("nonce") == "":
		return "nonce is required", "invalid_request"
	case q.Get("code_challenge") == "":
		return "code_challenge is required", "invalid_request"
	case q.Get("code_challenge_method") != "S256":
		return "code_challenge_method must be S256", "invalid_request"
	}
	return "", ""
}

// back redirects the browser to redirectURI with params added to its
// query (RFC 6749 §4.1.2), the empty ones left out.
func back(w http.ResponseWriter, r *http.Request, redirectURI string, params url.Values) {
	u, err := url.Parse(redirectURI)
	if err != nil {
		http.Error(w, "fakeidp: redirect_uri is no URL", http.StatusBadRequest)
		return
	}
	q := u.Query()
	for k, v := range params {
		if v[0] != "" {
			q[k] = v
		}
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

var formPage = template.Must(template.New("form").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Fake IdP: sign in</title></head>
<body>
<h1>Fake IdP</h1>
<form method="post" action="/authorize">
{{range .Params}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<button type="submit" id="continue" name="continue" value="1">Continue as {{.Email}}</button>
<button type="submit" id="deny" name="deny" value="1">Cancel</button>
</form>
</body></html>
`))

type formParam struct{ Name, Value string }

// showForm shows the Form page: a button that posts the request back, to
// be answered with a code, and one that cancels.
func (p *IdP) showForm(w http.ResponseWriter, q url.Values, user User) {
	var params []formParam
	for _, name := range authorizeParams {
		params = append(params, formParam{name, q.Get(name)})
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = formPage.Execute(w, struct {
		Params []formParam
		Email  string
	}{params, user.Email})
}

// serveEndSession is RP-initiated logout (OpenID Connect RP-Initiated
// Logout 1.0 §2): back to a registered post_logout_redirect_uri with the
// state, or a page saying the user is signed out.
func (p *IdP) serveEndSession(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	target := q.Get("post_logout_redirect_uri")
	if target == "" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("signed out of fakeidp\n"))
		return
	}
	p.mu.Lock()
	registered := false
	for _, c := range p.clients {
		registered = registered || slices.Contains(c.PostLogoutRedirectURIs, target)
	}
	p.mu.Unlock()
	if !registered {
		http.Error(w, "fakeidp: post_logout_redirect_uri not registered", http.StatusBadRequest)
		return
	}
	back(w, r, target, url.Values{"state": {q.Get("state")}})
}
