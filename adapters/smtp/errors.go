package smtp

import "errors"

var (
	// ErrInvalidMail is returned, before anything is sent, for a recipient
	// that is not one valid address or a header that holds a line break.
	ErrInvalidMail = errors.New("smtp: invalid mail")
	// ErrInsecureAuth is returned when credentials would cross the network
	// unencrypted (tls mode "none" to a host that is not loopback).
	ErrInsecureAuth = errors.New("smtp: refusing to send credentials over an unencrypted connection")
)
