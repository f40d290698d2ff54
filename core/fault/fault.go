package fault

import (
	"errors"
	"fmt"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// Kind classifies a failure for the edge, which maps each kind to a status
// in the dialect of the route.
type Kind int

// Error kinds.
const (
	Invalid      Kind = iota + 1 // the request is malformed or breaks a rule
	Unauthorized                 // the caller's credentials are missing or wrong
	Forbidden                    // the caller may not do this
	NotFound                     // the target does not exist, or is outside the caller's reach
	Conflict                     // the target's state does not allow this
	Taken                        // a value that must be unique (an email, a name, a slug) is another's
	Stale                        // the caller's version of the target is out of date (If-Match)
)

// Kinds lists every kind, so that a table of them can be checked whole.
func Kinds() []Kind {
	return []Kind{Invalid, Unauthorized, Forbidden, NotFound, Conflict, Taken, Stale}
}

var kindNames = map[Kind]string{
	Invalid: "invalid", Unauthorized: "unauthorized", Forbidden: "forbidden",
	NotFound: "not found", Conflict: "conflict", Taken: "taken", Stale: "stale",
}

func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Error is a failure to show the caller: a kind, a stable code and a plain
// message, never an internal error's text.
type Error struct {
	Kind    Kind
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// New makes an Error whose message is formatted from format and args.
func New(k Kind, code, format string, args ...any) *Error {
	return &Error{Kind: k, Code: code, Message: fmt.Sprintf(format, args...)}
}

// As reports whether err is (or wraps) an *Error, and returns it.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// Store is what a use case returns for a store's error it has no answer
// of its own for: an outage passes through as it is (the edge answers 503),
// anything else is wrapped with the operation (the edge answers 500, and
// shows none of its text).
func Store(op string, err error) error {
	if errors.Is(err, domain.ErrUnavailable) {
		return err
	}
	return fmt.Errorf("%s: %w", op, err)
}
