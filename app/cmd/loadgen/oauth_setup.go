package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

const (
	redirectURI = "http://127.0.0.1:9/callback" // never contacted
	scope       = "openid profile email phone"
)

func (e *env) register() error {
	body, _ := json.Marshal(map[string]any{
		"client_name":    "loadgen",
		"redirect_uris":  []string{redirectURI},
		"grant_types":    []string{"authorization_code", "refresh_token", "client_credentials"},
		"response_types": []string{"code"},
		"scope":          scope,
	})
	resp, err := http.Post(e.url("/api/v1/oidc/register"), "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("status %d: %s (is registration enabled, and the register rate limit off?)", resp.StatusCode, clip(raw))
	}
	var reg struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if err := json.Unmarshal(raw, &reg); err != nil || reg.ClientID == "" || reg.ClientSecret == "" {
		return fmt.Errorf("unexpected registration response: %s", clip(raw))
	}
	e.clientID, e.clientSecret = reg.ClientID, reg.ClientSecret
	e.verifier = randToken(48)
	sum := sha256.Sum256([]byte(e.verifier))
	e.challenge = base64.RawURLEncoding.EncodeToString(sum[:])
	return nil
}

func (e *env) authorizePath() string {
	q := url.Values{
		"response_type": {"code"}, "client_id": {e.clientID}, "redirect_uri": {redirectURI},
		"scope": {scope}, "nonce": {"loadgen-nonce"}, "state": {"loadgen-state"},
		"code_challenge": {e.challenge}, "code_challenge_method": {"S256"},
	}
	return "/api/v1/oidc/authorize?" + q.Encode()
}

var (
	reInteraction = regexp.MustCompile(`name="interaction" value="([^"]+)"`)
	reCSRF        = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
)

// signIn walks the browser flow once, as a user would: authorize, the login
// form, the consent form, and back to the client with a code. The session
// cookie it ends with is what code generation uses.
func (e *env) signIn() error {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{
		Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	loc, err := expectRedirect(c.Get(e.url(e.authorizePath())))
	if err != nil {
		return fmt.Errorf("authorize: %w", err)
	}
	for step := 0; step < 6; step++ {
		switch {
		case strings.HasPrefix(loc, redirectURI):
			u, _ := url.Parse(loc)
			if u.Query().Get("code") == "" {
				return fmt.Errorf("the flow ended without a code: %s", loc)
			}
			var parts []string
			for _, ck := range jar.Cookies(e.o.base) {
				parts = append(parts, ck.Name+"="+ck.Value)
			}
			if len(parts) == 0 {
				return errors.New("no cookies after sign-in (are cookies Secure? set CALIMATIC_COOKIES_SECURE=never)")
			}
			e.cookie = strings.Join(parts, "; ")
			return nil
		case strings.HasPrefix(loc, "/login?"), strings.HasPrefix(loc, "/consent?"):
			page := strings.TrimPrefix(strings.SplitN(loc, "?", 2)[0], "/")
			form, err := formFields(c, e.url(loc))
			if err != nil {
				return fmt.Errorf("%s page: %w", page, err)
			}
			if page == "login" {
				form.Set("email", e.o.email)
				form.Set("password", e.o.password)
			} else {
				form.Set("decision", "allow")
			}
			resp, err := c.PostForm(e.url("/"+page), form)
			if err == nil && page == "login" && resp.StatusCode == http.StatusUnauthorized {
				resp.Body.Close()
				return errors.New("the login form refused the email and password")
			}
			if loc, err = expectRedirect(resp, err); err != nil {
				return fmt.Errorf("%s submit: %w", page, err)
			}
		default:
			return fmt.Errorf("unexpected redirect to %s", loc)
		}
	}
	return errors.New("too many redirects")
}

func expectRedirect(resp *http.Response, err error) (string, error) {
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusFound {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return "", fmt.Errorf("status %d, want a redirect: %s", resp.StatusCode, clip(raw))
	}
	return resp.Header.Get("Location"), nil
}

func formFields(c *http.Client, u string) (url.Values, error) {
	resp, err := c.Get(u)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d: %s", resp.StatusCode, clip(raw))
	}
	i, t := reInteraction.FindSubmatch(raw), reCSRF.FindSubmatch(raw)
	if i == nil || t == nil {
		return nil, errors.New("no interaction or csrf_token field on the page")
	}
	return url.Values{"interaction": {string(i[1])}, "csrf_token": {string(t[1])}}, nil
}

// codes asks for up to n codes with the signed-in session, in parallel,
// spending at most limit. Failures abort: a bad set-up must not pass for a
// slow server.
func (e *env) codes(n int, limit time.Duration) ([]string, time.Duration, error) {
	start := time.Now()
	deadline := start.Add(limit)
	out := make([][]string, e.o.conc)
	var next atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	full := e.url(e.authorizePath())
	for w := range e.o.conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			req.SetRequestURI(full)
			req.Header.Set("Cookie", e.cookie)
			for next.Add(1) <= int64(n) && time.Now().Before(deadline) && firstErr.Load() == nil {
				code, err := e.oneCode(req, resp)
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				out[w] = append(out[w], code)
			}
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return nil, 0, fmt.Errorf("code generation: %w", err)
	}
	return slices.Concat(out...), time.Since(start), nil
}

func (e *env) oneCode(req *fasthttp.Request, resp *fasthttp.Response) (string, error) {
	if err := e.hc.Do(req, resp); err != nil {
		return "", err
	}
	if resp.StatusCode() != http.StatusSeeOther {
		return "", fmt.Errorf("authorize: status %d, want 303 to the callback", resp.StatusCode())
	}
	loc := string(resp.Header.Peek("Location"))
	if !strings.HasPrefix(loc, redirectURI) {
		return "", fmt.Errorf("authorize redirected to %q, not the callback (session or consent lost?)", clip([]byte(loc)))
	}
	u, err := url.Parse(loc)
	if err != nil || u.Query().Get("code") == "" {
		return "", fmt.Errorf("authorize redirected without a code: %s", clip([]byte(loc)))
	}
	return u.Query().Get("code"), nil
}

func (e *env) exchangeBody(code string) string {
	return "grant_type=authorization_code&code=" + url.QueryEscape(code) +
		"&redirect_uri=" + url.QueryEscape(redirectURI) + "&code_verifier=" + e.verifier +
		"&client_id=" + url.QueryEscape(e.clientID) + "&client_secret=" + url.QueryEscape(e.clientSecret)
}

// tokens exchanges n fresh codes for n token responses (set-up, not measured).
func (e *env) tokens(n int) ([]tokenPair, error) {
	codes, _, err := e.codes(n, 30*time.Second)
	if err != nil {
		return nil, err
	}
	if len(codes) < n {
		return nil, fmt.Errorf("got %d of %d codes", len(codes), n)
	}
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	out := make([]tokenPair, 0, n)
	for _, code := range codes {
		t, err := e.exchange(req, resp, code)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

type tokenPair struct{ access, refresh string }

func (e *env) exchange(req *fasthttp.Request, resp *fasthttp.Response, code string) (tokenPair, error) {
	req.Reset()
	req.SetRequestURI(e.url("/api/v1/oidc/token"))
	req.Header.SetMethod(fasthttp.MethodPost)
	req.Header.SetContentType(formType)
	req.SetBodyString(e.exchangeBody(code))
	if err := e.hc.Do(req, resp); err != nil {
		return tokenPair{}, err
	}
	if resp.StatusCode() != http.StatusOK {
		return tokenPair{}, fmt.Errorf("code exchange: status %d: %s", resp.StatusCode(), clip(resp.Body()))
	}
	t := tokenPair{access: jsonString(resp.Body(), "access_token"), refresh: jsonString(resp.Body(), "refresh_token")}
	if t.access == "" || t.refresh == "" {
		return tokenPair{}, fmt.Errorf("code exchange: no access or refresh token: %s", clip(resp.Body()))
	}
	return t, nil
}
