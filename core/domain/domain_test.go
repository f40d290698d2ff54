package domain_test

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/core/domain"
)

func TestValidateRedirectURI(t *testing.T) {
	cases := []struct {
		name string
		uri  string
		ok   bool
	}{
		{"an https URI is accepted", "https://myapp.com/auth/callback", true},
		{"an https URI with a query is accepted", "https://myapp.com/cb?tenant=1", true},
		{"http on localhost with a port is accepted", "http://localhost:5173/auth/callback", true},
		{"http on 127.0.0.1 is accepted", "http://127.0.0.1:9000/cb", true},
		{"http on [::1] is accepted", "http://[::1]:8080/cb", true},
		{"http on another host is refused", "http://myapp.com/cb", false},
		{"http on a localhost look-alike is refused", "http://localhost.evil.com/cb", false},
		{"a fragment is refused", "https://myapp.com/cb#frag", false},
		{"an empty fragment is refused", "https://myapp.com/cb#", false},
		{"a wildcard is refused", "https://*.myapp.com/cb", false},
		{"a relative URI is refused", "/cb", false},
		{"a custom scheme is refused", "myapp://cb", false},
		{"javascript is refused", "javascript:alert(1)", false},
		{"user info is refused", "https://user:pw@myapp.com/cb", false},
		{"whitespace is refused", "https://myapp.com/c b", false},
		{"an empty URI is refused", "", false},
		{"an over-long URI is refused", "https://myapp.com/" + strings.Repeat("a", 2100), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := domain.ValidateRedirectURI(tc.uri)
			if tc.ok {
				assert.NoError(t, err)
			} else {
				assert.Error(t, err)
			}
		})
	}
}

func challenge(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func TestVerifyPKCE(t *testing.T) {
	verifier := strings.Repeat("a1-._~", 8) // 48 characters
	cases := []struct {
		name      string
		verifier  string
		challenge string
		ok        bool
	}{
		{"the matching verifier passes", verifier, challenge(verifier), true},
		{"another verifier fails", verifier + "x", challenge(verifier), false},
		{"a verifier shorter than 43 characters fails", "abc", challenge("abc"), false},
		{"a verifier longer than 128 characters fails", strings.Repeat("a", 129), challenge(strings.Repeat("a", 129)), false},
		{"a verifier with a forbidden character fails", strings.Repeat("a", 42) + "+", challenge(strings.Repeat("a", 42) + "+"), false},
		{"the plain method (challenge equals verifier) fails", verifier, verifier, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.ok, domain.VerifyPKCE(tc.verifier, tc.challenge))
		})
	}
}

func TestValidCodeChallenge(t *testing.T) {
	assert.True(t, domain.ValidCodeChallenge(challenge("x")), "a SHA-256 digest in base64url is a challenge")
	assert.False(t, domain.ValidCodeChallenge("short"), "a short value is not")
	assert.False(t, domain.ValidCodeChallenge(strings.Repeat("!", 43)), "a non-base64url value is not")
}

func TestParseScope(t *testing.T) {
	assert.Equal(t, []string{"openid", "profile", "email"}, domain.ParseScope("  openid profile\temail profile "))
	assert.Empty(t, domain.ParseScope("   "))
	assert.Equal(t, "openid email", domain.JoinScope([]string{"openid", "email"}))
}

func TestScopeRules(t *testing.T) {
	assert.True(t, domain.KnownScope("phone"))
	assert.True(t, domain.KnownScope("organization"))
	assert.False(t, domain.KnownScope("admin"))
	assert.True(t, domain.IsExtendedScope("permissions"))
	assert.False(t, domain.IsExtendedScope("email"))
	assert.False(t, domain.ValidScopeToken(`a"b`), "a quote is not a scope character")
	assert.False(t, domain.ValidScopeToken(""), "an empty scope is not a scope")
}

func TestEmail(t *testing.T) {
	assert.Equal(t, "jane@school.com", domain.NormalizeEmail("  Jane@School.COM "))
	for _, ok := range []string{"jane@school.com", "a.b+c@sub.example.edu"} {
		assert.True(t, domain.ValidEmail(ok), ok)
	}
	for _, bad := range []string{"", "jane", "Jane <jane@school.com>", "jane@", strings.Repeat("a", 250) + "@x.com",
		// Domains that look like, or reach, another: Unicode, full-width,
		// ideographic dots, zero-width characters, single labels.
		"x@bücher.de", "y@school\u3002edu", "y@school\uff0eedu", "x@\uff53chool.edu", "x@school.edu\u200b", "x@localhost", "x@-school.edu"} {
		assert.False(t, domain.ValidEmail(bad), bad)
	}
	assert.True(t, domain.ValidEmail("x@xn--bcher-kva.de"), "an internationalised domain in its A-label form")
}

// One normalisation for storage and lookups: ASCII letters are
// lower-cased, nothing else is folded, and the addresses it would not
// settle (non-ASCII, IP literals, IP addresses, undotted domains,
// comments) are not addresses at all.
func TestEmailIsStrict(t *testing.T) {
	assert.Equal(t, "\u212aate@example.com", domain.NormalizeEmail("\u212aATE@Example.COM"),
		"the Kelvin sign is not folded to k")
	assert.Equal(t, "élodie@example.com", domain.NormalizeEmail("élodie@EXAMPLE.com"))
	assert.Equal(t, "\u212aschool.edu", domain.NormalizeDomain("\u212aSchool.EDU."), "ASCII only in domains too")
	for _, bad := range []string{
		"\u212aate@example.com", // the Kelvin sign, which Unicode folding makes "kate"
		"\u017fam@example.com",  // long s
		"élodie@example.com",    // a Unicode local part
		"jane@[127.0.0.1]", "jane@[IPv6:::1]", "jane@127.0.0.1", "jane@10.0.0.1",
		"jane@127.0.0.0x1", "jane@0x7f000001.0x0", "jane@127.1.0x0", "jane@127.1", // IPv4 in inet_aton's forms
		"jane@example", "jane(comment)@example.com", `"jane doe"@example.com`,
		"jane@example.com\u202e", "\u202ejane@example.com",
	} {
		assert.False(t, domain.ValidEmail(bad), "%+q", bad)
	}
	for _, ok := range []string{"jane@example.com", "o'brien@school.k12.ca.us", "jane@123.example.com", "jane@example.co1"} {
		assert.True(t, domain.ValidEmail(ok), ok)
	}
}

func TestPrintableText(t *testing.T) {
	for _, ok := range []string{"Springfield High", "Élodie Ünal", "李小龍", "O'Brien-Smith", "مدرسة",
		"می\u200cخواهم", "👩\u200d🏫 Ms Day", "❤\ufe0f", "葛\U000e0100飾"} { // ZWNJ in Persian, a ZWJ emoji, variation selectors
		assert.True(t, domain.PrintableText(ok, 100), ok)
	}
	for _, bad := range []string{
		"Spring\u202efield", "a\u202ab", "a\u202bb", "a\u202cb", "a\u202db", // embeddings and overrides
		"a\u2066b", "a\u2067b", "a\u2068b", "a\u2069b", // isolates
		"a\u200eb", "a\u200fb", "a\u061cb", // marks
		"a\x00b", "a\nb", "a\tb", "a\u0085b",
		"Demo School\u200b", "a\u2060b", "\ufeffab", "a\u00adb", "a\u206ab", "a\U000e0041b", "\u3164", "a\u034fb", // invisible
		"a\u2028b", "a\u2029b", "a\u2800b", "a\uffffb", "a\ue000b", "a\u180eb", // separators, Braille blank, noncharacter, private use
		"Demo\U000e0100School", "Demo\ufe0fSchool", "\ufe0fDemo", "葛\U000e0100\U000e0100", // selectors with nothing to vary
		"a\ufffdb", "\xff",
	} {
		assert.False(t, domain.PrintableText(bad, 100), "%+q", bad)
	}
	assert.False(t, domain.PrintableText("abc", 2), "too long")
}

func TestValidDomain(t *testing.T) {
	for _, ok := range []string{"school.edu", "a.b.c.example", "xn--bcher-kva.de", "k12.ca.us"} {
		assert.True(t, domain.ValidDomain(ok), ok)
	}
	for _, bad := range []string{"", "localhost", "school..edu", "-a.edu", "a-.edu", "under_score.edu", "SCHOOL.EDU", "bücher.de", strings.Repeat("a", 64) + ".edu"} {
		assert.False(t, domain.ValidDomain(bad), bad)
	}
}

func TestPasswordHashing(t *testing.T) {
	fast := domain.PasswordParams{MemoryKiB: 64, Iterations: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	salt := []byte("0123456789abcdef")
	phc := domain.HashPassword("correct horse", salt, fast)
	require.True(t, strings.HasPrefix(phc, "$argon2id$v=19$m=64,t=1,p=1$"), phc)

	ok, rehash, err := domain.CheckPassword("correct horse", phc, fast)
	require.NoError(t, err)
	assert.True(t, ok, "the right password matches")
	assert.False(t, rehash, "unchanged parameters need no rehash")

	ok, _, err = domain.CheckPassword("wrong horse", phc, fast)
	require.NoError(t, err)
	assert.False(t, ok, "a wrong password does not match")

	ok, rehash, err = domain.CheckPassword("correct horse", phc, domain.DefaultPasswordParams)
	require.NoError(t, err)
	assert.True(t, ok, "an old hash still verifies")
	assert.True(t, rehash, "changed parameters ask for a rehash")

	for _, bad := range []string{"", "$argon2i$v=19$m=64,t=1,p=1$c2FsdA$aGFzaA", "$argon2id$v=19$m=64,t=0,p=1$c2FsdA$aGFzaA", "$argon2id$v=19$garbage$c2FsdA$aGFzaA", "$argon2id$v=19$m=64,t=1,p=1$!!$aGFzaA"} {
		_, _, err := domain.CheckPassword("x", bad, fast)
		assert.ErrorIs(t, err, domain.ErrMalformedHash, bad)
	}
}

func TestClientSecrets(t *testing.T) {
	c := domain.Client{SecretHash: domain.HashToken("ccas_secret")}
	assert.True(t, c.VerifySecret("ccas_secret"))
	assert.False(t, c.VerifySecret("ccas_other"))
	public := domain.Client{TokenEndpointAuthMethod: domain.AuthMethodNone}
	assert.False(t, public.VerifySecret(""), "a client without a secret never verifies one")
	assert.True(t, public.Public())
}

func TestRedirectURIsMatchExactly(t *testing.T) {
	c := domain.Client{RedirectURIs: []string{"https://myapp.com/cb"}}
	assert.True(t, c.HasRedirectURI("https://myapp.com/cb"))
	for _, near := range []string{"https://myapp.com/cb/", "https://myapp.com/CB", "https://myapp.com/cb?x=1", "https://MYAPP.com/cb"} {
		assert.False(t, c.HasRedirectURI(near), near)
	}
}

func TestConsentCovers(t *testing.T) {
	c := domain.Consent{Scopes: []string{"openid", "email"}}
	assert.True(t, c.Covers([]string{"email"}))
	assert.False(t, c.Covers([]string{"openid", "phone"}))
}

func TestRefreshFamilyActive(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f := domain.RefreshFamily{ExpiresAt: now.Add(time.Hour)}
	assert.True(t, f.Active(now))
	assert.False(t, f.Active(now.Add(time.Hour)), "a family ends at its expiry")
	f.RevokedAt = now
	assert.False(t, f.Active(now), "a revoked family is not active")
}

func FuzzValidateRedirectURI(f *testing.F) {
	for _, s := range []string{"https://a.com/cb", "http://localhost:1/x", "http://[::1]/", "https://a.com/#", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if domain.ValidateRedirectURI(s) == nil && (strings.Contains(s, "#") || strings.Contains(s, "*")) {
			t.Fatalf("accepted %q", s)
		}
	})
}

func FuzzCheckPassword(f *testing.F) {
	f.Add("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNo")
	f.Add("$argon2id$v=19$m=4294967295,t=1,p=1$c2FsdA$aGFzaA")
	f.Fuzz(func(t *testing.T, phc string) {
		// Only well-bounded parameters are hashed: a hostile stored hash
		// must not make the fuzzer allocate gigabytes.
		if strings.Contains(phc, "m=") && !strings.Contains(phc, "m=64,") {
			return
		}
		_, _, _ = domain.CheckPassword("pw", phc, domain.DefaultPasswordParams)
	})
}
