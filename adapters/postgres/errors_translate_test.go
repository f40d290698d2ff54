package postgres

import (
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// A unique violation is ErrAlreadyExists whatever it violates; one of
// memberships_user_name is also, by the index's name, a user name taken,
// and one of groups_name a group name taken.
func TestTranslateTellsATakenUserNameByItsIndex(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name                string
		constraint          string
		userName, groupName bool
	}{
		{"the user name index", indexUserName, true, false},
		{"the group name index", indexGroupName, false, true},
		{"a user's primary key", "users_pkey", false, false},
		{"a membership's primary key", "memberships_pkey", false, false},
		{"a group's primary key", "groups_pkey", false, false},
	} {
		err := translate("op", &pgconn.PgError{Code: codeUniqueViolation, ConstraintName: c.constraint})
		assert.ErrorIs(t, err, domain.ErrAlreadyExists, c.name)
		assert.Equal(t, c.userName, errors.Is(err, errUserNameTaken), c.name)
		assert.Equal(t, c.groupName, errors.Is(err, errGroupNameTaken), c.name)
	}
	err := translate("op", &pgconn.PgError{Code: codeForeignKeyViolation, ConstraintName: indexUserName})
	assert.NotErrorIs(t, err, errUserNameTaken, "only a unique violation of the index is a name taken")
}
