package app_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/app"
)

// The kill suite proves that webhook events survive crashes: two servers
// on one database take a burst of directory changes (provisioning, bulk
// provisioning, SCIM, admin changes) while one or the other is SIGKILLed
// at random moments and started again. Every change is retried until it
// gets a definite answer, so the test knows what was committed; at the
// end every committed change must have exactly one event delivered (the
// receiver drops duplicate posts of one X-Webhook-Delivery), and no event
// may reach an app that is not entitled to it.
//
// Between kills, the database is cut off a few times for a second or
// three, as a restart of it does (and Vault, when it signs): the servers
// must answer 503 in each endpoint's error format while it is away, never
// a 500, and serve again once it is back, with no restart. A 503 is retried
// like a connection the kill cut; a 500 fails the test whenever it comes.
//
// A run is reproducible in its choices, not in its timing: the seed fixes
// what the workers send, when and where the killer strikes and when and
// how long the outages are, but what a kill or an outage interrupts
// depends on the machine. CALIMATIC_KILLSUITE_SEED repeats a run's
// choices, CALIMATIC_KILLSUITE_KILLS changes the number of kills (12 by
// default, 10 with Vault); seed, kills and outages are logged at the start
// and the end.

// TestKillSuitePostgres runs the kill suite on the postgres driver. The
// database answers through a delay proxy: PostgreSQL on loopback answers
// in microseconds, so the moments between a commit and what follows it
// would be too short for a dozen kills to land in. The same proxy makes
// the database outages.
func TestKillSuitePostgres(t *testing.T) {
	dsn, db := throughDelayProxy(t, postgresDSN(t))
	runKillSuite(t, ksRun{backend: "postgres", workers: 4, kills: ksDefaultKills, env: ksPostgresEnv(dsn), db: db})
}

// ksPostgresEnv configures the servers' storage (and rate limiter) on the
// database at dsn.
func ksPostgresEnv(dsn string) []string {
	return []string{
		"CALIMATIC_STORAGE_DRIVER=postgres",
		"CALIMATIC_STORAGE_POSTGRES_DSN=" + dsn,
		"CALIMATIC_STORAGE_POSTGRES_KEY_ENCRYPTION_KEY=" + newKEK(),
		"CALIMATIC_RATELIMIT_KIND=postgres",
	}
}

// TestKillSuiteMongo runs the kill suite on the mongo driver (FerretDB in
// CI). Its units of work keep the promise through an undo journal and a
// lease (see adapters/mongo/unit.go): a unit a kill cut short is undone by
// the next one, once the dead unit's lease has run out, and a committed
// one has its events published. Two workers, not four: FerretDB on SQLite
// takes a unit's writes one at a time. The database is reached directly,
// so this run has no outages (PostgreSQL's restarts are the suite's other
// run), and the kills land among FerretDB's own slower round trips.
func TestKillSuiteMongo(t *testing.T) {
	uri, db := mongoURI(t)
	runKillSuite(t, ksRun{backend: "mongo", workers: 2, kills: ksDefaultKills, env: []string{
		"CALIMATIC_STORAGE_DRIVER=mongo",
		"CALIMATIC_STORAGE_MONGO_URI=" + uri,
		"CALIMATIC_STORAGE_MONGO_DATABASE=" + db,
		"CALIMATIC_STORAGE_MONGO_KEY_ENCRYPTION_KEY=" + newKEK(),
		"CALIMATIC_RATELIMIT_KIND=mongo",
	}})
}

// throughDelayProxy points a database URL (one host) at a faultProxy to
// that host, and returns the proxy too, for the outages.
func throughDelayProxy(t *testing.T, rawURL string) (string, *faultProxy) {
	u, err := url.Parse(rawURL)
	require.NoError(t, err)
	require.NotContains(t, u.Host, ",", "one database host")
	p := newFaultProxy(t, u.Host, ksDBDelay)
	u.Host = p.addr
	return u.String(), p
}

// TestKillSuiteChild is a server process of the kill suite: the suite runs
// the test binary again with only this test selected and
// CALIMATIC_KILLSUITE_CHILD=1, so no separate build is needed. It serves
// until it is killed.
func TestKillSuiteChild(t *testing.T) {
	if os.Getenv(killSuiteChildEnv) != "1" {
		t.Skip("a server process of the kill suite (TestKillSuitePostgres, TestKillSuitePostgresVault, TestKillSuiteMongo)")
	}
	// Should the suite's process die without killing this one, go too,
	// rather than serve on forever.
	parent := os.Getppid()
	go func() {
		for range time.Tick(200 * time.Millisecond) {
			if os.Getppid() != parent {
				fmt.Fprintln(os.Stderr, "kill suite child: the test process is gone; exiting")
				os.Exit(2)
			}
		}
	}()
	var environ []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CALIMATIC_KILLSUITE_") { // not configuration: no unknown-variable warning
			environ = append(environ, kv)
		}
	}
	require.NoError(t, app.Main([]string{"serve"}, environ, os.Stdout, os.Stderr))
}

// The suite's shape. Small on purpose: a 2-core machine runs it with -race
// next to the database and two -race servers.
const (
	ksDefaultKills = 12
	// ksVaultKills is the default with Vault: token issuance and Vault's
	// outages take their share of the same time budget.
	ksVaultKills = 10
	// ksDBOutages is how many times a run cuts the database off, each time
	// for ksOutageMin to ksOutageMax; a run with Vault cuts it off once or
	// twice too. Each outage comes before a kill, so that kills and the
	// work between them follow every one.
	ksDBOutages = 2
	ksOutageMin = time.Second
	ksOutageMax = 3 * time.Second
	// ksOutageSlack bounds how long an outage may wait past its length
	// for the answers that show it, and how long after it each instance
	// may take to serve again. Either takes a request or two's time; the
	// bound only keeps a server that does neither from stalling the run.
	ksOutageSlack = 30 * time.Second
	// ksWebhookTimeout is each instance's webhooks.timeout. A delivery
	// claimed by an instance that is then killed waits out its lease,
	// webhooks.timeout plus a minute, before another instance posts it;
	// the mongo driver leases a batch of events to its dispatcher for a
	// minute too. So the drain waits that long after the last kill before
	// it calls an event lost.
	ksWebhookTimeout = 2 * time.Second
	ksLease          = ksWebhookTimeout + time.Minute
	ksDrainSlack     = 15 * time.Second
	// ksQuiet is how long the receiver must hear nothing new before a
	// drain that has every expected event ends: late duplicates get that
	// long to show.
	ksQuiet = 3 * time.Second
	// ksDBDelay is the one-way delay of the database's answers (see
	// faultProxy).
	ksDBDelay = 2 * time.Millisecond
)

// The events each client subscribes to.
var ksEvents = []string{
	"user.created", "user.updated", "user.deleted", "user.invited", "user.suspended", "user.reactivated",
	"license.assigned", "license.revoked", "organization.updated",
}

// ksOrg is organization A or B and the client granted it.
type ksOrg struct {
	key              string // A or B
	id               string
	clientID, secret string
	mu               sync.Mutex
	renames          []string // names of renames answered 200
	initialName      string
}

func (o *ksOrg) clientHeader() http.Header {
	return http.Header{"X-Client-Id": {o.clientID}, "X-Client-Secret": {o.secret}}
}

// ksUser is one user of the run, as the test intends it: every field is
// written only by the worker that made the user, until the burst ends.
type ksUser struct {
	email  string
	org    *ksOrg
	via    string // provision, bulk or scim
	invite bool   // provisioned with sendInviteEmail
	id     string
	// created: the creation got its definite answer (the user exists);
	// failed: it got an answer the test did not expect, and the user may
	// never have been made.
	created bool
	failed  string
	trail   []string // the creation's attempts, for failure messages
	answer  string   // the creation's definite answer
	// What committed changes should have said.
	given, family string
	active        bool // SCIM's active: not suspended
	licensed      bool // holds its organization client's license
	assigns       int  // committed license assignments, provisioning's included
	revokes       int
	renames       int // committed SCIM name changes
	suspends      int
	reactivates   int
	deleted       bool
	history       []string // the later operations and their attempts, for failure messages
}

// note records an operation on the user and its attempts.
func (u *ksUser) note(op string, trail []string) {
	u.history = append(u.history, op+"("+strings.Join(trail, " ")+")")
}

func (u *ksUser) String() string {
	id := u.id
	if id == "" {
		id = "(no id)"
	}
	trail := u.trail
	if len(trail) > 8 {
		trail = append([]string{"…"}, trail[len(trail)-8:]...)
	}
	s := fmt.Sprintf("%s %s [%s into %s: %s → %s", id, u.email, u.via, u.org.key, strings.Join(trail, " "), u.answer)
	if h := u.history; len(h) > 0 {
		if len(h) > 6 {
			h = append([]string{"…"}, h[len(h)-6:]...)
		}
		s += "; then " + strings.Join(h, ", ")
	}
	return s + "]"
}

// ksBurst is the shared state of one run.
type ksBurst struct {
	t         *testing.T
	c         *ksClient
	rcv       *ksReceiver
	orgs      map[string]*ksOrg
	scimToken string
	tag       string // keeps this run's emails apart from any other's
	stop      atomic.Bool

	// outages are the run's cuts of the database and Vault, in order;
	// tokens is the client that asks for tokens when Vault signs (empty
	// otherwise).
	outages []*ksOutage
	tokens  struct{ clientID, secret string }

	mu         sync.Mutex
	users      []*ksUser
	unexpected []string          // answers the model did not expect
	ops        map[string]int    // operations run, by kind
	kills      []string          // what the killer did, outages included
	killed     int               // kills made
	lastKill   time.Time         // when the last kill happened
	seq        map[string]uint64 // per-kind counters for unique names
}

// unique returns a fresh number for names of a kind.
func (b *ksBurst) unique(kind string) uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.seq[kind]++
	return b.seq[kind]
}

func (b *ksBurst) count(op string) {
	b.mu.Lock()
	b.ops[op]++
	b.mu.Unlock()
}

// unexpectedf records an answer the model did not allow. The test fails on
// it at the end (this runs on worker goroutines).
func (b *ksBurst) unexpectedf(format string, args ...any) {
	b.mu.Lock()
	b.unexpected = append(b.unexpected, fmt.Sprintf(format, args...))
	b.mu.Unlock()
}

func (b *ksBurst) newUser(org *ksOrg, via string, invite bool) *ksUser {
	n := b.unique("user")
	u := &ksUser{
		email: fmt.Sprintf("ks-%s-%d@kill.example.com", b.tag, n), org: org, via: via, invite: invite,
		given: fmt.Sprintf("Given%d", n), family: fmt.Sprintf("Family%d", n), active: true,
	}
	b.mu.Lock()
	b.users = append(b.users, u)
	b.mu.Unlock()
	return u
}

// ksRun is what a run of the suite varies.
type ksRun struct {
	backend string
	workers int
	kills   int      // unless CALIMATIC_KILLSUITE_KILLS says otherwise
	env     []string // the servers' storage and signer settings
	// db and vault are the proxies the outages cut, nil for none: the
	// database's, and Vault's when it signs (then the burst asks for
	// tokens too).
	db, vault *faultProxy
}

// runKillSuite runs the suite: run.workers send changes to servers
// configured by run.env, while the killer kills and cuts backends off.
func runKillSuite(t *testing.T, run ksRun) {
	backend, workers, kills := run.backend, run.workers, run.kills
	if s := os.Getenv(killSuiteKillsEnv); s != "" {
		n, err := strconv.Atoi(s)
		require.NoError(t, err, "%s must be a number", killSuiteKillsEnv)
		require.Positive(t, n, "%s must be at least 1", killSuiteKillsEnv)
		kills = n
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv(killSuiteSeedEnv); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		require.NoError(t, err, "%s must be a non-negative number", killSuiteSeedEnv)
		seed = n
	}
	outages := planOutages(seed, kills, run.db, run.vault)
	plan := ksPlan(outages)
	t.Logf("kill suite: backend=%s seed=%d kills=%d outages=[%s]", backend, seed, kills, plan)
	started := time.Now()
	defer func() {
		t.Logf("kill suite: backend=%s seed=%d kills=%d outages=[%s] (done in %s)", backend, seed, kills, plan,
			time.Since(started).Round(time.Millisecond))
	}()

	setupRNG := rand.New(rand.NewPCG(seed, 1000))
	secrets := map[string]string{
		"A": fmt.Sprintf("kill-suite-secret-A-%016x", setupRNG.Uint64()),
		"B": fmt.Sprintf("kill-suite-secret-B-%016x", setupRNG.Uint64()),
	}
	b := &ksBurst{
		t: t, rcv: newKSReceiver(t, secrets), tag: strconv.FormatUint(setupRNG.Uint64()%1e6, 36),
		ops: map[string]int{}, seq: map[string]uint64{}, outages: outages,
	}
	insts := startKillSuiteInstances(t, run.env)
	b.c = &ksClient{
		// No short timeout: a request that timed out here could still be
		// running there, and its retry would race it. A kill ends a request
		// at once anyway.
		http:  &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 2 * (workers + 1)}},
		insts: insts,
		bad: func(format string, args ...any) {
			b.unexpectedf("never a 500, and a 503 only as the endpoint's \"temporarily unavailable\": "+format, args...)
		},
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, in := range insts {
				t.Logf("the last lines of %s's log (%s):\n%s", in.name, in.logPath, in.logTail(40))
			}
		}
	})
	b.setup(setupRNG, secrets, run.vault != nil)

	burstStart := time.Now()
	b.runBurst(seed, workers, kills)
	burstEnd := time.Now()
	dir := b.readDirectory()

	drainStart := time.Now()
	deadline := b.lastKill.Add(ksLease + ksDrainSlack)
	if atLeast := burstEnd.Add(ksDrainSlack); deadline.Before(atLeast) {
		deadline = atLeast
	}
	// Past the deadline, the drain goes on while deliveries still come (a
	// slow backend's backlog), up to a hard limit.
	hardDeadline := deadline.Add(ksDrainSlack)
	for {
		hits, _, _, lastNew := b.rcv.snapshot()
		quiet := time.Since(lastNew)
		if len(b.evaluate(dir, hits)) == 0 && quiet >= ksQuiet ||
			time.Now().After(deadline) && quiet >= ksQuiet || time.Now().After(hardDeadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	hits, posts, rcvProblems, _ := b.rcv.snapshot()
	problems := b.evaluate(dir, hits)

	created, deleted := 0, 0
	for _, u := range b.users {
		if u.created {
			created++
		}
		if u.deleted {
			deleted++
		}
	}
	t.Logf("burst: %s, %d kills, %d outages, operations %v (a write answered in %s on average); %d users created, %d deleted",
		burstEnd.Sub(burstStart).Round(time.Millisecond), b.killed, len(b.outages), b.ops, b.c.latency.get().Round(time.Millisecond),
		created, deleted)
	t.Logf("drain: %s; %d deliveries received (%d posts, %d duplicate)", time.Since(drainStart).Round(time.Millisecond),
		len(hits), posts, posts-len(hits))
	b.checkOutages()
	if backend == "mongo" {
		undone, published := 0, 0
		for _, in := range insts {
			u, p := in.settledUnits()
			undone, published = undone+u, published+p
		}
		t.Logf("units of work a kill cut short, settled by the next unit: %d undone, %d committed and their events published",
			undone, published)
	}
	for _, k := range b.kills {
		t.Logf("  %s", k)
	}

	assert.Empty(t, b.unexpected, "every operation gets an answer its model allows")
	assert.Empty(t, rcvProblems, "every post is a signed {event,timestamp,data} with a stable X-Webhook-Delivery")
	b.report(problems)
	for _, in := range insts {
		in.mu.Lock()
		assert.Empty(t, in.crashes, "%s exits only when killed", in.name)
		in.mu.Unlock()
		assert.Zero(t, in.dataRaces(), "the race detector reported data races in %s", in.name)
	}
}

// startKillSuiteInstances starts two servers on one database with one
// issuer, both delivering webhooks; the first migrates before the second
// starts.
func startKillSuiteInstances(t *testing.T, storageEnv []string) []*ksInstance {
	ports := []int{freePort(t), freePort(t)}
	issuer := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	var base []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CALIMATIC_") { // the test's own settings stay out
			base = append(base, kv)
		}
	}
	base = append(base,
		killSuiteChildEnv+"=1",
		"CALIMATIC_ISSUER="+issuer,
		"CALIMATIC_HTTP_METRICS_ADDR=",
		"CALIMATIC_RATELIMIT_ENABLED=false",
		"CALIMATIC_DEV_SEED=true",
		"CALIMATIC_DEV_SEED_EMAIL="+seedEmail,
		"CALIMATIC_DEV_SEED_PASSWORD="+seedPassword,
		"CALIMATIC_DEV_SEED_ADMIN_KEY="+seedAdminKey,
		"CALIMATIC_WEBHOOKS_DELIVER=true",
		"CALIMATIC_WEBHOOKS_ALLOW_LOOPBACK=true",
		"CALIMATIC_WEBHOOKS_TIMEOUT="+ksWebhookTimeout.String(),
		"CALIMATIC_WEBHOOKS_POLL_EVERY=200ms",
		"CALIMATIC_WEBHOOKS_FIRST_RETRY=200ms",
		"CALIMATIC_WEBHOOKS_MAX_RETRY_DELAY=1s",
		"CALIMATIC_WEBHOOKS_RETRY_FOR=1h",
		// Never disable a subscription: a failed attempt is retried, and
		// the suite counts on every event arriving.
		"CALIMATIC_WEBHOOKS_DISABLE_AFTER=0",
		"CALIMATIC_LOG_LEVEL=info",
	)
	base = append(base, storageEnv...)
	dir := t.TempDir()
	var insts []*ksInstance
	for i, port := range ports {
		in := &ksInstance{
			name:    fmt.Sprintf("i%d", i),
			url:     fmt.Sprintf("http://127.0.0.1:%d", port),
			env:     append(slices.Clone(base), fmt.Sprintf("CALIMATIC_HTTP_ADDR=127.0.0.1:%d", port)),
			logPath: filepath.Join(dir, fmt.Sprintf("i%d.log", i)),
		}
		t.Cleanup(in.kill)
		require.NoError(t, in.start(), "instance %s starts; its log:\n%s", in.name, in.logTail(40))
		insts = append(insts, in)
	}
	return insts
}

func adminHeader() http.Header { return http.Header{"Authorization": {"Bearer " + seedAdminKey}} }

// setup makes, before any kill: organizations A and B, a client granted
// each, a subscription per client to every event the suite checks, and a
// SCIM token for A; and with tokens, a confidential client that may use
// the client_credentials grant.
func (b *ksBurst) setup(rng *rand.Rand, secrets map[string]string, tokens bool) {
	t := b.t
	b.orgs = map[string]*ksOrg{}
	for _, key := range []string{"A", "B"} {
		o := &ksOrg{key: key, initialName: fmt.Sprintf("Kill Suite %s %s", key, b.tag)}
		r := b.c.must(t, rng, ksReq{method: http.MethodPost, path: "/api/v1/admin/organizations", header: adminHeader(),
			body: map[string]any{"name": o.initialName}}, http.StatusCreated)
		var org struct{ ID string }
		require.NoError(t, r.decode(&org))
		o.id = org.ID

		r = b.c.must(t, rng, ksReq{method: http.MethodPost, path: "/api/v1/oidc/register", body: map[string]any{
			"client_name":   "Kill Suite " + key,
			"redirect_uris": []string{"http://127.0.0.1:5173/cb"},
			"grant_types":   []string{"authorization_code", "refresh_token"},
			"scope":         "openid profile email",
		}}, http.StatusCreated)
		var cl struct {
			ID     string `json:"client_id"`
			Secret string `json:"client_secret"`
		}
		require.NoError(t, r.decode(&cl))
		o.clientID, o.secret = cl.ID, cl.Secret

		b.c.must(t, rng, ksReq{method: http.MethodPut, path: "/api/v1/admin/clients/" + o.clientID + "/grants/" + o.id, header: adminHeader(),
			body: map[string]any{"actions": []string{"provision", "read", "update", "suspend", "deactivate", "delete", "reset_password"}}},
			http.StatusOK)
		b.c.must(t, rng, ksReq{method: http.MethodPost, path: "/api/v1/admin/webhooks", header: o.clientHeader(), body: map[string]any{
			"url": b.rcv.url + "/hook/" + key, "events": ksEvents, "secret": secrets[key], "description": "kill suite " + key,
		}}, http.StatusCreated)
		b.orgs[key] = o
	}
	r := b.c.must(t, rng, ksReq{method: http.MethodPost, path: "/api/v1/admin/organizations/" + b.orgs["A"].id + "/scim-tokens",
		header: adminHeader(), body: map[string]any{"name": "kill suite"}}, http.StatusCreated)
	var tok struct{ Token string }
	require.NoError(t, r.decode(&tok))
	require.NotEmpty(t, tok.Token)
	b.scimToken = tok.Token

	if tokens {
		r := b.c.must(t, rng, ksReq{method: http.MethodPost, path: "/api/v1/oidc/register", body: map[string]any{
			"client_name": "Kill Suite machine", "grant_types": []string{"client_credentials"}, "scope": "profile",
		}}, http.StatusCreated)
		var cl struct {
			ID     string `json:"client_id"`
			Secret string `json:"client_secret"`
		}
		require.NoError(t, r.decode(&cl))
		require.NotEmpty(t, cl.Secret, "a confidential client")
		b.tokens.clientID, b.tokens.secret = cl.ID, cl.Secret
	}
}

// runBurst runs the workers, and the token worker when there is a client
// for it, until the killer has made its kills and the outages planned
// before them.
func (b *ksBurst) runBurst(seed uint64, workers, kills int) {
	var wg sync.WaitGroup
	for i := range workers {
		w := &ksWorker{b: b, rng: rand.New(rand.NewPCG(seed, uint64(i+1))), route: rand.New(rand.NewPCG(seed, uint64(i+101)))}
		wg.Go(w.run)
	}
	if b.tokens.clientID != "" {
		w := &ksTokenWorker{b: b, rng: rand.New(rand.NewPCG(seed, 200))}
		wg.Go(w.run)
	}
	killer := rand.New(rand.NewPCG(seed, 0))
	start := time.Now()
	for k := 1; k <= kills; k++ {
		for _, o := range b.outages {
			if o.before == k {
				b.cutOff(o, start)
			}
		}
		time.Sleep(time.Duration(150+killer.IntN(751)) * time.Millisecond)
		for _, in := range b.c.insts {
			if !in.up.Load() { // it exited by itself (reported at the end): serve again
				if err := in.start(); err != nil {
					b.unexpectedf("%s exited by itself and did not start again: %v", in.name, err)
				}
			}
		}
		in := b.c.insts[killer.IntN(len(b.c.insts))]
		// Strike a random way into a change the instance is handling: a
		// kill between requests interrupts nothing, and the moments that
		// matter (after a commit, before its answer) come late in a
		// request, so a uniform age over a typical answer time reaches
		// them.
		age := time.Duration(killer.Float64() * 1.5 * float64(max(b.c.latency.get(), 5*time.Millisecond)))
		for wait := time.Now().Add(time.Second); time.Now().Before(wait); time.Sleep(200 * time.Microsecond) {
			if d, ok := in.oldestWrite(); ok && d >= age {
				break
			}
		}
		at, interrupted := time.Now(), in.inFlight()
		in.kill()
		b.mu.Lock()
		b.lastKill = at
		b.killed++
		b.mu.Unlock()
		err := in.start()
		b.mu.Lock()
		b.kills = append(b.kills, fmt.Sprintf("kill %d: %s at %s (+%s) during %v; serving again %s later", k, in.name,
			at.Format("15:04:05.000"), at.Sub(start).Round(time.Millisecond), interrupted, time.Since(at).Round(time.Millisecond)))
		b.mu.Unlock()
		if err != nil {
			b.unexpectedf("kill %d: %s did not start again: %v", k, in.name, err)
			break
		}
	}
	b.stop.Store(true)
	wg.Wait()
}

// ksWorker sends a random mix of changes, each retried to a definite
// answer. It changes only users it made, one request at a time, so the
// model of each user is exact.
type ksWorker struct {
	b *ksBurst
	// rng draws the changes; route, the instances they go to, which
	// depends on which are up: apart, the changes a seed makes do not
	// depend on the timing.
	rng, route *rand.Rand
	mine       []*ksUser // made here and not deleted
}

func (w *ksWorker) run() {
	for !w.b.stop.Load() {
		w.step()
		// A pause between changes keeps the event volume, and the drain,
		// within the time budget.
		time.Sleep(time.Duration(10+w.rng.IntN(40)) * time.Millisecond)
	}
}

func (w *ksWorker) step() {
	b := w.b
	org := b.orgs[[]string{"A", "B"}[w.rng.IntN(2)]]
	a := w.pick(func(u *ksUser) bool { return u.org.key == "A" })
	anyone := w.pick(func(*ksUser) bool { return true })
	x := w.rng.IntN(100)
	switch {
	case x < 25:
		w.provision(org, w.rng.IntN(10) < 3)
	case x < 32:
		w.bulk(org)
	case x < 50:
		w.scimCreate()
	case x < 78 && a == nil, x >= 82 && anyone == nil:
		// Nobody to change yet: make someone.
		w.provision(org, false)
	case x < 62:
		w.scimRename(a)
	case x < 72:
		w.scimActive(a)
	case x < 78:
		w.scimDelete(a)
	case x < 82:
		w.renameOrg(org)
	default:
		w.toggleLicense(anyone)
	}
}

// pick returns a random user of this worker's that match, or nil.
func (w *ksWorker) pick(match func(*ksUser) bool) *ksUser {
	var us []*ksUser
	for _, u := range w.mine {
		if match(u) {
			us = append(us, u)
		}
	}
	if len(us) == 0 {
		return nil
	}
	return us[w.rng.IntN(len(us))]
}

func (w *ksWorker) drop(u *ksUser) {
	w.mine = slices.DeleteFunc(w.mine, func(x *ksUser) bool { return x == u })
}

// send retries a request to a definite answer; an error is recorded as
// unexpected.
func (w *ksWorker) send(r ksReq) (ksResp, bool, []string, bool) {
	resp, retried, trail, err := w.b.c.send(w.route, r)
	if err != nil {
		w.b.unexpectedf("%v", err)
		return resp, retried, trail, false
	}
	return resp, retried, trail, true
}

// isRetryConflict: a row the store could not write this time ("conflict,
// retry"); nothing was written.
func isRetryConflict(r ksResp) bool {
	var e struct{ Error string }
	return r.status == http.StatusConflict && r.decode(&e) == nil && e.Error == "conflict"
}

func provisionRow(u *ksUser) map[string]any {
	return map[string]any{
		"email": u.email, "firstName": u.given, "lastName": u.family, "organizationId": u.org.id,
		"role": "member", "sendInviteEmail": u.invite,
	}
}

// provision is POST /api/v1/users/provision for a new email: 201, or 200
// (existing) when an earlier attempt got no answer.
func (w *ksWorker) provision(org *ksOrg, invite bool) {
	b := w.b
	b.count("provision")
	u := b.newUser(org, "provision", invite)
	req := ksReq{method: http.MethodPost, path: "/api/v1/users/provision", header: org.clientHeader(), body: provisionRow(u)}
	var resp ksResp
	retried := false
	for {
		r, again, trail, ok := w.send(req)
		u.trail = append(u.trail, trail...)
		retried = retried || again
		if !ok {
			u.failed = "no definite answer"
			return
		}
		if resp = r; !isRetryConflict(r) {
			break
		}
	}
	var out struct {
		UserID    string
		IsNewUser bool
	}
	switch {
	case resp.status == http.StatusCreated || resp.status == http.StatusOK && retried:
		if err := resp.decode(&out); err != nil || out.UserID == "" {
			b.unexpectedf("provision %s: answer without a userId: %s", u.email, resp)
			u.failed = "no user id"
			return
		}
	default:
		b.unexpectedf("provision %s: %s (attempts %v)", u.email, resp, u.trail)
		u.failed = resp.String()
		return
	}
	u.id, u.created, u.answer = out.UserID, true, fmt.Sprintf("%d isNewUser=%v", resp.status, out.IsNewUser)
	u.licensed, u.assigns = true, 1
	w.mine = append(w.mine, u)
}

// bulk provisions 5 to 20 new emails in one request. Only the rows that
// got no definite result are sent again: a row that was answered is never
// sent twice, so a second user.created can only come from the retry of a
// request that got no answer.
func (w *ksWorker) bulk(org *ksOrg) {
	b := w.b
	b.count("bulk")
	rows := make([]*ksUser, 5+w.rng.IntN(16))
	for i := range rows {
		rows[i] = b.newUser(org, "bulk", w.rng.IntN(10) < 3)
	}
	pending := slices.Clone(rows)
	maybeApplied := map[*ksUser]bool{}
	for round := 0; len(pending) > 0; round++ {
		if round == 20 {
			for _, u := range pending {
				u.failed = "still unanswered after 20 rounds"
				b.unexpectedf("bulk row %s: no definite result after 20 requests (attempts %v)", u.email, u.trail)
			}
			return
		}
		body := make([]map[string]any, len(pending))
		for i, u := range pending {
			body[i] = provisionRow(u)
		}
		resp, retried, trail, ok := w.send(ksReq{method: http.MethodPost, path: "/api/v1/users/provision/bulk",
			header: org.clientHeader(), body: map[string]any{"users": body}})
		for _, u := range pending {
			u.trail = append(u.trail, trail...)
			maybeApplied[u] = maybeApplied[u] || retried
		}
		if !ok {
			for _, u := range pending {
				u.failed = "no definite answer"
			}
			return
		}
		var out struct {
			Results []struct {
				Index  int
				Status string
				Error  string
				User   *struct {
					UserID    string
					IsNewUser bool
				}
			}
		}
		if resp.status != http.StatusOK || resp.decode(&out) != nil || len(out.Results) != len(pending) {
			b.unexpectedf("bulk of %d rows: %s (attempts %v)", len(pending), resp, trail)
			for _, u := range pending {
				u.failed = resp.String()
			}
			return
		}
		var next []*ksUser
		for i, res := range out.Results {
			if res.Index != i {
				b.unexpectedf("bulk of %d rows: result %d has index %d", len(pending), i, res.Index)
			}
			u := pending[i]
			switch {
			case res.Status == "error" && res.Error == "conflict":
				next = append(next, u)
			case (res.Status == "created" || res.Status == "existing" && maybeApplied[u]) && res.User != nil && res.User.UserID != "":
				u.id, u.created, u.answer = res.User.UserID, true, res.Status
				u.licensed, u.assigns = true, 1
				w.mine = append(w.mine, u)
			default:
				b.unexpectedf("bulk row %s: %+v (attempts %v)", u.email, res, u.trail)
				u.failed = res.Status + " " + res.Error
			}
		}
		pending = next
	}
}

func (b *ksBurst) scimHeader() http.Header {
	return http.Header{"Authorization": {"Bearer " + b.scimToken}, "Accept": {"application/scim+json"}}
}

const (
	scimUserSchema  = "urn:ietf:params:scim:schemas:core:2.0:User"
	scimPatchSchema = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
)

// scimCreate is POST /scim/v2/Users into A: 201, or 409 when an earlier
// attempt got no answer (then the user is found by userName).
func (w *ksWorker) scimCreate() {
	b := w.b
	b.count("scim create")
	u := b.newUser(b.orgs["A"], "scim", false)
	resp, retried, trail, ok := w.send(ksReq{method: http.MethodPost, path: "/scim/v2/Users", header: b.scimHeader(),
		contentType: "application/scim+json", body: map[string]any{
			"schemas": []string{scimUserSchema}, "userName": u.email, "active": true,
			"name":   map[string]any{"givenName": u.given, "familyName": u.family},
			"emails": []map[string]any{{"value": u.email, "primary": true, "type": "work"}},
		}})
	u.trail = trail
	if !ok {
		u.failed = "no definite answer"
		return
	}
	var out struct{ ID string }
	switch {
	case resp.status == http.StatusCreated && resp.decode(&out) == nil && out.ID != "":
	case resp.status == http.StatusConflict && retried:
		// The lost attempt made the user: find them, as a provider would,
		// by userName.
		id, found := w.scimFind(`userName eq "` + u.email + `"`)
		if !found {
			// Look by email, so the events can still be checked; a user a
			// provider cannot find by the userName it sent is a defect.
			if id, found = w.scimFind(`emails.value eq "` + u.email + `"`); found {
				b.unexpectedf("scim create %s: 409 after a lost attempt, and the user it made (%s) has not that userName", u.email, id)
			} else {
				b.unexpectedf("scim create %s: 409 after a lost attempt, and no user has that userName or email", u.email)
				u.failed = "409 and not found"
				return
			}
		}
		out.ID = id
	default:
		b.unexpectedf("scim create %s: %s (attempts %v)", u.email, resp, trail)
		u.failed = resp.String()
		return
	}
	u.id, u.created, u.answer = out.ID, true, strconv.Itoa(resp.status)
	w.mine = append(w.mine, u)
}

// scimFind returns the id of the one user of A a SCIM filter matches.
func (w *ksWorker) scimFind(filter string) (string, bool) {
	r, _, _, ok := w.send(ksReq{method: http.MethodGet, header: w.b.scimHeader(), path: "/scim/v2/Users?filter=" + url.QueryEscape(filter)})
	var list struct{ Resources []struct{ ID string } }
	if !ok || r.status != http.StatusOK || r.decode(&list) != nil || len(list.Resources) != 1 {
		return "", false
	}
	return list.Resources[0].ID, true
}

// scimPatch sends a PATCH that changes something: a repeat of one that was
// applied changes nothing, emits nothing and answers 200 as well.
func (w *ksWorker) scimPatch(u *ksUser, op string, ops ...map[string]any) bool {
	b := w.b
	resp, _, trail, ok := w.send(ksReq{method: http.MethodPatch, path: "/scim/v2/Users/" + u.id, header: b.scimHeader(),
		contentType: "application/scim+json", body: map[string]any{"schemas": []string{scimPatchSchema}, "Operations": ops}})
	u.note(op, trail)
	if !ok {
		return false
	}
	if resp.status != http.StatusOK {
		b.unexpectedf("scim patch %s: %s (attempts %v)", u, resp, trail)
		return false
	}
	return true
}

func (w *ksWorker) scimRename(u *ksUser) {
	w.b.count("scim rename")
	n := w.b.unique("name")
	given, family := fmt.Sprintf("Renamed%d", n), fmt.Sprintf("Surname%d", n)
	if w.scimPatch(u, "rename",
		map[string]any{"op": "replace", "path": "name.givenName", "value": given},
		map[string]any{"op": "replace", "path": "name.familyName", "value": family}) {
		u.given, u.family = given, family
		u.renames++
	}
}

func (w *ksWorker) scimActive(u *ksUser) {
	w.b.count("scim active")
	if w.scimPatch(u, map[bool]string{true: "reactivate", false: "suspend"}[!u.active],
		map[string]any{"op": "replace", "path": "active", "value": !u.active}) {
		u.active = !u.active
		if u.active {
			u.reactivates++
		} else {
			u.suspends++
		}
	}
}

// scimDelete is DELETE /scim/v2/Users/{id}: 204, or 404 when an earlier
// attempt got no answer.
func (w *ksWorker) scimDelete(u *ksUser) {
	b := w.b
	b.count("scim delete")
	resp, retried, trail, ok := w.send(ksReq{method: http.MethodDelete, path: "/scim/v2/Users/" + u.id, header: b.scimHeader()})
	u.note("delete", trail)
	if !ok {
		return
	}
	if resp.status != http.StatusNoContent && (resp.status != http.StatusNotFound || !retried) {
		b.unexpectedf("scim delete %s: %s (attempts %v)", u, resp, trail)
		return
	}
	u.deleted = true
	w.drop(u)
}

// renameOrg is the admin API's PATCH of an organization's name.
func (w *ksWorker) renameOrg(o *ksOrg) {
	b := w.b
	b.count("org rename")
	name := fmt.Sprintf("Kill Suite %s %s r%d", o.key, b.tag, b.unique("org"))
	resp, _, trail, ok := w.send(ksReq{method: http.MethodPatch, path: "/api/v1/admin/organizations/" + o.id, header: adminHeader(),
		body: map[string]any{"name": name}})
	if !ok {
		return
	}
	if resp.status != http.StatusOK {
		b.unexpectedf("rename organization %s: %s (attempts %v)", o.key, resp, trail)
		return
	}
	o.mu.Lock()
	o.renames = append(o.renames, name)
	o.mu.Unlock()
}

// toggleLicense revokes the organization client's license from the user
// when they hold it, and assigns it when not, through the admin API. A
// repeat of an applied assignment answers 200 assigned false; of an
// applied revocation, 404.
func (w *ksWorker) toggleLicense(u *ksUser) {
	b := w.b
	b.count("license")
	path := "/api/v1/admin/clients/" + u.org.clientID + "/licenses/" + u.id
	if u.licensed {
		resp, retried, trail, ok := w.send(ksReq{method: http.MethodDelete, path: path, header: adminHeader()})
		u.note("revoke", trail)
		if !ok {
			return
		}
		if resp.status != http.StatusNoContent && (resp.status != http.StatusNotFound || !retried) {
			b.unexpectedf("revoke license of %s: %s (attempts %v)", u, resp, trail)
			return
		}
		u.licensed = false
		u.revokes++
		return
	}
	resp, retried, trail, ok := w.send(ksReq{method: http.MethodPut, path: path, header: adminHeader()})
	u.note("assign", trail)
	if !ok {
		return
	}
	var out struct{ Assigned bool }
	if resp.decode(&out) != nil || !(resp.status == http.StatusCreated || resp.status == http.StatusOK && !out.Assigned && retried) {
		b.unexpectedf("assign license to %s: %s (attempts %v)", u, resp, trail)
		return
	}
	u.licensed = true
	u.assigns++
}

// ksMember is a user as the final directory shows them.
type ksMember struct {
	id, email, given, family, org string
	licenses                      []string // client ids
}

// ksDirectory is the final state, read through the admin API once the
// burst is over.
type ksDirectory struct {
	members  map[string]ksMember // by user id
	orgNames map[string]string   // by A or B
}

func (b *ksBurst) readDirectory() ksDirectory {
	t := b.t
	rng := rand.New(rand.NewPCG(0, 0))
	d := ksDirectory{members: map[string]ksMember{}, orgNames: map[string]string{}}
	for key, o := range b.orgs {
		r := b.c.must(t, rng, ksReq{method: http.MethodGet, path: "/api/v1/admin/organizations/" + o.id, header: adminHeader()}, http.StatusOK)
		var org struct{ Name string }
		require.NoError(t, r.decode(&org))
		d.orgNames[key] = org.Name
		cursor := ""
		for {
			path := "/api/v1/admin/organizations/" + o.id + "/users?limit=200"
			if cursor != "" {
				path += "&cursor=" + url.QueryEscape(cursor)
			}
			r := b.c.must(t, rng, ksReq{method: http.MethodGet, path: path, header: adminHeader()}, http.StatusOK)
			var page struct {
				Users []struct {
					UserID, Email, FirstName, LastName string
				}
				NextCursor string
			}
			require.NoError(t, r.decode(&page))
			for _, u := range page.Users {
				d.members[u.UserID] = ksMember{id: u.UserID, email: u.Email, given: u.FirstName, family: u.LastName, org: key}
			}
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
	}
	for id, m := range d.members {
		r := b.c.must(t, rng, ksReq{method: http.MethodGet, path: "/api/v1/admin/users/" + id + "/licenses", header: adminHeader()}, http.StatusOK)
		var ls struct{ Licenses []struct{ ClientID string } }
		require.NoError(t, r.decode(&ls))
		for _, l := range ls.Licenses {
			m.licenses = append(m.licenses, l.ClientID)
		}
		d.members[id] = m
	}
	return d
}

// ksProblem is one failed expectation of a check.
type ksProblem struct {
	check int
	msg   string
}

// ksChecks names the checks, by number.
var ksChecks = map[int]string{
	1: "the final directory holds exactly the users whose creation committed, less the deleted ones",
	2: "every user created has exactly one user.created, with isNewUser true, delivered to its organization's subscription",
	3: "every user deleted has exactly one user.deleted",
	4: "every committed license assignment and revocation has exactly one license.assigned or license.revoked",
	5: "every committed SCIM name change has exactly one user.updated, and each user's final name is in one of their events",
	6: "every organization rename answered 200, and so the final name, is in an organization.updated",
	7: "no delivery to a client's subscription concerns another organization, its users or its client's licenses",
	8: "every invitation row that created a user has exactly one user.invited",
	9: "every committed suspension and reactivation has exactly one user.suspended or user.reactivated",
}

// evaluate checks the deliveries against the model and the final
// directory. It runs while draining, until nothing is missing.
func (b *ksBurst) evaluate(d ksDirectory, hits []ksHit) []ksProblem {
	var out []ksProblem
	add := func(check int, format string, args ...any) {
		out = append(out, ksProblem{check: check, msg: fmt.Sprintf(format, args...)})
	}
	byUser := map[string][]ksHit{}
	byEmail := map[string][]ksHit{}
	for _, h := range hits {
		if id := h.str("userId"); id != "" {
			byUser[id] = append(byUser[id], h)
		}
		if e := h.str("email"); e != "" {
			byEmail[e] = append(byEmail[e], h)
		}
	}
	// of returns the deliveries of one event about u to u's organization's
	// subscription.
	of := func(u *ksUser, event string) []ksHit {
		var hs []ksHit
		for _, h := range byUser[u.id] {
			if h.event == event && h.sub == u.org.key {
				hs = append(hs, h)
			}
		}
		return hs
	}
	describe := func(hs []ksHit) string {
		var s []string
		for _, h := range hs {
			s = append(s, fmt.Sprintf("%s isNewUser=%v", h.delivery, h.data["isNewUser"]))
		}
		return "[" + strings.Join(s, ", ") + "]"
	}

	userOrg := map[string]string{}  // user id -> A or B
	emailOrg := map[string]string{} // email -> A or B
	inModel := map[string]*ksUser{} // by id
	for _, u := range b.users {
		emailOrg[u.email] = u.org.key
		if u.id != "" {
			userOrg[u.id] = u.org.key
			inModel[u.id] = u
		}
	}

	// 1. The final directory.
	for _, u := range b.users {
		m, listed := d.members[u.id]
		switch {
		case u.created && !u.deleted && !listed:
			add(1, "%s is not in the directory", u)
		case u.created && !u.deleted && m.org != u.org.key:
			add(1, "%s is listed in %s", u, m.org)
		case u.deleted && listed:
			add(1, "%s was deleted (answered) and is still listed", u)
		}
	}
	for id, m := range d.members {
		if inModel[id] == nil {
			add(1, "%s (%s) is in %s but no creation of this run made them", id, m.email, m.org)
		}
	}

	for _, u := range b.users {
		if !u.created {
			// A creation that got no answer the model allows: if it never
			// committed (the email is not listed), nothing may be said of it.
			if _, listed := findMember(d, u.email); !listed && len(byEmail[u.email]) > 0 {
				add(2, "%s was never created, yet %d event(s) name that email", u, len(byEmail[u.email]))
			}
			continue
		}
		// 2. user.created.
		created := of(u, "user.created")
		if len(created) != 1 || created[0].data["isNewUser"] != true || created[0].str("organizationId") != u.org.id {
			add(2, "%s: %d user.created %s", u, len(created), describe(created))
		}
		// 3. user.deleted.
		if deleted := of(u, "user.deleted"); u.deleted && len(deleted) != 1 || !u.deleted && len(deleted) != 0 {
			add(3, "%s (deleted=%v): %d user.deleted", u, u.deleted, len(deleted))
		}
		// 4. Licenses: the count per committed operation is exact, as
		// each user's operations run one at a time; and the final
		// holding must be the model's.
		assigned, revoked := of(u, "license.assigned"), of(u, "license.revoked")
		if len(assigned) != u.assigns || len(revoked) != u.revokes {
			add(4, "%s: %d license.assigned and %d license.revoked delivered for %d committed assignment(s) and %d revocation(s)",
				u, len(assigned), len(revoked), u.assigns, u.revokes)
		}
		if m, listed := d.members[u.id]; listed && slices.Contains(m.licenses, u.org.clientID) != u.licensed {
			add(4, "%s: holds the license of client %s: %v; the committed operations say %v", u, u.org.key, !u.licensed, u.licensed)
		}
		// 5. Names.
		updated := of(u, "user.updated")
		if len(updated) != u.renames {
			add(5, "%s: %d user.updated for %d committed SCIM name change(s)", u, len(updated), u.renames)
		}
		if m, listed := d.members[u.id]; listed {
			if m.given != u.given || m.family != u.family {
				add(5, "%s: the directory says %s %s, the last committed change %s %s", u, m.given, m.family, u.given, u.family)
			}
			if !slices.ContainsFunc(append(created, updated...), func(h ksHit) bool {
				return h.str("firstName") == m.given && h.str("lastName") == m.family
			}) {
				add(5, "%s: the final name %s %s is in none of %d user.created/user.updated", u, m.given, m.family, len(created)+len(updated))
			}
		}
		// 8. Invitations.
		if invited := of(u, "user.invited"); u.invite && len(invited) != 1 || !u.invite && len(invited) != 0 {
			add(8, "%s (sendInviteEmail=%v): %d user.invited", u, u.invite, len(invited))
		}
		// 9. Suspensions.
		if s, r := of(u, "user.suspended"), of(u, "user.reactivated"); len(s) != u.suspends || len(r) != u.reactivates {
			add(9, "%s: %d user.suspended and %d user.reactivated for %d committed suspension(s) and %d reactivation(s)",
				u, len(s), len(r), u.suspends, u.reactivates)
		}
	}

	// 6. Organizations.
	for key, o := range b.orgs {
		var names []string
		for _, h := range hits {
			if h.event == "organization.updated" && h.sub == key && h.str("organizationId") == o.id {
				names = append(names, h.str("name"))
			}
		}
		for _, n := range o.renames {
			if !slices.Contains(names, n) {
				add(6, "organization %s: the rename to %q was answered 200 and is in no organization.updated", key, n)
			}
		}
		if final := d.orgNames[key]; len(o.renames) > 0 && !slices.Contains(names, final) {
			add(6, "organization %s: its final name %q is in no organization.updated", key, final)
		}
		if final := d.orgNames[key]; final != o.initialName && !slices.Contains(o.renames, final) {
			add(6, "organization %s: its final name %q is no name it was given", key, final)
		}
	}

	// 7. Entitlement.
	for _, h := range hits {
		other := map[string]string{"A": "B", "B": "A"}[h.sub]
		if other == "" {
			continue // the receiver reported it
		}
		theirs := b.orgs[other]
		what := fmt.Sprintf("delivery %s of %s to %s's subscription", h.delivery, h.event, h.sub)
		uid, email := h.str("userId"), h.str("email")
		switch {
		case uid != "" && userOrg[uid] == other, email != "" && emailOrg[email] == other:
			add(7, "%s concerns %s %s, a user of %s", what, uid, email, other)
		case uid != "" && userOrg[uid] == "" && emailOrg[email] == "":
			add(7, "%s concerns %s %s, a user this run did not make", what, uid, email)
		case h.str("organizationId") == theirs.id:
			add(7, "%s names organization %s", what, other)
		case h.str("clientId") == theirs.clientID:
			add(7, "%s is about client %s's license", what, other)
		}
	}
	return out
}

func findMember(d ksDirectory, email string) (ksMember, bool) {
	for _, m := range d.members {
		if m.email == email {
			return m, true
		}
	}
	return ksMember{}, false
}

// report fails the test once per failed check, with at most ten examples.
func (b *ksBurst) report(problems []ksProblem) {
	byCheck := map[int][]string{}
	for _, p := range problems {
		byCheck[p.check] = append(byCheck[p.check], p.msg)
	}
	checks := make([]int, 0, len(ksChecks))
	for n := range ksChecks {
		checks = append(checks, n)
	}
	sort.Ints(checks)
	for _, n := range checks {
		msgs := byCheck[n]
		if len(msgs) == 0 {
			b.t.Logf("check %d passed: %s", n, ksChecks[n])
			continue
		}
		shown := strings.Join(msgs[:min(len(msgs), 10)], "\n")
		if len(msgs) > 10 {
			shown += fmt.Sprintf("\n… and %d more", len(msgs)-10)
		}
		assert.Fail(b.t, fmt.Sprintf("check %d failed %d time(s): %s", n, len(msgs), ksChecks[n]), shown)
	}
}
