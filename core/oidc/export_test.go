package oidc

// UserClaimsForTest exposes userClaims to the external tests.
var UserClaimsForTest = userClaims
