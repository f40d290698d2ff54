// Package smtp is a driven adapter of the ports.Mailer port: it sends the
// core's plain-text mail (sign-in links, password resets, invitations).
//
// It sits on the outer ring of the hexagon. Mailer speaks SMTP to a relay;
// LogMailer, for development, prints each message to the developer's
// terminal instead. app picks one of the two.
//
// Both reject a recipient or subject that could inject headers before
// anything is sent, so a bad address fails in development as it would in
// production. Messages carry single-use links, so neither writes a message
// to a log; Mailer's errors name the operation and the server, never the
// password.
//
// The smtptest package runs an in-process SMTP server for tests.
package smtp
