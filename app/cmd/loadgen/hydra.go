package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
)

// The Hydra target: the same scenarios, the same workers and the same
// measurement against Ory Hydra, for the side-by-side row issue 21 asks
// for. -hydra-admin names Hydra's admin URL and -hydra-public its public
// one (both loopback); -base is where the measured requests go: the public
// port for client_credentials, jwks and discovery, the admin port for
// introspect (Hydra introspects there, without client authentication).

// hydraScenarios are the scenarios the Hydra target runs.
var hydraScenarios = []string{"discovery", "jwks", "client_credentials", "introspect"}

// hydraSetUp creates a client_credentials client through Hydra's admin API.
func (e *env) hydraSetUp() error {
	body, _ := json.Marshal(map[string]any{
		"client_name": "loadgen", "grant_types": []string{"client_credentials"},
		"token_endpoint_auth_method": "client_secret_post", "scope": "read",
	})
	resp, err := http.Post(e.o.hydraAdmin.String()+"/admin/clients", "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("create a Hydra client: status %d: %s", resp.StatusCode, clip(raw))
	}
	var c struct {
		ID     string `json:"client_id"`
		Secret string `json:"client_secret"`
	}
	if err := json.Unmarshal(raw, &c); err != nil || c.ID == "" || c.Secret == "" {
		return fmt.Errorf("unexpected Hydra client: %s", clip(raw))
	}
	e.clientID, e.clientSecret = c.ID, c.Secret
	return nil
}

// hydraJobs makes the jobs of a scenario against Hydra.
func (e *env) hydraJobs(name string) (func(w int) job, error) {
	cc := "grant_type=client_credentials&scope=read&client_id=" + url.QueryEscape(e.clientID) +
		"&client_secret=" + url.QueryEscape(e.clientSecret)
	switch name {
	case "discovery":
		return func(int) job {
			return &staticJob{fill: e.get("/.well-known/openid-configuration", ""), want: []byte(`"issuer":`)}
		}, nil
	case "jwks":
		return func(int) job { return &staticJob{fill: e.get("/.well-known/jwks.json", ""), want: []byte(`"keys":[`)} }, nil
	case "client_credentials":
		return func(int) job {
			return &staticJob{fill: e.post("/oauth2/token", cc), want: []byte(`"access_token":"`)}
		}, nil
	case "introspect":
		toks := make([]string, e.o.conc)
		for w := range toks {
			resp, err := http.Post(e.o.hydraPublic.String()+"/oauth2/token", formType, bytes.NewBufferString(cc))
			if err != nil {
				return nil, err
			}
			raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			var t struct {
				AccessToken string `json:"access_token"`
			}
			if json.Unmarshal(raw, &t) != nil || t.AccessToken == "" {
				return nil, fmt.Errorf("a Hydra token: status %d: %s", resp.StatusCode, clip(raw))
			}
			toks[w] = t.AccessToken
		}
		return func(w int) job {
			return &staticJob{fill: e.post("/admin/oauth2/introspect", "token="+url.QueryEscape(toks[w])), want: []byte(`"active":true`)}
		}, nil
	}
	return nil, fmt.Errorf("the Hydra target runs %v only", hydraScenarios)
}

// checkHydra refuses a Hydra target without both URLs, or with scenarios it
// cannot run.
func (o options) checkHydra(names []string) error {
	if o.hydraAdmin == nil && o.hydraPublic == nil {
		return nil
	}
	if o.hydraAdmin == nil || o.hydraPublic == nil {
		return errors.New("the Hydra target needs both -hydra-admin and -hydra-public")
	}
	for _, n := range names {
		if !slices.Contains(hydraScenarios, n) {
			return fmt.Errorf("the Hydra target runs %v only, not %s", hydraScenarios, n)
		}
	}
	return nil
}
