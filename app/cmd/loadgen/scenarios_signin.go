package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pquerna/otp/totp"
	"github.com/valyala/fasthttp"
)

// The sign-in scenarios measure whole browser sign-ins, one user each, as
// the seed's load-test users (dev.seed_users, at least 2 × -signin-users):
// signin_password signs users in with the password alone; signin_totp with
// the password and then a code from the authenticator each set up on the
// account page at set-up (unmeasured). Each sign-in is a fresh browser:
// authorize and the login page (fetched, unmeasured), the login form
// (measured), then for signin_totp the factor page (fetched) and the code
// form (measured). The client is made first-party, so no consent page
// comes. The detail line gives the server's CPU per sign-in, which is what
// the two are compared by.
var signInScenarios = []string{"signin_password", "signin_totp"}

// loadUser is one seeded user; totp is its authenticator's secret and
// last its last time step used, for signin_totp.
type loadUser struct {
	email  string
	secret string
	last   int64
}

// signInEnv is the users each scenario signs in, in turn.
type signInEnv struct {
	password, totp []*loadUser
	next           [2]atomic.Int64
	prepErrs       atomic.Int64
	firstErr       atomic.Value
}

// loadUserEmail mirrors app.LoadUserEmail: the seed's load-test user i.
func loadUserEmail(seedEmail string, i int) string {
	_, domainPart, _ := strings.Cut(seedEmail, "@")
	return fmt.Sprintf("loadtest-%05d@%s", i, domainPart)
}

// signInSetup makes the client first-party and sets up an authenticator
// for each of the signin_totp users, c at a time.
func (e *env) signInSetup(users int, withTOTP bool) (*signInEnv, time.Duration, error) {
	if _, err := e.adminRequest("PATCH", "/api/v1/admin/clients/"+url.PathEscape(e.clientID), map[string]any{"firstParty": true}, http.StatusOK); err != nil {
		return nil, 0, fmt.Errorf("make the client first-party: %w", err)
	}
	s := &signInEnv{}
	for i := range users {
		s.password = append(s.password, &loadUser{email: loadUserEmail(e.o.email, i)})
		s.totp = append(s.totp, &loadUser{email: loadUserEmail(e.o.email, users+i)})
	}
	start := time.Now()
	if !withTOTP {
		return s, 0, nil
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for range e.o.conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1) - 1; i < int64(users) && firstErr.Load() == nil; i = next.Add(1) - 1 {
				if err := e.enrol(s.totp[i]); err != nil {
					firstErr.CompareAndSwap(nil, fmt.Errorf("%s: %w", s.totp[i].email, err))
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return nil, 0, fmt.Errorf("set up authenticators (is dev.seed_users at least %d?): %w", 2*users, err)
	}
	return s, time.Since(start), nil
}

var reSecret = regexp.MustCompile(`id="totp-secret">([A-Z2-7]+)<`)

// browser is a fresh browser: its own cookies, no redirects followed.
func browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// enrol signs u in on the account page and sets up an authenticator.
func (e *env) enrol(u *loadUser) error {
	c := browser()
	loc, err := expectRedirect(c.Get(e.url("/account")))
	if err != nil {
		return fmt.Errorf("account page: %w", err)
	}
	form, err := formFields(c, e.url(loc))
	if err != nil {
		return fmt.Errorf("login page: %w", err)
	}
	form.Set("email", u.email)
	form.Set("password", e.o.password)
	to, err := expectRedirect(c.PostForm(e.url("/login"), form))
	if err != nil {
		return fmt.Errorf("login: %w", err)
	}
	if strings.HasPrefix(to, "/login/factor") {
		return errors.New("the user has a second factor already (from an earlier signin_totp run): start the server afresh")
	}
	page, err := getPage(c, e.url("/account/totp"))
	if err != nil {
		return fmt.Errorf("setup page: %w", err)
	}
	m, t := reSecret.FindSubmatch(page), reCSRF.FindSubmatch(page)
	if m == nil || t == nil {
		return errors.New("no key or csrf_token on the setup page")
	}
	u.secret = string(m[1])
	code, err := u.code()
	if err != nil {
		return err
	}
	resp, err := c.PostForm(e.url("/account/totp"), url.Values{"csrf_token": {string(t[1])}, "code": {code}})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK || !bytes.Contains(raw, []byte(`id="recovery-codes"`)) {
		return fmt.Errorf("confirm: status %d: %s", resp.StatusCode, clip(raw))
	}
	return nil
}

func getPage(c *http.Client, u string) ([]byte, error) {
	resp, err := c.Get(u)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d: %s", resp.StatusCode, clip(raw))
	}
	return raw, nil
}

// code is the authenticator's next code the server takes: the current
// step's, or the next one when the current one was used.
func (u *loadUser) code() (string, error) {
	step := time.Now().Unix() / 30
	if step <= u.last {
		step = u.last + 1
	}
	if step > time.Now().Unix()/30+1 {
		return "", errors.New("no unused code within the allowed skew")
	}
	u.last = step
	return totp.GenerateCode(u.secret, time.Unix(step*30, 0))
}

func (e *env) signInJobs(name string) func(w int) job {
	withTOTP := name == "signin_totp"
	return func(int) job { return &signInJob{e: e, s: e.signin, totp: withTOTP} }
}

// signInJob signs one user in after another; its measured requests are
// the login form and, for signin_totp, the code form.
type signInJob struct {
	e    *env
	s    *signInEnv
	totp bool
	step int // 0: the login form next; 1: the code form next
	user *loadUser
	c    *http.Client
	form url.Values
	// sent is set while a form is out; check clears it. Still set at the
	// next request, the form failed (the loop skips check on a bad
	// status), and the next sign-in starts afresh.
	sent bool
}

// redirects: a sign-in form succeeds with a 303.
func (j *signInJob) redirects() bool { return true }

func (j *signInJob) next(req *fasthttp.Request) bool {
	if j.sent {
		j.step, j.sent = 0, false
	}
	if err := j.prepare(req); err != nil {
		j.s.prepErrs.Add(1)
		j.s.firstErr.CompareAndSwap(nil, err)
		return false
	}
	return true
}

// prepare does what a browser does before the measured form: fetch the
// pages, and fill the form in.
func (j *signInJob) prepare(req *fasthttp.Request) error {
	e := j.e
	if j.step == 0 {
		users, k := j.s.password, 0
		if j.totp {
			users, k = j.s.totp, 1
		}
		i := j.s.next[k].Add(1) - 1
		if i >= int64(len(users)) {
			return fmt.Errorf("all %d users signed in; raise -signin-users (and dev.seed_users)", len(users))
		}
		j.user, j.c = users[i], browser()
		loc, err := expectRedirect(j.c.Get(e.url(e.authorizePath())))
		if err != nil {
			return fmt.Errorf("authorize: %w", err)
		}
		if j.form, err = formFields(j.c, e.url(loc)); err != nil {
			return fmt.Errorf("login page: %w", err)
		}
		j.form.Set("email", j.user.email)
		j.form.Set("password", e.o.password)
		j.fill(req, "/login")
		return nil
	}
	if _, err := getPage(j.c, e.url("/login/factor?interaction="+url.QueryEscape(j.form.Get("interaction")))); err != nil {
		return fmt.Errorf("factor page: %w", err)
	}
	code, err := j.user.code()
	if err != nil {
		return err
	}
	form := url.Values{"interaction": j.form["interaction"], "csrf_token": j.form["csrf_token"], "method": {"totp"}, "code": {code}}
	j.form = form
	j.fill(req, "/login/factor")
	return nil
}

// fill makes req the POST of j.form to path, with the browser's cookies.
func (j *signInJob) fill(req *fasthttp.Request, path string) {
	req.Reset()
	req.SetRequestURI(j.e.url(path))
	req.Header.SetMethod(fasthttp.MethodPost)
	req.Header.SetContentType(formType)
	var parts []string
	for _, ck := range j.c.Jar.Cookies(j.e.o.base) {
		parts = append(parts, ck.Name+"="+ck.Value)
	}
	req.Header.Set("Cookie", strings.Join(parts, "; "))
	req.SetBodyString(j.form.Encode())
	j.sent = true
}

// check follows the sign-in: the login form sends signin_totp on to the
// factor page and signin_password back to the client with a code, as does
// the code form.
func (j *signInJob) check(resp *fasthttp.Response) bool {
	j.sent = false
	loc := string(resp.Header.Peek("Location"))
	if j.step == 0 && j.totp {
		ok := strings.HasPrefix(loc, "/login/factor?")
		if ok {
			j.step = 1
		}
		return ok
	}
	j.step = 0
	return strings.HasPrefix(loc, redirectURI+"?") && strings.Contains(loc, "code=")
}

// notes are a sign-in scenario's detail: sign-ins completed in the window
// and the server's CPU per sign-in.
func (s *signInEnv) notes(name string, r *result) []string {
	perSignIn := 1
	if name == "signin_totp" {
		perSignIn = 2
	}
	done := float64(len(r.lat)-r.errors) / float64(perSignIn)
	var out []string
	if done > 0 && r.srvCPU > 0 {
		out = append(out, fmt.Sprintf("%.0f sign-ins, %.1f/s, server CPU %.2f ms per sign-in",
			done, done/r.elapsed.Seconds(), r.srvCPU*r.elapsed.Seconds()*1000/done))
	}
	if n := s.prepErrs.Load(); n > 0 {
		err, _ := s.firstErr.Load().(error)
		out = append(out, fmt.Sprintf("%d sign-ins failed before their form (first: %v)", n, err))
	}
	return out
}
