package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

const (
	formType      = "application/x-www-form-urlencoded"
	requestExpiry = 10 * time.Second
)

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
	signin                 *signInEnv
}

// newEnv makes the HTTP client the scenarios share: one connection for each
// worker and a few spare, every request bounded by requestExpiry.
func newEnv(o options) *env {
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
	return &env{o: o, hc: hc}
}

func (e *env) url(path string) string { return e.o.base.String() + path }

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

// adminRequest is one admin API call that must answer want.
func (e *env) adminRequest(method, path string, body any, want int) (map[string]any, error) {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, e.url(path), bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+e.o.adminKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != want {
		return nil, fmt.Errorf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, clip(raw))
	}
	var out map[string]any
	return out, json.Unmarshal(raw, &out)
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
