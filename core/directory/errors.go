package directory

import (
	"errors"
	"fmt"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// Kind classifies a directory error for the edge, which maps each kind to a
// status code.
type Kind int

// Error kinds.
const (
	Invalid      Kind = iota + 1 // the request is malformed or breaks a rule
	Unauthorized                 // the caller's credentials are missing or wrong
	Forbidden                    // the caller may not do this
	NotFound                     // the target does not exist, or is outside the caller's reach
	Conflict                     // the target's state does not allow this
)

// Error is a directory failure to show the caller: a stable code and a
// plain message, never an internal error's text.
type Error struct {
	Kind    Kind
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func newErr(k Kind, code, format string, args ...any) *Error {
	return &Error{Kind: k, Code: code, Message: fmt.Sprintf(format, args...)}
}

// AsError reports whether err is (or wraps) a directory *Error.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// storeErr passes outages through (the edge answers 503) and wraps the rest,
// which the edge answers 500 without showing the text.
func storeErr(op string, err error) error {
	if errors.Is(err, domain.ErrUnavailable) {
		return err
	}
	return fmt.Errorf("%s: %w", op, err)
}

// Errors shared by several use cases.
var (
	errNoGrants = ErrNoGrants
	// ErrNoGrants: the calling client was granted no organization.
	ErrNoGrants = &Error{Kind: Forbidden, Code: "forbidden", Message: "this client has not been granted any organization; ask a Calimatic administrator"}
	errNoUser   = &Error{Kind: NotFound, Code: "user_not_found", Message: "no such user"}
	errNoOrg    = &Error{Kind: NotFound, Code: "organization_not_found", Message: "no such organization"}
	errNoClient = &Error{Kind: NotFound, Code: "client_not_found", Message: "no such client"}
)

// NewError makes an Error for other use cases that answer in the REST
// format (webhooks).
func NewError(k Kind, code, format string, args ...any) *Error {
	return newErr(k, code, format, args...)
}
