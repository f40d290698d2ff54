package webhooks

import (
	"context"
	"errors"

	"github.com/calimatic/calimatic-auth/core/access"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
)

// maxClientIDLen bounds a client id looked up for an operator, as
// directory.AuthenticateClient bounds one sent in x-client-id.
const maxClientIDLen = 255

var errNoClient = fault.New(fault.NotFound, "client_not_found", "no such app")

// AppCaller is the caller an operator acts as on an app's subscriptions:
// the app itself, its stored client with its grants, as
// directory.AuthenticateClient returns it but without its secret. Create,
// List, Get, Update, Deliveries, Redeliver and Ping then apply their own
// rules to the operator as they do to the app, so no second copy of them
// exists. A disabled app is found too: its operator may read why its
// deliveries fail.
//
// It authorizes nobody: whoever calls it must first have decided that the
// operator may act for the app (core/console allows platform
// administrators only).
func (s *Service) AppCaller(ctx context.Context, clientID string) (*access.Caller, error) {
	if clientID == "" || len(clientID) > maxClientIDLen {
		return nil, errNoClient
	}
	c, err := s.deps.Clients.GetClient(ctx, clientID)
	if errors.Is(err, domain.ErrNotFound) {
		return nil, errNoClient
	}
	if err != nil {
		return nil, fault.Store("get client", err)
	}
	grants, err := s.deps.Grants.ListClientGrants(ctx, c.ID)
	if err != nil {
		return nil, fault.Store("list client grants", err)
	}
	return &access.Caller{Client: c, Grants: grants}, nil
}
