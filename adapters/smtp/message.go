package smtp

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// checkMail parses the recipient and checks the headers the caller controls.
// A CR or LF would let a caller add headers of their own (header injection),
// so those are refused rather than escaped.
func checkMail(m domain.Mail) (*mail.Address, error) {
	if strings.ContainsAny(m.To, "\r\n") {
		return nil, fmt.Errorf("%w: recipient contains a line break", ErrInvalidMail)
	}
	if strings.ContainsAny(m.Subject, "\r\n") {
		return nil, fmt.Errorf("%w: subject contains a line break", ErrInvalidMail)
	}
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return nil, fmt.Errorf("%w: recipient %q: %v", ErrInvalidMail, m.To, err)
	}
	return to, nil
}

// buildMessage renders an RFC 5322 message with CRLF line ends. The body is
// quoted-printable so that UTF-8 text and long lines (links) pass any relay
// within the 998-octet line limit of RFC 5322 §2.1.1.
func buildMessage(from, to *mail.Address, subject, text string, now time.Time) []byte {
	var b bytes.Buffer
	header := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	header("From", from.String())
	header("To", to.String())
	header("Subject", mime.QEncoding.Encode("utf-8", subject))
	header("Date", now.Format(time.RFC1123Z))
	header("Message-ID", messageID(from.Address))
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	qp.Write([]byte(text)) // writes to a bytes.Buffer do not fail
	qp.Close()
	// Every message ends with a line break of its own, so a receiver can
	// drop exactly one and get the text back unchanged.
	b.WriteString("\r\n")
	return b.Bytes()
}

// messageID returns a random Message-ID in the sender's domain (RFC 5322
// §3.6.4: unique, with a domain the sender controls).
func messageID(fromAddress string) string {
	domain := fromAddress[strings.LastIndexByte(fromAddress, '@')+1:]
	return "<" + rand.Text() + "@" + domain + ">"
}
