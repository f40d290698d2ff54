package smtp

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// LogMailer is the development mailer: it prints each whole message to a
// writer, the developer's terminal, so sign-in links can be followed without
// a mail server. It never writes to a slog logger: message bodies carry
// single-use links, which must not reach logs that are shipped and kept.
// It is safe for concurrent use.
type LogMailer struct {
	mu sync.Mutex // keeps messages from interleaving
	w  io.Writer
}

// NewLogMailer returns a LogMailer that writes to w, or to stdout if w is nil.
func NewLogMailer(w io.Writer) *LogMailer {
	if w == nil {
		w = os.Stdout
	}
	return &LogMailer{w: w}
}

// Send writes m between two framing lines. It refuses what Mailer would, so
// a bad address fails in development too.
func (l *LogMailer) Send(_ context.Context, m domain.Mail) error {
	if _, err := checkMail(m); err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "── mail to %s: %s ──\n", m.To, m.Subject)
	b.WriteString(m.Text)
	if !strings.HasSuffix(m.Text, "\n") {
		b.WriteString("\n")
	}
	b.WriteString("── end of mail ──\n")

	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := io.WriteString(l.w, b.String()); err != nil {
		return fmt.Errorf("smtp: write mail to log writer: %w", err)
	}
	return nil
}
