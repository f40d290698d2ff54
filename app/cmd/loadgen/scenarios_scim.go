package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// The SCIM scenarios run against one organization seeded with -scim-users
// users through SCIM itself; they need an admin key to make it.
var scimScenarios = []string{"scim_filter", "scim_external", "scim_search", "scim_patch"}

const scimType = "application/scim+json"

// scimEnv is the seeded organization.
type scimEnv struct {
	token     string
	userNames []string
	external  []string
	ids       []string
	took      time.Duration
}

// adminCall is an admin API call that creates something (201).
func (e *env) adminCall(method, path string, body any) (map[string]any, error) {
	return e.adminRequest(method, path, body, http.StatusCreated)
}

// scimSetup makes an organization, a SCIM token and n users, created by
// -c workers with SCIM POSTs; how long that took is SCIM's create rate.
func (e *env) scimSetup(n int) (*scimEnv, error) {
	org, err := e.adminCall("POST", "/api/v1/admin/organizations", map[string]string{"name": "loadgen " + randToken(6)})
	if err != nil {
		return nil, err
	}
	tok, err := e.adminCall("POST", "/api/v1/admin/organizations/"+org["id"].(string)+"/scim-tokens", map[string]string{"name": "loadgen"})
	if err != nil {
		return nil, err
	}
	s := &scimEnv{token: tok["token"].(string), userNames: make([]string, n), external: make([]string, n), ids: make([]string, n)}
	tag := randToken(6)
	var next atomic.Int64
	var firstErr error
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for range e.o.conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				s.userNames[i] = "user" + strconv.Itoa(i) + "." + tag + "@loadgen.test"
				s.external[i] = "ext-" + tag + "-" + strconv.Itoa(i)
				body, _ := json.Marshal(map[string]any{
					"schemas":    []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
					"userName":   s.userNames[i],
					"externalId": s.external[i],
					"name":       map[string]string{"givenName": "Load", "familyName": "User " + strconv.Itoa(i)},
				})
				req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
				req.SetRequestURI(e.url("/scim/v2/Users"))
				req.Header.SetMethod(fasthttp.MethodPost)
				req.Header.SetContentType(scimType)
				req.Header.Set("Authorization", "Bearer "+s.token)
				req.SetBody(body)
				err := e.hc.DoTimeout(req, resp, requestExpiry)
				if err == nil && resp.StatusCode() != http.StatusCreated {
					err = fmt.Errorf("create: status %d: %s", resp.StatusCode(), clip(resp.Body()))
				}
				if err == nil {
					s.ids[i] = jsonString(resp.Body(), "id")
				}
				fasthttp.ReleaseRequest(req)
				fasthttp.ReleaseResponse(resp)
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	s.took = time.Since(start)
	return s, firstErr
}

func (e *env) scimJobs(kind string) func(w int) job {
	return func(w int) job {
		return &scimJob{e: e, s: e.scim, kind: kind, rnd: rand.New(rand.NewPCG(uint64(w), 7))}
	}
}

// scimJob sends one SCIM request per call to a random seeded user.
type scimJob struct {
	e    *env
	s    *scimEnv
	kind string
	rnd  *rand.Rand
	want []byte
}

func (j *scimJob) next(req *fasthttp.Request) bool {
	i := j.rnd.IntN(len(j.s.ids))
	req.Header.Set("Authorization", "Bearer "+j.s.token)
	switch j.kind {
	case "scim_filter":
		req.SetRequestURI(j.e.url("/scim/v2/Users?filter=" + url.QueryEscape(`userName eq "`+j.s.userNames[i]+`"`)))
		j.want = []byte(`"totalResults":1`)
	case "scim_external":
		req.SetRequestURI(j.e.url("/scim/v2/Users?filter=" + url.QueryEscape(`externalId eq "`+j.s.external[i]+`"`)))
		j.want = []byte(`"totalResults":1`)
	case "scim_search":
		// A substring search and a page of 50: the store scans the
		// organization's members.
		req.SetRequestURI(j.e.url("/scim/v2/Users?count=50&filter=" + url.QueryEscape(`name.familyName co "`+strconv.Itoa(i%1000)+`" and active eq true`)))
		j.want = []byte(`"Resources":[`)
	case "scim_patch":
		req.SetRequestURI(j.e.url("/scim/v2/Users/" + j.s.ids[i]))
		req.Header.SetMethod(fasthttp.MethodPatch)
		req.Header.SetContentType(scimType)
		req.SetBodyString(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"displayName","value":"Load ` + randToken(4) + `"}]}`)
		j.want = []byte(`"displayName":"Load `)
	}
	return true
}

func (j *scimJob) check(resp *fasthttp.Response) bool {
	return resp.StatusCode() == http.StatusOK && bytes.Contains(resp.Body(), j.want)
}
