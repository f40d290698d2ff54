package scim

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
)

func cmp(f domain.UserField, op domain.FilterOp, v any) *domain.Compare {
	return &domain.Compare{Field: f, Op: op, Value: v}
}

func TestParseFilterTranslatesEveryOperatorAndAttribute(t *testing.T) {
	when := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		in   string
		want domain.UserFilter
	}{
		{`userName eq "Alice@Example.com"`, cmp(domain.FieldUserName, domain.OpEq, "Alice@Example.com")},
		{`USERNAME Eq "a"`, cmp(domain.FieldUserName, domain.OpEq, "a")},
		{`urn:ietf:params:scim:schemas:core:2.0:User:userName sw "a"`, cmp(domain.FieldUserName, domain.OpSw, "a")},
		{`name.givenName co "li"`, cmp(domain.FieldGivenName, domain.OpCo, "li")},
		{`name.familyName ew "son"`, cmp(domain.FieldFamilyName, domain.OpEw, "son")},
		{`displayName ne "x"`, cmp(domain.FieldDisplayName, domain.OpNe, "x")},
		{`externalId pr`, &domain.Compare{Field: domain.FieldExternalID, Op: domain.OpPr}},
		{`active eq true`, cmp(domain.FieldActive, domain.OpEq, true)},
		{`active eq "False"`, cmp(domain.FieldActive, domain.OpEq, false)},
		// Times compare at the millisecond SCIM shows them at.
		{`meta.lastModified gt "2026-01-02T03:04:05Z"`, cmp(domain.FieldLastModified, domain.OpGe, when.Add(time.Millisecond))},
		{`meta.created le "2026-01-02T03:04:05.0009Z"`, cmp(domain.FieldCreated, domain.OpLt, when.Add(time.Millisecond))},
		{`meta.created ge "2026-01-02T03:04:05Z"`, cmp(domain.FieldCreated, domain.OpGe, when)},
		{`meta.created lt "2026-01-02T03:04:05Z"`, cmp(domain.FieldCreated, domain.OpLt, when)},
		{`meta.created eq "2026-01-02T03:04:05.000Z"`, &domain.And{
			Left: cmp(domain.FieldCreated, domain.OpGe, when), Right: cmp(domain.FieldCreated, domain.OpLt, when.Add(time.Millisecond)),
		}},
		{`meta.created ne "2026-01-02T03:04:05Z"`, &domain.Not{X: &domain.And{
			Left: cmp(domain.FieldCreated, domain.OpGe, when), Right: cmp(domain.FieldCreated, domain.OpLt, when.Add(time.Millisecond)),
		}}},
		{`emails co "@example.com"`, cmp(domain.FieldEmailValue, domain.OpCo, "@example.com")},
		{`emails.type eq "work"`, cmp(domain.FieldEmailType, domain.OpEq, "work")},
		{`phoneNumbers.value sw "+1"`, cmp(domain.FieldPhoneValue, domain.OpSw, "+1")},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department ge "B"`, cmp(domain.FieldDepartment, domain.OpGe, "B")},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber lt "5"`, cmp(domain.FieldEmployeeNumber, domain.OpLt, "5")},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "m1"`, cmp(domain.FieldManagerID, domain.OpEq, "m1")},
		{`department eq "x"`, cmp(domain.FieldDepartment, domain.OpEq, "x")},
		{`id eq "u1"`, cmp(domain.FieldID, domain.OpEq, "u1")},
		{`userName eq "a" and not (active eq false) or externalId eq "e"`, &domain.Or{
			Left:  &domain.And{Left: cmp(domain.FieldUserName, domain.OpEq, "a"), Right: &domain.Not{X: cmp(domain.FieldActive, domain.OpEq, false)}},
			Right: cmp(domain.FieldExternalID, domain.OpEq, "e"),
		}},
		{`userName eq "a" and (externalId eq "b" or externalId eq "c")`, &domain.And{
			Left:  cmp(domain.FieldUserName, domain.OpEq, "a"),
			Right: &domain.Or{Left: cmp(domain.FieldExternalID, domain.OpEq, "b"), Right: cmp(domain.FieldExternalID, domain.OpEq, "c")},
		}},
		{``, nil},
	}
	for _, c := range cases {
		got, err := ParseFilter(c.in)
		require.NoError(t, err, c.in)
		assert.Equal(t, c.want, got, c.in)
	}
}

func TestParseFilterRejectsWhatItCannotTranslate(t *testing.T) {
	for _, in := range []string{
		`userName eq`, `((userName eq "a")`, `title eq "x"`, `userName eq 5`, `active gt true`,
		`active eq "maybe"`, `meta.created eq "yesterday"`, `meta.created co "2026"`,
		`emails[type eq "work"]`, `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:userName eq "a"`,
		`password eq "x"`, `userName eq null`, "userName eq \"a\" " + repeat(" or userName eq \"a\"", 70),
		repeat("x", MaxFilterLen+1), repeat("not (", 17) + `userName eq "a"` + repeat(")", 17), "userName eq \"a\x00\"", "userName eq \"\xff\"",
	} {
		_, err := ParseFilter(in)
		var e *Error
		require.ErrorAs(t, err, &e, in)
		assert.Equal(t, fault.Invalid, e.Kind, in)
		assert.Equal(t, TypeInvalidFilter, e.Type, in)
	}
}

func repeat(s string, n int) string {
	out := ""
	for range n {
		out += s
	}
	return out
}

// FuzzParseFilter: no filter, however malformed, crashes the parser or the
// translation; every failure is an invalidFilter.
func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{
		`userName eq "a"`, `not (active eq true) and emails co "x"`, `emails[type eq "work"]`,
		`meta.created gt "2026-01-01T00:00:00Z"`, `((`, `a eq "\"`, `userName eq "a" or (b pr)`,
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "x"`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := ParseFilter(in)
		if err != nil {
			var e *Error
			if !asError(err, &e) || e.Kind != fault.Invalid || e.Type != TypeInvalidFilter {
				t.Fatalf("%q: unexpected error %v", in, err)
			}
			return
		}
		checkWellTyped(t, got)
	})
}

// checkWellTyped asserts the contract stores rely on: every comparison
// names a known field and carries the value type its kind takes.
func checkWellTyped(t *testing.T, f domain.UserFilter) {
	switch f := f.(type) {
	case nil:
	case *domain.And:
		checkWellTyped(t, f.Left)
		checkWellTyped(t, f.Right)
	case *domain.Or:
		checkWellTyped(t, f.Left)
		checkWellTyped(t, f.Right)
	case *domain.Not:
		checkWellTyped(t, f.X)
	case *domain.Compare:
		info, ok := domain.UserFields[f.Field]
		if !ok {
			t.Fatalf("unknown field %q", f.Field)
		}
		if f.Op == domain.OpPr {
			return
		}
		switch info.Kind {
		case domain.KindBool:
			_, ok = f.Value.(bool)
		case domain.KindTime:
			_, ok = f.Value.(time.Time)
		default:
			_, ok = f.Value.(string)
		}
		if !ok {
			t.Fatalf("%s %s has value %#v", f.Field, f.Op, f.Value)
		}
	default:
		t.Fatalf("unknown node %T", f)
	}
}

// height is how many and, or and not levels a filter has above its deepest
// comparison.
func height(f domain.UserFilter) int {
	switch f := f.(type) {
	case *domain.And:
		return 1 + max(height(f.Left), height(f.Right))
	case *domain.Or:
		return 1 + max(height(f.Left), height(f.Right))
	case *domain.Not:
		return 1 + height(f.X)
	}
	return 0
}

func TestParseFilterBalancesFlatRuns(t *testing.T) {
	or64 := `userName eq "a0"`
	for i := 1; i < 64; i++ {
		or64 += ` or userName eq "a` + itoa(i) + `"`
	}
	for _, c := range []struct {
		name, in   string
		wantHeight int
	}{
		{"64 alternatives are a tree 6 high", or64, 6},
		{"64 conjuncts are a tree 6 high", strings.ReplaceAll(or64, " or ", " and "), 6},
		{"parentheses around the same operator change nothing", `(userName eq "a" or userName eq "b") or (userName eq "c" or userName eq "d")`, 2},
		{"a level of parentheses costs one level", `userName eq "a" and (userName eq "b" or (userName eq "c" and (userName eq "d" or userName eq "e")))`, 4},
		{"16 nested not are allowed", repeat("not (", 16) + `userName eq "a"` + repeat(")", 16), 16},
	} {
		got, err := ParseFilter(c.in)
		require.NoError(t, err, c.name)
		assert.Equal(t, c.wantHeight, height(got), c.name)
		checkWellTyped(t, got)
	}

	// The order of the operands is kept.
	got, err := ParseFilter(`userName eq "a" or userName eq "b" or userName eq "c"`)
	require.NoError(t, err)
	assert.Equal(t, &domain.Or{
		Left:  &domain.Or{Left: cmp(domain.FieldUserName, domain.OpEq, "a"), Right: cmp(domain.FieldUserName, domain.OpEq, "b")},
		Right: cmp(domain.FieldUserName, domain.OpEq, "c"),
	}, got)
}

func TestParseFilterBoundsRealNesting(t *testing.T) {
	alternating := `userName eq "z"`
	for i := range 17 {
		op := " or "
		if i%2 == 1 {
			op = " and "
		}
		alternating = `userName eq "a` + itoa(i) + `"` + op + "(" + alternating + ")"
	}
	for _, in := range []string{
		repeat("not (", 17) + `userName eq "a"` + repeat(")", 17),
		alternating,
	} {
		_, err := ParseFilter(in)
		assertSCIM(t, err, fault.Invalid, TypeInvalidFilter)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
