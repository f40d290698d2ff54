package smtptest

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
)

// Message is one message the server accepted.
type Message struct {
	// From and To are the envelope (MAIL FROM and RCPT TO).
	From string
	To   []string
	// Subject is the Subject header, RFC 2047 decoded.
	Subject string
	// Text is the body, decoded from its Content-Transfer-Encoding, with
	// CRLF line ends turned into LF and the line end that closes every
	// message removed.
	Text string
	// Header is the message's header, as sent.
	Header mail.Header
	// Raw is the whole message as received, CRLF line ends included.
	Raw []byte
}

// parseMessage decodes raw into a Message with the given envelope.
func parseMessage(from string, to []string, raw []byte) (Message, error) {
	pm, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Message{}, fmt.Errorf("parse message: %w", err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(pm.Header.Get("Subject"))
	if err != nil {
		return Message{}, fmt.Errorf("decode subject: %w", err)
	}
	var body io.Reader = pm.Body
	if strings.EqualFold(pm.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		body = quotedprintable.NewReader(body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return Message{}, fmt.Errorf("decode body: %w", err)
	}
	text := strings.ReplaceAll(string(b), "\r\n", "\n")
	return Message{
		From:    from,
		To:      to,
		Subject: subject,
		Text:    strings.TrimSuffix(text, "\n"),
		Header:  pm.Header,
		Raw:     raw,
	}, nil
}
