package smtp

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/core/domain"
)

func TestLogMailerWritesTheWholeMessageToItsWriter(t *testing.T) {
	var buf bytes.Buffer
	l := NewLogMailer(&buf)

	err := l.Send(t.Context(), domain.Mail{To: "ada@example.com", Subject: "Sign in", Text: "Open https://auth.example.com/l/abc\nBye."})

	require.NoError(t, err)
	assert.Equal(t, "── mail to ada@example.com: Sign in ──\n"+
		"Open https://auth.example.com/l/abc\nBye.\n"+
		"── end of mail ──\n", buf.String())
}

func TestLogMailerRefusesWhatMailerRefuses(t *testing.T) {
	var buf bytes.Buffer
	l := NewLogMailer(&buf)
	for _, tt := range invalidMails {
		t.Run(tt.name, func(t *testing.T) {
			assert.ErrorIs(t, l.Send(t.Context(), tt.mail), ErrInvalidMail)
		})
	}
	assert.Empty(t, buf.String())
}

func TestLogMailerKeepsConcurrentMessagesWhole(t *testing.T) {
	var buf bytes.Buffer
	l := NewLogMailer(&buf)
	const n = 50
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			text := strings.Repeat(fmt.Sprintf("line of mail %d\n", i), 20)
			assert.NoError(t, l.Send(t.Context(), domain.Mail{To: "ada@example.com", Subject: fmt.Sprint(i), Text: text}))
		})
	}
	wg.Wait()

	blocks := strings.SplitAfter(buf.String(), "── end of mail ──\n")
	require.Len(t, blocks, n+1) // the last is empty
	for _, b := range blocks[:n] {
		var i int
		_, err := fmt.Sscanf(b, "── mail to ada@example.com: %d ──\n", &i)
		require.NoError(t, err)
		assert.Equal(t, 20, strings.Count(b, fmt.Sprintf("line of mail %d\n", i)), "block %d is interleaved", i)
	}
}
