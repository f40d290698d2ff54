package app_test

// The outages of the kill suite (killsuite_test.go): the database, and
// Vault when it signs, cut off for a second or three between kills; the
// token issuance that shows Vault's outages; and the checks of what the
// servers answered while a backend was away.

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestKillSuitePostgresVault runs the kill suite with Vault's transit
// engine as the signer, reached through a proxy of its own: one worker
// asks for tokens with the client_credentials grant besides the directory
// changes, and Vault is cut off once or twice, as well as the database.
// While Vault is away, tokens are 503 temporarily_unavailable and
// directory changes go on; once it is back, tokens are issued again with
// no restart.
func TestKillSuitePostgresVault(t *testing.T) {
	addr, token := vaultAddr(t)
	dsn, db := throughDelayProxy(t, postgresDSN(t))
	u, err := url.Parse(addr)
	require.NoError(t, err, "CALIMATIC_TEST_VAULT_ADDR must be a URL")
	vault := newFaultProxy(t, u.Host, 0)
	u.Host = vault.addr
	// Transit keys of this run's own, as useVault makes: the dev server
	// outlives the run.
	suffix := fmt.Sprintf("%08x", rand.Uint32())
	env := append(ksPostgresEnv(dsn),
		"CALIMATIC_SIGNER_KIND=vault",
		"CALIMATIC_SIGNER_VAULT_ADDRESS="+u.String(),
		"CALIMATIC_SIGNER_VAULT_TOKEN="+token,
		"CALIMATIC_SIGNER_VAULT_KEY_RS256=kill-rs256-"+suffix,
		"CALIMATIC_SIGNER_VAULT_KEY_ES256=kill-es256-"+suffix,
		// As in TestVaultOutageAnswers503AndRecovers: a call to Vault that
		// hangs gives up in two seconds, and the keys are re-read every
		// second, so the background refresh meets an outage too.
		"CALIMATIC_SIGNER_VAULT_TIMEOUT=2s",
		"CALIMATIC_SIGNER_VAULT_REFRESH=1s",
	)
	// Three workers and the token worker: as much as TestKillSuitePostgres
	// asks of the machine, and Vault runs on it too.
	runKillSuite(t, ksRun{backend: "postgres, vault signer", workers: 3, kills: ksVaultKills, env: env, db: db, vault: vault})
}

// ksOutage is one cut of a backend, planned before a kill.
type ksOutage struct {
	n      int
	vault  bool        // Vault's, else the database's
	proxy  *faultProxy // the proxy that cuts it
	before int         // the kill it comes before
	length time.Duration
	// What happened, set by cutOff: when the backend was cut off and
	// restored, how long after that every instance served again (zero if
	// one did not), and the outage's entry in the kill log.
	cut, restored time.Time
	recovered     time.Duration
	entry         int
}

func (o *ksOutage) what() string {
	if o.vault {
		return "Vault"
	}
	return "the database"
}

func (o *ksOutage) String() string {
	return fmt.Sprintf("%s for %s before kill %d", o.what(), o.length, o.before)
}

// ksPlan lists outages for the log: "the database for 1.2s before kill 3,
// Vault for 2.8s before kill 7".
func ksPlan(outages []*ksOutage) string {
	var s []string
	for _, o := range outages {
		s = append(s, o.String())
	}
	return strings.Join(s, ", ")
}

// planOutages draws a run's outages from the seed: ksDBOutages of the
// database when it is behind db, and one or two of Vault when it is behind
// vault. Each comes before a different kill, so that no two overlap, no
// kill falls in one, and kills and work follow each; with fewer kills than
// outages, some are left out.
func planOutages(seed uint64, kills int, db, vault *faultProxy) []*ksOutage {
	rng := rand.New(rand.NewPCG(seed, 2))
	var out []*ksOutage
	if db != nil {
		for range ksDBOutages {
			out = append(out, &ksOutage{proxy: db})
		}
	}
	if vault != nil {
		for range 1 + rng.IntN(2) {
			out = append(out, &ksOutage{vault: true, proxy: vault})
		}
	}
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	out = out[:min(len(out), kills)]
	slots := rng.Perm(kills)
	spread := int64((ksOutageMax - ksOutageMin) / time.Millisecond)
	for i, o := range out {
		o.before = slots[i] + 1
		o.length = ksOutageMin + time.Duration(rng.Int64N(spread+1))*time.Millisecond
	}
	slices.SortFunc(out, func(a, b *ksOutage) int { return a.before - b.before })
	for i, o := range out {
		o.n = i + 1
	}
	return out
}

// cutOff makes outage o, on the killer's goroutine. It cuts the backend
// off for o.length, and longer if need be until answers show the outage:
// a 503 for the database; for Vault, a token request's 503 and a
// directory request served meanwhile (a just restarted server can be slow
// enough to let a short outage pass unseen, and prove nothing). Then it
// restores the backend and waits until every instance that is up serves a
// request sent after that (answers it below 500 after the database's
// outage, issues a token after Vault's), with no restart.
func (b *ksBurst) cutOff(o *ksOutage, start time.Time) {
	o.cut = time.Now()
	o.proxy.down()
	time.Sleep(o.length)
	shown := func() bool {
		cut := o.cut.UnixNano()
		if o.vault {
			return b.c.token503.Load() > cut && b.c.dirServed.Load() > cut
		}
		return b.c.any503.Load() > cut
	}
	for deadline := time.Now().Add(ksOutageSlack); !shown(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			if o.vault {
				b.unexpectedf("outage %d (Vault): in %s, no token request was answered 503 or no directory request was served",
					o.n, time.Since(o.cut).Round(time.Millisecond))
			} else {
				b.unexpectedf("outage %d (the database): no request was answered 503 in %s", o.n, time.Since(o.cut).Round(time.Millisecond))
			}
			break
		}
	}
	if err := o.proxy.up(); err != nil {
		b.unexpectedf("outage %d: %v", o.n, err)
	}
	o.restored = time.Now()
	served := func(in *ksInstance) bool {
		if o.vault {
			return in.issuedSince(o.restored)
		}
		return in.answeredSince(o.restored)
	}
	var late []string
	for deadline := o.restored.Add(ksOutageSlack); ; time.Sleep(10 * time.Millisecond) {
		late = late[:0]
		for _, in := range b.c.insts {
			// One that is not up exited by itself: that is reported, and
			// the killer starts it again.
			if in.up.Load() && !served(in) {
				late = append(late, in.name)
			}
		}
		if len(late) == 0 || time.Now().After(deadline) {
			break
		}
	}
	entry := fmt.Sprintf("outage %d: %s cut off at %s (+%s) for %s", o.n, o.what(), o.cut.Format("15:04:05.000"),
		o.cut.Sub(start).Round(time.Millisecond), o.restored.Sub(o.cut).Round(time.Millisecond))
	if len(late) == 0 {
		o.recovered = time.Since(o.restored)
		entry += fmt.Sprintf("; every instance serving again %s later", o.recovered.Round(time.Millisecond))
	} else {
		entry += fmt.Sprintf("; %v not serving again %s later", late, ksOutageSlack)
		b.unexpectedf("outage %d (%s): %v served no request sent in the %s after it ended, with no restart",
			o.n, o.what(), late, ksOutageSlack)
	}
	b.mu.Lock()
	o.entry = len(b.kills)
	b.kills = append(b.kills, entry)
	b.mu.Unlock()
}

// checkOutages adds to each outage's entry in the kill log what the
// servers answered while the backend was away, and records as unexpected
// a directory request that Vault's outage failed.
func (b *ksBurst) checkOutages() {
	answers := b.c.snapshotAnswers()
	for _, o := range b.outages {
		if o.restored.IsZero() {
			continue // not reached: a restart failed first
		}
		unavailable := map[string]int{}
		n503, served, tokens := 0, 0, 0
		var slowest time.Duration
		for _, a := range answers {
			if a.answered.Before(o.cut) || a.sent.After(o.restored) {
				continue // it did not meet the outage
			}
			if a.token {
				tokens++
				slowest = max(slowest, a.answered.Sub(a.sent))
			}
			switch {
			case a.status == http.StatusServiceUnavailable:
				n503++
				unavailable[a.req]++
				if o.vault && !a.token {
					b.unexpectedf("outage %d (Vault): %s answered 503 to %s sent at %s; directory requests do not need Vault",
						o.n, a.inst, a.req, a.sent.Format("15:04:05.000"))
				}
			case a.status < 500 && !a.token && !a.sent.Before(o.cut) && !a.answered.After(o.restored):
				served++
			}
		}
		var by []string
		for req, n := range unavailable {
			by = append(by, fmt.Sprintf("%s ×%d", req, n))
		}
		sort.Strings(by)
		entry := fmt.Sprintf("; %d answers 503 during it [%s]", n503, strings.Join(by, ", "))
		if o.vault {
			entry += fmt.Sprintf(", %d directory requests served within it; %d token requests met it, the slowest answered in %s",
				served, tokens, slowest.Round(time.Millisecond))
		}
		b.mu.Lock()
		b.kills[o.entry] += entry
		b.mu.Unlock()
	}
}

// ksTokenPath is the token endpoint.
const ksTokenPath = "/api/v1/oidc/token"

// ksTokenWorker asks for client_credentials tokens at a modest pace, one
// attempt each, not retried: what each request got is the point. That is
// a token, or a 503 temporarily_unavailable while Vault or the database is
// away, or no answer when a kill cut it; anything else is unexpected, and
// a 500 or a 503 in another format is reported by the client.
type ksTokenWorker struct {
	b   *ksBurst
	rng *rand.Rand // the pauses and the instances
}

func (w *ksTokenWorker) run() {
	b := w.b
	r := ksReq{method: http.MethodPost, path: ksTokenPath, form: url.Values{
		"grant_type": {"client_credentials"}, "client_id": {b.tokens.clientID}, "client_secret": {b.tokens.secret},
	}}
	raw, contentType, err := r.payload()
	if err != nil {
		b.unexpectedf("token request: %v", err)
		return
	}
	for !b.stop.Load() {
		// About ten a second: enough to meet every outage many times over
		// without crowding out the directory changes.
		time.Sleep(time.Duration(50+w.rng.IntN(101)) * time.Millisecond)
		in := b.c.pick(w.rng, -1)
		if in == nil {
			continue
		}
		b.count("token")
		sent := time.Now()
		resp, err := b.c.once(in.url, r, raw, contentType)
		if err != nil {
			b.count("token: no answer")
			continue
		}
		b.c.observe(in, r, sent, resp)
		var tok struct {
			AccessToken string `json:"access_token"`
			TokenType   string `json:"token_type"`
		}
		switch {
		case resp.status == http.StatusOK:
			if resp.decode(&tok) != nil || strings.Count(tok.AccessToken, ".") != 2 || !strings.EqualFold(tok.TokenType, "bearer") {
				b.unexpectedf("token from %s at %s: %s is no bearer JWT", in.name, sent.Format("15:04:05.000"), resp)
			}
		case resp.status == http.StatusServiceUnavailable:
			b.count("token: 503")
		case resp.status < 500:
			b.unexpectedf("token from %s at %s: %s", in.name, sent.Format("15:04:05.000"), resp)
		}
	}
}
