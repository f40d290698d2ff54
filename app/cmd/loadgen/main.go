// Command loadgen drives a running Calimatic Auth server on this machine and
// reports, per scenario, the requests made, the errors (every non-2xx by
// status, every transport error, every 2xx whose body is not what the
// endpoint must return), the request rate and the latency percentiles.
//
//	loadgen [-base http://127.0.0.1:8080] [-scenario all] [-c 32] [-d 10s]
//	        [-email E -password P] [-pid SERVER_PID] [-admin-key cak_…]
//
// Scenarios: signin_password and signin_totp (named only, with -admin-key:
// whole browser sign-ins of the seed's load-test users, see
// scenarios_signin.go), client_credentials, client_credentials_pkjwt (the same grant
// with private_key_jwt: a private_key_jwt client registered at set-up signs
// a fresh ES256 assertion per request, in the generator's measured time),
// client_credentials_dpop (the same grant with a DPoP proof per request
// from a key per worker, RFC 9449, the server nonce kept from each answer),
// code_exchange, refresh, userinfo, introspect, jwks, discovery, or all
// (each in turn). These write data and
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
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Scenarios in the order "all" runs them.
var scenarioNames = []string{"discovery", "jwks", "client_credentials", "client_credentials_pkjwt", "client_credentials_dpop", "userinfo", "introspect", "refresh", "code_exchange"}

const (
	maxDuration = 5 * time.Minute
	maxConc     = 1024
)

type options struct {
	base        *url.URL
	addr        string // host:port
	scenario    string
	conc        int
	dur         time.Duration
	warmup      time.Duration
	email       string
	password    string
	maxCodes    int
	codegen     time.Duration
	pid         int
	noHeaders   bool
	adminKey    string
	scimUsers   int
	signInUsers int
	// hydraAdmin and hydraPublic, when set, make Ory Hydra the target
	// (hydra.go).
	hydraAdmin, hydraPublic *url.URL
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
	o, err := parseFlags(args)
	if err != nil {
		return err
	}
	names, err := o.scenarioList()
	if err != nil {
		return err
	}
	if err := o.checkHydra(names); err != nil {
		return err
	}
	e := newEnv(o)
	if o.hydraAdmin != nil {
		err = e.hydraSetUp()
	} else {
		err = e.setUp(names, out)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "loadgen: base=%s c=%d d=%s warmup=%s GOMAXPROCS=%d\n", o.base, o.conc, o.dur, o.warmup, runtime.GOMAXPROCS(0))
	var results []*result
	for _, name := range names {
		r, err := e.scenario(name)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		fmt.Fprintln(out, r.detail())
		results = append(results, r)
	}
	printTable(out, results, !o.noHeaders)
	return nil
}

// parseFlags reads the command line into options and refuses values out of
// range, and any base URL that is not on loopback.
func parseFlags(args []string) (options, error) {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	base := fs.String("base", "http://127.0.0.1:8080", "server base URL (loopback only)")
	scenario := fs.String("scenario", "all", "client_credentials | client_credentials_pkjwt | client_credentials_dpop | code_exchange | refresh | userinfo | introspect | jwks | discovery | all; named only: scim_filter | scim_external | scim_search | scim_patch | provision | provision_bulk | signin_password | signin_totp")
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
	signInUsers := fs.Int("signin-users", 1500, "sign-in scenarios: users each signs in, at most once each (the server's dev.seed_users must be at least twice this)")
	hydraAdmin := fs.String("hydra-admin", "", "Ory Hydra as the target: its admin URL (loopback only); -base is then Hydra's public URL, or its admin URL for introspect")
	hydraPublic := fs.String("hydra-public", "", "Ory Hydra as the target: its public URL (loopback only)")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	o := options{scenario: *scenario, conc: *conc, dur: *dur, warmup: *warmup, email: *email, password: *password,
		maxCodes: *maxCodes, codegen: *codegen, pid: *pid, noHeaders: *noHeaders, adminKey: *adminKey, scimUsers: *scimUsers, signInUsers: *signInUsers}
	var err error
	if o.base, o.addr, err = loopbackBase(*base); err != nil {
		return options{}, err
	}
	for _, h := range []struct {
		raw string
		dst **url.URL
	}{{*hydraAdmin, &o.hydraAdmin}, {*hydraPublic, &o.hydraPublic}} {
		if h.raw != "" {
			if *h.dst, _, err = loopbackBase(h.raw); err != nil {
				return options{}, err
			}
		}
	}
	return o, o.check()
}

// check refuses values out of range: every run stays bounded.
func (o options) check() error {
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
	case o.signInUsers < 1 || o.signInUsers > 50000:
		return errors.New("-signin-users must be between 1 and 50000")
	}
	return nil
}

// scenarioList is the scenarios -scenario names, in the order they run.
func (o options) scenarioList() ([]string, error) {
	if o.scenario == "all" {
		return scenarioNames, nil
	}
	if !slices.Contains(scenarioNames, o.scenario) && !slices.Contains(scimScenarios, o.scenario) &&
		!slices.Contains(provisionScenarios, o.scenario) && !slices.Contains(signInScenarios, o.scenario) {
		return nil, fmt.Errorf("unknown -scenario %q (valid: %s, %s, %s, %s, all)", o.scenario, strings.Join(scenarioNames, ", "),
			strings.Join(scimScenarios, ", "), strings.Join(provisionScenarios, ", "), strings.Join(signInScenarios, ", "))
	}
	return []string{o.scenario}, nil
}

// noUserScenarios need no signed-in user.
var noUserScenarios = []string{"discovery", "jwks", "client_credentials", "client_credentials_pkjwt", "client_credentials_dpop"}

// setUp prepares what the named scenarios need, unmeasured: the seeded SCIM
// organization, the provisioning grant, a registered client, a signed-in
// session.
func (e *env) setUp(names []string, out io.Writer) error {
	o := e.o
	needsUser := slices.ContainsFunc(names, func(n string) bool {
		return !slices.Contains(noUserScenarios, n) && !slices.Contains(scimScenarios, n) && !slices.Contains(provisionScenarios, n) &&
			!slices.Contains(signInScenarios, n)
	})
	if slices.ContainsFunc(names, func(n string) bool { return slices.Contains(signInScenarios, n) }) {
		if o.adminKey == "" || o.email == "" || o.password == "" {
			return errors.New("the sign-in scenarios need -admin-key, -email and -password (the seed's)")
		}
		if err := e.register(); err != nil {
			return fmt.Errorf("set-up: register a client: %w", err)
		}
		s, took, err := e.signInSetup(o.signInUsers, slices.Contains(names, "signin_totp"))
		if err != nil {
			return fmt.Errorf("set-up: %w", err)
		}
		e.signin = s
		if took > 0 {
			fmt.Fprintf(out, "loadgen: set up %d authenticators through the account page in %s\n", o.signInUsers, took.Round(time.Millisecond))
		}
	}
	if slices.ContainsFunc(names, func(n string) bool { return slices.Contains(scimScenarios, n) }) {
		if o.adminKey == "" {
			return errors.New("-admin-key (or CALIMATIC_DEV_SEED_ADMIN_KEY) is needed for the SCIM scenarios")
		}
		s, err := e.scimSetup(o.scimUsers)
		if err != nil {
			return fmt.Errorf("set-up: seed SCIM users: %w", err)
		}
		e.scim = s
		fmt.Fprintf(out, "loadgen: seeded %d users through SCIM POST in %s (%.0f/s, c=%d)\n", o.scimUsers, s.took.Round(time.Millisecond), float64(o.scimUsers)/s.took.Seconds(), o.conc)
	}
	if slices.ContainsFunc(names, func(n string) bool { return slices.Contains(provisionScenarios, n) }) {
		if o.adminKey == "" {
			return errors.New("-admin-key (or CALIMATIC_DEV_SEED_ADMIN_KEY) is needed for the provisioning scenarios")
		}
		p, err := e.provisionSetup()
		if err != nil {
			return fmt.Errorf("set-up: provisioning client and organization: %w", err)
		}
		e.prov = p
		fmt.Fprintf(out, "loadgen: provisioning into organization %s as client %s (grant: provision)\n", p.orgID, e.clientID)
	}
	if needsUser && (o.email == "" || o.password == "") {
		return errors.New("-email and -password (or CALIMATIC_DEV_SEED_EMAIL and CALIMATIC_DEV_SEED_PASSWORD) are needed for " + strings.Join(names, ", "))
	}
	if slices.Contains(names, "client_credentials") || slices.Contains(names, "client_credentials_dpop") || needsUser {
		if err := e.register(); err != nil {
			return fmt.Errorf("set-up: register a client: %w", err)
		}
	}
	if needsUser {
		if err := e.signIn(); err != nil {
			return fmt.Errorf("set-up: sign in: %w", err)
		}
	}
	return nil
}
