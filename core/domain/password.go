package domain

import (
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// PasswordParams are argon2id parameters. DefaultPasswordParams are OWASP's
// recommendation (19 MiB, two passes, one lane).
type PasswordParams struct {
	MemoryKiB  uint32
	Iterations uint32
	Threads    uint8
	SaltLen    int
	KeyLen     uint32
}

// DefaultPasswordParams follow the OWASP Password Storage Cheat Sheet for argon2id.
var DefaultPasswordParams = PasswordParams{MemoryKiB: 19 * 1024, Iterations: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Password length bounds: NIST SP 800-63B asks for at least 8 characters and
// a generous maximum; the maximum also bounds hashing work per request.
const (
	MinPasswordLen = 8
	MaxPasswordLen = 256
)

// ErrMalformedHash is returned for a stored hash that is not an argon2id PHC string.
var ErrMalformedHash = errors.New("malformed password hash")

// HashPassword hashes password with salt (from Random) into a PHC string:
// $argon2id$v=19$m=...,t=...,p=...$salt$hash.
func HashPassword(password string, salt []byte, p PasswordParams) string {
	key := argon2.IDKey([]byte(password), salt, p.Iterations, p.MemoryKiB, p.Threads, p.KeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		p.MemoryKiB, p.Iterations, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// CheckPassword verifies password against a PHC string in constant time. It
// also reports whether the hash used parameters other than p, so the caller
// can rehash at login.
func CheckPassword(password, phc string, p PasswordParams) (ok, needsRehash bool, err error) {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, false, ErrMalformedHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, false, ErrMalformedHash
	}
	var stored PasswordParams
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &stored.MemoryKiB, &stored.Iterations, &stored.Threads); err != nil {
		return false, false, ErrMalformedHash
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	// Bounds keep a corrupt stored hash from costing unbounded memory or time.
	if err1 != nil || err2 != nil || len(want) == 0 || len(want) > 128 || stored.Iterations == 0 ||
		stored.Iterations > 16 || stored.Threads == 0 || stored.MemoryKiB < 8 || stored.MemoryKiB > 1<<18 {
		return false, false, ErrMalformedHash
	}
	got := argon2.IDKey([]byte(password), salt, stored.Iterations, stored.MemoryKiB, stored.Threads, uint32(len(want)))
	ok = subtle.ConstantTimeCompare(got, want) == 1
	needsRehash = stored.MemoryKiB != p.MemoryKiB || stored.Iterations != p.Iterations ||
		stored.Threads != p.Threads || uint32(len(want)) != p.KeyLen || len(salt) != p.SaltLen
	return ok, needsRehash, nil
}
