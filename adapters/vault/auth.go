package vault

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/hashicorp/vault/api"
)

const (
	// minRelogin is how long a fresh AppRole token is trusted before a 403
	// makes the signer log in again: a policy that denies the transit paths
	// must not turn into a login storm.
	minRelogin = 10 * time.Second
	// maxLoginBackoff caps the wait between failed logins.
	maxLoginBackoff = 30 * time.Second
)

// newClient builds the Vault client: address, TLS, namespace and token.
// Vault's VAULT_* environment variables apply where opts leaves a field
// empty.
func newClient(opts Options) (*api.Client, error) {
	cfg := api.DefaultConfig()
	if cfg.Error != nil {
		return nil, fmt.Errorf("vault: client config: %w", cfg.Error)
	}
	if opts.Address != "" {
		cfg.Address = opts.Address
	}
	cfg.Timeout = opts.Timeout
	// An outage is reported at once (the token endpoint answers 503 and its
	// client retries) rather than after seconds of retries per request.
	cfg.MaxRetries = 0
	if t, ok := cfg.HttpClient.Transport.(*http.Transport); ok {
		// Unbatched signing under load holds this many connections.
		t.MaxIdleConnsPerHost = 256
	}
	if opts.CACert != "" || opts.ClientCert != "" || opts.ClientKey != "" || opts.TLSServerName != "" {
		err := cfg.ConfigureTLS(&api.TLSConfig{
			CACert:        opts.CACert,
			ClientCert:    opts.ClientCert,
			ClientKey:     opts.ClientKey,
			TLSServerName: opts.TLSServerName,
		})
		if err != nil {
			return nil, fmt.Errorf("vault: TLS config: %w", err)
		}
	}
	client, err := api.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("vault: client: %w", err)
	}
	// Explicit, so that VAULT_TOKEN in the environment never overrides
	// the configured authentication.
	client.SetToken(opts.Token)
	if opts.Namespace != "" {
		client.SetNamespace(opts.Namespace)
	}
	return client, nil
}

// login logs in with AppRole and makes the new token the client's.
func (s *Signer) login(ctx context.Context) (*api.Secret, error) {
	// A clone without the old token: a login must not present an expired
	// or revoked one.
	lc, err := s.client.Clone()
	if err != nil {
		return nil, fmt.Errorf("vault: approle login: %w", err)
	}
	lc.ClearToken()
	if s.opts.Namespace != "" {
		lc.SetNamespace(s.opts.Namespace)
	}
	var secret *api.Secret
	err = s.call(ctx, func(ctx context.Context) error {
		var err error
		secret, err = lc.Logical().WriteWithContext(ctx, "auth/"+s.opts.AppRoleMount+"/login", map[string]any{
			"role_id":   s.opts.RoleID,
			"secret_id": s.opts.SecretID,
		})
		return translate("approle login", err)
	})
	if err != nil {
		return nil, err
	}
	if secret == nil || secret.Auth == nil || secret.Auth.ClientToken == "" {
		return nil, errors.New("vault: approle login: no token in the response")
	}
	s.client.SetToken(secret.Auth.ClientToken)
	return secret, nil
}

// keepLoggedIn renews the AppRole token's lease for as long as Vault allows,
// then logs in again; it retries failed logins with backoff until ctx is
// done.
func (s *Signer) keepLoggedIn(ctx context.Context, secret *api.Secret) {
	backoff := time.Second
	for {
		if secret != nil {
			s.watchLease(ctx, secret)
		}
		if ctx.Err() != nil {
			return
		}
		var err error
		if secret, err = s.login(ctx); err != nil {
			s.report(ctx, err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, maxLoginBackoff)
			continue
		}
		backoff = time.Second
	}
}

// watchLease renews secret's token until its lease can be renewed no
// further, or Vault rejects the token, or ctx is done.
func (s *Signer) watchLease(ctx context.Context, secret *api.Secret) {
	loggedIn := time.Now()
	w, err := s.client.NewLifetimeWatcher(&api.LifetimeWatcherInput{Secret: secret})
	if err != nil {
		s.report(ctx, fmt.Errorf("vault: token renewal: %w", err))
		return
	}
	go w.Start()
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case err := <-w.DoneCh():
			if err != nil {
				s.report(ctx, fmt.Errorf("vault: token renewal: %w", err))
			}
			return
		case <-w.RenewCh():
		case <-s.relogin:
			if time.Since(loggedIn) >= minRelogin {
				return
			}
		}
	}
}

// isForbidden reports whether Vault refused the token.
func isForbidden(err error) bool {
	var re *api.ResponseError
	return errors.As(err, &re) && re.StatusCode == http.StatusForbidden
}
