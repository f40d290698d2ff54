package testsuite

import "testing"

// Mail is one email a server under test sent, as a black-box suite reads it.
type Mail struct {
	To      string
	Subject string
	Text    string
}

// Mailbox gives a black-box suite the mail a server sent: it returns every
// message sent so far to address, oldest first, waiting a few seconds until
// there are at least n, and failing the test if they never come.
type Mailbox func(t *testing.T, address string, n int) []Mail
