package postgres

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

var _ ports.GroupStore = (*GroupStore)(nil)

// GroupStore is the PostgreSQL ports.GroupStore: rows of groups, unique by
// name key within their organization, and of group_members, whose foreign
// keys to memberships take a member who leaves the organization out of its
// groups (see migration 00007).
type GroupStore struct{ pool db }

// NewGroupStore returns a GroupStore on pool.
func NewGroupStore(pool *pgxpool.Pool) *GroupStore { return &GroupStore{pool: db{pool}} }

// groupColumns are the columns a group is read from. name_key is
// domain.GroupNameKey(display_name), written with it and never read back.
const groupColumns = `id, organization_id, display_name, external_id, role, created_at, updated_at`

func scanGroup(row pgx.Row) (domain.Group, error) {
	var g domain.Group
	var created, updated pgtype.Timestamptz
	if err := row.Scan(&g.ID, &g.OrganizationID, &g.DisplayName, &g.ExternalID, &g.Role, &created, &updated); err != nil {
		return domain.Group{}, err
	}
	g.CreatedAt, g.UpdatedAt = fromTS(created), fromTS(updated)
	return g, nil
}

// errNotMember is a user to add who has no membership of the group's
// organization, or only a pending one.
var errNotMember = fmt.Errorf("a user is not the organization's member: %w", domain.ErrNotFound)

// addMembersSQL adds the users of $3 to the group $2 of the organization
// $1, and returns how many of them are the organization's members and how
// many rows it inserted. The memberships are read FOR SHARE: a concurrent
// change of status (to pending) or deletion waits for the transaction's
// end, or is seen by the re-check of status <> 'pending' if it committed
// first, so that no row is added for a user who is not a member when the
// transaction commits. An old membership without a status (see migration
// 00005) is a member's. A user already in the group is left as it is.
const addMembersSQL = `WITH eligible AS (
		SELECT user_id FROM memberships
		WHERE user_id = ANY($3) AND organization_id = $1 AND status <> 'pending'
		FOR SHARE
	), added AS (
		INSERT INTO group_members (group_id, user_id, organization_id)
		SELECT $2, user_id, $1 FROM eligible
		ON CONFLICT DO NOTHING
		RETURNING 1
	)
	SELECT (SELECT count(*) FROM eligible), (SELECT count(*) FROM added)`

// addMembers adds users to a group in tx and returns how many it added;
// errNotMember if one of them is not the organization's member, after
// which the caller must roll back (the others may have been inserted).
func addMembers(ctx context.Context, tx pgx.Tx, orgID, groupID string, userIDs []string) (int64, error) {
	ids := slices.Clone(userIDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if len(ids) == 0 {
		return 0, nil
	}
	var eligible, added int64
	err := tx.QueryRow(ctx, addMembersSQL, orgID, groupID, ids).Scan(&eligible, &added)
	switch {
	case isCode(err, codeForeignKeyViolation):
		return 0, errNotMember // a membership deleted under us; the lock should prevent it
	case err != nil:
		return 0, err
	case eligible != int64(len(ids)):
		return 0, errNotMember
	}
	return added, nil
}

// CreateGroup inserts the group and its members in one transaction. The
// foreign key makes a missing organization ErrNotFound, the primary key a
// taken id and groups_name a taken name ErrAlreadyExists (of parallel
// creates of one name, the index lets one through), and a member who is
// not the organization's rolls the group back.
func (s *GroupStore) CreateGroup(ctx context.Context, g domain.Group, members []string) error {
	err := inTx(ctx, s.pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO groups (`+groupColumns+`, name_key)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			g.ID, g.OrganizationID, g.DisplayName, g.ExternalID, g.Role, ts(g.CreatedAt), ts(g.UpdatedAt),
			domain.GroupNameKey(g.DisplayName))
		if isCode(err, codeForeignKeyViolation) {
			return pgx.ErrNoRows // the organization does not exist
		}
		if err != nil {
			return err
		}
		_, err = addMembers(ctx, tx, g.OrganizationID, g.ID, members)
		return err
	})
	return translate("create group", err)
}

// GetGroup returns one of an organization's groups, by primary key.
func (s *GroupStore) GetGroup(ctx context.Context, organizationID, id string) (domain.Group, error) {
	g, err := scanGroup(s.pool.QueryRow(ctx, `SELECT `+groupColumns+` FROM groups
		WHERE id = $1 AND organization_id = $2`, id, organizationID))
	if err != nil {
		return domain.Group{}, translate("get group", err)
	}
	return g, nil
}

// GetGroupByName returns the group whose name has the key of name: one
// lookup in groups_name.
func (s *GroupStore) GetGroupByName(ctx context.Context, organizationID, name string) (domain.Group, error) {
	g, err := scanGroup(s.pool.QueryRow(ctx, `SELECT `+groupColumns+` FROM groups
		WHERE organization_id = $1 AND name_key = $2`, organizationID, domain.GroupNameKey(name)))
	if err != nil {
		return domain.Group{}, translate("get group by name", err)
	}
	return g, nil
}

// ListGroups returns a keyset page of an organization's groups, read in id
// order from groups_organization.
func (s *GroupStore) ListGroups(ctx context.Context, organizationID, after string, limit int) ([]domain.Group, error) {
	if limit <= 0 {
		return []domain.Group{}, nil
	}
	return listOrEmpty(ctx, s.pool, "list groups", scanGroup, `SELECT `+groupColumns+` FROM groups
		WHERE organization_id = $1 AND id > $2 ORDER BY id LIMIT $3`, organizationID, after, limit)
}

// listOrEmpty collects the rows of a listing with scan: none is an empty
// list, not nil, and text no column holds (a NUL byte in an id) matches
// nothing, as it would in a lookup.
func listOrEmpty[T any](ctx context.Context, pool db, op string, scan func(pgx.Row) (T, error),
	sql string, args ...any) ([]T, error) {
	rows, err := pool.Query(ctx, sql, args...)
	var out []T
	if err == nil {
		out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (T, error) { return scan(row) })
	}
	switch {
	case badText(err):
		return []T{}, nil
	case err != nil:
		return nil, translate(op, err)
	case out == nil:
		return []T{}, nil
	}
	return out, nil
}

// UpdateGroup locks the group's row, applies fn and writes the result in
// one transaction, and returns the group as stored. groups_name refuses a
// name another group has, which rolls the write back.
func (s *GroupStore) UpdateGroup(ctx context.Context, organizationID, id string, fn func(*domain.Group) error) (domain.Group, error) {
	return lockedUpdate(ctx, s.pool, "update group",
		func(tx pgx.Tx) (domain.Group, error) {
			return scanGroup(tx.QueryRow(ctx, `SELECT `+groupColumns+` FROM groups
				WHERE id = $1 AND organization_id = $2 FOR UPDATE`, id, organizationID))
		}, fn,
		func(tx pgx.Tx, g *domain.Group) error {
			// The id and organization are the key; fn cannot move the group.
			// The group is returned as stored (its times in microseconds), as
			// GetGroup will read it.
			stored, err := scanGroup(tx.QueryRow(ctx, `UPDATE groups SET display_name = $3, name_key = $4,
				external_id = $5, role = $6, created_at = $7, updated_at = $8
				WHERE id = $1 AND organization_id = $2 RETURNING `+groupColumns,
				id, organizationID, g.DisplayName, domain.GroupNameKey(g.DisplayName), g.ExternalID,
				g.Role, ts(g.CreatedAt), ts(g.UpdatedAt)))
			*g = stored
			return err
		})
}

// DeleteGroup deletes the group's row; the foreign key's cascade deletes
// its members' rows in the same statement.
func (s *GroupStore) DeleteGroup(ctx context.Context, organizationID, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM groups WHERE id = $1 AND organization_id = $2`, id, organizationID)
	if err != nil {
		return translate("delete group", err)
	}
	if tag.RowsAffected() == 0 {
		return translate("delete group", pgx.ErrNoRows)
	}
	return nil
}

// ChangeGroupMembers changes the members in one transaction that first
// locks the group's row, so that concurrent changes of one group queue
// (each sees the others' members) and a deletion of the group waits. It
// adds, then removes (as the memory store does, so a user in both lists
// ends out), and moves updated_at only if a row was inserted or deleted.
func (s *GroupStore) ChangeGroupMembers(ctx context.Context, organizationID, id string, add, remove []string, now time.Time) (domain.Group, error) {
	var out domain.Group
	err := inTx(ctx, s.pool, func(tx pgx.Tx) error {
		g, err := scanGroup(tx.QueryRow(ctx, `SELECT `+groupColumns+` FROM groups
			WHERE id = $1 AND organization_id = $2 FOR UPDATE`, id, organizationID))
		if err != nil {
			return err
		}
		added, err := addMembers(ctx, tx, organizationID, id, add)
		if err != nil {
			return err
		}
		var removed int64
		if len(remove) > 0 {
			tag, err := tx.Exec(ctx, `DELETE FROM group_members WHERE group_id = $1 AND user_id = ANY($2)`, id, remove)
			if err != nil {
				return err
			}
			removed = tag.RowsAffected()
		}
		if added+removed > 0 {
			g, err = scanGroup(tx.QueryRow(ctx, `UPDATE groups SET updated_at = $2 WHERE id = $1
				RETURNING `+groupColumns, id, ts(now)))
			if err != nil {
				return err
			}
		}
		out = g
		return nil
	})
	if err != nil {
		return domain.Group{}, translate("change group members", err)
	}
	return out, nil
}

// ListGroupMembers returns a keyset page of a group's user ids, read in
// order from the primary key. Another organization's group, like an
// unknown one, has none.
func (s *GroupStore) ListGroupMembers(ctx context.Context, organizationID, id, afterUserID string, limit int) ([]string, error) {
	if limit <= 0 {
		return []string{}, nil
	}
	return listOrEmpty(ctx, s.pool, "list group members", scanString, `SELECT user_id FROM group_members
		WHERE group_id = $1 AND organization_id = $2 AND user_id > $3 ORDER BY user_id LIMIT $4`,
		id, organizationID, afterUserID, limit)
}

func scanString(row pgx.Row) (string, error) {
	var s string
	err := row.Scan(&s)
	return s, err
}

// ListUserGroups returns the organization's groups a user is in, read in
// group id order from group_members_user and joined to groups by primary
// key.
func (s *GroupStore) ListUserGroups(ctx context.Context, organizationID, userID string) ([]domain.Group, error) {
	return listOrEmpty(ctx, s.pool, "list user groups", scanGroup, `SELECT `+qualify("g", groupColumns)+`
		FROM group_members gm JOIN groups g ON g.id = gm.group_id
		WHERE gm.organization_id = $1 AND gm.user_id = $2 ORDER BY gm.group_id`, organizationID, userID)
}
