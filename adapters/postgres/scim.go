package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

var _ ports.SCIMStore = (*SCIMStore)(nil)

// SCIMStore is the PostgreSQL ports.SCIMStore. Tokens are rows of
// scim_tokens, deleted with their organization. SearchUsers translates the
// filter into a parameterised WHERE clause over the organization's
// memberships joined to users (see translateFilter); the users' SCIM
// attributes are the users.profiles document (see profileDoc).
type SCIMStore struct{ pool db }

// NewSCIMStore returns a SCIMStore on pool.
func NewSCIMStore(pool *pgxpool.Pool) *SCIMStore { return &SCIMStore{pool: db{pool}} }

// scimTokenColumns are every column of scim_tokens; sign_in_email is the
// token's domain.SignInEmailRule, empty for the default (migration 00006).
const scimTokenColumns = `id, organization_id, name, hash, created_at, sign_in_email`

func scanSCIMToken(row pgx.Row) (domain.SCIMToken, error) {
	var t domain.SCIMToken
	var created pgtype.Timestamptz
	var signIn string
	if err := row.Scan(&t.ID, &t.OrganizationID, &t.Name, &t.Hash, &created, &signIn); err != nil {
		return domain.SCIMToken{}, err
	}
	t.CreatedAt, t.SignInEmail = fromTS(created), domain.SignInEmailRule(signIn)
	return t, nil
}

// CreateSCIMToken stores a token. ErrAlreadyExists if the id or the hash is
// taken; ErrNotFound if the organization does not exist (the foreign key).
func (s *SCIMStore) CreateSCIMToken(ctx context.Context, t domain.SCIMToken) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO scim_tokens (`+scimTokenColumns+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		t.ID, t.OrganizationID, t.Name, t.Hash, ts(t.CreatedAt), string(t.SignInEmail))
	if isCode(err, codeForeignKeyViolation) {
		return translate("create scim token", pgx.ErrNoRows)
	}
	return translate("create scim token", err)
}

// GetSCIMToken returns the token with this hash. ErrNotFound if none.
func (s *SCIMStore) GetSCIMToken(ctx context.Context, hash []byte) (domain.SCIMToken, error) {
	t, err := scanSCIMToken(s.pool.QueryRow(ctx, `SELECT `+scimTokenColumns+` FROM scim_tokens WHERE hash = $1`, hash))
	if err != nil {
		return domain.SCIMToken{}, translate("get scim token", err)
	}
	return t, nil
}

// ListSCIMTokens returns an organization's tokens, oldest first (a zero
// time first of all), ties broken by id, read in order from
// scim_tokens_organization.
func (s *SCIMStore) ListSCIMTokens(ctx context.Context, organizationID string) ([]domain.SCIMToken, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+scimTokenColumns+` FROM scim_tokens WHERE organization_id = $1
		ORDER BY created_at NULLS FIRST, id`, organizationID)
	if err != nil {
		return nil, translate("list scim tokens", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.SCIMToken, error) { return scanSCIMToken(row) })
	if badText(err) {
		return []domain.SCIMToken{}, nil // no organization id holds such text
	}
	if err != nil {
		return nil, translate("list scim tokens", err)
	}
	if out == nil {
		out = []domain.SCIMToken{}
	}
	return out, nil
}

// DeleteSCIMToken removes one of an organization's tokens. ErrNotFound if
// the organization has no token with that id.
func (s *SCIMStore) DeleteSCIMToken(ctx context.Context, organizationID, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM scim_tokens WHERE id = $1 AND organization_id = $2`, id, organizationID)
	if err != nil {
		return translate("delete scim token", err)
	}
	if tag.RowsAffected() == 0 {
		return translate("delete scim token", pgx.ErrNoRows)
	}
	return nil
}

// SearchUsers runs the translated filter over the organization's members,
// pending memberships left out.
// The page and the total are read in one read-only REPEATABLE READ
// transaction, so that they agree: the page query carries the total as
// count(*) OVER (), and only an empty page (an offset past the end, or a
// zero limit) needs a second, counting query.
func (s *SCIMStore) SearchUsers(ctx context.Context, q domain.UserQuery) (domain.UserPage, error) {
	if !utf8.ValidString(q.OrganizationID) || strings.IndexByte(q.OrganizationID, 0) >= 0 {
		// No organization id holds such text: it has no members.
		return domain.UserPage{Members: []domain.Member{}}, nil
	}
	offset, limit := max(q.Offset, 0), max(q.Limit, 0)
	pageSQL, countSQL, args, err := searchQueries(q.OrganizationID, q.Filter)
	if err != nil {
		return domain.UserPage{}, fmt.Errorf("postgres: search users: %w", err)
	}
	page := domain.UserPage{Members: []domain.Member{}}
	err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly},
		func(tx pgx.Tx) error {
			if limit > 0 {
				rows, err := tx.Query(ctx, pageSQL, append(args, offset, limit)...)
				if err != nil {
					return err
				}
				var total int64
				page.Members, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.Member, error) {
					var mem domain.Member
					var err error
					mem.Membership, err = scanMembership(scanFunc(func(membershipDest ...any) error {
						var userErr error
						mem.User, userErr = scanUser(scanFunc(func(userDest ...any) error {
							return row.Scan(append(append(userDest, membershipDest...), &total)...)
						}))
						return userErr
					}))
					return mem, err
				})
				if err != nil {
					return err
				}
				if len(page.Members) > 0 {
					page.Total = int(total)
					return nil
				}
				if offset == 0 {
					return nil // nothing matches
				}
			}
			return tx.QueryRow(ctx, countSQL, args...).Scan(&page.Total)
		})
	if err != nil {
		return domain.UserPage{}, translate("search users", err)
	}
	return page, nil
}

// searchQueries returns SearchUsers' two statements and their common
// arguments: the page, whose last two parameters (after args) are the
// offset and the limit, and the count.
func searchQueries(organizationID string, f domain.UserFilter) (pageSQL, countSQL string, args []any, err error) {
	where, args, err := translateFilter(organizationID, f)
	if err != nil {
		return "", "", nil, err
	}
	// Pending memberships are never matched, whatever the filter: every
	// search (the indexed lookups too) shares this clause.
	from := ` FROM memberships m JOIN users u ON u.id = m.user_id
		WHERE m.organization_id = $1::text AND m.status <> 'pending' AND (` + where + `)`
	n := len(args)
	pageSQL = `SELECT ` + qualify("u", userColumns) + `, ` + qualify("m", membershipColumns) +
		`, count(*) OVER ()` + from + `
		ORDER BY m.user_id OFFSET $` + strconv.Itoa(n+1) + ` LIMIT $` + strconv.Itoa(n+2)
	return pageSQL, `SELECT count(*)` + from, args, nil
}

// Bounds of a filter's translation. A SCIM filter is at most a few hundred
// nodes; a tree past these bounds is refused rather than translated into
// unbounded SQL.
const (
	maxFilterNodes = 1000
	maxFilterDepth = 1000
)

// errBadFilter wraps every refusal of a filter.
var errBadFilter = errors.New("unsupported user filter")

// zeroTime is the stored form of a zero time (NULL), as a timestamptz
// literal: the zero time.Time, 0001-01-01 UTC, which precedes every other.
const zeroTime = `'0001-01-01 00:00:00+00'::timestamptz`

// filterSQL builds the WHERE clause of a search. $1 is the organization
// id; every filter value is a further bind parameter, never SQL text.
type filterSQL struct {
	b     strings.Builder
	args  []any
	nodes int
}

// translateFilter returns the SQL condition of f over the aliases u (users)
// and m (memberships), and its arguments, $1 being organizationID. A nil
// filter is TRUE. Every condition it builds is TRUE or FALSE, never NULL
// (absent values are coalesced), so NOT is exactly the complement.
//
// Strings: a case-insensitive field compares lower(stored) with the value
// lower-cased in Go; userName reads the membership's m.user_name_key,
// domain.UserNameKey of its name as written (so userName eq is the
// memberships_user_name index, and every operator compares Go's
// lower-casing on both sides). co, sw and ew are LIKE with the value's %, _ and
// \ escaped; gt..le compare under COLLATE "C" (byte order). Profile fields
// are users.profiles -> $1 ->> key, coalesced to the empty string; externalId eq a
// non-empty value is the containment users.profiles @> {$1: {externalId:
// v}}, which the users_profiles GIN index serves. Multi-valued fields are
// EXISTS over jsonb_array_elements (emails.value also compares the
// account's email). Times compare as timestamptz, a NULL (zero) time as
// 0001-01-01 UTC. active is the account's status active or invited and
// the membership (m) not suspended: both columns are NOT NULL, so it is
// never NULL; it is a condition on the joined rows, so a lookup beside it
// (userName eq, id eq, externalId eq) still reads its index.
func translateFilter(organizationID string, f domain.UserFilter) (string, []any, error) {
	s := &filterSQL{args: []any{organizationID}}
	if f == nil {
		return "TRUE", s.args, nil
	}
	if err := s.filter(f, 0); err != nil {
		return "", nil, err
	}
	return s.b.String(), s.args, nil
}

// arg adds a bind parameter and returns its placeholder.
func (s *filterSQL) arg(v any) string {
	s.args = append(s.args, v)
	return "$" + strconv.Itoa(len(s.args))
}

// enter counts one node of the filter, at depth, and refuses a filter past
// the bounds.
func (s *filterSQL) enter(depth int) error {
	s.nodes++
	if s.nodes > maxFilterNodes {
		return fmt.Errorf("%w: more than %d nodes", errBadFilter, maxFilterNodes)
	}
	if depth > maxFilterDepth {
		return fmt.Errorf("%w: nested deeper than %d", errBadFilter, maxFilterDepth)
	}
	return nil
}

func (s *filterSQL) filter(f domain.UserFilter, depth int) error {
	if err := s.enter(depth); err != nil {
		return err
	}
	switch f := f.(type) {
	case *domain.And:
		if f == nil {
			return fmt.Errorf("%w: nil and", errBadFilter)
		}
		return s.chain(f.Left, f.Right, "AND", depth)
	case *domain.Or:
		if f == nil {
			return fmt.Errorf("%w: nil or", errBadFilter)
		}
		return s.chain(f.Left, f.Right, "OR", depth)
	case *domain.Not:
		if f == nil {
			return fmt.Errorf("%w: nil not", errBadFilter)
		}
		s.b.WriteString("NOT (")
		if err := s.filter(f.X, depth+1); err != nil {
			return err
		}
		s.b.WriteString(")")
		return nil
	case *domain.Compare:
		if f == nil {
			return fmt.Errorf("%w: nil comparison", errBadFilter)
		}
		return s.compare(f)
	default: // nil included
		return fmt.Errorf("%w: %T", errBadFilter, f)
	}
}

// chain writes the run of one associative operator below an And or an Or
// flat, (a AND b AND c), rather than as nested pairs, so that a long
// conjunction does not nest the SQL as deep as it is long.
func (s *filterSQL) chain(left, right domain.UserFilter, op string, depth int) error {
	s.b.WriteString("(")
	first := true
	var walk func(g domain.UserFilter, d int) error
	walk = func(g domain.UserFilter, d int) error {
		if l, r, ok := operands(g, op); ok {
			if err := s.enter(d); err != nil {
				return err
			}
			if err := walk(l, d+1); err != nil {
				return err
			}
			return walk(r, d+1)
		}
		if !first {
			s.b.WriteString(" " + op + " ")
		}
		first = false
		s.b.WriteString("(")
		if err := s.filter(g, d); err != nil {
			return err
		}
		s.b.WriteString(")")
		return nil
	}
	if err := walk(left, depth+1); err != nil {
		return err
	}
	if err := walk(right, depth+1); err != nil {
		return err
	}
	s.b.WriteString(")")
	return nil
}

// operands returns the sides of g if g is a (non-nil) node of op.
func operands(g domain.UserFilter, op string) (left, right domain.UserFilter, ok bool) {
	switch g := g.(type) {
	case *domain.And:
		if op == "AND" && g != nil {
			return g.Left, g.Right, true
		}
	case *domain.Or:
		if op == "OR" && g != nil {
			return g.Left, g.Right, true
		}
	}
	return nil, nil, false
}

// stringField is how a string field is read: one SQL expression (single
// valued), or the elements of a profile list (multi-valued), plus, for
// emails.value, the account's email.
type stringField struct {
	// expr is the field's value, never NULL, already lower-cased for a
	// case-insensitive field.
	expr string
	// list is the profile key of a multi-valued field's array and elem the
	// element's key; expr, if set, is one more value (emails.value's
	// account email).
	list, elem string
}

// profileText is a profile string, empty when absent.
func profileText(key string) string {
	return `coalesce(u.profiles -> $1::text ->> '` + key + `', '')`
}

// stringFields maps every string field to its stored form.
var stringFields = map[domain.UserField]stringField{
	domain.FieldID:             {expr: `u.id`},
	domain.FieldUserName:       {expr: `m.user_name_key`},
	domain.FieldGivenName:      {expr: `lower(u.given_name)`},
	domain.FieldFamilyName:     {expr: `lower(u.family_name)`},
	domain.FieldExternalID:     {expr: profileText(docExternalID)},
	domain.FieldDisplayName:    {expr: `lower(` + profileText(docDisplayName) + `)`},
	domain.FieldEmployeeNumber: {expr: `lower(` + profileText(docEmployeeNumber) + `)`},
	domain.FieldDepartment:     {expr: `lower(` + profileText(docDepartment) + `)`},
	domain.FieldManagerID:      {expr: profileText(docManagerID)},
	domain.FieldEmailValue:     {expr: `u.email_key`, list: docEmails, elem: docValue},
	domain.FieldEmailType:      {list: docEmails, elem: docType},
	domain.FieldPhoneValue:     {list: docPhoneNumbers, elem: docValue},
	domain.FieldPhoneType:      {list: docPhoneNumbers, elem: docType},
}

// timeFields maps the time fields to their columns, a NULL (zero time) read
// as the zero time.
var timeFields = map[domain.UserField]string{
	domain.FieldCreated:      `coalesce(u.created_at, ` + zeroTime + `)`,
	domain.FieldLastModified: `coalesce(u.updated_at, ` + zeroTime + `)`,
}

func (s *filterSQL) compare(c *domain.Compare) error {
	info, ok := domain.UserFields[c.Field]
	if !ok {
		return fmt.Errorf("%w: unknown field %q", errBadFilter, c.Field)
	}
	if c.Op == domain.OpNe {
		// ne is exactly NOT eq, on every kind of field.
		s.b.WriteString("NOT (")
		if err := s.compare(&domain.Compare{Field: c.Field, Op: domain.OpEq, Value: c.Value}); err != nil {
			return err
		}
		s.b.WriteString(")")
		return nil
	}
	switch info.Kind {
	case domain.KindBool:
		return s.compareActive(c)
	case domain.KindTime:
		return s.compareTime(c)
	case domain.KindString, domain.KindExact:
		return s.compareString(c, info.Kind == domain.KindString)
	}
	return fmt.Errorf("%w: field %q of unknown kind", errBadFilter, c.Field)
}

func (s *filterSQL) compareActive(c *domain.Compare) error {
	const active = `(u.status IN ('active', 'invited') AND m.status <> 'suspended')`
	switch c.Op {
	case domain.OpPr:
		s.b.WriteString("TRUE")
		return nil
	case domain.OpEq:
		v, ok := c.Value.(bool)
		if !ok {
			return fmt.Errorf("%w: %s %s takes a bool, not %T", errBadFilter, c.Field, c.Op, c.Value)
		}
		s.b.WriteString(active + " = " + s.arg(v) + "::boolean")
		return nil
	}
	return fmt.Errorf("%w: %s does not take %s", errBadFilter, c.Field, c.Op)
}

// timeOps are the SQL operators of the ordering comparisons.
var timeOps = map[domain.FilterOp]string{
	domain.OpEq: "=", domain.OpGt: ">", domain.OpGe: ">=", domain.OpLt: "<", domain.OpLe: "<=",
}

func (s *filterSQL) compareTime(c *domain.Compare) error {
	if c.Op == domain.OpPr {
		s.b.WriteString("TRUE")
		return nil
	}
	op, ok := timeOps[c.Op]
	if !ok {
		return fmt.Errorf("%w: %s does not take %s", errBadFilter, c.Field, c.Op)
	}
	v, ok := c.Value.(time.Time)
	if !ok {
		return fmt.Errorf("%w: %s %s takes a time, not %T", errBadFilter, c.Field, c.Op, c.Value)
	}
	s.b.WriteString(timeFields[c.Field] + " " + op + " " + s.arg(v.UTC()) + "::timestamptz")
	return nil
}

func (s *filterSQL) compareString(c *domain.Compare, fold bool) error {
	f, ok := stringFields[c.Field]
	if !ok {
		return fmt.Errorf("%w: unknown string field %q", errBadFilter, c.Field)
	}
	var pred func(expr string) string
	if c.Op == domain.OpPr {
		pred = func(x string) string { return x + " <> ''" }
	} else {
		v, ok := c.Value.(string)
		if !ok {
			return fmt.Errorf("%w: %s %s takes a string, not %T", errBadFilter, c.Field, c.Op, c.Value)
		}
		if !utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0 {
			// PostgreSQL text cannot hold it, so no parameter can carry it.
			return fmt.Errorf("%w: a %s value with a NUL byte or invalid UTF-8", errBadFilter, c.Field)
		}
		if fold {
			v = strings.ToLower(v)
		}
		switch c.Op {
		case domain.OpEq:
			if special, ok := s.indexedEq(c.Field, v); ok {
				s.b.WriteString(special)
				return nil
			}
			p := s.arg(v)
			pred = func(x string) string { return x + " = " + p + "::text" }
		case domain.OpCo, domain.OpSw, domain.OpEw:
			pattern := escapeLike(v)
			if c.Op != domain.OpSw {
				pattern = "%" + pattern
			}
			if c.Op != domain.OpEw {
				pattern += "%"
			}
			p := s.arg(pattern)
			pred = func(x string) string { return x + " LIKE " + p + `::text ESCAPE E'\\'` }
		case domain.OpGt, domain.OpGe, domain.OpLt, domain.OpLe:
			p, op := s.arg(v), timeOps[c.Op]
			pred = func(x string) string { return x + ` COLLATE "C" ` + op + " " + p + "::text" }
		default:
			return fmt.Errorf("%w: %s does not take %s", errBadFilter, c.Field, c.Op)
		}
	}
	if f.list == "" {
		s.b.WriteString(pred(f.expr))
		return nil
	}
	elem := `coalesce(e.value ->> '` + f.elem + `', '')`
	if fold {
		elem = `lower(` + elem + `)`
	}
	exists := `EXISTS (SELECT 1 FROM jsonb_array_elements(coalesce(u.profiles -> $1::text -> '` + f.list +
		`', '[]'::jsonb)) AS e WHERE ` + pred(elem) + `)`
	if f.expr != "" {
		s.b.WriteString("(" + pred(f.expr) + " OR " + exists + ")")
		return nil
	}
	s.b.WriteString(exists)
	return nil
}

// indexedEq returns an index-friendly form of field eq v, where there is
// one: userName restates the memberships_user_name predicate (a generic
// plan cannot see that v is not empty), and with the organization's
// condition is one lookup of (organization_id, user_name_key); a non-empty
// externalId is containment in the organization's profile, which
// users_profiles serves.
func (s *filterSQL) indexedEq(field domain.UserField, v string) (string, bool) {
	if v == "" {
		return "", false
	}
	switch field {
	case domain.FieldUserName:
		return `(m.user_name_key = ` + s.arg(v) + `::text AND m.user_name_key <> '')`, true
	case domain.FieldExternalID:
		doc, err := json.Marshal(map[string]map[string]string{
			s.args[0].(string): {docExternalID: v},
		})
		if err != nil {
			return "", false
		}
		return `u.profiles @> ` + s.arg(json.RawMessage(doc)) + `::jsonb`, true
	}
	return "", false
}

// likeEscaper escapes LIKE's wildcards and its escape character.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

func escapeLike(s string) string { return likeEscaper.Replace(s) }
