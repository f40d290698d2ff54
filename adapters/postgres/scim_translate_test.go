package postgres

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// The translation needs no database: these check its shape.

func TestTranslateFilterBindsEveryValue(t *testing.T) {
	t.Parallel()
	evil := `x'); DROP TABLE users; --%_\`
	var f domain.UserFilter = &domain.Compare{Field: domain.FieldID, Op: domain.OpEq, Value: evil}
	for field, info := range domain.UserFields {
		var ops []domain.FilterOp
		var v any
		switch info.Kind {
		case domain.KindBool:
			ops, v = []domain.FilterOp{domain.OpEq, domain.OpNe, domain.OpPr}, true
		case domain.KindTime:
			ops, v = []domain.FilterOp{domain.OpEq, domain.OpNe, domain.OpGt, domain.OpGe, domain.OpLt, domain.OpLe, domain.OpPr}, time.Now()
		default:
			ops, v = []domain.FilterOp{domain.OpEq, domain.OpNe, domain.OpCo, domain.OpSw, domain.OpEw,
				domain.OpGt, domain.OpGe, domain.OpLt, domain.OpLe, domain.OpPr}, evil
		}
		for _, op := range ops {
			c := &domain.Compare{Field: field, Op: op, Value: v}
			if op == domain.OpPr {
				c.Value = nil
			}
			f = &domain.Or{Left: f, Right: &domain.Not{X: c}}
		}
	}
	where, args, err := translateFilter("org'x", f)
	require.NoError(t, err)
	assert.NotContains(t, where, "DROP")
	assert.NotContains(t, where, "org'x")
	assert.Equal(t, "org'x", args[0])
	assert.Less(t, nesting(where), 20, "the disjunction is flat")
}

// nesting is the deepest nesting of parentheses in sql.
func nesting(sql string) int {
	depth, deepest := 0, 0
	for _, r := range sql {
		switch r {
		case '(':
			depth++
			deepest = max(deepest, depth)
		case ')':
			depth--
		}
	}
	return deepest
}

func TestTranslateFilterEscapesLike(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		op   domain.FilterOp
		want string
	}{
		{domain.OpCo, `%a\%b\_c\\d%`},
		{domain.OpSw, `a\%b\_c\\d%`},
		{domain.OpEw, `%a\%b\_c\\d`},
	} {
		_, args, err := translateFilter("o", &domain.Compare{Field: domain.FieldGivenName, Op: c.op, Value: `A%b_C\d`})
		require.NoError(t, err)
		assert.Equal(t, []any{"o", c.want}, args, c.op)
	}
}

func TestTranslateFilterRefusesMalformedFilters(t *testing.T) {
	t.Parallel()
	ok := &domain.Compare{Field: domain.FieldActive, Op: domain.OpPr}
	deep := domain.UserFilter(ok)
	for range maxFilterDepth + 1 {
		deep = &domain.Not{X: deep}
	}
	wide := domain.UserFilter(ok)
	for range maxFilterNodes {
		wide = &domain.And{Left: wide, Right: ok}
	}
	for name, f := range map[string]domain.UserFilter{
		"nil side":       &domain.And{Left: ok},
		"nil not":        &domain.Not{},
		"nil compare":    (*domain.Compare)(nil),
		"nil and":        &domain.Or{Left: ok, Right: (*domain.And)(nil)},
		"unknown field":  &domain.Compare{Field: "password", Op: domain.OpEq, Value: "x"},
		"unknown op":     &domain.Compare{Field: domain.FieldGivenName, Op: "regex", Value: "x"},
		"bool as string": &domain.Compare{Field: domain.FieldActive, Op: domain.OpEq, Value: "true"},
		"active gt":      &domain.Compare{Field: domain.FieldActive, Op: domain.OpGt, Value: true},
		"time co":        &domain.Compare{Field: domain.FieldCreated, Op: domain.OpCo, Value: time.Now()},
		"string as time": &domain.Compare{Field: domain.FieldCreated, Op: domain.OpEq, Value: "2020"},
		"string as bool": &domain.Compare{Field: domain.FieldGivenName, Op: domain.OpEq, Value: true},
		"NUL in a value": &domain.Compare{Field: domain.FieldGivenName, Op: domain.OpEq, Value: "a\x00"},
		"invalid UTF-8":  &domain.Compare{Field: domain.FieldGivenName, Op: domain.OpCo, Value: "\xff"},
		"too deep":       deep,
		"too many nodes": wide,
	} {
		_, _, err := translateFilter("o", f)
		assert.ErrorIs(t, err, errBadFilter, name)
	}
}
