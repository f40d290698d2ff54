package app_test

// The parts of the kill suite (killsuite_test.go): server processes that
// are SIGKILLed and restarted, the webhook receiver, and an HTTP client
// that retries a request until it gets a definite answer.

import (
	"bufio"
	"bytes"
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The variables of the kill suite. The child variable makes the test
// binary a server (TestKillSuiteChild); the others tune a run.
const (
	killSuiteChildEnv = "CALIMATIC_KILLSUITE_CHILD"
	killSuiteKillsEnv = "CALIMATIC_KILLSUITE_KILLS"
	killSuiteSeedEnv  = "CALIMATIC_KILLSUITE_SEED"
)

// ksInstance is one server: the test binary run again as
// TestKillSuiteChild, on a fixed port, so that it can be killed and
// started again at the same address.
type ksInstance struct {
	name    string // i0, i1
	url     string // where it listens
	env     []string
	logPath string // stdout and stderr of every start, appended

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has exited
	starts int
	up     atomic.Bool // ready, and not being killed
	// writes are the requests that change something in flight here, by
	// when they were sent.
	writes map[*ksReq]time.Time
	// crashes are the exits that no kill caused, as "start N: state".
	crashes []string
	// answered and issued are when the latest request answered below 500
	// here, and the latest token issued here, were sent (UnixNano): the
	// outages' recovery shows in them.
	answered, issued atomic.Int64
}

// answeredSince and issuedSince report whether a request sent after at
// was answered below 500 here, or got a token here.
func (in *ksInstance) answeredSince(at time.Time) bool { return in.answered.Load() > at.UnixNano() }
func (in *ksInstance) issuedSince(at time.Time) bool   { return in.issued.Load() > at.UnixNano() }

// storeLater keeps the later of a's time and at, as UnixNano.
func storeLater(a *atomic.Int64, at time.Time) {
	for n := at.UnixNano(); ; {
		old := a.Load()
		if old >= n || a.CompareAndSwap(old, n) {
			return
		}
	}
}

// startTimeout bounds one start, from exec to a discovery answer; -race
// and a busy machine make it seconds.
const startTimeout = 60 * time.Second

// start starts the server and waits until it answers discovery. A start
// that fails (the port still held, say) is tried again, three times in all.
func (in *ksInstance) start() error {
	var err error
	for range 3 {
		if err = in.startOnce(); err == nil {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return err
}

func (in *ksInstance) startOnce() error {
	logFile, err := os.OpenFile(in.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	in.mu.Lock()
	in.starts++
	n := in.starts
	in.mu.Unlock()
	fmt.Fprintf(logFile, "\n=== kill suite: start %d of %s at %s ===\n", n, in.name, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillSuiteChild$", "-test.count=1")
	cmd.Env = in.env
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return err
	}
	exited := make(chan struct{})
	in.mu.Lock()
	in.cmd, in.exited = cmd, exited
	in.mu.Unlock()
	go func() {
		_ = cmd.Wait()
		_ = logFile.Close()
		in.mu.Lock()
		// kill clears cmd first: this exit is the server's own. One while
		// starting is start's to report.
		if in.cmd == cmd {
			in.cmd = nil
			if in.up.Swap(false) {
				in.crashes = append(in.crashes, fmt.Sprintf("start %d: %s", n, cmd.ProcessState))
			}
		}
		in.mu.Unlock()
		close(exited)
	}()

	probe := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case <-exited:
			return fmt.Errorf("%s exited while starting (%s)", in.name, cmd.ProcessState)
		default:
		}
		if resp, err := probe.Get(in.url + "/.well-known/openid-configuration"); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				in.up.Store(true)
				return nil
			}
		}
		if time.Now().After(deadline) {
			in.kill()
			return fmt.Errorf("%s did not answer discovery within %s", in.name, startTimeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// track and untrack keep the writes in flight, for the killer.
func (in *ksInstance) track(r *ksReq, sent time.Time) {
	if r.method == http.MethodGet {
		return
	}
	in.mu.Lock()
	if in.writes == nil {
		in.writes = map[*ksReq]time.Time{}
	}
	in.writes[r] = sent
	in.mu.Unlock()
}

func (in *ksInstance) untrack(r *ksReq) {
	in.mu.Lock()
	delete(in.writes, r)
	in.mu.Unlock()
}

// oldestWrite is how long the oldest write in flight here has run; false
// when none is.
func (in *ksInstance) oldestWrite() (time.Duration, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	var oldest time.Time
	for _, at := range in.writes {
		if oldest.IsZero() || at.Before(oldest) {
			oldest = at
		}
	}
	return time.Since(oldest), !oldest.IsZero()
}

// inFlight describes the writes in flight here, for the kill log: "PATCH
// /scim/v2/Users 12ms".
func (in *ksInstance) inFlight() []string {
	in.mu.Lock()
	defer in.mu.Unlock()
	var out []string
	for r, at := range in.writes {
		out = append(out, fmt.Sprintf("%s %s", r.endpoint(), time.Since(at).Round(time.Millisecond)))
	}
	slices.Sort(out)
	return out
}

// ksLatency is a moving average of how long writes take to answer.
type ksLatency struct {
	mu  sync.Mutex
	avg time.Duration
}

func (l *ksLatency) observe(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.avg == 0 {
		l.avg = d
	}
	l.avg += (d - l.avg) / 16
}

func (l *ksLatency) get() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.avg
}

// kill sends SIGKILL and waits for the process to be gone. Nothing of the
// server runs after it: no shutdown hook, no deferred write.
func (in *ksInstance) kill() {
	in.up.Store(false)
	in.mu.Lock()
	cmd, exited := in.cmd, in.exited
	in.cmd = nil
	in.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-exited
}

// logTail is the last n lines of the instance's log, without the bodies
// of the mails the log mailer writes there (invitations) and the seed's
// banner.
func (in *ksInstance) logTail(n int) string {
	f, err := os.Open(in.logPath)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	var lines []string
	inMail, inBanner := false, false
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		// The seed's banner, printed at every start, is indented to its
		// end.
		inBanner = inBanner && strings.HasPrefix(line, " ") || strings.TrimSpace(line) == "Calimatic Auth development seed"
		switch {
		case strings.HasPrefix(line, "── mail to "):
			inMail = true
			continue
		case strings.HasPrefix(line, "── end of mail"):
			inMail = false
			continue
		case inMail || inBanner:
			continue
		}
		lines = append(lines, line)
		if len(lines) > 4*n {
			lines = lines[len(lines)-n:]
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// dataRaces counts the race detector's reports in the instance's log.
func (in *ksInstance) dataRaces() int {
	b, err := os.ReadFile(in.logPath)
	if err != nil {
		return 0
	}
	return bytes.Count(b, []byte("WARNING: DATA RACE"))
}

// settledUnits counts the MongoDB units of work that a kill cut short and
// that the instance settled afterwards (adapters/mongo/unit.go logs each):
// undone, or committed and their events published.
func (in *ksInstance) settledUnits() (undone, published int) {
	b, err := os.ReadFile(in.logPath)
	if err != nil {
		return 0, 0
	}
	for line := range bytes.Lines(b) {
		if !bytes.Contains(line, []byte("settled a unit of work a crash left")) {
			continue
		}
		if bytes.Contains(line, []byte("undone")) {
			undone++
		} else {
			published++
		}
	}
	return undone, published
}

// ksHit is one delivery the receiver got (its first post, when the same
// X-Webhook-Delivery came more than once).
type ksHit struct {
	sub      string // the subscription, by its receiver path: A or B
	delivery string // X-Webhook-Delivery
	event    string
	data     map[string]any
	body     []byte
}

func (h ksHit) str(key string) string { s, _ := h.data[key].(string); return s }

// ksReceiver records the webhook posts of both subscriptions, one path
// each (/hook/A, /hook/B), and answers 200 to every post, so that a
// delivery is never retried because of the receiver.
type ksReceiver struct {
	url     string
	secrets map[string]string // subscription -> secret

	mu       sync.Mutex
	first    map[string]ksHit // by delivery id
	order    []string         // delivery ids, as first seen
	posts    int              // every post, duplicates included
	problems []string         // bad signatures, unknown paths, a delivery id with two bodies
	lastNew  time.Time        // when the last new delivery id came
}

func newKSReceiver(t *testing.T, secrets map[string]string) *ksReceiver {
	r := &ksReceiver{secrets: secrets, first: map[string]ksHit{}, lastNew: time.Now()}
	srv := httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(srv.Close)
	r.url = srv.URL
	return r
}

func (r *ksReceiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, "cannot read the body", http.StatusBadRequest)
		return
	}
	sub := strings.TrimPrefix(req.URL.Path, "/hook/")
	id := req.Header.Get("X-Webhook-Delivery")
	var p struct {
		Event     string         `json:"event"`
		Timestamp string         `json:"timestamp"`
		Data      map[string]any `json:"data"`
	}
	var bad []string
	secret, known := r.secrets[sub]
	switch {
	case req.Method != http.MethodPost || !known:
		bad = append(bad, fmt.Sprintf("%s %s: not a subscription's receiver", req.Method, req.URL.Path))
	case !hmac.Equal([]byte(req.Header.Get("X-Webhook-Signature")), []byte(ksSignature(secret, body))):
		bad = append(bad, fmt.Sprintf("delivery %s to %s: X-Webhook-Signature %q does not sign the body with the subscription's secret",
			id, sub, req.Header.Get("X-Webhook-Signature")))
	case id == "":
		bad = append(bad, fmt.Sprintf("a post to %s without X-Webhook-Delivery", sub))
	case json.Unmarshal(body, &p) != nil || p.Event == "" || p.Timestamp == "" || p.Data == nil:
		bad = append(bad, fmt.Sprintf("delivery %s to %s: the body is not {event,timestamp,data}: %.200s", id, sub, body))
	}
	r.mu.Lock()
	r.posts++
	r.problems = append(r.problems, bad...)
	if len(bad) == 0 {
		if prev, ok := r.first[id]; !ok {
			r.first[id] = ksHit{sub: sub, delivery: id, event: p.Event, data: p.Data, body: body}
			r.order = append(r.order, id)
			r.lastNew = time.Now()
		} else if prev.sub != sub || !bytes.Equal(prev.body, body) {
			r.problems = append(r.problems, fmt.Sprintf("delivery %s came twice with different contents: to %s %.200s, then to %s %.200s",
				id, prev.sub, prev.body, sub, body))
		}
	}
	r.mu.Unlock()
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, "ok")
}

// ksSignature is the guide's X-Webhook-Signature: sha256= and the hex
// HMAC-SHA256 of the body, keyed by the secret's text.
func ksSignature(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// snapshot returns the distinct deliveries in arrival order, how many
// posts came in all, the problems seen, and when the last new one came.
func (r *ksReceiver) snapshot() (hits []ksHit, posts int, problems []string, lastNew time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	hits = make([]ksHit, 0, len(r.order))
	for _, id := range r.order {
		hits = append(hits, r.first[id])
	}
	return hits, r.posts, append([]string(nil), r.problems...), r.lastNew
}

// ksReq is one API request, sent as is to whichever instance is up.
type ksReq struct {
	method, path string
	header       http.Header
	body         any        // marshalled as JSON, unless nil
	form         url.Values // sent as a form instead, when set
	contentType  string
}

// payload is the request's body and its Content-Type.
func (r ksReq) payload() (raw []byte, contentType string, err error) {
	switch {
	case r.form != nil:
		return []byte(r.form.Encode()), "application/x-www-form-urlencoded", nil
	case r.body != nil:
		raw, err = json.Marshal(r.body)
		return raw, cmp.Or(r.contentType, "application/json"), err
	}
	return nil, "", nil
}

// endpoint names the request briefly, for the logs, without the ids in
// its path: "PATCH /scim/v2/Users/…".
func (r ksReq) endpoint() string {
	path, _, _ := strings.Cut(r.path, "?")
	parts := strings.Split(path, "/")
	for i := 1; i < len(parts); i++ {
		switch parts[i-1] {
		case "Users", "licenses", "organizations", "clients":
			parts[i] = "…"
		}
	}
	return r.method + " " + strings.Join(parts, "/")
}

// String shows the whole request, for failure messages; a form's
// client_secret is left out.
func (r ksReq) String() string {
	s := r.method + " " + r.path
	switch {
	case r.form != nil:
		f := url.Values{}
		for k, v := range r.form {
			if k == "client_secret" {
				v = []string{"…"}
			}
			f[k] = v
		}
		s += " " + f.Encode()
	case r.body != nil:
		b, _ := json.Marshal(r.body)
		if len(b) > 300 {
			return fmt.Sprintf("%s %s…", s, b[:300])
		}
		s += " " + string(b)
	}
	return s
}

// ksResp is a definite answer.
type ksResp struct {
	status int
	body   []byte
}

func (r ksResp) decode(v any) error { return json.Unmarshal(r.body, v) }

func (r ksResp) String() string {
	if len(r.body) > 300 {
		return fmt.Sprintf("%d %s…", r.status, r.body[:300])
	}
	return fmt.Sprintf("%d %s", r.status, r.body)
}

// ksClient calls the instances. A request goes to a random instance that
// is up; one that fails with no answer (the instance died under it) or
// with a 503 (a backend is away) is sent again, to the other instance
// while it is up. So is one answered 500, once bad has heard of it.
type ksClient struct {
	http    *http.Client
	insts   []*ksInstance
	latency ksLatency // of the writes answered below 500
	// bad hears of the answers no request may get, whenever they come: a
	// 500 (or any 5xx but 503), or a 503 not in the endpoint's own error
	// format. The test fails on them.
	bad func(format string, args ...any)

	// The latest times (UnixNano) that a directory request sent then was
	// answered below 500, and that a token request, and any request, was
	// answered 503: what shows an outage while it lasts.
	dirServed, token503, any503 atomic.Int64

	mu      sync.Mutex
	answers []ksAnswer // every answer, for the outages' report
}

// ksAnswer is one answer an instance gave, whatever it was.
type ksAnswer struct {
	inst           string
	req            string // its endpoint (ksReq.endpoint)
	token          bool   // a token request
	status         int
	sent, answered time.Time
}

// opTimeout bounds the retries of one request: many kills in a row can
// each cost it a restart's time.
const opTimeout = 2 * time.Minute

// send sends r until an answer below 500 comes. It returns that answer,
// whether an earlier attempt may have been applied (it got no answer or
// a 503), and a trail of the attempts for failure messages ("i0:EOF",
// "i1:503", "i1:201"). A 500 is retried too, after it is reported as bad,
// so that the model stays exact for the other checks.
func (c *ksClient) send(rng *rand.Rand, r ksReq) (resp ksResp, retried bool, trail []string, err error) {
	raw, contentType, err := r.payload()
	if err != nil {
		return ksResp{}, false, nil, err
	}
	deadline := time.Now().Add(opTimeout)
	last := -1
	for attempt := 0; ; attempt++ {
		in := c.pick(rng, last)
		if in == nil {
			if time.Now().After(deadline) {
				return ksResp{}, retried, trail, fmt.Errorf("%s %s: no instance up for %s", r.method, r.path, opTimeout)
			}
			time.Sleep(20 * time.Millisecond)
			continue
		}
		last = slices.Index(c.insts, in)
		sent := time.Now()
		in.track(&r, sent)
		resp, err := c.once(in.url, r, raw, contentType)
		in.untrack(&r)
		if err == nil {
			c.observe(in, r, sent, resp)
			if r.method != http.MethodGet && resp.status < 500 {
				c.latency.observe(time.Since(sent))
			}
		}
		switch {
		case err != nil:
			trail = append(trail, fmt.Sprintf("%s:%s@%s+%s", in.name, shortErr(err),
				sent.Format("15:04:05.000"), time.Since(sent).Round(time.Millisecond)))
		case resp.status >= 500:
			trail = append(trail, fmt.Sprintf("%s:%d", in.name, resp.status))
		default:
			trail = append(trail, fmt.Sprintf("%s:%d", in.name, resp.status))
			return resp, retried, trail, nil
		}
		retried = true
		if time.Now().After(deadline) {
			return ksResp{}, retried, trail, fmt.Errorf("%s %s: no definite answer in %s: %v", r.method, r.path, opTimeout, trail)
		}
		time.Sleep(time.Duration(min(attempt+1, 10)) * 25 * time.Millisecond)
	}
}

// observe records an answer of in to r, sent at sent: in the answers, in
// the instance's recovery times, and with bad when no request may get it.
func (c *ksClient) observe(in *ksInstance, r ksReq, sent time.Time, resp ksResp) {
	token := r.path == ksTokenPath
	answered := time.Now()
	c.mu.Lock()
	c.answers = append(c.answers, ksAnswer{inst: in.name, req: r.endpoint(), token: token, status: resp.status,
		sent: sent, answered: answered})
	c.mu.Unlock()
	switch {
	case resp.status < 500:
		storeLater(&in.answered, sent)
		if token && resp.status == http.StatusOK {
			storeLater(&in.issued, sent)
		}
		if !token {
			storeLater(&c.dirServed, sent)
		}
	case resp.status != http.StatusServiceUnavailable:
		c.bad("%s answered %s at %s to %s", in.name, resp, sent.Format("15:04:05.000"), r)
	default:
		if err := ksCheck503(r.path, resp); err != nil {
			c.bad("%s answered %s at %s to %s: %v", in.name, resp, sent.Format("15:04:05.000"), r, err)
		}
		storeLater(&c.any503, answered)
		if token {
			storeLater(&c.token503, answered)
		}
	}
}

// snapshotAnswers returns the answers so far.
func (c *ksClient) snapshotAnswers() []ksAnswer {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.answers)
}

// ksCheck503 checks that a 503 is the endpoint's own "temporarily
// unavailable": the SCIM error (RFC 7644 §3.12) under /scim/v2, the REST
// APIs' {"error", "message"} under theirs, and OAuth error JSON (RFC 6749
// §5.2) elsewhere, the token endpoint among them.
func ksCheck503(path string, r ksResp) error {
	path, _, _ = strings.Cut(path, "?")
	switch {
	case strings.HasPrefix(path, "/scim/v2/"):
		var e struct {
			Schemas        []string
			Status, Detail string
		}
		if r.decode(&e) != nil || !slices.Contains(e.Schemas, "urn:ietf:params:scim:api:messages:2.0:Error") ||
			e.Status != "503" || e.Detail == "" {
			return errors.New("a SCIM endpoint's 503 is a SCIM error with status \"503\" and a detail")
		}
	case strings.HasPrefix(path, "/api/v1/users"), strings.HasPrefix(path, "/api/v1/admin"), strings.HasPrefix(path, "/api/v1/organizations"):
		var e struct{ Error, Message string }
		if r.decode(&e) != nil || e.Error != "temporarily_unavailable" || e.Message == "" {
			return errors.New(`a REST endpoint's 503 is {"error":"temporarily_unavailable","message":…}`)
		}
	default:
		var e struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		if r.decode(&e) != nil || e.Error != "temporarily_unavailable" {
			return errors.New(`an OAuth endpoint's 503 is {"error":"temporarily_unavailable",…}`)
		}
	}
	return nil
}

// pick chooses an instance that is up: at random, but not avoid (the one
// that just failed) when another is up.
func (c *ksClient) pick(rng *rand.Rand, avoid int) *ksInstance {
	var up []int
	for i, in := range c.insts {
		if in.up.Load() {
			up = append(up, i)
		}
	}
	switch {
	case len(up) == 0:
		return nil
	case len(up) > 1 && avoid >= 0:
		for _, i := range up {
			if i != avoid {
				return c.insts[i]
			}
		}
	}
	return c.insts[up[rng.IntN(len(up))]]
}

// once sends r to the instance at base, once.
func (c *ksClient) once(base string, r ksReq, raw []byte, contentType string) (ksResp, error) {
	var body io.Reader
	if raw != nil {
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(r.method, base+r.path, body)
	if err != nil {
		return ksResp{}, err
	}
	for k, vs := range r.header {
		req.Header[k] = vs
	}
	if raw != nil {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return ksResp{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return ksResp{}, err // the server died while answering: no answer
	}
	return ksResp{status: resp.StatusCode, body: b}, nil
}

// shortErr names a transport error briefly: EOF, refused, reset, timeout.
func shortErr(err error) string {
	s := err.Error()
	for _, k := range []string{"connection refused", "connection reset", "EOF", "timeout", "broken pipe"} {
		if strings.Contains(s, k) {
			return k
		}
	}
	if len(s) > 60 {
		s = s[len(s)-60:]
	}
	return s
}

// must sends r (with retries) and requires one of the statuses; for the
// set-up, on the test goroutine.
func (c *ksClient) must(t *testing.T, rng *rand.Rand, r ksReq, want ...int) ksResp {
	t.Helper()
	resp, _, trail, err := c.send(rng, r)
	require.NoError(t, err)
	require.Contains(t, want, resp.status, "%s %s: %s (attempts %v)", r.method, r.path, resp, trail)
	return resp
}

// faultProxy forwards TCP connections to a backend (the database, Vault)
// and, given a delay, delays every byte coming back by it, as a database
// across a network would.
// It stretches the database round trips inside each request, the moments
// between a commit and what follows it among them, so that a kill at a
// random moment of a request lands in them often enough to matter.
//
// It can also cut the backend off, as an outage or a restart of it does:
// down closes the listener and every connection, so that new ones are
// refused; up listens again on the same address. With no delay it is
// the kill suite's way to Vault.
type faultProxy struct {
	addr   string
	target string
	delay  time.Duration
	mu     sync.Mutex
	ln     net.Listener // nil while down
	closed bool         // the test is over: up no more
	conns  map[net.Conn]struct{}
}

func newFaultProxy(t *testing.T, target string, delay time.Duration) *faultProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &faultProxy{addr: ln.Addr().String(), target: target, delay: delay, conns: map[net.Conn]struct{}{}}
	p.serve(ln)
	t.Cleanup(p.close)
	return p
}

// serve accepts on ln until it is closed. The caller holds mu or is the
// only one to know p.
func (p *faultProxy) serve(ln net.Listener) {
	p.ln = ln
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.pipe(c)
		}
	}()
}

func (p *faultProxy) pipe(c net.Conn) {
	d, err := net.Dial("tcp", p.target)
	if err != nil {
		_ = c.Close()
		return
	}
	if !p.track(c, d) {
		return
	}
	done := func() {
		_ = c.Close()
		_ = d.Close()
		p.mu.Lock()
		delete(p.conns, c)
		delete(p.conns, d)
		p.mu.Unlock()
	}
	go func() { _, _ = io.Copy(d, c); done() }()
	p.delayed(c, d)
	done()
}

// track registers a connection pair, unless the proxy went down since it
// was accepted: then it closes them.
func (p *faultProxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln == nil {
		for _, c := range cs {
			_ = c.Close()
		}
		return false
	}
	for _, c := range cs {
		p.conns[c] = struct{}{}
	}
	return true
}

// down cuts the backend off: the listener closes, so connections are
// refused, and every open connection is closed in the middle of whatever
// it carried.
func (p *faultProxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		_ = p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		_ = c.Close()
	}
	clear(p.conns)
}

// up listens again on the proxy's address. The port was free a moment ago
// and nothing else asks for it, but a listen can still fail for a while:
// it is tried for ten seconds.
func (p *faultProxy) up() error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		p.mu.Lock()
		if p.closed || p.ln != nil {
			p.mu.Unlock()
			return nil
		}
		ln, err := net.Listen("tcp", p.addr)
		if err == nil {
			p.serve(ln)
		}
		p.mu.Unlock()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the proxy to %s cannot listen again on %s: %w", p.target, p.addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// delayed copies from src to dst, each chunk written delay after it was
// read: a constant one-way latency, however the chunks come.
func (p *faultProxy) delayed(dst, src net.Conn) {
	type chunk struct {
		due  time.Time
		data []byte
	}
	ch := make(chan chunk, 256)
	go func() {
		defer close(ch)
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				ch <- chunk{due: time.Now().Add(p.delay), data: slices.Clone(buf[:n])}
			}
			if err != nil {
				return
			}
		}
	}()
	for c := range ch {
		time.Sleep(time.Until(c.due))
		if _, err := dst.Write(c.data); err != nil {
			_ = src.Close()
			for range ch { // let the reader end
			}
			return
		}
	}
}

func (p *faultProxy) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.down()
}
