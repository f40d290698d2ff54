// Command loadgen drives a running Calimatic Auth server on this machine and
// reports, per scenario, the requests made, the errors (every non-2xx by
// status, every transport error, every 2xx whose body is not what the
// endpoint must return), the request rate and the latency percentiles.
//
//	loadgen [-base http://127.0.0.1:8080] [-scenario all] [-c 32] [-d 10s]
//	        [-email E -password P] [-pid SERVER_PID] [-admin-key cak_…]
//
// Scenarios: client_credentials, code_exchange, refresh, userinfo,
// introspect, jwks, discovery, or all (each in turn). These write data and
// run only when named, with -admin-key: scim_filter, scim_external,
// scim_search, scim_patch (SCIM on an organization seeded with -scim-users
// users), and provision, provision_bulk (POST /api/v1/users/provision of one
// new user per request, and POST /api/v1/users/provision/bulk of 50 new users
// per request, whose detail line adds users/s).
//
// Set-up (not measured): it registers a confidential client, signs the demo
// user in once through authorize, the login form and the consent form, and
// then asks for codes with that session (consent is remembered, so authorize
// redirects straight back with a code). code_exchange pre-generates a bounded
// batch of codes first, because codes live 60 s; refresh gives each worker its
// own refresh-token chain; userinfo and introspect give each worker its own
// access token. The provisioning scenarios make an organization through the
// admin API, register a confidential client and grant it the organization
// with the provision action; every request then provisions users whose
// emails no earlier request used.
//
// The server must run with rate limits off (CALIMATIC_RATELIMIT_ENABLED=false),
// or most requests are 429s, which are reported as errors. The generator
// talks to loopback addresses only, and every run is bounded in time.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// Scenarios in the order "all" runs them.
var scenarioNames = []string{"discovery", "jwks", "client_credentials", "userinfo", "introspect", "refresh", "code_exchange"}

const (
	redirectURI   = "http://127.0.0.1:9/callback" // never contacted
	scope         = "openid profile email phone"
	formType      = "application/x-www-form-urlencoded"
	maxDuration   = 5 * time.Minute
	maxConc       = 1024
	codeLifetime  = 60 * time.Second
	codeSafety    = 8 * time.Second // exchange phase ends this long before the first code expires
	requestExpiry = 10 * time.Second
)

type options struct {
	base      *url.URL
	addr      string // host:port
	scenario  string
	conc      int
	dur       time.Duration
	warmup    time.Duration
	email     string
	password  string
	maxCodes  int
	codegen   time.Duration
	pid       int
	noHeaders bool
	adminKey  string
	scimUsers int
}

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	base := fs.String("base", "http://127.0.0.1:8080", "server base URL (loopback only)")
	scenario := fs.String("scenario", "all", "client_credentials | code_exchange | refresh | userinfo | introspect | jwks | discovery | all; named only: scim_filter | scim_external | scim_search | scim_patch | provision | provision_bulk")
	conc := fs.Int("c", 32, "concurrency: workers, each with one request in flight")
	dur := fs.Duration("d", 10*time.Second, "measured duration per scenario")
	warmup := fs.Duration("warmup", time.Second, "unmeasured warm-up per scenario")
	email := fs.String("email", os.Getenv("CALIMATIC_DEV_SEED_EMAIL"), "demo user's email (default $CALIMATIC_DEV_SEED_EMAIL)")
	password := fs.String("password", os.Getenv("CALIMATIC_DEV_SEED_PASSWORD"), "demo user's password (default $CALIMATIC_DEV_SEED_PASSWORD)")
	maxCodes := fs.Int("codes", 30000, "code_exchange: most codes to pre-generate")
	codegen := fs.Duration("codegen", 4*time.Second, "code_exchange: longest time spent pre-generating codes")
	pid := fs.Int("pid", 0, "server process id: report its RSS and CPU use during each run (Linux /proc)")
	noHeaders := fs.Bool("no-header", false, "print the result table without its header")
	adminKey := fs.String("admin-key", os.Getenv("CALIMATIC_DEV_SEED_ADMIN_KEY"), "SCIM and provisioning scenarios: an admin key (default $CALIMATIC_DEV_SEED_ADMIN_KEY)")
	scimUsers := fs.Int("scim-users", 10000, "SCIM scenarios: users to seed into the organization")
	if err := fs.Parse(args); err != nil {
		return err
	}
	o := options{scenario: *scenario, conc: *conc, dur: *dur, warmup: *warmup, email: *email, password: *password,
		maxCodes: *maxCodes, codegen: *codegen, pid: *pid, noHeaders: *noHeaders, adminKey: *adminKey, scimUsers: *scimUsers}
	var err error
	if o.base, o.addr, err = loopbackBase(*base); err != nil {
		return err
	}
	switch {
	case o.conc < 1 || o.conc > maxConc:
		return fmt.Errorf("-c must be between 1 and %d", maxConc)
	case o.dur <= 0 || o.dur > maxDuration:
		return fmt.Errorf("-d must be positive and at most %s", maxDuration)
	case o.warmup < 0 || o.warmup > time.Minute:
		return errors.New("-warmup must be between 0 and 1m")
	case o.maxCodes < 1 || o.maxCodes > 200000:
		return errors.New("-codes must be between 1 and 200000")
	case o.codegen <= 0 || o.codegen > 20*time.Second:
		return errors.New("-codegen must be positive and at most 20s")
	case o.scimUsers < 1 || o.scimUsers > 1000000:
		return errors.New("-scim-users must be between 1 and 1000000")
	}
	names := []string{o.scenario}
	if o.scenario == "all" {
		names = scenarioNames
	} else if !slices.Contains(scenarioNames, o.scenario) && !slices.Contains(scimScenarios, o.scenario) && !slices.Contains(provisionScenarios, o.scenario) {
		return fmt.Errorf("unknown -scenario %q (valid: %s, %s, %s, all)", o.scenario, strings.Join(scenarioNames, ", "),
			strings.Join(scimScenarios, ", "), strings.Join(provisionScenarios, ", "))
	}

	hc := &fasthttp.HostClient{
		Addr:                          o.addr,
		MaxConns:                      o.conc + 8,
		MaxIdleConnDuration:           time.Minute,
		ReadTimeout:                   requestExpiry,
		WriteTimeout:                  requestExpiry,
		NoDefaultUserAgentHeader:      true,
		DisableHeaderNamesNormalizing: true,
		DisablePathNormalizing:        true,
		MaxConnWaitTimeout:            requestExpiry,
	}
	env := &env{o: o, hc: hc}
	needsUser := slices.ContainsFunc(names, func(n string) bool {
		return n != "discovery" && n != "jwks" && n != "client_credentials" && !slices.Contains(scimScenarios, n) && !slices.Contains(provisionScenarios, n)
	})
	if slices.ContainsFunc(names, func(n string) bool { return slices.Contains(scimScenarios, n) }) {
		if o.adminKey == "" {
			return errors.New("-admin-key (or CALIMATIC_DEV_SEED_ADMIN_KEY) is needed for the SCIM scenarios")
		}
		s, err := env.scimSetup(o.scimUsers)
		if err != nil {
			return fmt.Errorf("set-up: seed SCIM users: %w", err)
		}
		env.scim = s
		fmt.Fprintf(out, "loadgen: seeded %d users through SCIM POST in %s (%.0f/s, c=%d)\n", o.scimUsers, s.took.Round(time.Millisecond), float64(o.scimUsers)/s.took.Seconds(), o.conc)
	}
	if slices.ContainsFunc(names, func(n string) bool { return slices.Contains(provisionScenarios, n) }) {
		if o.adminKey == "" {
			return errors.New("-admin-key (or CALIMATIC_DEV_SEED_ADMIN_KEY) is needed for the provisioning scenarios")
		}
		p, err := env.provisionSetup()
		if err != nil {
			return fmt.Errorf("set-up: provisioning client and organization: %w", err)
		}
		env.prov = p
		fmt.Fprintf(out, "loadgen: provisioning into organization %s as client %s (grant: provision)\n", p.orgID, env.clientID)
	}
	if needsUser && (o.email == "" || o.password == "") {
		return errors.New("-email and -password (or CALIMATIC_DEV_SEED_EMAIL and CALIMATIC_DEV_SEED_PASSWORD) are needed for " + strings.Join(names, ", "))
	}
	if slices.Contains(names, "client_credentials") || needsUser {
		if err := env.register(); err != nil {
			return fmt.Errorf("set-up: register a client: %w", err)
		}
	}
	if needsUser {
		if err := env.signIn(); err != nil {
			return fmt.Errorf("set-up: sign in: %w", err)
		}
	}
	fmt.Fprintf(out, "loadgen: base=%s c=%d d=%s warmup=%s GOMAXPROCS=%d\n", o.base, o.conc, o.dur, o.warmup, runtime.GOMAXPROCS(0))
	var results []*result
	for _, name := range names {
		r, err := env.scenario(name)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		fmt.Fprintln(out, r.detail())
		results = append(results, r)
	}
	fmt.Fprintln(out)
	if !o.noHeaders {
		fmt.Fprintln(out, tableHeader)
	}
	for _, r := range results {
		fmt.Fprintln(out, r.row())
	}
	return nil
}

// loopbackBase parses the base URL and refuses anything that is not plain
// HTTP to a loopback address.
func loopbackBase(raw string) (*url.URL, string, error) {
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil || u.Scheme != "http" || u.Host == "" || u.Path != "" {
		return nil, "", fmt.Errorf("-base %q must be http://host:port with no path", raw)
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = "80"
	}
	ips := []net.IP{net.ParseIP(host)}
	if ips[0] == nil {
		if ips, err = net.LookupIP(host); err != nil || len(ips) == 0 {
			return nil, "", fmt.Errorf("-base: cannot resolve %q", host)
		}
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return nil, "", fmt.Errorf("-base: %s is not a loopback address; loadgen drives this machine only", ip)
		}
	}
	return u, net.JoinHostPort(ips[0].String(), port), nil
}

// env is the set-up shared by the scenarios.
type env struct {
	o  options
	hc *fasthttp.HostClient

	clientID, clientSecret string
	verifier, challenge    string
	cookie                 string // the signed-in browser's Cookie header
	scim                   *scimEnv
	prov                   *provisionEnv
}

func (e *env) url(path string) string { return e.o.base.String() + path }

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

// jsonString finds a top-level string member in a flat JSON object without
// decoding the whole body; token values need no unescaping.
func jsonString(body []byte, name string) string {
	key := []byte(`"` + name + `":"`)
	i := bytes.Index(body, key)
	if i < 0 {
		return ""
	}
	rest := body[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return string(rest[:j])
}

// job makes one worker's requests. next fills req and reports false when the
// worker has nothing left to send; check reports whether a 2xx body is what
// the endpoint must return.
type job interface {
	next(req *fasthttp.Request) bool
	check(resp *fasthttp.Response) bool
}

// staticJob sends the same request every time.
type staticJob struct {
	prepared bool
	fill     func(req *fasthttp.Request)
	want     []byte
}

func (j *staticJob) next(req *fasthttp.Request) bool {
	if !j.prepared {
		j.fill(req)
		j.prepared = true
	}
	return true
}

func (j *staticJob) check(resp *fasthttp.Response) bool { return bytes.Contains(resp.Body(), j.want) }

func (e *env) get(path, bearer string) func(*fasthttp.Request) {
	return func(req *fasthttp.Request) {
		req.SetRequestURI(e.url(path))
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
	}
}

func (e *env) post(path, body string) func(*fasthttp.Request) {
	return func(req *fasthttp.Request) {
		req.SetRequestURI(e.url(path))
		req.Header.SetMethod(fasthttp.MethodPost)
		req.Header.SetContentType(formType)
		req.SetBodyString(body)
	}
}

// codeJob exchanges pre-generated codes, each exactly once.
type codeJob struct {
	e    *env
	pool *codePool
}

type codePool struct {
	codes []string
	next  atomic.Int64
}

func (j *codeJob) next(req *fasthttp.Request) bool {
	i := j.pool.next.Add(1) - 1
	if i >= int64(len(j.pool.codes)) {
		return false
	}
	j.e.post("/api/v1/oidc/token", j.e.exchangeBody(j.pool.codes[i]))(req)
	return true
}

func (j *codeJob) check(resp *fasthttp.Response) bool {
	b := resp.Body()
	return bytes.Contains(b, []byte(`"access_token":"`)) && bytes.Contains(b, []byte(`"id_token":"`)) &&
		bytes.Contains(b, []byte(`"refresh_token":"`))
}

// refreshJob keeps one refresh-token chain: every response carries the token
// for the next request. A broken chain (an error response) ends the worker;
// the error is counted.
type refreshJob struct {
	e     *env
	token string
}

func (j *refreshJob) next(req *fasthttp.Request) bool {
	if j.token == "" {
		return false
	}
	j.e.post("/api/v1/oidc/token", "grant_type=refresh_token&refresh_token="+url.QueryEscape(j.token)+
		"&client_id="+url.QueryEscape(j.e.clientID)+"&client_secret="+url.QueryEscape(j.e.clientSecret))(req)
	j.token = "" // until a good response brings the next one
	return true
}

func (j *refreshJob) check(resp *fasthttp.Response) bool {
	j.token = jsonString(resp.Body(), "refresh_token")
	return j.token != "" && bytes.Contains(resp.Body(), []byte(`"access_token":"`))
}

func (e *env) scenario(name string) (*result, error) {
	o := e.o
	var notes []string
	var mk func(w int) job
	window := o.dur
	rows := 0 // users per request, for the provisioning scenarios
	switch name {
	case "discovery":
		mk = func(int) job {
			return &staticJob{fill: e.get("/.well-known/openid-configuration", ""), want: []byte(`"issuer":`)}
		}
	case "jwks":
		mk = func(int) job { return &staticJob{fill: e.get("/api/v1/oidc/jwks", ""), want: []byte(`"keys":[{`)} }
	case "client_credentials":
		body := "grant_type=client_credentials&client_id=" + url.QueryEscape(e.clientID) +
			"&client_secret=" + url.QueryEscape(e.clientSecret)
		mk = func(int) job {
			return &staticJob{fill: e.post("/api/v1/oidc/token", body), want: []byte(`"access_token":"`)}
		}
	case "userinfo", "introspect":
		toks, err := e.tokens(o.conc)
		if err != nil {
			return nil, err
		}
		mk = func(w int) job {
			if name == "userinfo" {
				return &staticJob{fill: e.get("/api/v1/oidc/userinfo", toks[w].access), want: []byte(`"email":"`)}
			}
			body := "token=" + url.QueryEscape(toks[w].access) + "&client_id=" + url.QueryEscape(e.clientID) +
				"&client_secret=" + url.QueryEscape(e.clientSecret)
			return &staticJob{fill: e.post("/api/v1/oidc/introspect", body), want: []byte(`"active":true`)}
		}
	case "refresh":
		toks, err := e.tokens(o.conc)
		if err != nil {
			return nil, err
		}
		mk = func(w int) job { return &refreshJob{e: e, token: toks[w].refresh} }
	case "code_exchange":
		codes, took, err := e.codes(o.maxCodes, o.codegen)
		if err != nil {
			return nil, err
		}
		// Every code must be spent before the first one expires.
		if budget := codeLifetime - took - codeSafety; o.warmup+window > budget {
			window = max(budget-o.warmup, time.Second)
			notes = append(notes, fmt.Sprintf("window cut to %s so no code expires", window))
		}
		notes = append(notes, fmt.Sprintf("%d codes pre-generated in %s (%.0f/s)", len(codes), took.Round(time.Millisecond), float64(len(codes))/took.Seconds()))
		pool := &codePool{codes: codes}
		mk = func(int) job { return &codeJob{e: e, pool: pool} }
	case "scim_filter", "scim_external", "scim_search", "scim_patch":
		mk = e.scimJobs(name)
	case "provision", "provision_bulk":
		mk = e.provisionJobs(name)
		rows = 1
		if name == "provision_bulk" {
			rows = bulkRows
		}
	default:
		return nil, fmt.Errorf("unknown scenario")
	}
	r := e.measure(name, window, mk)
	r.rows = rows
	r.notes = append(notes, r.notes...)
	return r, nil
}

// result is one scenario's figures.
type result struct {
	name     string
	conc     int
	elapsed  time.Duration // the measured window, or less when work ran out
	lat      []time.Duration
	statuses map[int]int
	netErrs  map[string]int
	badBody  int
	errors   int
	rssMaxKB int64
	rssEndKB int64
	srvCPU   float64 // server CPU seconds per second of wall time (cores)
	genCPU   float64 // this process's CPU seconds per second of wall time
	allCPU   float64 // the whole machine's busy CPU seconds per second (cores); -1 if unknown
	rows     int     // users provisioned by each successful request; 0 outside the provisioning scenarios
	notes    []string
}

// worker's own tally, merged at the end.
type tally struct {
	lat      []time.Duration
	statuses map[int]int
	netErrs  map[string]int
	badBody  int
	lastDone time.Time
	ranOut   bool
}

func (e *env) measure(name string, window time.Duration, mk func(w int) job) *result {
	o := e.o
	start := time.Now()
	recordFrom := start.Add(o.warmup)
	stop := recordFrom.Add(window)
	tallies := make([]*tally, o.conc)
	var wg sync.WaitGroup
	var cpu0 cpuMark
	var sampler *rssSampler
	ready := make(chan struct{})
	go func() { // marks taken when measurement starts
		time.Sleep(time.Until(recordFrom))
		cpu0 = e.cpuNow()
		if o.pid > 0 {
			sampler = startRSS(o.pid)
		}
		close(ready)
	}()
	for w := range o.conc {
		t := &tally{statuses: map[int]int{}, netErrs: map[string]int{}, lat: make([]time.Duration, 0, 4096)}
		tallies[w] = t
		j := mk(w)
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			for {
				if !j.next(req) {
					t.ranOut = true
					return
				}
				t0 := time.Now()
				if !t0.Before(stop) {
					return
				}
				err := e.hc.Do(req, resp)
				t1 := time.Now()
				ok := err == nil && resp.StatusCode()/100 == 2 && j.check(resp)
				if t0.Before(recordFrom) {
					continue
				}
				t.lastDone = t1
				t.lat = append(t.lat, t1.Sub(t0))
				switch {
				case err != nil:
					t.netErrs[netErrKind(err)]++
				case resp.StatusCode()/100 != 2:
					t.statuses[resp.StatusCode()]++
				case !ok:
					t.badBody++
				}
			}
		}()
	}
	wg.Wait()
	<-ready
	end := time.Now()
	cpu1 := e.cpuNow()
	r := &result{name: name, conc: o.conc, statuses: map[int]int{}, netErrs: map[string]int{}}
	ranOut := 0
	last := recordFrom
	for _, t := range tallies {
		r.lat = append(r.lat, t.lat...)
		for k, v := range t.statuses {
			r.statuses[k] += v
			r.errors += v
		}
		for k, v := range t.netErrs {
			r.netErrs[k] += v
			r.errors += v
		}
		r.badBody += t.badBody
		r.errors += t.badBody
		if t.ranOut {
			ranOut++
		}
		if t.lastDone.After(last) {
			last = t.lastDone
		}
	}
	if last.After(stop) {
		last = stop
	}
	r.elapsed = last.Sub(recordFrom)
	if ranOut == 0 || r.elapsed <= 0 {
		r.elapsed = stop.Sub(recordFrom)
	}
	if ranOut > 0 {
		r.notes = append(r.notes, fmt.Sprintf("%d of %d workers ran out of work (codes used up, or a refresh chain broke)", ranOut, o.conc))
	}
	wall := end.Sub(cpu0.at).Seconds()
	r.allCPU = -1
	if wall > 0 {
		r.genCPU = (cpu1.self - cpu0.self) / wall
		if cpu0.machine >= 0 && cpu1.machine >= 0 {
			r.allCPU = (cpu1.machine - cpu0.machine) / wall
		}
		if o.pid > 0 && cpu0.server >= 0 && cpu1.server >= 0 {
			r.srvCPU = (cpu1.server - cpu0.server) / wall
		}
	}
	if sampler != nil {
		r.rssMaxKB, r.rssEndKB = sampler.stop()
	}
	slices.Sort(r.lat)
	return r
}

func netErrKind(err error) string {
	switch {
	case errors.Is(err, fasthttp.ErrTimeout), errors.Is(err, fasthttp.ErrDialTimeout):
		return "timeout"
	case errors.Is(err, fasthttp.ErrConnectionClosed):
		return "connection closed"
	case errors.Is(err, fasthttp.ErrNoFreeConns):
		return "no free connections"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	}
	s := err.Error()
	if len(s) > 60 {
		s = s[:60]
	}
	return s
}

func (r *result) rps() float64 { return float64(len(r.lat)) / r.elapsed.Seconds() }

func (r *result) okRPS() float64 { return float64(len(r.lat)-r.errors) / r.elapsed.Seconds() }

func (r *result) pct(p float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	return r.lat[int(p*float64(len(r.lat)-1))]
}

const tableHeader = "| scenario | c | requests | errors | req/s | ok req/s | p50 | p90 | p99 | max | server CPU | loadgen CPU | other CPU | server RSS max |\n" +
	"|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"

func (r *result) row() string {
	rss := "n/a"
	if r.rssMaxKB > 0 {
		rss = fmt.Sprintf("%.1f MB", float64(r.rssMaxKB)/1024)
	}
	srv := "n/a"
	if r.srvCPU > 0 {
		srv = fmt.Sprintf("%.2f", r.srvCPU)
	}
	return fmt.Sprintf("| %s | %d | %d | %d | %.0f | %.0f | %s | %s | %s | %s | %s | %.2f | %s | %s |",
		r.name, r.conc, len(r.lat), r.errors, r.rps(), r.okRPS(), ms(r.pct(.50)), ms(r.pct(.90)), ms(r.pct(.99)),
		ms(r.pct(1)), srv, r.genCPU, r.otherCPU(), rss)
}

// otherCPU is what the rest of the machine used during the run: a busy
// neighbour makes every figure smaller.
func (r *result) otherCPU() string {
	if r.allCPU < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", max(r.allCPU-r.srvCPU-r.genCPU, 0))
}

func (r *result) detail() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-18s c=%-4d %8d req in %6.2fs  %9.1f req/s  errors=%d  p50=%s p90=%s p99=%s max=%s",
		r.name, r.conc, len(r.lat), r.elapsed.Seconds(), r.rps(), r.errors,
		ms(r.pct(.50)), ms(r.pct(.90)), ms(r.pct(.99)), ms(r.pct(1)))
	if r.rows > 0 {
		fmt.Fprintf(&b, "  users/s=%.1f (%d per request, successful requests only)", r.okRPS()*float64(r.rows), r.rows)
	}
	if r.srvCPU > 0 {
		fmt.Fprintf(&b, "  server-cpu=%.2f cores", r.srvCPU)
	}
	fmt.Fprintf(&b, "  loadgen-cpu=%.2f cores  other-cpu=%s cores", r.genCPU, r.otherCPU())
	if r.rssMaxKB > 0 {
		fmt.Fprintf(&b, "  rss max=%.1fMB end=%.1fMB", float64(r.rssMaxKB)/1024, float64(r.rssEndKB)/1024)
	}
	if r.errors > 0 {
		var parts []string
		codes := make([]int, 0, len(r.statuses))
		for c := range r.statuses {
			codes = append(codes, c)
		}
		sort.Ints(codes)
		for _, c := range codes {
			parts = append(parts, fmt.Sprintf("HTTP %d: %d", c, r.statuses[c]))
		}
		for k, v := range r.netErrs {
			parts = append(parts, fmt.Sprintf("%s: %d", k, v))
		}
		if r.badBody > 0 {
			parts = append(parts, fmt.Sprintf("2xx with a wrong body: %d", r.badBody))
		}
		fmt.Fprintf(&b, "\n    errors: %s", strings.Join(parts, ", "))
	}
	for _, n := range r.notes {
		fmt.Fprintf(&b, "\n    note: %s", n)
	}
	return b.String()
}

func ms(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 2, 64) + "ms" }

// cpuMark is a CPU-time reading of this process, of the server and of the
// whole machine.
type cpuMark struct {
	at      time.Time
	self    float64 // seconds
	server  float64 // seconds; -1 when unknown
	machine float64 // busy seconds summed over every CPU; -1 when unknown
}

func (e *env) cpuNow() cpuMark {
	m := cpuMark{at: time.Now(), server: -1, machine: machineBusy()}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		m.self = tv(ru.Utime) + tv(ru.Stime)
	}
	if e.o.pid > 0 {
		m.server = procCPU(e.o.pid)
	}
	return m
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

// procCPU reads utime+stime of pid from /proc/PID/stat, in seconds (the
// kernel's clock ticks are 100 per second on Linux/amd64).
func procCPU(pid int) float64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	// The command name (field 2) may hold spaces; fields after ")" are fixed.
	i := bytes.LastIndexByte(raw, ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(string(raw[i+1:]))
	if len(f) < 13 {
		return -1
	}
	ut, err1 := strconv.ParseFloat(f[11], 64)
	st, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	return (ut + st) / 100
}

// machineBusy reads the machine's busy time (every state but idle and
// iowait) from the first line of /proc/stat, in seconds.
func machineBusy() float64 {
	raw, err := os.ReadFile("/proc/stat")
	if err != nil {
		return -1
	}
	line, _, _ := strings.Cut(string(raw), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return -1
	}
	var busy float64
	for i, v := range f[1:] {
		if i == 3 || i == 4 || i >= 8 { // idle, iowait; guest time is already in user
			continue
		}
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return -1
		}
		busy += n
	}
	return busy / 100
}

// rssSampler polls the server's resident set size.
type rssSampler struct {
	cancel context.CancelFunc
	done   chan struct{}
	max    atomic.Int64
	last   atomic.Int64
}

func startRSS(pid int) *rssSampler {
	ctx, cancel := context.WithCancel(context.Background())
	s := &rssSampler{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			if kb := rssKB(pid); kb > 0 {
				s.last.Store(kb)
				if kb > s.max.Load() {
					s.max.Store(kb)
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *rssSampler) stop() (maxKB, lastKB int64) {
	s.cancel()
	<-s.done
	return s.max.Load(), s.last.Load()
}

func rssKB(pid int) int64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n
			}
		}
	}
	return 0
}

func randToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func clip(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}
