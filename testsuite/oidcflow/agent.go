package oidcflow

import (
	"bytes"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"
)

// agent is a user's browser without JavaScript: it keeps cookies, follows
// the provider's redirects, and reads and submits forms. It stops as soon as
// a redirect leaves the provider (to a client's redirect_uri or
// post_logout_redirect_uri), so the relying party's URIs need no server.
type agent struct {
	s      *suite
	client *http.Client
	// setCookies are the Set-Cookie headers of every response, redirects
	// included, in order.
	setCookies []string
}

// recorder notes the Set-Cookie headers the provider sends.
type recorder struct {
	a    *agent
	next http.RoundTripper
}

func (r recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	if err == nil {
		r.a.setCookies = append(r.a.setCookies, resp.Header.Values("Set-Cookie")...)
	}
	return resp, err
}

func (s *suite) newAgent(t *testing.T) *agent {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	a := &agent{s: s}
	next := s.transport
	if next == nil {
		next = http.DefaultTransport
	}
	a.client = &http.Client{
		Jar:       jar,
		Transport: recorder{a: a, next: next},
		Timeout:   requestTimeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if !s.isProvider(req.URL) || len(via) >= 10 {
				return http.ErrUseLastResponse
			}
			return nil
		},
	}
	return a
}

// signedInAgent returns a new browser that already holds the user's session:
// the cookies of one sign-in, made once per suite, copied into a fresh jar.
// Checks that only need tokens use it, so the suite does not hash the
// password (argon2id) for each of them; checks about signing in, and any
// that end or change the session, use newAgent.
func (s *suite) signedInAgent(t *testing.T) *agent {
	t.Helper()
	s.session.once.Do(func() {
		c := s.register(t, nil)
		a := s.newAgent(t)
		r := s.newAuthRequest(c)
		s.code(t, r, a.signIn(t, r))
		s.session.cookies = a.client.Jar.Cookies(s.base)
	})
	require.NotEmpty(t, s.session.cookies, "the shared sign-in failed; see the first check that needed it")
	a := s.newAgent(t)
	a.client.Jar.SetCookies(s.base, s.session.cookies)
	return a
}

func (s *suite) isProvider(u *url.URL) bool {
	return u.Scheme == s.base.Scheme && u.Host == s.base.Host
}

// landing is where a navigation ended: a page of the provider, or a redirect
// away from it (Left is set and Location holds the target).
type landing struct {
	Status int
	Header http.Header
	URL    *url.URL // the page's URL (after redirects)
	Body   string
	Left   *url.URL // the off-provider redirect target, if any
	doc    *html.Node
}

// Query returns the parameters of the redirect that left the provider.
func (l *landing) Query(t *testing.T) url.Values {
	t.Helper()
	require.NotNil(t, l.Left, "expected a redirect away from the provider; got status %d at %s with page text %q", l.Status, l.URL, l.Text())
	return l.Left.Query()
}

// Text is the page's visible text with whitespace collapsed.
func (l *landing) Text() string {
	if l.doc == nil {
		return ""
	}
	var b strings.Builder
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && (n.Data == "script" || n.Data == "style" || n.Data == "head") {
			return
		}
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
			b.WriteByte(' ')
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(l.doc)
	return strings.Join(strings.Fields(b.String()), " ")
}

// get navigates to rawURL.
func (a *agent) get(t *testing.T, rawURL string) *landing {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	require.NoError(t, err)
	return a.do(t, req)
}

// post submits a form body to rawURL.
func (a *agent) post(t *testing.T, rawURL string, form url.Values) *landing {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, rawURL, strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return a.do(t, req)
}

func (a *agent) do(t *testing.T, req *http.Request) *landing {
	t.Helper()
	req.Header.Set("Accept", "text/html")
	resp, err := a.client.Do(req)
	require.NoError(t, err, "%s %s", req.Method, req.URL.Redacted())
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Less(t, resp.StatusCode, 500, "%s %s must not fail with a 5xx; body: %s", req.Method, resp.Request.URL.Path, clipText(string(body)))
	l := &landing{Status: resp.StatusCode, Header: resp.Header, URL: resp.Request.URL, Body: string(body)}
	if loc := resp.Header.Get("Location"); loc != "" && resp.StatusCode >= 300 && resp.StatusCode < 400 {
		target, err := resp.Request.URL.Parse(loc)
		require.NoError(t, err, "the Location header must be a URL")
		if !a.s.isProvider(target) {
			l.Left = target
		}
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		doc, err := html.Parse(bytes.NewReader(body))
		require.NoError(t, err)
		l.doc = doc
	}
	return l
}

// form is an HTML form as a user sees it.
type form struct {
	Action  *url.URL
	Method  string
	Hidden  url.Values
	Inputs  map[string]string // label text -> input name
	Values  map[string]string // input name -> value attribute (prefill)
	Buttons []button
}

type button struct{ Name, Value, Text string }

// forms parses the page's forms.
func (l *landing) forms(t *testing.T) []form {
	t.Helper()
	if l.doc == nil {
		return nil
	}
	var out []form
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "form" {
			out = append(out, parseForm(t, l.URL, n))
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(l.doc)
	return out
}

func parseForm(t *testing.T, page *url.URL, n *html.Node) form {
	t.Helper()
	f := form{Method: strings.ToUpper(attr(n, "method")), Hidden: url.Values{}, Inputs: map[string]string{}, Values: map[string]string{}}
	action, err := page.Parse(attr(n, "action"))
	require.NoError(t, err, "a form's action must be a URL")
	f.Action = action
	labels := map[string]string{} // input id -> label text
	names := map[string]string{}  // input id -> input name
	var walk func(c *html.Node)
	walk = func(c *html.Node) {
		if c.Type == html.ElementNode {
			switch c.Data {
			case "input":
				name, typ := attr(c, "name"), strings.ToLower(attr(c, "type"))
				switch {
				case typ == "hidden":
					f.Hidden.Add(name, attr(c, "value"))
				case typ == "submit":
					f.Buttons = append(f.Buttons, button{Name: name, Value: attr(c, "value"), Text: attr(c, "value")})
				default:
					names[attr(c, "id")] = name
					f.Values[name] = attr(c, "value")
				}
			case "button":
				if t := strings.ToLower(attr(c, "type")); t == "" || t == "submit" {
					f.Buttons = append(f.Buttons, button{Name: attr(c, "name"), Value: attr(c, "value"), Text: textOf(c)})
				}
			case "label":
				labels[attr(c, "for")] = textOf(c)
			}
		}
		for k := c.FirstChild; k != nil; k = k.NextSibling {
			walk(k)
		}
	}
	walk(n)
	for id, text := range labels {
		if name, ok := names[id]; ok && id != "" {
			f.Inputs[text] = name
		}
	}
	return f
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func textOf(n *html.Node) string {
	var b strings.Builder
	var walk func(c *html.Node)
	walk = func(c *html.Node) {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
		for k := c.FirstChild; k != nil; k = k.NextSibling {
			walk(k)
		}
	}
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

// formWith returns the page's form that has inputs labelled by every label
// and buttons with every text, or nil.
func (l *landing) formWith(t *testing.T, labels []string, buttons []string) *form {
	t.Helper()
	for _, f := range l.forms(t) {
		if f.hasLabels(labels) && f.hasButtons(buttons) {
			return &f
		}
	}
	return nil
}

func (f *form) hasLabels(labels []string) bool {
	for _, l := range labels {
		if _, ok := f.Inputs[l]; !ok {
			return false
		}
	}
	return true
}

func (f *form) hasButtons(texts []string) bool {
	for _, text := range texts {
		if f.button(text) == nil {
			return false
		}
	}
	return true
}

func (f *form) button(text string) *button {
	for i := range f.Buttons {
		if strings.EqualFold(f.Buttons[i].Text, text) {
			return &f.Buttons[i]
		}
	}
	return nil
}

// submit fills the inputs by label, keeps the hidden inputs, and clicks the
// button with the given text ("" clicks the only button).
func (a *agent) submit(t *testing.T, f *form, fill map[string]string, click string) *landing {
	t.Helper()
	require.Equal(t, http.MethodPost, f.Method, "the provider's forms post")
	vals := url.Values{}
	for k, vs := range f.Hidden {
		vals[k] = append([]string(nil), vs...)
	}
	for name, v := range f.Values {
		vals.Set(name, v)
	}
	for label, v := range fill {
		name, ok := f.Inputs[label]
		require.True(t, ok, "the form has no input labelled %q", label)
		vals.Set(name, v)
	}
	var b *button
	if click == "" {
		require.Len(t, f.Buttons, 1, "the form must have one submit button")
		b = &f.Buttons[0]
	} else {
		b = f.button(click)
		require.NotNil(t, b, "the form has no %q button", click)
	}
	if b.Name != "" {
		vals.Set(b.Name, b.Value)
	}
	return a.post(t, f.Action.String(), vals)
}

// Labels and buttons of the provider's pages (issue 2, §4).
var (
	loginLabels    = []string{"Email", "Password"}
	consentButtons = []string{"Allow", "Deny"}
)

// isLogin reports whether the page is the login form.
func (l *landing) isLogin(t *testing.T) bool {
	return l.Left == nil && l.formWith(t, loginLabels, nil) != nil
}

// isConsent reports whether the page is the consent form.
func (l *landing) isConsent(t *testing.T) bool {
	return l.Left == nil && l.formWith(t, nil, consentButtons) != nil
}

// login submits the login form on the page.
func (a *agent) login(t *testing.T, l *landing, email, password string) *landing {
	t.Helper()
	f := l.formWith(t, loginLabels, nil)
	require.NotNil(t, f, "expected the login page with inputs labelled Email and Password; got status %d: %q", l.Status, l.Text())
	return a.submit(t, f, map[string]string{"Email": email, "Password": password}, "")
}

// decide clicks Allow or Deny on the consent page.
func (a *agent) decide(t *testing.T, l *landing, choice string) *landing {
	t.Helper()
	f := l.formWith(t, nil, consentButtons)
	require.NotNil(t, f, "expected the consent page with Allow and Deny buttons; got status %d: %q", l.Status, l.Text())
	return a.submit(t, f, nil, choice)
}

func clipText(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}
