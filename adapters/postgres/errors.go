package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// PostgreSQL error codes the adapter translates
// (https://www.postgresql.org/docs/current/errcodes-appendix.html).
const (
	codeUniqueViolation     = "23505"
	codeForeignKeyViolation = "23503"
	// character_not_in_repertoire: a NUL byte or invalid UTF-8 in a text
	// parameter, which no text column can hold.
	codeBadText = "22021"
	// untranslatable_character: a \u0000 in a jsonb document.
	codeBadJSONText = "22P05"
)

// indexUserName is the unique index of the organizations' user names
// (migration 00006). Its violation is a user name taken, which translate
// tells from the other unique violations by the index's name.
const indexUserName = "memberships_user_name"

// errUserNameTaken is a user name another member of the organization has:
// an ErrAlreadyExists that says which uniqueness failed.
var errUserNameTaken = fmt.Errorf("user name taken: %w", domain.ErrAlreadyExists)

// indexGroupName is the unique index of the organizations' group names
// (migration 00007), told from a group's taken id by its name as
// indexUserName is.
const indexGroupName = "groups_name"

// errGroupNameTaken is a group name another group of the organization has.
var errGroupNameTaken = fmt.Errorf("group name taken: %w", domain.ErrAlreadyExists)

// errBadText is the adapter's own refusal of text PostgreSQL could not hold
// faithfully (see encodeProfiles); it is translated as codeBadText is.
var errBadText = errors.New("text with a NUL byte or invalid UTF-8")

// badText reports whether err is text no column or document can hold: a
// NUL byte or invalid UTF-8.
func badText(err error) bool {
	return isCode(err, codeBadText) || isCode(err, codeBadJSONText) || errors.Is(err, errBadText)
}

// translate turns a driver error into a domain sentinel at the edge: no rows
// is ErrNotFound, a unique violation ErrAlreadyExists (errUserNameTaken for
// memberships_user_name, errGroupNameTaken for groups_name), a lost or
// refused connection ErrUnavailable. Anything else is wrapped with the
// operation.
// The driver error stays in the chain for logs.
func translate(op string, err error) error {
	if err == nil {
		return nil
	}
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("postgres: %s: %w", op, domain.ErrNotFound)
	case badText(err):
		// A key PostgreSQL text cannot hold (a client_id with a NUL byte,
		// say) matches no stored row: the caller answers as for an unknown
		// one (4xx), never 500. A write carrying such text gets the same
		// mapping, as no row could be made with it.
		return fmt.Errorf("postgres: %s: %w: %w", op, domain.ErrNotFound, err)
	case uniqueViolationOf(err, indexUserName):
		return fmt.Errorf("postgres: %s: %w: %w", op, errUserNameTaken, err)
	case uniqueViolationOf(err, indexGroupName):
		return fmt.Errorf("postgres: %s: %w: %w", op, errGroupNameTaken, err)
	case isCode(err, codeUniqueViolation):
		return fmt.Errorf("postgres: %s: %w: %w", op, domain.ErrAlreadyExists, err)
	case unavailable(err):
		return fmt.Errorf("postgres: %s: %w: %w", op, domain.ErrUnavailable, err)
	default:
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
}

// isCode reports whether err is a PostgreSQL error with this SQLSTATE.
func isCode(err error, code string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == code
}

// uniqueViolationOf reports whether err is a unique violation of the
// named index or constraint.
func uniqueViolationOf(err error, name string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == codeUniqueViolation && pgErr.ConstraintName == name
}

// unavailable reports whether err means the database cannot be reached or
// will not serve us now, rather than that the request was wrong: the caller
// answers 503 and the pool reconnects by itself.
func unavailable(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case len(pgErr.Code) == 5 && pgErr.Code[:2] == "08": // connection exception
			return true
		case pgErr.Code == "57P01", pgErr.Code == "57P02", pgErr.Code == "57P03": // shutdown, cannot connect now
			return true
		case pgErr.Code == "53300": // too many connections
			return true
		}
		return false
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	// A connection cut mid-conversation surfaces as an end of file.
	return errors.As(err, &connectErr) || errors.As(err, &netErr) ||
		pgconn.Timeout(err) || pgconn.SafeToRetry(err) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}
