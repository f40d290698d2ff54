package main

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/valyala/fasthttp"
)

// The provisioning scenarios create new users through the user management
// API (POST /api/v1/users/provision and its bulk form), as a client granted
// the provision action on one organization. They write data, so "all" leaves
// them out; they need an admin key to make the organization and the grant.
var provisionScenarios = []string{"provision", "provision_bulk"}

// bulkRows is the users in one provision_bulk request.
const bulkRows = 50

// provisionEnv is the organization the scenarios provision into.
type provisionEnv struct {
	orgID string
	tag   string // makes this run's emails unique
}

// provisionSetup makes an organization, registers a confidential client
// (unless one is registered already) and grants it the organization with the
// provision action.
func (e *env) provisionSetup() (*provisionEnv, error) {
	org, err := e.adminRequest("POST", "/api/v1/admin/organizations", map[string]string{"name": "loadgen provision " + randToken(6)}, http.StatusCreated)
	if err != nil {
		return nil, err
	}
	orgID, _ := org["id"].(string)
	if orgID == "" {
		return nil, fmt.Errorf("the new organization has no id: %v", org)
	}
	if e.clientID == "" {
		if err := e.register(); err != nil {
			return nil, fmt.Errorf("register a client: %w", err)
		}
	}
	g, err := e.adminRequest("PUT", "/api/v1/admin/clients/"+url.PathEscape(e.clientID)+"/grants/"+url.PathEscape(orgID),
		map[string][]string{"actions": {"provision"}}, http.StatusOK)
	if err != nil {
		return nil, fmt.Errorf("grant: %w", err)
	}
	if acts, _ := g["actions"].([]any); !slices.Contains(acts, any("provision")) {
		return nil, fmt.Errorf("the grant does not include provision: %v", g)
	}
	return &provisionEnv{orgID: orgID, tag: randToken(6)}, nil
}

func (e *env) provisionJobs(name string) func(w int) job {
	rows := 1
	want := [][]byte{[]byte(`"isNewUser":true`), []byte(`"organizationId":"` + e.prov.orgID + `"`)}
	status := http.StatusCreated
	if name == "provision_bulk" {
		rows = bulkRows
		// Every row created: a 200 whose summary counts them all.
		want = [][]byte{[]byte(`"created":` + strconv.Itoa(rows)), []byte(`"existing":0`), []byte(`"error":0`)}
		status = http.StatusOK
	}
	return func(w int) job {
		return &provisionJob{e: e, w: w, rows: rows, bulk: name == "provision_bulk", status: status, want: want}
	}
}

// provisionJob provisions new users: each request carries rows users with
// emails no request has used before.
type provisionJob struct {
	e      *env
	w      int
	n      int // users this worker has sent
	rows   int
	bulk   bool
	status int
	want   [][]byte
	buf    []byte
}

func (j *provisionJob) user(b []byte) []byte {
	j.n++
	id := strconv.Itoa(j.w) + "-" + strconv.Itoa(j.n)
	b = append(b, `{"email":"p`...)
	b = append(b, id...)
	b = append(b, '.')
	b = append(b, j.e.prov.tag...)
	b = append(b, `@loadgen.test","firstName":"Load","lastName":"User `...)
	b = append(b, id...)
	b = append(b, `","organizationId":"`...)
	b = append(b, j.e.prov.orgID...)
	b = append(b, `","role":"member"}`...)
	return b
}

func (j *provisionJob) next(req *fasthttp.Request) bool {
	b := j.buf[:0]
	path := "/api/v1/users/provision"
	if j.bulk {
		path = "/api/v1/users/provision/bulk"
		b = append(b, `{"users":[`...)
		for i := range j.rows {
			if i > 0 {
				b = append(b, ',')
			}
			b = j.user(b)
		}
		b = append(b, "]}"...)
	} else {
		b = j.user(b)
	}
	j.buf = b
	req.Reset()
	req.SetRequestURI(j.e.url(path))
	req.Header.SetMethod(fasthttp.MethodPost)
	req.Header.SetContentType("application/json")
	req.Header.Set("x-client-id", j.e.clientID)
	req.Header.Set("x-client-secret", j.e.clientSecret)
	req.SetBody(b)
	return true
}

func (j *provisionJob) check(resp *fasthttp.Response) bool {
	if resp.StatusCode() != j.status {
		return false
	}
	for _, w := range j.want {
		if !bytes.Contains(resp.Body(), w) {
			return false
		}
	}
	return true
}
