package scim

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
)

func asError(err error, e **Error) bool { return errors.As(err, e) }

func sample() userAttrs {
	return userAttrs{
		UserName: "ada@example.com", GivenName: "Ada", FamilyName: "Lovelace", Active: true,
		OrgProfile: domain.OrgProfile{
			ExternalID: "ext-1", DisplayName: "Ada L",
			Emails: []domain.MultiValue{{Value: "ada@example.com", Type: "work", Primary: true}, {Value: "ada@home.test", Type: "home"}},
		},
	}
}

func patch(t *testing.T, a userAttrs, body string) (userAttrs, error) {
	t.Helper()
	ops, err := ParsePatch([]byte(body))
	if err != nil {
		return userAttrs{}, err
	}
	return applyPatch(a, ops)
}

func mustPatch(t *testing.T, a userAttrs, body string) userAttrs {
	t.Helper()
	out, err := patch(t, a, body)
	require.NoError(t, err)
	return out
}

const patchSchema = `"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]`

func TestPatchEntraCapitalisedOpsAndStringBooleans(t *testing.T) {
	out := mustPatch(t, sample(), `{`+patchSchema+`,"Operations":[{"op":"Replace","path":"active","value":"False"}]}`)
	assert.False(t, out.Active)
	out = mustPatch(t, out, `{`+patchSchema+`,"Operations":[{"op":"Replace","path":"active","value":"True"}]}`)
	assert.True(t, out.Active)
	out = mustPatch(t, out, `{`+patchSchema+`,"Operations":[{"op":"Add","path":"displayName","value":"Countess"}]}`)
	assert.Equal(t, "Countess", out.DisplayName)
}

func TestPatchEntraPathlessValueObjects(t *testing.T) {
	out := mustPatch(t, sample(), `{`+patchSchema+`,"Operations":[{"op":"Replace","value":{
		"active": "False",
		"name.givenName": "Augusta",
		"name.familyName": "King",
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Analytics",
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "1815",
		"emails[type eq \"work\"].value": "augusta@example.com",
		"title": "Countess"
	}}]}`)
	assert.False(t, out.Active)
	assert.Equal(t, "Augusta", out.GivenName)
	assert.Equal(t, "King", out.FamilyName)
	assert.Equal(t, "Analytics", out.Department)
	assert.Equal(t, "1815", out.EmployeeNumber)
	assert.Equal(t, "augusta@example.com", out.Emails[0].Value)
	assert.Equal(t, "Countess", out.Title)
	assert.Equal(t, "augusta@example.com", out.signInEmail(domain.SignInPrimaryEmail), "the primary email signs in")
	assert.Equal(t, "ada@example.com", out.UserName, "userName is not an email's")
}

func TestPatchEntraManager(t *testing.T) {
	out := mustPatch(t, sample(), `{`+patchSchema+`,"Operations":[{"op":"Add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"mgr-7"}]}`)
	assert.Equal(t, "mgr-7", out.ManagerID)
	out = mustPatch(t, out, `{`+patchSchema+`,"Operations":[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":{"value":"mgr-8","displayName":"Babbage"}}]}`)
	assert.Equal(t, "mgr-8", out.ManagerID)
	assert.Equal(t, "Babbage", out.ManagerName)
	out = mustPatch(t, out, `{`+patchSchema+`,"Operations":[{"op":"Remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"}]}`)
	assert.Empty(t, out.ManagerID)
	assert.Empty(t, out.ManagerName)
}

func TestPatchOktaDeactivate(t *testing.T) {
	out := mustPatch(t, sample(), `{`+patchSchema+`,"Operations":[{"op":"replace","value":{"active":false}}]}`)
	assert.False(t, out.Active)
}

func TestPatchValueFilters(t *testing.T) {
	a := sample()
	out := mustPatch(t, a, `{`+patchSchema+`,"Operations":[{"op":"replace","path":"emails[type eq \"home\"].value","value":"ada@house.test"}]}`)
	assert.Equal(t, "ada@house.test", out.Emails[1].Value)
	assert.Equal(t, "ada@home.test", a.Emails[1].Value, "the input is not changed")

	// No match: a simple type filter adds the value, as providers expect.
	out = mustPatch(t, a, `{`+patchSchema+`,"Operations":[{"op":"replace","path":"phoneNumbers[type eq \"mobile\"].value","value":"+15555550100"}]}`)
	assert.Equal(t, []domain.MultiValue{{Value: "+15555550100", Type: "mobile"}}, out.PhoneNumbers)

	out = mustPatch(t, a, `{`+patchSchema+`,"Operations":[{"op":"remove","path":"emails[type eq \"home\"]"}]}`)
	assert.Len(t, out.Emails, 1)

	out = mustPatch(t, a, `{`+patchSchema+`,"Operations":[{"op":"add","path":"emails","value":[{"value":"ada@new.test","type":"other","primary":true}]}]}`)
	require.Len(t, out.Emails, 3)
	assert.False(t, out.Emails[0].Primary, "a new primary takes primary from the rest")
	assert.True(t, out.Emails[2].Primary)

	out = mustPatch(t, a, `{`+patchSchema+`,"Operations":[{"op":"replace","path":"emails[value ew \"home.test\" or type eq \"nope\"].type","value":"personal"}]}`)
	assert.Equal(t, "personal", out.Emails[1].Type)

	_, err := patch(t, a, `{`+patchSchema+`,"Operations":[{"op":"replace","path":"emails[value co \"zzz\"].value","value":"x@y.test"}]}`)
	assertSCIM(t, err, fault.Invalid, TypeNoTarget)
}

func TestPatchRefusals(t *testing.T) {
	for _, c := range []struct{ body, typ string }{
		{`{"Operations":[{"op":"replace","path":"active","value":false}]}`, TypeInvalidSyntax},
		{`{` + patchSchema + `,"Operations":[]}`, TypeInvalidSyntax},
		{`{` + patchSchema + `,"Operations":[{"op":"move","path":"active","value":false}]}`, TypeInvalidSyntax},
		{`{` + patchSchema + `,"Operations":[{"op":"remove"}]}`, TypeNoTarget},
		{`{` + patchSchema + `,"Operations":[{"op":"replace","value":"x"}]}`, TypeInvalidValue},
		{`{` + patchSchema + `,"Operations":[{"op":"replace","path":"id","value":"x"}]}`, TypeMutability},
		{`{` + patchSchema + `,"Operations":[{"op":"remove","path":"userName"}]}`, TypeMutability},
		{`{` + patchSchema + `,"Operations":[{"op":"replace","path":"active","value":"yes"}]}`, TypeInvalidValue},
		{`{` + patchSchema + `,"Operations":[{"op":"replace","path":"displayName","value":7}]}`, TypeInvalidValue},
		{`{` + patchSchema + `,"Operations":[{"op":"replace","path":"emails[","value":"x"}]}`, TypeInvalidPath},
		{`{` + patchSchema + `,"Operations":[{"op":"replace","path":"userName[type eq \"x\"]","value":"x"}]}`, TypeInvalidPath},
		{`not json`, TypeInvalidSyntax},
		{`{` + patchSchema + `,"Operations":[{"op":"replace","path":"active","value":false}]} {}`, TypeInvalidSyntax},
	} {
		_, err := patch(t, sample(), c.body)
		assertSCIM(t, err, fault.Invalid, c.typ)
	}
}

func TestCheckRefusesBadAttributes(t *testing.T) {
	for _, body := range []string{
		`{"op":"replace","path":"userName","value":"  "}`,
		`{"op":"replace","path":"emails","value":[{"value":"nope"}]}`,
		`{"op":"replace","path":"addresses","value":[{"type":"work"}]}`,
		`{"op":"replace","path":"title","value":"bad\u0007title"}`,
		`{"op":"replace","path":"roles","value":[{"value":"a","primary":true},{"value":"b"}, {"display":"no value"}]}`,
		`{"op":"replace","path":"displayName","value":"bad\u0000name"}`,
	} {
		out, err := patch(t, sample(), `{`+patchSchema+`,"Operations":[`+body+`]}`)
		if err == nil {
			err = out.check()
		}
		assertSCIM(t, err, fault.Invalid, TypeInvalidValue)
	}
}

// A userName need not be an address: the emails sign in.
func TestUserNameIsAnyName(t *testing.T) {
	out := mustPatch(t, sample(), `{`+patchSchema+`,"Operations":[{"op":"replace","path":"userName","value":"Ada Lovelace (Analytics)"}]}`)
	require.NoError(t, out.check())
	assert.Equal(t, "Ada Lovelace (Analytics)", out.UserName)
}

func TestOnePrimaryEmailRemains(t *testing.T) {
	out := mustPatch(t, sample(), `{`+patchSchema+`,"Operations":[{"op":"replace","path":"emails","value":[{"value":"a@b.test","primary":true},{"value":"c@d.test","primary":true}]}]}`)
	assert.Equal(t, []domain.MultiValue{{Value: "a@b.test"}, {Value: "c@d.test", Primary: true}}, out.Emails, "the last primary wins")
	require.NoError(t, out.check())
}

func assertSCIM(t *testing.T, err error, kind fault.Kind, typ string) {
	t.Helper()
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, kind, e.Kind, e.Detail)
	assert.Equal(t, typ, e.Type, e.Detail)
}

// FuzzPatch: no PATCH body crashes parsing or application; failures are
// SCIM 400s.
func FuzzPatch(f *testing.F) {
	for _, s := range []string{
		`{` + patchSchema + `,"Operations":[{"op":"Replace","path":"active","value":"False"}]}`,
		`{` + patchSchema + `,"Operations":[{"op":"add","value":{"name.givenName":"x","emails":[{"value":"a@b.c"}]}}]}`,
		`{` + patchSchema + `,"Operations":[{"op":"remove","path":"emails[type eq \"work\"].value"}]}`,
		`{` + patchSchema + `,"Operations":[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":{"value":"m"}}]}`,
		`{` + patchSchema + `,"Operations":[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","value":{"department":"d"}}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		out, err := patch(t, sample(), string(body))
		if err == nil {
			err = out.check()
			if err == nil {
				return
			}
		}
		var e *Error
		if !errors.As(err, &e) || e.Kind != fault.Invalid {
			t.Fatalf("unexpected error %v", err)
		}
	})
}

// A filtered PATCH of the work email of a user with no stored emails
// makes one, and it becomes the sign-in email.
func TestPatchWorkEmailIsTheSignInEmail(t *testing.T) {
	a := sample()
	a.Emails = nil
	out := mustPatch(t, a, `{`+patchSchema+`,"Operations":[{"op":"replace","path":"emails[type eq \"work\"].value","value":"ada@new.test"}]}`)
	assert.Equal(t, []domain.MultiValue{{Value: "ada@new.test", Type: "work"}}, out.Emails)
	assert.Equal(t, "ada@new.test", out.signInEmail(domain.SignInPrimaryEmail))
}

// userName and emails are independent; the token's rule picks which one
// signs in.
func TestSignInEmailRules(t *testing.T) {
	a := sample()
	a.UserName = "Ada.Lovelace@Contoso.onmicrosoft.com"
	assert.Equal(t, "ada@example.com", a.signInEmail(domain.SignInPrimaryEmail), "the primary email")
	assert.Equal(t, a.UserName, a.signInEmail(domain.SignInUserName))
	a.Emails = []domain.MultiValue{{Value: "a@home.test", Type: "home"}, {Value: "a@work.test", Type: "work"}}
	assert.Equal(t, "a@work.test", a.signInEmail(domain.SignInPrimaryEmail), "else the work email")
	a.Emails = []domain.MultiValue{{Value: "a@other.test", Type: "other"}}
	assert.Equal(t, "a@other.test", a.signInEmail(domain.SignInPrimaryEmail), "else the first")
	a.Emails = nil
	assert.Equal(t, a.UserName, a.signInEmail(domain.SignInPrimaryEmail), "else userName, an address")
	a.UserName = "alovelace"
	assert.Empty(t, a.signInEmail(domain.SignInPrimaryEmail), "none")
	_, err := a.newSignInEmail(domain.SignInPrimaryEmail)
	assertSCIM(t, err, fault.Invalid, TypeInvalidValue)
	_, err = a.newSignInEmail(domain.SignInUserName)
	assertSCIM(t, err, fault.Invalid, TypeInvalidValue)

	out := mustPatch(t, sample(), `{`+patchSchema+`,"Operations":[{"op":"replace","path":"userName","value":"ada@login.test"}]}`)
	assert.Equal(t, "ada@example.com", out.signInEmail(domain.SignInPrimaryEmail), "renaming keeps the email")
	assert.Equal(t, sample().Emails, out.Emails)
	out = mustPatch(t, sample(), `{`+patchSchema+`,"Operations":[{"op":"replace","path":"emails[primary eq true].value","value":"ada@mail.test"}]}`)
	assert.Equal(t, "ada@example.com", out.UserName, "changing emails keeps userName")
}

// RFC 7644 §3.5.2.1 and §3.5.2.3: add and replace carry a value.
func TestPatchAddAndReplaceNeedAValue(t *testing.T) {
	for _, op := range []string{
		`{"op":"add","path":"displayName"}`,
		`{"op":"Replace","path":"displayName"}`,
		`{"op":"replace"}`,
		`{"op":"add","path":"displayName","value":null}`,
	} {
		_, err := patch(t, sample(), `{`+patchSchema+`,"Operations":[`+op+`]}`)
		assertSCIM(t, err, fault.Invalid, TypeInvalidValue)
	}
	out := mustPatch(t, sample(), `{`+patchSchema+`,"Operations":[{"op":"replace","path":"displayName","value":null}]}`)
	assert.Empty(t, out.DisplayName, "replacing with null clears (RFC 7643 §2.5)")
	out = mustPatch(t, sample(), `{`+patchSchema+`,"Operations":[{"op":"remove","path":"displayName"}]}`)
	assert.Empty(t, out.DisplayName)
}

func TestPatchPathsNameTheUserSchemas(t *testing.T) {
	for _, path := range []string{
		`nickNameX`, `urn:unknown:schema:foo`, `name.middleNameX`, `displayName.value`, `meta.nothing`,
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:title`, `title[type eq \"x\"]`,
		`emails[type eq \"work\"].colour`,
	} {
		_, err := patch(t, sample(), `{`+patchSchema+`,"Operations":[{"op":"replace","path":"`+path+`","value":"x"}]}`)
		assertSCIM(t, err, fault.Invalid, TypeInvalidPath)
	}
	for path, got := range map[string]func(p domain.OrgProfile) any{
		`nickName`: func(p domain.OrgProfile) any { return p.NickName }, `title`: func(p domain.OrgProfile) any { return p.Title },
		`locale`: func(p domain.OrgProfile) any { return p.Locale }, `timezone`: func(p domain.OrgProfile) any { return p.Timezone },
		`preferredLanguage`:    func(p domain.OrgProfile) any { return p.PreferredLanguage },
		`userType`:             func(p domain.OrgProfile) any { return p.UserType },
		`profileUrl`:           func(p domain.OrgProfile) any { return p.ProfileURL },
		`name.middleName`:      func(p domain.OrgProfile) any { return p.MiddleName },
		`name.honorificPrefix`: func(p domain.OrgProfile) any { return p.HonorificPrefix },
		`addresses[type eq \"work\"].streetAddress`: func(p domain.OrgProfile) any {
			return p.Addresses
		},
		`ims[type eq \"xmpp\"].value`:                                           func(p domain.OrgProfile) any { return p.Ims },
		`urn:ietf:params:scim:schemas:core:2.0:User:nickName`:                   func(p domain.OrgProfile) any { return p.NickName },
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter`: func(p domain.OrgProfile) any { return p.CostCenter },
		`division`: func(p domain.OrgProfile) any { return p.Division },
	} {
		out := mustPatch(t, sample(), `{`+patchSchema+`,"Operations":[{"op":"add","path":"`+path+`","value":"x"}]}`)
		want := any("x")
		switch got(out.OrgProfile).(type) {
		case []domain.Address:
			want = []domain.Address{{StreetAddress: "x", Type: "work"}}
		case []domain.MultiValue:
			want = []domain.MultiValue{{Value: "x", Type: "xmpp"}}
		}
		assert.Equal(t, want, got(out.OrgProfile), "%s is stored", path)
	}
	out := mustPatch(t, sample(), `{`+patchSchema+`,"Operations":[{"op":"add","path":"password","value":"x"}]}`)
	assert.Equal(t, sample(), out, "password is accepted and not stored")
	// A body's keys are not refused: a PUT may carry extensions.
	out = mustPatch(t, sample(), `{`+patchSchema+`,"Operations":[{"op":"replace","value":{"urn:custom:ext:badge":"7","displayName":"Ada"}}]}`)
	assert.Equal(t, "Ada", out.DisplayName)
}
