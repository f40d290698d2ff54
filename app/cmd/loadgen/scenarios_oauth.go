package main

import (
	"bytes"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

const (
	codeLifetime = 60 * time.Second
	codeSafety   = 8 * time.Second // exchange phase ends this long before the first code expires
)

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
