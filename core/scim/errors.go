package scim

import "fmt"

// SCIM error types (RFC 7644 section 3.12) used here.
const (
	TypeInvalidFilter = "invalidFilter"
	TypeTooMany       = "tooMany"
	TypeUniqueness    = "uniqueness"
	TypeMutability    = "mutability"
	TypeInvalidSyntax = "invalidSyntax"
	TypeInvalidPath   = "invalidPath"
	TypeNoTarget      = "noTarget"
	TypeInvalidValue  = "invalidValue"
	TypeInvalidVers   = "invalidVers"
)

// Error is a SCIM failure to show the caller: an HTTP status, the scimType
// where RFC 7644 has one, and a plain detail.
type Error struct {
	Status int
	Type   string
	Detail string
}

func (e *Error) Error() string { return fmt.Sprintf("scim %d %s: %s", e.Status, e.Type, e.Detail) }

func newErr(status int, typ, format string, args ...any) *Error {
	return &Error{Status: status, Type: typ, Detail: fmt.Sprintf(format, args...)}
}

func badValue(format string, args ...any) *Error {
	return newErr(400, TypeInvalidValue, format, args...)
}

var (
	errNotFound     = newErr(404, "", "no such resource")
	errUnauthorized = newErr(401, "", "a valid SCIM bearer token is required")
)
