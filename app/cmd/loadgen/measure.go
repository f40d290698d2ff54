package main

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// job makes one worker's requests. next fills req and reports false when the
// worker has nothing left to send; check reports whether a 2xx body is what
// the endpoint must return.
type job interface {
	next(req *fasthttp.Request) bool
	check(resp *fasthttp.Response) bool
}

// redirecting is a job whose requests succeed with a 303 See Other: the
// browser forms of the sign-in scenarios.
type redirecting interface{ redirects() bool }

// scenario sets up one scenario's jobs, measures it and adds the set-up's
// notes to its figures.
func (e *env) scenario(name string) (*result, error) {
	var (
		mk     func(w int) job
		window = e.o.dur
		notes  []string
		rows   int // users per request, for the provisioning scenarios
		err    error
	)
	if e.o.hydraAdmin != nil {
		mk, err = e.hydraJobs(name)
	} else {
		mk, window, notes, rows, err = e.calimaticJobs(name, window)
	}
	if err != nil {
		return nil, err
	}
	r := e.measure(name, window, mk)
	r.rows = rows
	r.notes = append(notes, r.notes...)
	if e.signin != nil && slices.Contains(signInScenarios, name) {
		r.notes = append(r.notes, e.signin.notes(name, r)...)
	}
	return r, nil
}

// calimaticJobs makes a scenario's jobs against Calimatic, with the window
// it may shorten, its set-up notes and its users per request.
func (e *env) calimaticJobs(name string, window time.Duration) (mk func(w int) job, _ time.Duration, notes []string, rows int, err error) {
	switch name {
	case "discovery", "jwks", "client_credentials", "client_credentials_pkjwt", "client_credentials_dpop", "userinfo", "introspect", "refresh":
		mk, err = e.oauthJobs(name)
	case "code_exchange":
		mk, window, notes, err = e.codeExchangeJobs(window)
	case "scim_filter", "scim_external", "scim_search", "scim_patch":
		mk = e.scimJobs(name)
	case "signin_password", "signin_totp":
		mk = e.signInJobs(name)
	case "provision", "provision_bulk":
		mk = e.provisionJobs(name)
		rows = 1
		if name == "provision_bulk" {
			rows = bulkRows
		}
	default:
		err = fmt.Errorf("unknown scenario")
	}
	return mk, window, notes, rows, err
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

// measure runs o.conc workers, each with its own job from mk, for the
// warm-up and then the measured window, and returns their figures.
func (e *env) measure(name string, window time.Duration, mk func(w int) job) *result {
	o := e.o
	start := time.Now()
	recordFrom := start.Add(o.warmup)
	stop := recordFrom.Add(window)
	marks := e.markAt(recordFrom)
	tallies := make([]*tally, o.conc)
	var wg sync.WaitGroup
	for w := range o.conc {
		t := &tally{statuses: map[int]int{}, netErrs: map[string]int{}, lat: make([]time.Duration, 0, 4096)}
		tallies[w] = t
		j := mk(w)
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.work(j, t, recordFrom, stop)
		}()
	}
	wg.Wait()
	m := <-marks
	end := time.Now()
	cpu1 := e.cpuNow()
	r := &result{name: name, conc: o.conc, statuses: map[int]int{}, netErrs: map[string]int{}}
	r.merge(tallies, recordFrom, stop)
	r.useCPU(m.cpu, cpu1, end)
	if m.rss != nil {
		r.rssMaxKB, r.rssEndKB = m.rss.stop()
	}
	slices.Sort(r.lat)
	return r
}

// startMarks are taken when the measured window opens: a CPU reading and,
// with -pid, the server's RSS sampler.
type startMarks struct {
	cpu cpuMark
	rss *rssSampler
}

// markAt takes the start marks at the given time, in the background.
func (e *env) markAt(at time.Time) <-chan startMarks {
	ch := make(chan startMarks, 1)
	go func() {
		time.Sleep(time.Until(at))
		m := startMarks{cpu: e.cpuNow()}
		if e.o.pid > 0 {
			m.rss = startRSS(e.o.pid)
		}
		ch <- m
	}()
	return ch
}

// work is one worker: it sends j's requests one at a time until stop, or
// until j has nothing left to send, and counts into t every response to a
// request sent from recordFrom on (earlier ones are warm-up).
func (e *env) work(j job, t *tally, recordFrom, stop time.Time) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	good := func(status int) bool { return status/100 == 2 }
	if r, ok := j.(redirecting); ok && r.redirects() {
		good = func(status int) bool { return status == fasthttp.StatusSeeOther }
	}
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
		ok := err == nil && good(resp.StatusCode()) && j.check(resp)
		if t0.Before(recordFrom) {
			continue
		}
		t.lastDone = t1
		t.lat = append(t.lat, t1.Sub(t0))
		switch {
		case err != nil:
			t.netErrs[netErrKind(err)]++
		case !good(resp.StatusCode()):
			t.statuses[resp.StatusCode()]++
		case !ok:
			t.badBody++
		}
	}
}

// merge adds the workers' tallies into r. The elapsed time is the whole
// window, or, when workers ran out of work, up to the last response.
func (r *result) merge(tallies []*tally, recordFrom, stop time.Time) {
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
		r.notes = append(r.notes, fmt.Sprintf("%d of %d workers ran out of work (codes used up, or a refresh chain broke)", ranOut, r.conc))
	}
}

// useCPU sets the cores used between two readings, over the wall time from
// the first reading to end. The server's figure stays 0 unless both readings
// have it (they do only with -pid).
func (r *result) useCPU(from, to cpuMark, end time.Time) {
	wall := end.Sub(from.at).Seconds()
	r.allCPU = -1
	if wall > 0 {
		r.genCPU = (to.self - from.self) / wall
		if from.machine >= 0 && to.machine >= 0 {
			r.allCPU = (to.machine - from.machine) / wall
		}
		if from.server >= 0 && to.server >= 0 {
			r.srvCPU = (to.server - from.server) / wall
		}
	}
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
