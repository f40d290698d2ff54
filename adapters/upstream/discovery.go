package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/calimatic/calimatic-auth/core/domain"
)

const (
	// discoveryTTL is how long a discovery document is kept. Providers
	// change their endpoints rarely and announce it; an hour bounds how
	// long a change takes to be seen without fetching per sign-in.
	discoveryTTL = time.Hour
	// maxIssuers bounds the documents kept; organizations configure their
	// providers, so an expired or arbitrary one goes when it is reached.
	maxIssuers = 1000
)

type cachedMetadata struct {
	md      domain.UpstreamMetadata
	expires time.Time
}

// discoveryDocument is the part of OpenID Connect Discovery §3 read here.
type discoveryDocument struct {
	Issuer                            string   `json:"issuer"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	JWKSURI                           string   `json:"jwks_uri"`
	EndSessionEndpoint                string   `json:"end_session_endpoint"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	CodeChallengeMethodsSupported     []string `json:"code_challenge_methods_supported"`
}

// Discover returns the metadata in issuer's discovery document, from the
// cache when it was fetched less than an hour ago. A fetch that fails is
// not kept, so the next sign-in tries again. See ports.Upstream.
func (c *Client) Discover(ctx context.Context, issuer string) (domain.UpstreamMetadata, error) {
	if err := c.checkURL("issuer", issuer); err != nil {
		return domain.UpstreamMetadata{}, err
	}
	c.mu.Lock()
	cached, ok := c.discovered[issuer]
	c.mu.Unlock()
	if ok && c.now().Before(cached.expires) {
		return cached.md, nil
	}
	md, err := c.discover(ctx, issuer)
	if err != nil {
		return domain.UpstreamMetadata{}, err
	}
	c.remember(issuer, md)
	return md, nil
}

func (c *Client) discover(ctx context.Context, issuer string) (domain.UpstreamMetadata, error) {
	op := "discover " + issuer
	// Discovery §4: the document is at the issuer plus this path, the
	// issuer's trailing slash removed first.
	where := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, where, nil)
	if err != nil {
		return domain.UpstreamMetadata{}, fmt.Errorf("%s: %w", op, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return domain.UpstreamMetadata{}, unavailable(op, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return domain.UpstreamMetadata{}, unavailable(op, fmt.Errorf("the discovery document answered %d", resp.StatusCode))
	}
	body, err := readBody(resp)
	if err != nil {
		return domain.UpstreamMetadata{}, unavailable(op, err)
	}
	var doc discoveryDocument
	if err := json.Unmarshal(body, &doc); err != nil {
		return domain.UpstreamMetadata{}, unavailable(op, fmt.Errorf("the discovery document is not JSON: %w", err))
	}
	// Discovery §4.3: the document must name exactly the issuer it was
	// asked for, or an upstream could pass for another.
	if doc.Issuer != issuer {
		return domain.UpstreamMetadata{}, unavailable(op, fmt.Errorf("the discovery document names the issuer %q", doc.Issuer))
	}
	if err := c.checkEndpoints(doc); err != nil {
		return domain.UpstreamMetadata{}, fmt.Errorf("%s: %w", op, err)
	}
	return domain.UpstreamMetadata{
		Issuer:                   doc.Issuer,
		AuthorizationEndpoint:    doc.AuthorizationEndpoint,
		TokenEndpoint:            doc.TokenEndpoint,
		JWKSURI:                  doc.JWKSURI,
		EndSessionEndpoint:       doc.EndSessionEndpoint,
		TokenEndpointAuthMethods: doc.TokenEndpointAuthMethodsSupported,
		CodeChallengeMethods:     doc.CodeChallengeMethodsSupported,
	}, nil
}

// checkEndpoints requires the endpoints a sign-in needs. One missing or no
// URL is garbage (unavailable); one in plain http under RequireHTTPS is
// ErrInsecure, as the issuer would be.
func (c *Client) checkEndpoints(doc discoveryDocument) error {
	endpoints := []struct {
		name, url string
		required  bool
	}{
		{"authorization_endpoint", doc.AuthorizationEndpoint, true},
		{"token_endpoint", doc.TokenEndpoint, true},
		{"jwks_uri", doc.JWKSURI, true},
		{"end_session_endpoint", doc.EndSessionEndpoint, false},
	}
	for _, e := range endpoints {
		if e.url == "" && !e.required {
			continue
		}
		if e.url == "" {
			return fmt.Errorf("%w: the discovery document has no %s", domain.ErrUnavailable, e.name)
		}
		if err := c.checkURL(e.name, e.url); err != nil {
			if errors.Is(err, ErrInsecure) {
				return err
			}
			return fmt.Errorf("%w: %w", domain.ErrUnavailable, err)
		}
	}
	return nil
}

// remember keeps md for discoveryTTL, making room if the cache is full:
// the expired documents go, or else one at random.
func (c *Client) remember(issuer string, md domain.UpstreamMetadata) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.discovered) >= maxIssuers {
		for k, v := range c.discovered {
			if !now.Before(v.expires) {
				delete(c.discovered, k)
			}
		}
		for k := range c.discovered {
			if len(c.discovered) < maxIssuers {
				break
			}
			delete(c.discovered, k)
		}
	}
	c.discovered[issuer] = cachedMetadata{md: md, expires: now.Add(discoveryTTL)}
}
