package domain

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
)

// PKCEMethodS256 is the only code challenge method accepted: the guide
// requires S256 for every client, and RFC 9700 §2.1.1 deprecates plain.
const PKCEMethodS256 = "S256"

// ValidCodeVerifier reports whether v has the length and alphabet RFC 7636 §4.1 requires.
func ValidCodeVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if !unreserved(v[i]) {
			return false
		}
	}
	return true
}

// ValidCodeChallenge reports whether c can be an S256 challenge: the
// base64url encoding, without padding, of a SHA-256 digest (43 characters).
func ValidCodeChallenge(c string) bool {
	if len(c) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(c)
	return err == nil
}

// VerifyPKCE checks a verifier against an S256 challenge (RFC 7636 §4.6) in constant time.
func VerifyPKCE(verifier, challenge string) bool {
	if !ValidCodeVerifier(verifier) {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	got := base64.RawURLEncoding.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(got), []byte(challenge)) == 1
}

func unreserved(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}
