package mongo

// SetSearchChunkForTest sets how many members one round of s's SearchUsers
// queries, for scim_test.go.
func SetSearchChunkForTest(s *SCIMStore, n int) { s.chunk = n }

// ProfileKeyForTest and ProfileOrgIDForTest are the profile key escaping;
// UserNameKeyForTest is a membership's user_name_key.
var (
	ProfileKeyForTest   = profileKey
	ProfileOrgIDForTest = profileOrgID
	UserNameKeyForTest  = userNameKey
)
