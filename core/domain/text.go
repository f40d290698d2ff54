package domain

import (
	"unicode"
	"unicode/utf8"
)

// PrintableText reports whether s is valid UTF-8 of at most max characters
// with no control character (IsControlChar). Names of people, groups,
// organizations and applications must be, since they are shown to others:
// a right-to-left override or an isolate would let "Springfield High"
// pose as another name on a consent page or in a console.
func PrintableText(s string, max int) bool {
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > max {
		return false
	}
	for _, r := range s {
		if IsControlChar(r) {
			return false
		}
	}
	return true
}

// IsControlChar reports whether r is a control character: C0 and C1
// controls, the bidirectional controls (U+061C, U+200E, U+200F,
// U+202A–U+202E, U+2066–U+2069), and U+FFFD, which only stands in for
// bytes that were not text.
func IsControlChar(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == utf8.RuneError
}
