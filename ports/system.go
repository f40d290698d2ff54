package ports

import "time"

// Clock tells the time. The core never calls time.Now.
type Clock interface {
	Now() time.Time
}

// Random makes identifiers and secrets. The core never calls crypto/rand.
// Implementations must be safe for concurrent use and cryptographically strong.
type Random interface {
	// Bytes returns n random bytes.
	Bytes(n int) []byte
	// Token returns a URL-safe (base64url, unpadded) encoding of n random bytes.
	Token(n int) string
	// UUID returns a random (version 4) UUID in its canonical text form.
	UUID() string
}
