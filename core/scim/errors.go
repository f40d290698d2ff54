package scim

import (
	"fmt"

	"github.com/calimatic/calimatic-auth/core/fault"
)

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

// Error is a SCIM failure to show the caller: its kind, the scimType where
// RFC 7644 has one, and a plain detail. The HTTP edge picks the status from
// the kind, as it does for every other error.
type Error struct {
	Kind   fault.Kind
	Type   string
	Detail string
}

func (e *Error) Error() string { return fmt.Sprintf("scim %s %s: %s", e.Kind, e.Type, e.Detail) }

func newErr(k fault.Kind, typ, format string, args ...any) *Error {
	return &Error{Kind: k, Type: typ, Detail: fmt.Sprintf(format, args...)}
}

func badValue(format string, args ...any) *Error {
	return newErr(fault.Invalid, TypeInvalidValue, format, args...)
}

var (
	errNotFound     = newErr(fault.NotFound, "", "no such resource")
	errUnauthorized = newErr(fault.Unauthorized, "", "a valid SCIM bearer token is required")
)
