package directory

import "github.com/calimatic/calimatic-auth/core/fault"

// Errors shared by several use cases.
var (
	errNoGrants = ErrNoGrants
	// ErrNoGrants: the calling client was granted no organization.
	ErrNoGrants = &fault.Error{Kind: fault.Forbidden, Code: "forbidden", Message: "this client has not been granted any organization; ask a Calimatic administrator"}
	errNoUser   = &fault.Error{Kind: fault.NotFound, Code: "user_not_found", Message: "no such user"}
	errNoOrg    = &fault.Error{Kind: fault.NotFound, Code: "organization_not_found", Message: "no such organization"}
	errNoClient = &fault.Error{Kind: fault.NotFound, Code: "client_not_found", Message: "no such client"}
)
