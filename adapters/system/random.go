package system

import (
	"crypto/rand"
	"encoding/base64"

	"github.com/google/uuid"
)

// Random draws from crypto/rand. It is safe for concurrent use.
type Random struct{}

// NewRandom returns the cryptographic random source.
func NewRandom() *Random { return &Random{} }

// Bytes returns n random bytes. crypto/rand.Read never fails since Go 1.24
// (it crashes the program rather than return weak bytes), so there is no
// error to report.
func (*Random) Bytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// Token returns n random bytes encoded as unpadded base64url, safe in URLs,
// cookies and form fields without escaping.
func (r *Random) Token(n int) string {
	return base64.RawURLEncoding.EncodeToString(r.Bytes(n))
}

// UUID returns a random version 4 UUID in canonical form.
func (*Random) UUID() string { return uuid.NewString() }
