// Package smtptest runs an in-process SMTP server for tests: the smtp
// adapter's own, and the application's end-to-end tests, which read the
// links that the core mails.
//
// It is test support outside the hexagon, built on go-smtp's server. It
// listens on 127.0.0.1, keeps every message it accepts in memory, and can
// require AUTH PLAIN and offer STARTTLS (or implicit TLS) with a certificate
// made in process.
package smtptest
