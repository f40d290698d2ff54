package main

import (
	"bytes"
	"fmt"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

const (
	codeLifetime = 60 * time.Second
	codeSafety   = 8 * time.Second // exchange phase ends this long before the first code expires
)

// oauthJobs makes the jobs of the OAuth and OIDC scenarios other than
// code_exchange. userinfo and introspect give each worker its own access
// token, refresh its own refresh-token chain.
func (e *env) oauthJobs(name string) (func(w int) job, error) {
	switch name {
	case "discovery":
		return func(int) job {
			return &staticJob{fill: e.get("/.well-known/openid-configuration", ""), want: []byte(`"issuer":`)}
		}, nil
	case "jwks":
		return func(int) job { return &staticJob{fill: e.get("/api/v1/oidc/jwks", ""), want: []byte(`"keys":[{`)} }, nil
	case "client_credentials":
		body := "grant_type=client_credentials&client_id=" + url.QueryEscape(e.clientID) +
			"&client_secret=" + url.QueryEscape(e.clientSecret)
		return func(int) job {
			return &staticJob{fill: e.post("/api/v1/oidc/token", body), want: []byte(`"access_token":"`)}
		}, nil
	case "client_credentials_dpop":
		jobs := make([]*dpopJob, e.o.conc)
		for w := range jobs {
			j, err := e.newDPoPJob()
			if err != nil {
				return nil, err
			}
			jobs[w] = j
		}
		return func(w int) job { return jobs[w] }, nil
	case "client_credentials_pkjwt":
		k, err := e.registerKeyClient()
		if err != nil {
			return nil, err
		}
		return func(int) job { return &assertionJob{e: e, k: k} }, nil
	case "userinfo", "introspect":
		toks, err := e.tokens(e.o.conc)
		if err != nil {
			return nil, err
		}
		return func(w int) job {
			if name == "userinfo" {
				return &staticJob{fill: e.get("/api/v1/oidc/userinfo", toks[w].access), want: []byte(`"email":"`)}
			}
			body := "token=" + url.QueryEscape(toks[w].access) + "&client_id=" + url.QueryEscape(e.clientID) +
				"&client_secret=" + url.QueryEscape(e.clientSecret)
			return &staticJob{fill: e.post("/api/v1/oidc/introspect", body), want: []byte(`"active":true`)}
		}, nil
	case "refresh":
		toks, err := e.tokens(e.o.conc)
		if err != nil {
			return nil, err
		}
		return func(w int) job { return &refreshJob{e: e, token: toks[w].refresh} }, nil
	}
	return nil, fmt.Errorf("unknown scenario")
}

// codeExchangeJobs pre-generates a bounded batch of codes that the workers
// then exchange, each code once. Codes live codeLifetime, so it returns the
// measured window cut short when the warm-up and window would outlast the
// first code, and notes for the detail line.
func (e *env) codeExchangeJobs(window time.Duration) (func(w int) job, time.Duration, []string, error) {
	o := e.o
	var notes []string
	codes, took, err := e.codes(o.maxCodes, o.codegen)
	if err != nil {
		return nil, 0, nil, err
	}
	// Every code must be spent before the first one expires.
	if budget := codeLifetime - took - codeSafety; o.warmup+window > budget {
		window = max(budget-o.warmup, time.Second)
		notes = append(notes, fmt.Sprintf("window cut to %s so no code expires", window))
	}
	notes = append(notes, fmt.Sprintf("%d codes pre-generated in %s (%.0f/s)", len(codes), took.Round(time.Millisecond), float64(len(codes))/took.Seconds()))
	pool := &codePool{codes: codes}
	return func(int) job { return &codeJob{e: e, pool: pool} }, window, notes, nil
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
